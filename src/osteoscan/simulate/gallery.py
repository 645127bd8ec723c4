"""A reading-station style picture of simulated studies (docs and quick checks)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from osteoscan.simulate.study import SimulatedStudy


def _display_max(img: np.ndarray, bone: np.ndarray) -> float:
    """Window top: above most bone pixels, so that bladder and injection site saturate."""
    vals = img[bone & (img > 0)]
    return 1.7 * float(np.percentile(vals, 90.0)) if vals.size else float(img.max() or 1.0)


def _last_row(studies: Sequence[SimulatedStudy]) -> int:
    """One row past the last non-empty row of any study (the sweep's end)."""
    last = [int(np.nonzero(st.scan.anterior.any(axis=1))[0].max()) + 1 for st in studies]
    return min(max(last) + 8, studies[0].scan.shape[0])


def save_gallery(studies: Sequence[SimulatedStudy], path: str | Path, *,
                 outlines: bool = True, dpi: int = 110,
                 zoom: float = 1.0, rows: slice | None = None) -> Path:
    """Save anterior and posterior views of studies side by side, inverted gray.

    Args:
        studies: studies to show (one column pair each).
        path: PNG file to write.
        outlines: draw lesion outlines (red malignant, blue benign).
        dpi: resolution.

    Returns:
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = rows or slice(0, _last_row(studies))
    n_rows = len(range(*rows.indices(studies[0].scan.shape[0])))
    height = 7.5 * zoom
    width = 2 * len(studies) * height * studies[0].scan.shape[1] / n_rows * 1.08
    fig, axes = plt.subplots(1, 2 * len(studies), figsize=(width, height + 0.3), squeeze=False)
    for k, st in enumerate(studies):
        for j, view in enumerate(("anterior", "posterior")):
            ax = axes[0, 2 * k + j]
            img = getattr(st.scan, view)[rows or slice(None)]
            ax.imshow(img, cmap="gray_r", vmin=0, vmax=_display_max(img, st.bone_mask[rows or slice(None)]), interpolation="none")
            if outlines:
                for ann in st.label.annotations:
                    if ann.view == view:
                        pts = np.array(ann.points + ann.points[:1])
                        color = "red" if ann.label == "malignant" else "dodgerblue"
                        ax.plot(pts[:, 0], pts[:, 1], color=color, lw=0.6)
            title = f"{st.label.label} {view[:4]}" if j == 0 else f"{st.site} {view[:4]}"
            ax.set_title(title, fontsize=7)
            ax.axis("off")
    fig.tight_layout(pad=0.2)
    out = Path(path)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out
