"""Check that `pretrained:` ImageNet ResNet files load (2D) and inflate (3D) as MMAction2 does.

Writes a torchvision-layout ResNet-50 state dict (the layout of torchvision's and timm's ResNet
files; random values, BN statistics included, plus the ImageNet `fc`), then for each family lets
MMAction2 1.2.0 (`--mm-python`) build its config's backbone with that file as `pretrained`
(`pretrained2d=True` for the 3D ones) and run `init_weights()`, and builds our recipe's backbone
with the same file. Compares every backbone tensor (MMAction names mapped to ours) and prints one
line per family; exits 1 if any differs.

    .venv/bin/python benchmarks/check_mmaction_pretrained.py --mm-python /work/mmvenv/bin/python
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

# family -> (MMAction2 base model config, our recipe, 3D: inflate with pretrained2d, where `pretrained` goes)
FAMILIES = {
    "TSN": ("tsn_r50", "recipes/tsn_r50_kinetics400.yaml", False, ["backbone"]),
    "TSM": ("tsm_r50", "recipes/tsm_r50_kinetics400.yaml", False, ["backbone"]),
    "I3D": ("i3d_r50", "recipes/i3d_r50_kinetics400.yaml", True, ["backbone"]),
    "SlowOnly": ("slowonly_r50", "recipes/slowonly_r50_kinetics400.yaml", True, ["backbone"]),
    # the fast pathway has 1/8 of the channels: no ImageNet ResNet fits it (MMAction2 fails too)
    "SlowFast": ("slowfast_r50", "recipes/slowfast_r50_kinetics400.yaml", True, ["backbone.slow_pathway"]),
}

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
for where in args["where"]:
    part = cfg.model
    for name in where.split("."): part = part[name]
    part["pretrained"] = args["weights"]
    if args["inflate"]: part["pretrained2d"] = True
torch.manual_seed(0)
backbone = MODELS.build(cfg.model.backbone)
backbone.init_weights()
torch.save({"backbone." + k: v for k, v in backbone.state_dict().items()}, args["out"])
'''


def write_resnet50(path: Path) -> None:
    """A torchvision-layout ResNet-50 state dict with random weights and BN statistics."""
    import torch

    from vidact.models.backbones.resnet import ResNet

    torch.manual_seed(3)
    state = ResNet(depth=50).state_dict()
    for name, tensor in state.items():
        if tensor.is_floating_point():
            tensor.copy_(torch.rand_like(tensor) + 0.5 if name.endswith("running_var") else torch.randn_like(tensor))
    state["fc.weight"], state["fc.bias"] = torch.randn(1000, 2048), torch.randn(1000)
    torch.save(state, path)


def compare(family: str, mm_python: str, weights: Path, work: Path) -> dict:
    import torch

    from vidact.models import build_model
    from vidact.models.convert import BACKBONE_RULES, rename_keys
    from vidact.schemas.load import load_recipe

    config, recipe_path, inflate, where = FAMILIES[family]
    out = work / f"{config}_pretrained_mm.pth"
    args = {"config": config, "weights": str(weights), "inflate": inflate, "out": str(out), "where": where}
    done = subprocess.run([mm_python, "-c", _MM_SIDE, json.dumps(args)], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"MMAction2 side failed:\n{done.stderr[-2000:]}")
    sets = [f"model.{w}.pretrained={weights}" for w in where]
    sets += [f"model.{w}.pretrained2d=true" for w in where] if inflate else []
    recipe = load_recipe(recipe_path, sets)
    ours = {f"backbone.{k}": v for k, v in build_model(recipe.model).backbone.state_dict().items()}
    theirs = rename_keys(torch.load(out, weights_only=True), "backbone.", BACKBONE_RULES[recipe.model.backbone.type])
    # compare what the file initialises: the parts given `pretrained`, not the randomly initialised
    # lateral connections (and SlowFast's fast pathway)
    loaded = tuple({"backbone.slow_pathway": "backbone.slow_path."}.get(w, f"{w}.") for w in where)
    common = sorted(k for k in ours.keys() & theirs.keys() if k.startswith(loaded) and "_lateral" not in k)
    diffs = {k: float((ours[k].double() - theirs[k].double()).abs().max()) for k in common if ours[k].numel()}
    worst = max(diffs, key=diffs.get)
    return {"family": family, "compared": len(common), "only_ours": sorted(ours.keys() - theirs.keys()),
            "only_mmaction": sorted(theirs.keys() - ours.keys()), "max_diff": diffs[worst], "worst_key": worst,
            "differing": sorted(k for k, d in diffs.items() if d > 1e-6)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mm-python", default="/work/mmvenv/bin/python")
    parser.add_argument("--families", nargs="*", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--keep", type=Path, help="keep the files here")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="vidact-pretrained-"))
    work.mkdir(parents=True, exist_ok=True)
    weights = work / "resnet50_torchvision_layout.pth"
    write_resnet50(weights)
    rows = []
    for family in args.families:
        try:
            row = compare(family, args.mm_python, weights, work)
            row["match"] = not (row["differing"] or row["only_ours"] or row["only_mmaction"])
            print(f"{family:9s} {'match' if row['match'] else 'DIFFER'}  {row['compared']} tensors, max diff "
                  f"{row['max_diff']:.2e} ({row['worst_key']}); differing {len(row['differing'])} "
                  f"{row['differing'][:4]}; only ours {row['only_ours'][:4]}; only MMAction2 "
                  f"{row['only_mmaction'][:4]}", file=sys.stderr)
        except Exception as exc:  # report and go on
            row = {"family": family, "match": False, "error": f"{type(exc).__name__}: {exc}"[:600]}
            print(f"{family:9s} ERROR {row['error']}", file=sys.stderr)
        rows.append(row)
    if args.json:
        print(json.dumps({"families": rows}))
    return 0 if all(r["match"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
