"""Translate an MMAction 0.x/1.x Python config into a vidact recipe (`vidact recipe import`).

The config is read as data by `vidact.schemas.mmconfig` (never executed). Component dicts are
fitted onto our spec classes: a `type` we build and keys our spec has are kept, anything else is
listed with its config path and a reason, never guessed. 1.x layouts (`train_dataloader`,
`optim_wrapper`, `param_scheduler`, `default_hooks`, `data_preprocessor`) are rewritten into our
MMAction-0.x-shaped sections first; see `translate` for each rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from vidact.schemas.load import Problem, RecipeProblems, _apply_overrides, validation_problems
from vidact.schemas.mmconfig import MMConfig, Unsupported, read_mmconfig
from vidact.schemas.mmfit import DROP, Indexed, Skipped, SpecFitter, plain

VIDEO_DECODERS = {"pyav": ("PyAVInit", "PyAVDecode"), "opencv": ("OpenCVInit", "OpenCVDecode"),
                  "decord": ("DecordInit", "DecordDecode")}
_DECODER_STEPS = {name for pair in VIDEO_DECODERS.values() for name in pair}
# 1.x hooks whose work vidact's Trainer always does; the others are listed as skipped.
_BUILT_IN_HOOKS = {"runtime_info", "timer", "param_scheduler", "sampler_seed", "sync_buffers"}
# 1.x top-level keys with nothing to carry over when they hold MMAction's defaults.
_RUNTIME_DEFAULTS = {"default_scope": "mmaction", "val_cfg": {"type": "ValLoop"}, "test_cfg": {"type": "TestLoop"},
                     "resume": False, "workflow": [("train", 1)]}
_SECTION_ORDER = ("model", "data", "optimizer", "optimizer_config", "lr_config", "total_epochs", "seed",
                  "checkpoint_config", "evaluation", "log_config", "log_level", "amp", "dist_params",
                  "cudnn_benchmark", "work_dir", "load_from", "resume_from")


@dataclass
class ImportResult:
    """A translated config.

    Attributes:
        data: the recipe as plain data (validated: `Recipe.model_validate(data)` succeeds).
        translated: `(config path, recipe path)` pairs, one per section carried over.
        skipped: entries left out, each with its config path and why.
        notes: statements of the config that were not evaluated (imports, loops ...).
        warnings: entries translated as written whose vidact model differs from MMAction2's.
        files: the config and its bases, in merge order.
    """

    data: dict[str, Any]
    translated: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    warnings: list[Skipped] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """JSON-ready lists of what was translated and skipped."""
        return {
            "files": self.files,
            "translated": [{"config": c, "recipe": r} for c, r in self.translated],
            "skipped": [asdict(s) for s in self.skipped],
            "notes": self.notes,
            "warnings": [asdict(w) for w in self.warnings],
        }

    def to_yaml(self, source: str = "") -> str:
        """The recipe as YAML, headed by comments naming the config and what was skipped."""
        from vidact.schemas.recipe import _RecipeDumper

        lines = [f"# Imported from {source} by `vidact recipe import`."] if source else []
        if self.skipped:
            lines.append("# Not translated (set them by hand if you need them):")
            lines += [f"#   {s.path}: {s.reason}" for s in self.skipped]
        if self.warnings:
            lines.append("# Translated, but not the same model as MMAction2's:")
            lines += [f"#   {w.path}: {w.reason}" for w in self.warnings]
        body = yaml.dump(self.data, Dumper=_RecipeDumper, sort_keys=False, allow_unicode=True, width=100)
        return "\n".join(lines) + ("\n" if lines else "") + body


def import_mmconfig(path: str | Path, overrides: Iterable[str] = (), *, video_decoder: str | None = None) -> ImportResult:
    """Read an MMAction config (never executing it) and translate it into validated recipe data.

    Args:
        path: the `.py` config; `_base_` paths are relative to it.
        overrides: `--set KEY.PATH=VALUE` strings applied to the translated recipe.
        video_decoder: 'pyav', 'opencv' or 'decord' to replace the config's video Init/Decode steps.

    Raises:
        RecipeError: unreadable or invalid Python file (`file:line`), or a translation that does not
            validate (every problem listed, plus what was skipped).
    """
    config = read_mmconfig(path)
    translator = _Translator(config, video_decoder)
    data = translator.translate()
    result = ImportResult(data=data, translated=translator.translated, skipped=translator.skipped,
                          notes=[f"{n.where}: {n.what}" for n in config.notes], files=config.files,
                          warnings=translator.warnings)
    _apply_overrides(data, {}, list(overrides))
    _validate(result, str(path))
    return result


def _validate(result: ImportResult, display: str) -> None:
    from vidact.schemas.recipe import Recipe

    try:
        Recipe.model_validate(result.data)
    except ValidationError as exc:
        problems = validation_problems(exc, {}, display)
        skipped = [Problem(s.path, f"skipped: {s.reason}") for s in result.skipped]
        raise RecipeProblems(f"{display}: the translated recipe is invalid", [*problems, *skipped]) from None


# ---- the translation ---------------------------------------------------------------------------


class _Translator(SpecFitter):
    """The MMAction -> vidact rules, section by section, on top of the generic spec fitting."""

    def __init__(self, config: MMConfig, video_decoder: str | None) -> None:
        super().__init__()
        self.cfg = dict(config.values)
        self.helpers = config.helpers
        self.decoder = video_decoder
        self.normalize: dict[str, Any] | None = None
        self.new_style = any(k in self.cfg for k in ("train_dataloader", "optim_wrapper", "param_scheduler",
                                                     "default_hooks"))
        self.warnings: list[Skipped] = []

    def translate(self) -> dict[str, Any]:
        """Build the recipe sections; every top-level key ends up translated, skipped or a helper."""
        out: dict[str, Any] = {}
        cfg = self.cfg
        new_style = self.new_style
        if "model" in cfg:
            out["model"] = self._model(cfg.pop("model"))
        out["data"] = self._data_1x() if new_style else self._data_0x()
        if new_style:
            self._optim_wrapper(out)
            self._schedules(out)
            self._hooks_1x(out)
        self._runtime(out)
        for key, value in cfg.items():
            if key in self.helpers:
                continue
            if _RUNTIME_DEFAULTS.get(key, DROP) == value:
                self.done(key, "(vidact's default)")
            else:
                self.skip(key, _why_top_level(key, value))
        return {k: out[k] for k in _SECTION_ORDER if k in out and out[k] is not DROP}

    # ---- model ----

    def _model(self, model: Any) -> Any:
        from vidact.schemas import model as specs

        if not isinstance(model, dict):
            return self.skip("model", _bad(model, "a dict"))
        model = dict(model)
        preprocessor = model.pop("data_preprocessor", None)
        if preprocessor is not None:
            self._preprocessor(preprocessor)
        head = model.get("cls_head")
        if isinstance(head, dict) and "average_clips" in head:  # 1.x keeps it in the head
            head = dict(head)
            test_cfg = dict(model.get("test_cfg") or {})
            test_cfg.setdefault("average_clips", head.pop("average_clips"))
            model["cls_head"], model["test_cfg"] = head, test_cfg
            self.done("model.cls_head.average_clips", "model.test_cfg.average_clips")
        if "test_cfg" in self.cfg and not _is_loop(self.cfg["test_cfg"]):  # 0.x before 0.10: top level
            model["test_cfg"] = self.cfg.pop("test_cfg")
        fitted = self.fit(model, specs.Model, "model")
        if fitted is not DROP:
            self.done("model", "model")
            self._known_differences(fitted)
        return fitted

    def _known_differences(self, model: dict) -> None:
        dropped = [s.path for s in self.skipped if s.path.startswith("model.")
                   and not s.path.startswith("model.data_preprocessor")  # the pipeline's part
                   and not s.path.endswith((".pretrained", ".init_cfg"))]  # weights, not architecture
        if dropped:
            self.warnings.append(Skipped("model", f"built without {', '.join(dropped)} (skipped above): "
                                                  "check the architecture before importing weights"))
        backbone = model.get("backbone") or {}
        if self.new_style and backbone.get("type") == "ResNet3dCSN" and backbone.get("bottleneck_mode") == "ip":
            self.warnings.append(Skipped(
                "model.backbone.bottleneck_mode",
                "MMAction2 1.x's ip-CSN has a norm after the 1x1x1 conv (conv2.0.bn); vidact builds 0.x's "
                "block without it, so 1.x ip-CSN checkpoints do not load"))

    def _preprocessor(self, cfg: Any) -> None:
        """1.x normalises in the model (`data_preprocessor`); vidact's pipelines do, with Normalize."""
        where = "model.data_preprocessor"
        if not isinstance(cfg, dict) or cfg.get("type") != "ActionDataPreprocessor":
            self.skip(where, f"{_type_of(cfg)} has no vidact counterpart")
            return
        for key, value in cfg.items():
            if key in ("type", "mean", "std", "format_shape"):
                continue
            if key == "to_rgb" and not value:
                continue
            self.skip(f"{where}.{key}", "not available in vidact's Normalize step")
        if "mean" in cfg and "std" in cfg:
            self.normalize = {"type": "Normalize", "mean": plain(cfg["mean"]), "std": plain(cfg["std"]),
                              "to_bgr": False}
            self.done(f"{where}.mean/std", "Normalize step before FormatShape in each pipeline")
        if "format_shape" in cfg:
            self.done(f"{where}.format_shape", "FormatShape steps of the pipelines")

    # ---- data ----

    def _data_0x(self) -> Any:
        data = self.cfg.pop("data", None)
        if data is None:
            return self.skip("data", "missing from the config")
        if not isinstance(data, dict):
            return self.skip("data", _bad(data, "a dict"))
        out: dict[str, Any] = {}
        for key, value in data.items():
            where = f"data.{key}"
            if key in ("videos_per_gpu", "workers_per_gpu"):
                out[key] = plain(value)
                self.done(where, where)
            elif key in ("val_dataloader", "test_dataloader") and isinstance(value, dict):
                out[key] = self._loader_override(value, where)
            elif key in ("train", "val", "test"):
                out[key] = self._dataset(value, where, key)
            elif key == "train_dataloader" and isinstance(value, dict):
                for name in value:
                    self.skip(f"{where}.{name}", "vidact's training dataloader has no such setting")
            else:
                self.skip(where, "not a vidact data setting")
        return {k: v for k, v in out.items() if v is not DROP}

    def _loader_override(self, value: dict, where: str) -> dict:
        out = {}
        for name, item in value.items():
            if name in ("videos_per_gpu", "workers_per_gpu"):
                out[name] = plain(item)
                self.done(f"{where}.{name}", f"data.{where.split('.')[-1]}.{name}")
            else:
                self.skip(f"{where}.{name}", "vidact's dataloaders have no such setting")
        return out

    def _data_1x(self) -> Any:
        out: dict[str, Any] = {}
        for split in ("train", "val", "test"):
            name = f"{split}_dataloader"
            loader = self.cfg.pop(name, None)
            if loader is None:
                continue
            if not isinstance(loader, dict):
                self.skip(name, _bad(loader, "a dict"))
                continue
            for key, value in loader.items():
                where = f"{name}.{key}"
                if key == "dataset":
                    out[split] = self._dataset(value, where, split)
                elif key in ("batch_size", "num_workers"):
                    ours = {"batch_size": "videos_per_gpu", "num_workers": "workers_per_gpu"}[key]
                    if split == "train":
                        out[ours] = plain(value)
                        self.done(where, f"data.{ours}")
                    else:
                        out.setdefault(name, {})[ours] = plain(value)
                        self.done(where, f"data.{name}.{ours}")
                elif key == "sampler" and _is_default_sampler(value, split):
                    self.done(where, "(vidact's default: shuffled for training, in order otherwise)")
                else:
                    self.skip(where, "vidact's dataloaders have no such setting")
        self._evaluators(out)
        return {k: v for k, v in out.items() if v is not DROP}

    def _dataset(self, value: Any, where: str, split: str) -> Any:
        from vidact.schemas import data as specs

        if not isinstance(value, dict):
            return self.skip(where, _bad(value, "a dict"))
        value = dict(value)
        prefix = value.get("data_prefix")
        if isinstance(prefix, dict):  # 1.x: data_prefix=dict(video=...) or dict(img=...)
            kept = {k: v for k, v in prefix.items() if k in ("video", "img")}
            for key in prefix:
                if key not in kept:
                    self.skip(f"{where}.data_prefix.{key}", "vidact datasets take one folder")
            value["data_prefix"] = next(iter(kept.values()), None)
        if isinstance(value.get("dataset"), dict):  # RepeatDataset
            value["dataset"] = self._dataset(value["dataset"], f"{where}.dataset", split)
            if value["dataset"] is DROP:
                return DROP
        if isinstance(value.get("pipeline"), (list, tuple)):
            value["pipeline"] = self._pipeline(list(value["pipeline"]), f"{where}.pipeline", split)
        fitted = self.fit(value, specs.Dataset, where)
        if fitted is not DROP:
            self.done(where, f"data.{split}")
        return fitted

    def _pipeline(self, steps: list, where: str, split: str) -> list:
        out: list = []
        for i, step in enumerate(steps):
            kind = step.get("type") if isinstance(step, dict) else None
            if kind == "PackActionInputs":  # 1.x: one step for collect + to-tensor
                rest = [k for k in step if k != "type"]
                for key in rest:
                    self.skip(f"{where}[{i}].{key}", "no vidact counterpart for PackActionInputs settings")
                out.append({"type": "Collect", "keys": ["imgs", "label"], "meta_keys": []})
                out.append({"type": "ToTensor", "keys": ["imgs", "label"] if split == "train" else ["imgs"]})
                self.done(f"{where}[{i}] PackActionInputs", "Collect + ToTensor")
                continue
            if kind == "FormatShape" and self.normalize is not None:
                out.append(dict(self.normalize))
            if kind in _DECODER_STEPS and self.decoder:
                step = {"type": VIDEO_DECODERS[self.decoder][0 if kind.endswith("Init") else 1]}
            out.append(Indexed(step, f"{where}[{i}]"))
        if self.normalize is not None and not any(
                isinstance(s, dict) and s.get("type") == "Normalize" for s in out):
            out.append(dict(self.normalize))  # no FormatShape step: normalise last
        return out

    def _evaluators(self, data: dict) -> None:
        metrics = self.cfg.pop("val_evaluator", None)
        test = self.cfg.pop("test_evaluator", None)
        if metrics is None:
            return
        if test is not None and test != metrics:
            self.skip("test_evaluator", "differs from val_evaluator; vidact evaluates one set of metrics")
        kind = _type_of(metrics)
        if kind != "'AccMetric'":
            self.skip("val_evaluator", f"{kind} has no vidact counterpart")
            return
        evaluation = self.cfg.setdefault("__evaluation", {})
        evaluation["metrics"] = list(plain(metrics.get("metric_list", ("top_k_accuracy", "mean_class_accuracy"))))
        options = metrics.get("metric_options", {}).get("top_k_accuracy", {})
        evaluation["topk"] = list(plain(options.get("topk", (1, 5))))
        self.done("val_evaluator", "evaluation.metrics/topk")

    # ---- optimisation ----

    def _optim_wrapper(self, out: dict) -> None:
        wrapper = self.cfg.pop("optim_wrapper", None)
        if not isinstance(wrapper, dict):
            if wrapper is not None:
                self.skip("optim_wrapper", _bad(wrapper, "a dict"))
            return
        kind = wrapper.get("type", "OptimWrapper")
        if kind == "AmpOptimWrapper":
            dtype = wrapper.get("dtype") or "float16"
            out["amp"] = {"enabled": True, "dtype": dtype}
            self.done("optim_wrapper.type", "amp.enabled")
        elif kind != "OptimWrapper":
            self.skip("optim_wrapper.type", f"'{kind}' has no vidact counterpart")
        optimizer = dict(wrapper.get("optimizer") or {})
        constructor = wrapper.get("constructor")
        if constructor is not None:
            ours = {"TSMOptimWrapperConstructor": "TSMOptimizerConstructor",
                    "DefaultOptimWrapperConstructor": "DefaultOptimizerConstructor"}.get(constructor)
            if ours:
                optimizer["constructor"] = ours
            else:
                self.skip("optim_wrapper.constructor", f"'{constructor}' has no vidact counterpart")
        if "paramwise_cfg" in wrapper:
            optimizer["paramwise_cfg"] = wrapper["paramwise_cfg"]
        out["optimizer"] = self._optimizer(optimizer, "optim_wrapper.optimizer")
        config: dict[str, Any] = {}
        if isinstance(wrapper.get("clip_grad"), dict):
            config["grad_clip"] = wrapper["clip_grad"]
        if "accumulative_counts" in wrapper:
            config["accumulate"] = wrapper["accumulative_counts"]
        for key in wrapper:
            if key not in ("type", "dtype", "optimizer", "constructor", "paramwise_cfg", "clip_grad",
                           "accumulative_counts"):
                self.skip(f"optim_wrapper.{key}", "no vidact counterpart")
        if config:
            out["optimizer_config"] = self._fitplain(config, "optimizer_config", "optim_wrapper")

    def _optimizer(self, value: dict, where: str) -> Any:
        from vidact.schemas import optim as specs

        fitted = self.fit(value, specs.Optimizer, where)
        if fitted is not DROP:
            self.done(where, "optimizer")
        return fitted

    def _fitplain(self, value: dict, section: str, where: str) -> Any:
        from vidact.schemas.recipe import Recipe

        fitted = self.fit(value, Recipe.model_fields[section].annotation, where)
        if fitted is not DROP:
            self.done(where, section)
        return fitted

    def _schedules(self, out: dict) -> None:
        loop = self.cfg.pop("train_cfg", None)
        if isinstance(loop, dict):
            for key, value in loop.items():
                where = f"train_cfg.{key}"
                if key == "max_epochs":
                    out["total_epochs"] = plain(value)
                    self.done(where, "total_epochs")
                elif key == "val_interval":
                    self.cfg.setdefault("__evaluation", {})["interval"] = plain(value)
                    self.done(where, "evaluation.interval")
                elif (key, value) in (("type", "EpochBasedTrainLoop"), ("val_begin", 1)):
                    continue
                else:
                    self.skip(where, "vidact trains by epochs and validates from the first interval on")
        elif loop is not None:
            self.skip("train_cfg", _bad(loop, "a dict"))
        schedulers = self.cfg.pop("param_scheduler", None)
        if schedulers is None:
            return
        if isinstance(schedulers, dict):
            schedulers = [schedulers]
        out["lr_config"] = _lr_config(self, list(schedulers), out.get("total_epochs"))

    # ---- runtime ----

    def _hooks_1x(self, out: dict) -> None:
        hooks = self.cfg.pop("default_hooks", None) or {}
        for name, hook in hooks.items():
            where = f"default_hooks.{name}"
            if name in _BUILT_IN_HOOKS:
                self.done(where, "(built into vidact's Trainer)")
            elif name == "checkpoint" and isinstance(hook, dict):
                checkpoint = {k: hook[k] for k in ("interval", "max_keep_ckpts") if k in hook}
                if "save_best" in hook:
                    best = hook["save_best"]
                    if best in ("auto", True, False, None):
                        self.cfg.setdefault("__evaluation", {})["save_best"] = best if best is not None else False
                        self.done(f"{where}.save_best", "evaluation.save_best")
                    else:
                        self.skip(f"{where}.save_best", f"metric name {best!r}: set evaluation.key_indicator")
                for key in hook:
                    if key not in ("type", "interval", "max_keep_ckpts", "save_best"):
                        self.skip(f"{where}.{key}", "vidact's checkpoint hook has no such setting")
                out["checkpoint_config"] = self._fitplain(checkpoint, "checkpoint_config", where)
            elif name == "logger" and isinstance(hook, dict):
                if "interval" in hook:
                    out["log_config"] = {"interval": plain(hook["interval"])}
                    self.done(f"{where}.interval", "log_config.interval")
                for key in hook:
                    if key not in ("type", "interval", "ignore_last"):
                        self.skip(f"{where}.{key}", "vidact's logger has no such setting")
            else:
                self.skip(where, f"{_type_of(hook)}: vidact has no such hook")
        for i, hook in enumerate(self.cfg.pop("custom_hooks", None) or []):
            self.skip(f"custom_hooks[{i}]", f"{_type_of(hook)}: vidact has no such hook")

    def _runtime(self, out: dict) -> None:
        cfg = self.cfg
        for key in ("total_epochs", "log_level", "work_dir", "seed", "resume_from"):
            if key in cfg:
                out[key] = plain(cfg.pop(key))
                self.done(key, key)
        if "load_from" in cfg:
            value = cfg.pop("load_from")
            if isinstance(value, str) and "://" in value:
                self.skip("load_from", "a URL: vidact never downloads; download it and --set load_from=FILE")
            else:
                out["load_from"] = plain(value)
                self.done("load_from", "load_from")
        for key in ("optimizer", "optimizer_config", "lr_config", "checkpoint_config", "log_config",
                    "dist_params", "evaluation"):
            if key in cfg:
                value = cfg.pop(key)
                if key == "optimizer":
                    out[key] = self._optimizer(dict(value) if isinstance(value, dict) else value, key)
                elif key == "lr_config":
                    out[key] = self.fit(value, _annotation(key), key)
                    if out[key] is not DROP:
                        self.done(key, key)
                elif key == "evaluation":
                    cfg["__evaluation"] = _evaluation_0x(self, value)
                else:
                    out[key] = self._fitplain(value, key, key)
        if "fp16" in cfg:
            cfg.pop("fp16")
            out["amp"] = {"enabled": True, "dtype": "float16"}
            self.done("fp16", "amp")
        env = cfg.pop("env_cfg", None)
        if isinstance(env, dict):
            for key, value in env.items():
                if key == "cudnn_benchmark":
                    out["cudnn_benchmark"] = bool(value)
                    self.done("env_cfg.cudnn_benchmark", "cudnn_benchmark")
                elif key == "dist_cfg" and isinstance(value, dict) and set(value) == {"backend"}:
                    out["dist_params"] = {"backend": value["backend"]}
                    self.done("env_cfg.dist_cfg.backend", "dist_params.backend")
                else:
                    self.skip(f"env_cfg.{key}", "vidact sets this up itself")
        randomness = cfg.pop("randomness", None)
        if isinstance(randomness, dict) and "seed" in randomness:
            out["seed"] = plain(randomness["seed"])
            self.done("randomness.seed", "seed")
        scale = cfg.pop("auto_scale_lr", None)
        if isinstance(scale, dict) and scale.get("enable"):
            self.skip("auto_scale_lr", "vidact does not rescale the lr by batch size; set optimizer.lr")
        elif scale is not None:
            self.done("auto_scale_lr", "(disabled: nothing to do)")
        evaluation = cfg.pop("__evaluation", None)
        if evaluation:
            out["evaluation"] = self.fit(evaluation, _annotation("evaluation"), "evaluation")

# ---- pieces ------------------------------------------------------------------------------------


def _lr_config(tr: _Translator, schedulers: list, total_epochs: Any) -> Any:
    """1.x `param_scheduler` -> one `lr_config`: an optional LinearLR warmup plus one main schedule."""
    lr: dict[str, Any] = {}
    for i, item in enumerate(schedulers):
        where = f"param_scheduler[{i}]"
        kind = item.get("type") if isinstance(item, dict) else None
        begin = item.get("begin", 0) if isinstance(item, dict) else None
        if kind == "LinearLR" and begin == 0 and item.get("end_factor", 1.0) == 1.0 and i == 0 and len(schedulers) > 1:
            by_epoch = item.get("by_epoch", True)
            lr.update(warmup="linear", warmup_ratio=item.get("start_factor", 1 / 3),
                      warmup_iters=item.get("end", 0), warmup_by_epoch=bool(by_epoch))
            tr.done(where, "lr_config.warmup (linear, updated every iteration)")
        elif kind == "MultiStepLR" and isinstance(begin, int) and _ints(item.get("milestones")):
            # mmengine counts milestones from `begin`; our steps are absolute epochs (or iterations)
            lr.update(policy="step", step=[begin + m for m in item["milestones"]], gamma=item.get("gamma", 0.1),
                      by_epoch=item.get("by_epoch", True))
            tr.done(where, "lr_config (policy: step)" + (f", milestones + begin ({begin})" if begin else ""))
        elif kind == "CosineAnnealingLR" and begin == 0 and item.get("T_max") in (None, total_epochs, item.get("end")):
            lr.update(policy="CosineAnnealing", by_epoch=item.get("by_epoch", True))
            if item.get("eta_min_ratio") is not None:
                lr["min_lr_ratio"] = item["eta_min_ratio"]
            else:
                lr["min_lr"] = item.get("eta_min") or 0
            tr.done(where, "lr_config (policy: CosineAnnealing)")
        elif kind == "ConstantLR" and item.get("factor", 1) == 1:
            lr.setdefault("policy", "fixed")
            tr.done(where, "lr_config (policy: fixed)")
        elif kind == "CosineAnnealingLR":
            tr.skip(where, f"starts at epoch {begin} or spans T_max={item.get('T_max')} epochs: vidact's "
                    "CosineAnnealing spans the whole run from epoch 0")
        else:
            tr.skip(where, f"{_type_of(item)} as given has no vidact lr policy")
    if not lr:
        return DROP
    lr.setdefault("policy", "fixed")
    return tr.fit(lr, _annotation("lr_config"), "param_scheduler")


def _evaluation_0x(tr: _Translator, value: Any) -> Any:
    if not isinstance(value, dict):
        return tr.skip("evaluation", _bad(value, "a dict"))
    value = dict(value)
    if "metric_options" in value:
        options = value.pop("metric_options")
        topk = options.get("top_k_accuracy", {}).get("topk") if isinstance(options, dict) else None
        if topk is not None:
            value["topk"] = topk
            tr.done("evaluation.metric_options.top_k_accuracy.topk", "evaluation.topk")
    if "metric" in value and "metrics" not in value:  # older 0.x spelling
        value["metrics"] = value.pop("metric")
    tr.done("evaluation", "evaluation")
    return value




def _ints(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)


def _annotation(section: str) -> Any:
    from vidact.schemas.recipe import Recipe

    return Recipe.model_fields[section].annotation


def _is_loop(value: Any) -> bool:
    return isinstance(value, dict) and str(value.get("type", "")).endswith("Loop")


def _is_default_sampler(value: Any, split: str) -> bool:
    return isinstance(value, dict) and value.get("type") == "DefaultSampler" and \
        bool(value.get("shuffle", True)) == (split == "train")


def _why_top_level(key: str, value: Any) -> str:
    reasons = {
        "custom_imports": "imports custom code, which vidact does not run",
        "val_evaluator": "vidact evaluates with the recipe's evaluation section",
        "find_unused_parameters": "vidact's DDP setting is chosen by the Trainer",
        "visualizer": "vidact has no visualizer", "vis_backends": "vidact has no visualizer",
        "log_processor": "vidact's logger has no such setting", "default_scope": "no registry scopes in vidact",
        "workflow": "vidact trains every epoch and validates every evaluation.interval epochs",
        "resume": "use `vidact train --resume` (or resume_from)",
        "val_cfg": "vidact has one validation loop", "test_cfg": "vidact has one test loop",
    }
    if isinstance(value, Unsupported):
        return str(value)
    if key not in reasons and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return "a variable no translated entry uses"
    return reasons.get(key, "not a vidact recipe setting")


def _type_of(value: Any) -> str:
    if isinstance(value, dict) and "type" in value:
        return repr(value["type"])
    if isinstance(value, Unsupported):
        return str(value)
    return "this entry"


def _bad(value: Any, expected: str) -> str:
    return str(value) if isinstance(value, Unsupported) else f"expected {expected}, got {type(value).__name__}"



