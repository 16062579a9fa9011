"""The whole BSN chain from one chain recipe: train TEM, TEM curves for every video, PGM candidate
proposals, BSP features, train PEM, PEM scoring + post-processing -> `<work_dir>/results.json`.

Each stage writes into its own folder of the work dir and, when complete, a `.done` marker there;
a rerun skips completed stages, and within a stage skips the videos already written (training
resumes from its latest checkpoint), so a killed chain continues where it stopped. Removing a
stage's folder makes the next run redo that stage.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vidact.errors import InputError, VidactError
from vidact.io.files import atomic_write_text, read_json
from vidact.schemas.bsn import SPLITS, BSNChainSpec

log = logging.getLogger(__name__)

STAGES = ("tem", "tem_results", "pgm_proposals", "pgm_features", "pem", "results")
"""Stage names, in order; each but the last is a folder of the work dir."""

StageReporter = Callable[[str, str], Any]
"""Called with (stage, 'start' | 'skip' | 'done')."""

Progress = Callable[[str, int, int], Any]
"""Called with (stage, done, to do)."""


class ChainInterrupted(VidactError):
    """A training stage stopped on SIGTERM after saving its checkpoint (exit code 143, as `vidact train`)."""

    exit_code = 143


# ---- stage recipes ---------------------------------------------------------------------------


def tem_pipelines() -> tuple[list[dict], list[dict]]:
    """The TEM training and test pipelines (the reference's, as plain recipe data)."""
    train = [
        {"type": "LoadLocalizationFeature"},
        {"type": "GenerateLocalizationLabels"},
        {"type": "Collect", "keys": ["raw_feature", "gt_bbox"], "meta_name": "video_meta", "meta_keys": ["video_name"]},
        {"type": "ToTensor", "keys": ["raw_feature"]},
        {"type": "ToDataContainer", "fields": [{"key": "gt_bbox", "stack": False, "cpu_only": True}]},
    ]
    test = [
        {"type": "LoadLocalizationFeature"},
        {"type": "Collect", "keys": ["raw_feature"], "meta_name": "video_meta", "meta_keys": ["video_name"]},
        {"type": "ToTensor", "keys": ["raw_feature"]},
    ]
    return train, test


def pem_pipelines(proposals_dir: str, features_dir: str, train_top_k: int, test_top_k: int
                  ) -> tuple[list[dict], list[dict]]:
    """The PEM training and test pipelines, reading PGM proposals and BSP features from the folders."""
    load = {"type": "LoadProposals", "pgm_proposals_dir": proposals_dir, "pgm_features_dir": features_dir}
    train = [
        {**load, "top_k": train_top_k},
        {"type": "Collect", "keys": ["bsp_feature", "reference_temporal_iou"], "meta_name": "video_meta",
         "meta_keys": []},
        {"type": "ToTensor", "keys": ["bsp_feature", "reference_temporal_iou"]},
        {"type": "ToDataContainer", "fields": [{"key": "bsp_feature", "stack": False},
                                               {"key": "reference_temporal_iou", "stack": False}]},
    ]
    fields = ["bsp_feature", "tmin", "tmax", "tmin_score", "tmax_score"]
    test = [
        {**load, "top_k": test_top_k},
        {"type": "Collect", "keys": fields, "meta_name": "video_meta",
         "meta_keys": ["video_name", "duration_second", "duration_frame", "annotations", "feature_frame"]},
        {"type": "ToTensor", "keys": ["bsp_feature"]},
        {"type": "ToDataContainer", "fields": [{"key": key, "stack": False, "cpu_only": key != "bsp_feature"}
                                               for key in fields]},
    ]
    return train, test


def _stage_recipe(chain: BSNChainSpec, stage: Any, train: list[dict], test: list[dict],
                  evaluation: dict[str, Any]) -> Any:
    from vidact.schemas.recipe import Recipe

    def split(name: str, pipeline: list[dict], test_mode: bool) -> dict[str, Any]:
        spec = getattr(chain.data, name)
        return {"type": "ActivityNetDataset", "ann_file": spec.ann_file, "data_prefix": spec.data_prefix,
                "test_mode": test_mode, "pipeline": pipeline}

    plain = stage.model_dump(mode="json", exclude={"train_top_k", "test_top_k", "videos_per_gpu"})
    return Recipe.model_validate({
        **plain,
        "data": {"videos_per_gpu": stage.videos_per_gpu, "workers_per_gpu": chain.data.workers_per_gpu,
                 "train": split("train", train, False), "val": split("val", test, True),
                 "test": split("test", test, True)},
        "seed": chain.seed, "log_level": chain.log_level, "evaluation": evaluation,
    })


_AR_AN = {"interval": 1, "metrics": ["AR@AN"], "key_indicator": "auc", "save_best": True}


def tem_recipe(chain: BSNChainSpec) -> Any:
    """The chain's TEM training recipe (a `Recipe`): TEM on `data.train`, validated by the AR@AN of
    its boundary-pair proposals on `data.val` (best checkpoint by AUC)."""
    train, test = tem_pipelines()
    return _stage_recipe(chain, chain.tem, train, test, _AR_AN)


def pem_recipe(chain: BSNChainSpec, work_dir: str | os.PathLike) -> Any:
    """The chain's PEM training recipe: reads `<work_dir>/pgm_proposals` and `pgm_features`,
    validated by AR@AN on `data.val` (best checkpoint by AUC)."""
    work_dir = Path(work_dir)
    train, test = pem_pipelines(str(work_dir / "pgm_proposals"), str(work_dir / "pgm_features"),
                                chain.pem.train_top_k, chain.pem.test_top_k)
    return _stage_recipe(chain, chain.pem, train, test, _AR_AN)


# ---- the chain -------------------------------------------------------------------------------


def chain_video_infos(chain: BSNChainSpec) -> list[dict[str, Any]]:
    """Every video of the three splits once (by name, first split first), as `ActivityNetDataset`
    entries (the annotation object plus "video_name")."""
    from vidact.data.datasets.activitynet import ActivityNetDataset

    infos: dict[str, dict[str, Any]] = {}
    for name in SPLITS:
        spec = getattr(chain.data, name)
        dataset = ActivityNetDataset(spec.ann_file, [], spec.data_prefix, test_mode=True)
        for info in dataset.video_infos:
            infos.setdefault(info["video_name"], info)
    return list(infos.values())


def _warn_if_changed(path: Path, chain: BSNChainSpec) -> None:
    """Warn when the work dir holds a run of a different chain recipe: finished stages are kept as
    they are, so the sections that changed only apply to stages that are not done yet."""
    import yaml

    if not path.is_file():
        return
    before = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    now = chain.to_plain()
    changed = [key for key in now if before.get(key) != now[key]]
    if changed:
        log.warning("%s: the chain recipe changed since the last run (%s); finished stages are kept, remove "
                    "their folders in %s to redo them", path, ", ".join(changed), path.parent)


def _done(folder: Path) -> bool:
    return (folder / ".done").is_file()


def _mark_done(folder: Path, summary: dict[str, Any]) -> None:
    atomic_write_text(folder / ".done", json.dumps(summary, default=str) + "\n")


def run_bsn_chain(chain: BSNChainSpec, work_dir: str | os.PathLike, *, workers: int = 1,
                  report: StageReporter | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Run (or resume) every BSN stage; returns a summary with each stage's outcome and the AR@AN
    of `data.test` (when its annotations have segments).

    Args:
        chain: the validated chain recipe.
        work_dir: the run's folder (created); stages go to `tem/`, `tem_results/`,
            `pgm_proposals/`, `pgm_features/`, `pem/`, and the final `results.json`.
        workers: processes for the numpy stages (PGM, BSP).
        report: told when each stage starts, is skipped or is done.
        progress: told (stage, done, to do) within the per-video stages.
    """
    from vidact.engine.bsn import pem_inference, tem_inference
    from vidact.engine.runs import train_recipe

    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    _warn_if_changed(work_dir / "chain.yaml", chain)
    atomic_write_text(work_dir / "chain.yaml", chain.to_yaml())
    tell = report or (lambda stage, event: None)
    step = progress or (lambda stage, done, total: None)
    summary: dict[str, Any] = {"work_dir": str(work_dir), "stages": {}}

    def stage(name: str, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        folder = work_dir / name
        if _done(folder):
            log.info("BSN %s: done in an earlier run, skipped", name)
            tell(name, "skip")
            outcome = {"skipped": True, **read_json(folder / ".done")}
        else:
            tell(name, "start")
            folder.mkdir(parents=True, exist_ok=True)
            outcome = run()
            _mark_done(folder, outcome)
            tell(name, "done")
        summary["stages"][name] = outcome
        return outcome

    tem = tem_recipe(chain)

    def train_tem() -> dict[str, Any]:
        result = train_recipe(tem, work_dir=work_dir / "tem", resume="auto", validate=True)
        if result["interrupted"]:
            raise ChainInterrupted("TEM training stopped by SIGTERM (checkpoint saved)",
                                   hint="rerun the same command to resume")
        return {"checkpoint": result["best_checkpoint"] or result["latest_checkpoint"], "epochs": result["epochs"],
                "val_metrics": result["metrics"]}

    tem_ckpt = stage("tem", train_tem)["checkpoint"]

    def tem_curves() -> dict[str, Any]:
        videos, written = {}, {}
        for name in SPLITS:
            out = tem_inference(tem, tem_ckpt, name, work_dir / "tem_results", workers=0,
                                progress=lambda done, total, name=name: step(f"tem {name}", done, total))
            videos[name], written[name] = out["videos"], out["written"]
        return {"videos": videos, "written": written}

    stage("tem_results", tem_curves)
    infos = chain_video_infos(chain)
    stage("pgm_proposals", lambda: _pgm_stage(chain, infos, work_dir, workers, step))
    stage("pgm_features", lambda: _bsp_stage(chain, infos, work_dir, workers, step))
    pem = pem_recipe(chain, work_dir)

    def train_pem() -> dict[str, Any]:
        result = train_recipe(pem, work_dir=work_dir / "pem", resume="auto", validate=True)
        if result["interrupted"]:
            raise ChainInterrupted("PEM training stopped by SIGTERM (checkpoint saved)",
                                   hint="rerun the same command to resume")
        return {"checkpoint": result["best_checkpoint"] or result["latest_checkpoint"], "epochs": result["epochs"],
                "val_metrics": result["metrics"]}

    pem_ckpt = stage("pem", train_pem)["checkpoint"]
    results = work_dir / "results.json"
    if results.is_file() and (work_dir / "results.metrics.json").is_file():
        tell("results", "skip")
        outcome = {"skipped": True, **read_json(work_dir / "results.metrics.json")}
    else:
        tell("results", "start")
        outcome = pem_inference(pem, pem_ckpt, results, split="test",
                                progress=lambda done, total: step("pem test", done, total))
        atomic_write_text(work_dir / "results.metrics.json", json.dumps(outcome) + "\n")
        tell("results", "done")
    summary["stages"]["results"] = outcome
    summary["results"] = str(results)
    summary["metrics"] = outcome.get("metrics", {})
    return summary


def _stage_outcome(summary: Any) -> dict[str, Any]:
    """A PGM/BSP `StageSummary` as the chain records it; a video skipped for bad input stops the chain."""
    if summary.failed:
        first = summary.failed[0]
        more = f" (and {len(summary.failed) - 1} more)" if len(summary.failed) > 1 else ""
        raise InputError(f"{summary.stage}: video {first['video']!r}: {first['error']}{more}")
    return {"videos": summary.videos, "written": summary.written, "rows": summary.rows}


def _pgm_stage(chain: BSNChainSpec, infos: list[dict[str, Any]], work_dir: Path, workers: int,
               step: Progress) -> dict[str, Any]:
    from vidact.localization.bsn_stages import run_pgm

    summary = run_pgm(infos, work_dir / "tem_results", work_dir / "pgm_proposals",
                      temporal_scale=chain.pgm.temporal_scale or chain.tem.model.temporal_dim,
                      peak_threshold=chain.pgm.peak_threshold, workers=workers,
                      progress=lambda done, total: step("pgm", done, total))
    return _stage_outcome(summary)


def _bsp_stage(chain: BSNChainSpec, infos: list[dict[str, Any]], work_dir: Path, workers: int,
               step: Progress) -> dict[str, Any]:
    from vidact.localization.bsn_stages import run_bsp

    summary = run_bsp(infos, work_dir / "tem_results", work_dir / "pgm_proposals", work_dir / "pgm_features",
                      **chain.bsp.model_dump(), workers=workers, progress=lambda done, total: step("bsp", done, total))
    return _stage_outcome(summary)
