"""Check that `vidact recipe import` builds the model MMAction2 builds from the same zoo config.

For each config (paths relative to MMAction2's `configs/`), this process imports it with
`vidact.schemas.mmimport.import_mmconfig` (never executing it) and builds our model; one
subprocess in the MMAction2 1.2.0 environment (`--mm-python`) builds MMAction2's model from the
same file with `Config.fromfile` (pretrained weights switched off). MMAction2's parameter and
buffer names are renamed with our checkpoint tables (`vidact.models.convert`), then names and
shapes are compared. One line per config; exits 1 if any differs.

    .venv/bin/python benchmarks/check_mmaction_configs.py
    .venv/bin/python benchmarks/check_mmaction_configs.py --configs recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
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
root, names, out = sys.argv[1], json.loads(sys.argv[2]), {}
for name in names:
    try:
        cfg = Config.fromfile(os.path.join(root, name))
        backbone = cfg.model.backbone
        for part in (backbone, backbone.get("slow_pathway") or {}, backbone.get("fast_pathway") or {}):
            if "pretrained" in part: part["pretrained"] = None
            part.pop("init_cfg", None)
        model = MODELS.build(cfg.model)
        out[name] = {"state": {k: list(v.shape) for k, v in model.state_dict().items()},
                     "backbone": backbone["type"], "head": cfg.model.cls_head["type"]}
    except Exception as exc:
        out[name] = {"error": f"{type(exc).__name__}: {exc}"[:400]}
print(json.dumps(out))
'''


def mmaction_models(python: str, names: list[str]) -> dict:
    done = subprocess.run([python, "-c", _MM_SIDE, MM_CONFIGS, json.dumps(names)], capture_output=True, text=True)
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
    return {"config": name, "match": not (missing or extra or shapes), "tensors": len(ours),
            "only_mmaction": missing[:5], "only_vidact": extra[:5], "shape_differs": shapes[:5],
            "skipped": [f"{s.path}: {s.reason}" for s in result.skipped]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mm-python", default="/work/mmvenv/bin/python", help="python of the MMAction2 1.2.0 env")
    parser.add_argument("--configs", nargs="*", default=CONFIGS, help="paths under MMAction2's configs/")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    parser.add_argument("--show-skipped", action="store_true", help="list what each import skipped")
    args = parser.parse_args()
    start = time.perf_counter()
    reference = mmaction_models(args.mm_python, args.configs)
    rows = []
    for name in args.configs:
        try:
            row = compare(name, reference[name])
        except Exception as exc:  # report and go on
            row = {"config": name, "match": False, "error": f"{type(exc).__name__}: {exc}"[:600]}
        rows.append(row)
        short = name.rsplit("/", 1)[-1]
        if "error" in row:
            print(f"ERROR  {short}: {row['error']}", file=sys.stderr)
        else:
            detail = "" if row["match"] else (f"  only MMAction2 {row['only_mmaction']} only vidact "
                                              f"{row['only_vidact']} shapes {row['shape_differs']}")
            print(f"{'match ' if row['match'] else 'DIFFER'} {short} ({row['tensors']} tensors, "
                  f"{len(row['skipped'])} skipped){detail}", file=sys.stderr)
            if args.show_skipped:
                for item in row["skipped"]:
                    print(f"         skipped {item}", file=sys.stderr)
    passed = sum(r["match"] for r in rows)
    print(f"{passed}/{len(rows)} configs build the same parameter names and shapes "
          f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    if args.json:
        print(json.dumps({"configs": rows}))
    return 0 if passed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
