"""Check that MMAction checkpoints imported into vidact give MMAction2's outputs.

For each recognizer family, a subprocess in the MMAction2 1.2.0 environment (`--mm-python`) builds
the model of MMAction2's own `configs/_base_/models/<name>.py`, initialises it randomly (fixed seed,
BN statistics randomised too so they matter), saves its checkpoint as MMAction does
(`{"state_dict", "meta"}`) and computes, on a fixed random input, the backbone features, the head's
class scores (`cls_head(feat, num_segs)` for 2D, `cls_head(feat)` for 3D) and the head's
`average_clip` with the vidact recipe's averaging. This process then loads the checkpoint with
`vidact.load_model` (imported on the fly) and compares the same three outputs (max abs difference,
float32, tolerance 1e-4 by default). Prints one line per family and exits 1 if any differs.

    .venv/bin/python benchmarks/check_mmaction_equivalence.py --mm-python /work/mmvenv/bin/python
    .venv/bin/python benchmarks/check_mmaction_equivalence.py --families TSM I3D --keep /tmp/eq
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# family -> (MMAction2 base model config, vidact recipe or model dict, input: views, frames, size)
CSN_MODEL = {
    "type": "Recognizer3D",
    "backbone": {"type": "ResNet3dCSN", "pretrained": None, "depth": 152, "with_pool2": False,
                 "bottleneck_mode": "ir", "norm_eval": False, "zero_init_residual": False},
    "cls_head": {"type": "I3DHead", "num_classes": 400, "in_channels": 2048, "spatial_type": "avg"},
    "test_cfg": {"average_clips": "prob"},
}
_NL = {"non_local_cfg": {"sub_sample": True, "use_scale": False, "norm_cfg": {"type": "BN3d", "requires_grad": True},
                        "mode": "embedded_gaussian"}}
# backbone settings applied on both sides (MMAction2's non-local zoo models)
EXTRA = {
    "TSM-NL": _NL | {"non_local": [[0, 0, 0], [1, 0, 1, 0], [1, 0, 1, 0, 1, 0], [0, 0, 0]]},
    "I3D-NL": _NL | {"non_local": [[0, 0, 0], [0, 1, 0, 1], [0, 1, 0, 1, 0, 1], [0, 0, 0]]},
}
HEAD_CLASSES: dict[str, int] = {}  # MMAction2 head's num_classes where the config's 400 is not ours
FAMILIES = {
    "TSN": ("tsn_r50", "recipes/tsn_r50_kinetics400.yaml", "2d", 6, 112),  # 2 clips x 3 segments
    "TSM": ("tsm_r50", "recipes/tsm_r50_kinetics400.yaml", "2d", 16, 112),  # 2 clips x 8 segments
    "I3D": ("i3d_r50", "recipes/i3d_r50_kinetics400.yaml", "3d", 8, 64),
    "R(2+1)D": ("r2plus1d_r34", "recipes/r2plus1d_r34_kinetics400.yaml", "3d", 8, 64),
    "SlowOnly": ("slowonly_r50", "recipes/slowonly_r50_kinetics400.yaml", "3d", 8, 64),
    "SlowFast": ("slowfast_r50", "recipes/slowfast_r50_kinetics400.yaml", "3d", 32, 64),
    "CSN": ("ircsn_r152", CSN_MODEL, "3d", 8, 64),
    "TSM-NL": ("tsm_r50", "recipes/tsm_r50_kinetics400.yaml", "2d", 16, 112),
    "I3D-NL": ("i3d_r50", "recipes/i3d_r50_kinetics400.yaml", "3d", 8, 64),
}
# our published UCF101 recipes: the same models with 101 classes (MMAction2's head set to match)
for _name, _recipe_name in (("TSN", "tsn_r50"), ("TSM", "tsm_r50"), ("I3D", "i3d_r50"),
                            ("R(2+1)D", "r2plus1d_r34"), ("SlowOnly", "slowonly_r50"), ("SlowFast", "slowfast_r50")):
    _config, _, _kind, _frames, _size = FAMILIES[_name]
    FAMILIES[f"{_name}-ucf101"] = (_config, f"recipes/{_recipe_name}_ucf101.yaml", _kind, _frames, _size)
    HEAD_CLASSES[f"{_name}-ucf101"] = 101
VIEWS = 2

# ---- MMAction2 side (runs in the MMAction2 environment) -------------------------------------------

_MM_SIDE = r'''
import sys, types, json, torch
pkg = types.ModuleType("mmaction.models.localizers.drn"); pkg.__path__ = []
mod = types.ModuleType("mmaction.models.localizers.drn.drn"); mod.DRN = None  # missing from the wheel
sys.modules.update({"mmaction.models.localizers.drn": pkg, "mmaction.models.localizers.drn.drn": mod})
import mmaction, os
from mmengine.config import Config
from mmaction.registry import MODELS
from mmaction.utils import register_all_modules
register_all_modules()
args = json.loads(sys.argv[1])
cfg = Config.fromfile(os.path.join(os.path.dirname(mmaction.__file__), ".mim/configs/_base_/models", args["config"] + ".py"))
cfg.model.backbone["pretrained"] = None
cfg.model.backbone.update(args["extra"])
if args["num_classes"]: cfg.model.cls_head["num_classes"] = args["num_classes"]
torch.manual_seed(0)
model = MODELS.build(cfg.model)
with torch.no_grad():  # random BN statistics and affine parameters, so a mis-mapped norm shows
    for name, t in model.state_dict().items():
        if name.endswith("running_var"): t.uniform_(0.5, 1.5)
        elif name.endswith("running_mean"): t.normal_(0, 0.1)
        elif ".bn" in name and name.endswith((".weight", ".bias")): t.normal_(1.0 if name.endswith("weight") else 0.0, 0.1)
model.eval()
torch.save({"meta": {"mmaction_version": mmaction.__version__, "config": args["config"]},
            "state_dict": model.state_dict()}, args["ckpt"])
g = torch.Generator().manual_seed(1)
v, t, s = args["views"], args["frames"], args["size"]
if args["kind"] == "2d":
    imgs = torch.randn(1, t, 3, s, s, generator=g)
    with torch.no_grad():
        feat = model.backbone(imgs.reshape(-1, 3, s, s))
        score = model.cls_head(feat, t)
else:
    imgs = torch.randn(1, v, 3, t, s, s, generator=g)
    with torch.no_grad():
        feat = model.backbone(imgs.reshape((-1,) + imgs.shape[2:]))
        score = model.cls_head(feat)
model.cls_head.average_clips = args["average_clips"]
with torch.no_grad():
    avg = model.cls_head.average_clip(score, score.shape[0])
feats = list(feat) if isinstance(feat, tuple) else [feat]
torch.save({"imgs": imgs, "feats": feats, "score": score, "avg": avg}, args["ref"])
'''


def run_mm_side(python: str, config: str, kind: str, frames: int, size: int, average: str | None,
                work: Path, extra: dict, num_classes: int | None = None) -> tuple[Path, Path]:
    tag = config + ("_nl" if extra else "") + (f"_{num_classes}" if num_classes else "")
    ckpt, ref = work / f"{tag}_mm.pth", work / f"{tag}_ref.pt"
    args = {"config": config, "extra": extra, "num_classes": num_classes, "kind": kind, "views": VIEWS,
            "frames": frames, "size": size,
            "average_clips": average, "ckpt": str(ckpt), "ref": str(ref)}
    done = subprocess.run([python, "-c", _MM_SIDE, json.dumps(args)], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"MMAction2 side failed for {config}:\n{done.stderr[-2000:]}")
    return ckpt, ref


# ---- vidact side -------------------------------------------------------------------------------


def _recipe(spec, extra: dict):
    from vidact.schemas.load import load_recipe
    from vidact.schemas.recipe import Recipe

    if isinstance(spec, str):
        return load_recipe(spec, [f"model.backbone.{k}={json.dumps(v)}" for k, v in extra.items()])
    base = load_recipe("recipes/i3d_r50_kinetics400.yaml").to_plain()
    return Recipe.model_validate(base | {"model": spec})


def compare(family: str, mm_python: str, work: Path, tol: float) -> dict:
    import torch

    import vidact

    config, spec, kind, frames, size = FAMILIES[family]
    extra = EXTRA.get(family, {})
    recipe = _recipe(spec, extra)
    average = recipe.model.test_cfg.average_clips
    start = time.perf_counter()
    ckpt, ref_path = run_mm_side(mm_python, config, kind, frames, size, average, work, extra,
                                 HEAD_CLASSES.get(family))
    ref = torch.load(ref_path, weights_only=True)
    model = vidact.load_model(recipe, ckpt)
    imgs = ref["imgs"]
    with torch.no_grad():
        if kind == "2d":
            feat = model.backbone(imgs.reshape(-1, *imgs.shape[2:]))
            score = model.cls_head(feat, frames)
        else:
            feat = model.backbone(imgs.reshape(-1, *imgs.shape[2:]))
            score = model.cls_head(feat)
        avg = model.forward_test(imgs)
    feats = list(feat) if isinstance(feat, tuple) else [feat]
    diffs = {
        "features": max(float((a - b).abs().max()) for a, b in zip(feats, ref["feats"], strict=True)),
        "scores": float((score - ref["score"]).abs().max()),
        "averaged": float((avg.reshape(-1, avg.shape[-1]) - ref["avg"].reshape(-1, avg.shape[-1])).abs().max()),
    }
    return {"family": family, "config": config, "average_clips": average, **diffs,
            "match": all(d <= tol for d in diffs.values()), "seconds": round(time.perf_counter() - start, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mm-python", default="/work/mmvenv/bin/python", help="python of the MMAction2 1.2.0 env")
    parser.add_argument("--families", nargs="*", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--keep", type=Path, help="keep checkpoints and reference outputs here")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="vidact-eq-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for family in args.families:
        try:
            row = compare(family, args.mm_python, work, args.tol)
        except Exception as exc:  # report and go on with the other families
            row = {"family": family, "match": False, "error": f"{type(exc).__name__}: {exc}"[:600]}
        rows.append(row)
        if "error" in row:
            print(f"{family:9s} ERROR {row['error']}", file=sys.stderr)
        else:
            print(f"{family:9s} {'match' if row['match'] else 'DIFFER'}  features {row['features']:.2e}  "
                  f"scores {row['scores']:.2e}  averaged({row['average_clips']}) {row['averaged']:.2e}  "
                  f"[{row['config']}, {row['seconds']} s]", file=sys.stderr)
    if args.json:
        print(json.dumps({"tolerance": args.tol, "families": rows}))
    return 0 if all(r["match"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
