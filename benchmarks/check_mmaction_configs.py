"""Check that `vidact recipe import` builds the model MMAction2 builds from the same zoo config.

For each config (paths relative to MMAction2's `configs/`), this process imports it with
`vidact.schemas.mmimport.import_mmconfig` (never executing it) and builds our model; one
subprocess in the MMAction2 1.2.0 environment (`--mm-python`) builds MMAction2's model from the
same file with `Config.fromfile` (pretrained weights switched off). MMAction2's parameter and
buffer names are renamed with our checkpoint tables (`vidact.models.convert`), then names and
shapes are compared. With `--outputs`, MMAction2's model is also initialised randomly (BN
statistics too), saved as an MMAction checkpoint, run on a fixed random input, and our model loads
that checkpoint (`vidact.load_model`) and must give the same backbone features and class scores
(max abs difference <= --tol, float32): strides, pooling and other settings that leave no trace in
the shapes are checked too. One line per config; exits 1 if any differs.

    .venv/bin/python benchmarks/check_mmaction_configs.py
    .venv/bin/python benchmarks/check_mmaction_configs.py --outputs --work /tmp/cfgcheck
    .venv/bin/python benchmarks/check_mmaction_configs.py --configs recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MM_CONFIGS = "/work/mmvenv/lib/python3.11/site-packages/mmaction/.mim/configs"
FAMILY_DIRS = ("tsn", "tsm", "i3d", "r2plus1d", "slowonly", "slowfast", "csn")
CONFIGS = sorted(str(p.relative_to(MM_CONFIGS)) for d in FAMILY_DIRS
                 for p in Path(MM_CONFIGS, "recognition", d).glob("*.py"))
"""Every zoo config of the families we build (the TSN custom_backbones/ folder uses other libraries' models)."""

_MM_SIDE = r'''
import sys, types, json, os, torch
pkg = types.ModuleType("mmaction.models.localizers.drn"); pkg.__path__ = []
mod = types.ModuleType("mmaction.models.localizers.drn.drn"); mod.DRN = None  # missing from the wheel
sys.modules.update({"mmaction.models.localizers.drn": pkg, "mmaction.models.localizers.drn.drn": mod})
from mmengine.config import Config
from mmaction.registry import MODELS
from mmaction.utils import register_all_modules
register_all_modules()
root, names, work, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], {}
for i, name in enumerate(names):
    try:
        cfg = Config.fromfile(os.path.join(root, name))
        backbone = cfg.model.backbone
        for part in (backbone, backbone.get("slow_pathway") or {}, backbone.get("fast_pathway") or {}):
            if "pretrained" in part: part["pretrained"] = None
            part.pop("init_cfg", None)
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        out[name] = {"state": {k: list(v.shape) for k, v in model.state_dict().items()},
                     "backbone": backbone["type"], "head": cfg.model.cls_head["type"]}
        if not work:
            continue
        model.eval()
        channels = backbone.get("in_channels", 3)
        g = torch.Generator().manual_seed(1)
        if cfg.model.type == "Recognizer2D":
            segs = backbone.get("num_segments", 8 if "TSM" in backbone["type"] else 3)
            imgs = torch.randn(segs, channels, 64, 64, generator=g)
        else:
            segs, imgs = None, torch.randn(1, channels, 32, 64, 64, generator=g)

        def run():
            with torch.no_grad():
                feat = model.backbone(imgs)
                score = model.cls_head(feat, segs) if segs else model.cls_head(feat)
            return (list(feat) if isinstance(feat, tuple) else [feat]), score

        initial = {k: v.clone() for k, v in model.state_dict().items()}
        with torch.no_grad():  # random norm statistics and affine parameters, so a mis-set norm shows
            for key, t in model.state_dict().items():
                if key.endswith("running_var"): t.uniform_(0.5, 1.5)
                elif key.endswith("running_mean"): t.normal_(0, 0.1)
                elif (".bn" in key or "norm" in key) and key.endswith((".weight", ".bias")) and t.is_floating_point():
                    t.normal_(1.0 if key.endswith("weight") else 0.0, 0.1)
        feats, score = run()
        randomised_norms = bool(torch.isfinite(score).all())
        if not randomised_norms:  # some models overflow with random norms: keep MMAction2's own init
            model.load_state_dict(initial)
            feats, score = run()
        ckpt, ref = os.path.join(work, f"{i}_mm.pth"), os.path.join(work, f"{i}_ref.pt")
        torch.save({"meta": {"config": name}, "state_dict": model.state_dict()}, ckpt)
        torch.save({"imgs": imgs, "feats": feats, "score": score}, ref)
        out[name]["randomised_norms"] = randomised_norms
        out[name].update(ckpt=ckpt, ref=ref, kind=cfg.model.type)
    except Exception as exc:
        out[name] = {"error": f"{type(exc).__name__}: {exc}"[:400]}
print(json.dumps(out))
'''


def mmaction_models(python: str, names: list[str], work: str = "") -> dict:
    done = subprocess.run([python, "-c", _MM_SIDE, MM_CONFIGS, json.dumps(names), work],
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"MMAction2 side failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(name: str, theirs: dict) -> dict:
    import torch

    from vidact.models.build import build_model
    from vidact.models.convert import IGNORED_PREFIXES, mmaction_to_vidact
    from vidact.schemas.mmimport import import_mmconfig
    from vidact.schemas.recipe import Recipe

    result = import_mmconfig(f"{MM_CONFIGS}/{name}")
    recipe = Recipe.model_validate(result.data)
    ours = {k: list(v.shape) for k, v in build_model(recipe.model).state_dict().items()}
    if "error" in theirs:
        return {"config": name, "match": False, "error": "MMAction2: " + theirs["error"]}
    kept = {k: torch.empty(0) for k in theirs["state"] if not k.startswith(IGNORED_PREFIXES)}
    renamed = dict(zip(mmaction_to_vidact(kept, theirs["backbone"], theirs["head"]), kept))
    mapped = {new: theirs["state"][old] for new, old in renamed.items()}
    missing = sorted(set(mapped) - set(ours))
    extra = sorted(set(ours) - set(mapped))
    shapes = sorted(k for k in set(ours) & set(mapped) if ours[k] != mapped[k])
    row = {"config": name, "match": not (missing or extra or shapes), "tensors": len(ours),
           "only_mmaction": missing[:5], "only_vidact": extra[:5], "shape_differs": shapes[:5],
           "skipped": [f"{s.path}: {s.reason}" for s in result.skipped]}
    if row["match"] and "ckpt" in theirs:
        row["outputs"] = compare_outputs(recipe, theirs) | {"randomised_norms": theirs["randomised_norms"]}
    return row


def compare_outputs(recipe, theirs: dict) -> dict[str, float]:
    """Largest differences of backbone features and class scores, same checkpoint, same input."""
    import torch

    import vidact

    ref = torch.load(theirs["ref"], weights_only=True)
    model = vidact.load_model(recipe, theirs["ckpt"])
    imgs = ref["imgs"]
    with torch.no_grad():
        feat = model.backbone(imgs)
        score = model.cls_head(feat, imgs.shape[0]) if theirs["kind"] == "Recognizer2D" else model.cls_head(feat)
    feats = list(feat) if isinstance(feat, tuple) else [feat]
    return {"features": max(_difference(a, b) for a, b in zip(feats, ref["feats"], strict=True)),
            "scores": _difference(score, ref["score"]),
            "non_finite": int(sum((~torch.isfinite(b)).sum() for b in [*ref["feats"], ref["score"]]))}


def _difference(ours, theirs) -> float:
    """Largest difference where MMAction2's value is finite; inf when the non-finite entries differ.

    Random weights can overflow (MMAction2's own dot-product non-local I3D gives NaN features on a
    random input); such entries must be non-finite on both sides, and the rest must agree.
    """
    import torch

    finite = torch.isfinite(theirs)
    if not torch.equal(finite, torch.isfinite(ours)):
        return float("inf")
    return float((ours[finite] - theirs[finite]).abs().max()) if finite.any() else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mm-python", default="/work/mmvenv/bin/python", help="python of the MMAction2 1.2.0 env")
    parser.add_argument("--configs", nargs="*", default=CONFIGS, help="paths under MMAction2's configs/")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    parser.add_argument("--show-skipped", action="store_true", help="list what each import skipped")
    parser.add_argument("--outputs", action="store_true", help="also compare outputs from the same checkpoint")
    parser.add_argument("--tol", type=float, default=1e-4, help="largest output difference allowed")
    parser.add_argument("--work", default="", help="folder for checkpoints and reference outputs (--outputs)")
    args = parser.parse_args()
    start = time.perf_counter()
    work = ""
    if args.outputs:
        work = args.work or tempfile.mkdtemp(prefix="vidact-cfgcheck-")
        Path(work).mkdir(parents=True, exist_ok=True)
    reference = mmaction_models(args.mm_python, args.configs, work)
    rows = []
    for name in args.configs:
        try:
            row = compare(name, reference[name])
        except Exception as exc:  # report and go on
            row = {"config": name, "match": False, "error": f"{type(exc).__name__}: {exc}"[:600]}
        if "outputs" in row:
            row["match"] = max(row["outputs"]["features"], row["outputs"]["scores"]) <= args.tol
        rows.append(row)
        short = name.rsplit("/", 1)[-1]
        if "error" in row:
            print(f"ERROR  {short}: {row['error']}", file=sys.stderr)
        else:
            detail = "" if row["match"] else (f"  only MMAction2 {row['only_mmaction']} only vidact "
                                              f"{row['only_vidact']} shapes {row['shape_differs']}")
            if "outputs" in row:
                outputs = row["outputs"]
                detail += f"  features {outputs['features']:.1e} scores {outputs['scores']:.1e}"
                if outputs["non_finite"]:
                    detail += f" ({outputs['non_finite']} non-finite values on both sides)"
                if not outputs["randomised_norms"]:
                    detail += " (MMAction2's initial norms: random ones overflow)"
            print(f"{'match ' if row['match'] else 'DIFFER'} {short} ({row['tensors']} tensors, "
                  f"{len(row['skipped'])} skipped){detail}", file=sys.stderr)
            if args.show_skipped:
                for item in row["skipped"]:
                    print(f"         skipped {item}", file=sys.stderr)
    passed = sum(r["match"] for r in rows)
    what = "parameter names and shapes" + (" and outputs" if args.outputs else "")
    print(f"{passed}/{len(rows)} configs build the same {what} "
          f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    if args.json:
        print(json.dumps({"configs": rows}))
    return 0 if passed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
