"""PNG figures for `vidact eval --plot`: a confusion matrix and the AR@AN curve.

matplotlib is optional (`pip install 'vidact[plot]'`) and imported only when a plot is drawn. Figures
are drawn on an Agg canvas without pyplot, so no global backend or figure state is touched.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vidact.errors import InputError
from vidact.io.files import atomic_write_bytes


def plot_confusion_matrix(
    matrix: np.ndarray, path: str | Path, *, labels: Sequence[Any] | None = None, title: str = "Confusion matrix"
) -> Path:
    """Draw a (L, L) confusion matrix (rows: true class, columns: predicted) to `path`.

    Args:
        matrix: counts or normalised rates.
        labels: L tick labels (class indices or names); defaults to 0..L-1.
    """
    figure_cls, canvas_cls = _matplotlib()
    matrix = np.asarray(matrix, dtype=np.float64)
    n = matrix.shape[0]
    labels = list(range(n)) if labels is None else list(labels)
    size = min(4 + 0.35 * n, 24)
    fig = figure_cls(figsize=(size + 1.5, size))
    canvas_cls(fig)
    ax = fig.add_subplot()
    image = ax.imshow(matrix, cmap="Blues", interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ticks = np.arange(n)
    ax.set_xticks(ticks, [str(x) for x in labels], rotation=90 if n > 10 else 0)
    ax.set_yticks(ticks, [str(x) for x in labels])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    if n <= 20:  # write the values in the cells while they stay legible
        integral = np.all(matrix == np.round(matrix))
        threshold = matrix.max() / 2 if matrix.size else 0
        for (i, j), value in np.ndenumerate(matrix):
            text = f"{value:.0f}" if integral else f"{value:.2f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white" if value > threshold else "black")
    fig.tight_layout()
    return _save(fig, path)


def plot_ar_an(
    proposals_per_video: np.ndarray,
    average_recall: np.ndarray,
    path: str | Path,
    *,
    auc: float | None = None,
    title: str = "AR@AN",
) -> Path:
    """Draw average recall (fraction) against the average number of proposals per video.

    Args:
        proposals_per_video: (P,) the x axis (AN).
        average_recall: (P,) recall averaged over tIoU thresholds, as fractions.
        auc: the area under the curve in percent, shown in the legend.
    """
    figure_cls, canvas_cls = _matplotlib()
    fig = figure_cls(figsize=(6, 4.5))
    canvas_cls(fig)
    ax = fig.add_subplot()
    label = "AR@AN" if auc is None else f"AR@AN (AUC {auc:.2f}%)"
    ax.plot(np.asarray(proposals_per_video), np.asarray(average_recall), color="tab:blue", linewidth=2, label=label)
    ax.set_xlabel("average number of proposals per video (AN)")
    ax.set_ylabel("average recall")
    ax.set_ylim(0, 1)
    ax.set_xlim(left=0)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


def _matplotlib() -> tuple[type, type]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise InputError("plotting needs matplotlib, which is not installed: pip install 'vidact[plot]'") from None
    return Figure, FigureCanvasAgg


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".") or "png"
    if fmt not in fig.canvas.get_supported_filetypes():
        supported = ", ".join(sorted(fig.canvas.get_supported_filetypes()))
        raise InputError(f"{path}: cannot write a .{fmt} figure; use one of: {supported}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=120)
    atomic_write_bytes(path, buffer.getvalue())
    return path
