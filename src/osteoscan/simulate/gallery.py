"""A reading-station style picture of simulated studies (docs and quick checks)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from osteoscan.artefacts import atomic_write
from osteoscan.simulate.study import SimulatedStudy


def display_max(img: np.ndarray, bone: np.ndarray) -> float:
    """Window top of an inverted grey display (also the screen exports of
    :mod:`osteoscan.simulate.variants`): above most bone pixels, so that bladder and injection site saturate."""
    vals = img[bone & (img > 0)]
    return 1.7 * float(np.percentile(vals, 90.0)) if vals.size else float(img.max() or 1.0)


def _panel(ax, st: SimulatedStudy, view: str, rows: slice, outlines: bool) -> None:
    """One view, inverted grey, with lesion outlines (red malignant, blue benign)."""
    img = getattr(st.scan, view)[rows]
    ax.imshow(img, cmap="gray_r", vmin=0, vmax=display_max(img, st.bone_mask[rows]),
              interpolation="none")
    if outlines:
        for ann in st.label.annotations:
            if ann.view == view:
                pts = np.array(ann.points + ann.points[:1]) - 0.5  # pixel edges -> centres
                color = "red" if ann.label == "malignant" else "dodgerblue"
                ax.plot(pts[:, 0], pts[:, 1] - (rows.start or 0), color=color, lw=0.6)
    ax.set_title(f"{st.site} {st.label.label} {view[:4]}", fontsize=7)
    ax.axis("off")


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
            _panel(axes[0, 2 * k + j], st, view, rows, outlines)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.005, top=0.96, wspace=0.04)
    out = Path(path)
    atomic_write(out, lambda tmp: fig.savefig(tmp, dpi=dpi, format=out.suffix.lstrip(".") or None))
    plt.close(fig)
    return out


def docs_gallery(path: str | Path) -> Path:
    """The picture in docs/simulator.md: a normal, two metastatic studies and a superscan.

    Example:
        >>> docs_gallery("docs/img/simulator_gallery.png")  # doctest: +SKIP
    """
    from osteoscan.simulate.study import StudyPlan, render_plan

    studies = [render_plan(StudyPlan(patient_seed=s, site=site, force_label=label, primary=primary,
                             patient_id=f"G{s}", study_id=f"G{s}")).study
               for s, site, label, primary in ((12, "site_a", "normal", None),
                                               (22, "site_b", "metastasis", "prostate"),
                                               (14, "site_c", "metastasis", "lung"))]
    sup = next(st for s in range(200) if (st := render_plan(StudyPlan(
        patient_seed=s, force_label="metastasis", primary="prostate"))).study.superscan)
    return save_gallery([*studies, sup.study], path, zoom=1.0)
