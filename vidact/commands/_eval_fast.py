"""`vidact eval`'s output and its Typer-free path for the common localization call.

`python -m vidact eval --metric mAP --ann gt.json results.json [--json]` spends a third of its time
importing Typer and building every command's parser. `run_fast` takes that call (and only that:
`--ann`, `--metric AR@AN|mAP`, `--subset`, `--max-avg-proposals`, `--json`, one results file),
runs the same functions `vidact.commands.eval` runs and prints the same bytes; any other command
line returns None and goes to the Typer app, which also does every --help and usage error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from vidact.commands._boundary import report_error, setup_default_logging
from vidact.errors import InputError
from vidact.io import console

if TYPE_CHECKING:
    from vidact.evaluation.suite import EvalResult

_MAX_TABLE_CLASSES = 30  # wider confusion matrices go to --json / --plot only
_VALUE_OPTIONS = {"--ann": "ann", "--metric": "metric", "-m": "metric", "--subset": "subset",
                  "--max-avg-proposals": "max_avg_proposals"}
_FAST_METRICS = ("ar@an", "map")


# ---- shared with vidact.commands.eval -------------------------------------------------------------


def check_stdin(ann: str, predictions: str) -> None:
    """Refuse reading both inputs from stdin."""
    if ann == "-" and predictions == "-":
        raise InputError("only one of --ann and SCORES|RESULTS can be '-' (stdin)")


def evaluate_localization_files(ann: str, predictions: str, metrics: list[str], subset: str,
                                max_avg_proposals: int) -> EvalResult:
    """AR@AN / mAP of a results file against ActivityNet ground truth."""
    from vidact.data.annotations.activitynet import read_ground_truth, read_results
    from vidact.evaluation.suite import evaluate_localization

    gt = read_ground_truth(ann, subset=subset)
    from vidact.threads import available_cores

    workers = available_cores()  # large inputs are read and scored in two processes where two cores are free
    results = read_results(predictions, known_labels=gt.class_names, workers=workers)
    result = evaluate_localization(gt, results, metrics=metrics, max_avg_proposals=max_avg_proposals,
                                   workers=workers)
    if subset != "validation" and gt.subset is None:
        result.warnings.insert(0, f"--subset {subset} ignored: {gt.name} is a per-video file without subsets")
    return result


def finish(result: EvalResult, plot: Path | None, json_out: bool) -> None:
    """The table on stderr and, with --json, the one JSON object on stdout."""
    render(result, plot)
    if json_out:
        from vidact.io.jsonout import print_json

        extra = {"per_class_ap": result.tables["ap"]} if "ap" in result.tables else {}
        print_json({k: getattr(result, k) for k in ("metrics", "warnings", "protocol", "inputs")} | extra)


def render(result: EvalResult, plot: Path | None) -> None:
    """Summary, metric table, protocol, confusion matrix and warnings on stderr."""
    err, inputs = console.err, result.inputs
    if result.task == "recognition":
        summary = (f"{inputs['ann']} ({inputs['ann_format']} list) vs {inputs['scores']}: "
                   f"{inputs['num_samples']} samples, {inputs['num_classes']} classes")
    else:
        summary = (f"{inputs['ground_truth']} ({inputs['subset'] or inputs['gt_format']}) vs {inputs['results']}: "
                   f"{inputs['num_gt_videos']} videos, {inputs['num_result_segments']} predicted segments")
    err.print(escape(summary), soft_wrap=True, highlight=False)
    table = _table(f"vidact eval: {result.task}", "metric", "value")
    for name, value in result.metrics.items():
        if not name.startswith("confusion_matrix"):
            table.add_row(name, "null" if value is None else f"{value:.2f} %" if name == "auc" else f"{value:.4f}")
    if table.row_count:
        err.print(table)
    if result.protocol:
        proto = _table("protocol (from the predictions file)", "key", "value", justify="left")
        for key, value in result.protocol.items():
            proto.add_row(escape(str(key)), escape(str(value)))
        err.print(proto)
    if "confusion_matrix" in result.tables:
        _render_confusion(result.tables["confusion_matrix"])
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True, highlight=False)
    if plot is not None:
        err.print(f"plot written to {escape(str(plot))}", soft_wrap=True, highlight=False)


def _render_confusion(cm: dict) -> None:
    labels, matrix = cm["labels"], cm["matrix"]
    if len(labels) > _MAX_TABLE_CLASSES:
        console.err.print(f"confusion matrix: {len(labels)} classes, too many to show; see --json or --plot")
        return
    table = _table("confusion matrix (rows: true class, columns: predicted)", "true \\ pred", *map(str, labels))
    integral = cm["normalize"] is None
    for label, row in zip(labels, matrix):
        table.add_row(str(label), *(f"{v:.0f}" if integral else f"{v:.3f}" for v in row))
    console.err.print(table)


def _table(title: str, *columns: str, justify: str = "right") -> Table:
    table = Table(title=title, min_width=len(title) + 4)
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i == 0 else justify)
    return table


# ---- the Typer-free path ---------------------------------------------------------------------------


def parse_fast(argv: list[str]) -> dict[str, Any] | None:
    """The options of a plain localization `eval` command line, or None for anything else."""
    if not argv or argv[0] != "eval":
        return None
    opts: dict[str, Any] = {"ann": None, "metric": [], "subset": "validation", "max_avg_proposals": 100,
                            "json": False}
    positional = []
    i = 1
    while i < len(argv):
        token = argv[i]
        name, eq, value = token.partition("=")
        if token == "--json":
            opts["json"] = True
        elif token in _VALUE_OPTIONS or (eq and name.startswith("--") and name in _VALUE_OPTIONS):
            if not eq:
                if i + 1 >= len(argv):
                    return None
                name, value = token, argv[i + 1]
                i += 1
            if not value or (value.startswith("-") and value != "-"):
                return None  # let the parser say what it makes of it
            key = _VALUE_OPTIONS[name]
            if key == "metric":
                opts["metric"].append(value)
            else:
                opts[key] = value
        elif token == "-" or not token.startswith("-"):
            positional.append(token)
        else:
            return None  # --help, --plot, recognition options, "--", ...
        i += 1
    avg = str(opts["max_avg_proposals"])
    if len(positional) != 1 or opts["ann"] is None or not (avg.isascii() and avg.isdigit() and int(avg) >= 1):
        return None
    if opts["metric"]:
        if any(m.strip().lower() not in _FAST_METRICS for m in opts["metric"]):
            return None
    elif not opts["ann"].lower().endswith(".json"):
        return None  # recognition by default
    opts["max_avg_proposals"] = int(avg)
    opts["predictions"] = positional[0]
    return opts


def run_fast(argv: list[str]) -> int | None:
    """Run a plain localization `vidact eval` without Typer: its exit code, or None when it is not one."""
    opts = parse_fast(argv)
    if opts is None:
        return None
    # NumPy starts one OpenBLAS thread per core at import; this evaluation does no linear algebra,
    # and starting and parking them costs a tenth of a second of CPU. A user's setting stays.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    console.refresh_consoles()
    setup_default_logging()
    from vidact.io.files import forget_prefetched, prefetch

    for path in (opts["predictions"], opts["ann"]):
        prefetch(path)  # read on a thread while the libraries below import
    try:
        from vidact.evaluation.suite import default_metrics, resolve_metrics

        check_stdin(opts["ann"], opts["predictions"])
        _, metrics = resolve_metrics(opts["metric"] or default_metrics(opts["ann"]))
        result = evaluate_localization_files(opts["ann"], opts["predictions"], metrics, opts["subset"],
                                             opts["max_avg_proposals"])
        finish(result, None, opts["json"])
    except BaseException as exc:  # the app's error boundary (vidact.commands._boundary)
        return report_error(exc)
    finally:
        forget_prefetched()  # inputs an error left unread
    return 0
