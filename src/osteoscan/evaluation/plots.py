"""Figures for evaluation reports (matplotlib, no pyplot state, no torch).

Every function returns a :class:`matplotlib.figure.Figure`; :func:`figure_to_data_uri`
turns one into a base64 PNG for self-contained HTML, :func:`save_figure` writes a file.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

from osteoscan.artefacts import atomic_write
from osteoscan.evaluation.io import Predictions

SIZE = (4.2, 4.0)


def _binary_curves(pred: Predictions) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, y, score) per curve: the positive class, or one-vs-rest per class."""
    if pred.is_binary:
        return [(pred.class_names[1], pred.y == 1, pred.score)]
    return [(name, pred.y == k, pred.prob[:, k]) for k, name in enumerate(pred.class_names)]


def roc_figure(curves: dict[str, Predictions] | Predictions, title: str = "ROC") -> Figure:
    """ROC curves: one model (per class when multi-class) or an overlay of several models."""
    fig = Figure(figsize=SIZE, layout="constrained")
    ax = fig.add_subplot()
    models = curves if isinstance(curves, dict) else {"": curves}
    for model, pred in models.items():
        for label, y, score in _binary_curves(pred):
            if y.all() or not y.any():
                continue
            fpr, tpr, _ = roc_curve(y, score)
            from osteoscan.evaluation.metrics import weighted_auc

            auc = float(weighted_auc(y, score, np.ones((1, len(y))))[0])
            name = " ".join(x for x in (model, "" if pred.is_binary and model else label) if x)
            ax.plot(fpr, tpr, lw=1.5, label=f"{name} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], ls="--", c="0.6", lw=1)
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", title=title, xlim=(0, 1), ylim=(0, 1.01))
    if ax.get_legend_handles_labels()[0]:  # a set with one class has no curve to label
        ax.legend(loc="lower right", fontsize=7)
    return fig


def pr_figure(pred: Predictions, title: str = "Precision-recall") -> Figure:
    """Precision-recall curve(s) with the prevalence as the no-skill line."""
    fig = Figure(figsize=SIZE, layout="constrained")
    ax = fig.add_subplot()
    for label, y, score in _binary_curves(pred):
        if y.all() or not y.any():
            continue
        precision, recall, _ = precision_recall_curve(y, score)
        ax.plot(recall, precision, lw=1.5, label=f"{label} (prevalence {y.mean():.2f})")
    ax.set(
        xlabel="recall (sensitivity)",
        ylabel="precision (PPV)",
        title=title,
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower left", fontsize=7)
    return fig


def reliability_figure(
    calibration: dict, ece: float | None = None, title: str = "Calibration"
) -> Figure:
    """Reliability diagram from ``metrics.json['calibration']`` with bin counts below."""
    fig = Figure(figsize=SIZE, layout="constrained")
    ax, hist = fig.subplots(2, 1, height_ratios=(3, 1), sharex=True)
    bins = calibration["bins"]
    mean = [b["mean_predicted"] for b in bins]
    obs = [b["observed"] for b in bins]
    ax.plot([0, 1], [0, 1], ls="--", c="0.6", lw=1)
    ax.plot(mean, obs, marker="o", lw=1.5)
    suffix = f" (ECE {ece:.3f})" if ece is not None and np.isfinite(ece) else ""
    ax.set(ylabel="observed frequency", title=title + suffix, ylim=(0, 1.01))
    width = 1.0 / calibration["n_bins"]
    hist.bar(
        [b["bin_low"] for b in bins],
        [b["count"] for b in bins],
        width=width,
        align="edge",
        color="0.5",
    )
    hist.set(
        xlabel=f"predicted probability ({calibration['target']})", ylabel="studies", xlim=(0, 1)
    )
    return fig


def confusion_figure(
    matrix: list[list[int]], class_names: list[str], title: str = "Confusion matrix"
) -> Figure:
    """Confusion matrix heat map, true classes in rows."""
    cm = np.asarray(matrix)
    fig = Figure(figsize=SIZE, layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(
            j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black"
        )
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=30, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    return fig


def figure_to_data_uri(fig: Figure) -> str:
    """A ``data:image/png;base64,...`` URI for embedding in HTML."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write a figure atomically (format from the suffix)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".") or None  # the temporary file's suffix is .tmp
    return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format=fmt))
