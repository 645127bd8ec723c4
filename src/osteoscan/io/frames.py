"""Views found in files, before they become a :class:`~osteoscan.types.BoneScan`.

Readers (DICOM, pictures) turn their input into :class:`ViewFrame` records, each with any
view evidence the file carries; :func:`assign_views` then decides which frame is the
anterior and which the posterior (tags first, the anatomical pixel rule only when needed)
and :func:`scan_from_frames` builds the scan, mirroring the posterior.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from osteoscan.errors import InputError
from osteoscan.io.viewrule import decide_posterior
from osteoscan.types import Acquisition, BoneScan, StudySource, ViewSource

log = logging.getLogger(__name__)

SINGLE_VIEW_CONFIDENCE = 0.3
"""Confidence given to a lone unlabelled view assumed to be anterior."""


@dataclass(frozen=True)
class ViewFrame:
    """One 2-D view read from a file, with the view evidence found so far.

    Attributes:
        pixels: (rows, cols) pixels as stored (posterior NOT yet mirrored).
        file: the file it came from.
        frame: 0-based frame index in a multi-frame file, or None.
        view: "anterior"/"posterior"/"composite" when known, else None.
        rule: the rule that identified the view (osteoscan.types.VIEW_RULES), or None.
        confidence: 0..1.
        detail: evidence in words.
    """

    pixels: np.ndarray
    file: Path
    frame: int | None = None
    view: str | None = None
    rule: str | None = None
    confidence: float = 0.0
    detail: str = ""

    def source(self) -> ViewSource:
        """The :class:`ViewSource` of this frame (view must be known)."""
        return ViewSource(
            view=self.view or "anterior",
            rule=self.rule or "single_view",
            confidence=float(self.confidence),
            detail=self.detail,
            file=str(self.file),
            frame=self.frame,
        )


def _where(fr: ViewFrame) -> str:
    return fr.file.name if fr.frame is None else f"{fr.file.name} frame {fr.frame}"


def _complete_pair(known: ViewFrame, other: ViewFrame) -> ViewFrame:
    view = "posterior" if known.view == "anterior" else "anterior"
    return replace(
        other,
        view=view,
        rule=known.rule,
        confidence=round(0.9 * known.confidence, 3),
        detail=f"the other view of the pair: {_where(known)} is {known.view} ({known.detail})",
    )


def _by_pixels(a: ViewFrame, b: ViewFrame) -> tuple[ViewFrame, ViewFrame]:
    if a.pixels.shape != b.pixels.shape:
        raise InputError(
            a.file,
            f"two unlabelled views of different shapes {a.pixels.shape} and {b.pixels.shape}",
        )
    post, conf, detail = decide_posterior(a.pixels, b.pixels)
    views = ("posterior", "anterior") if post == 0 else ("anterior", "posterior")
    if conf <= 0.55:
        log.warning("%s: anterior/posterior uncertain (%s)", a.file.name, detail)
    return (
        replace(a, view=views[0], rule="pixels", confidence=conf, detail=detail),
        replace(b, view=views[1], rule="pixels", confidence=conf, detail=detail),
    )


def assign_views(frames: list[ViewFrame]) -> tuple[ViewFrame, ViewFrame | None]:
    """Decide the anterior and the posterior among the frames of one study.

    Order of evidence: what the frames already carry (view codes, keywords), the
    complement of a labelled partner, the pixel rule for an unlabelled pair, and for a lone
    unlabelled view the ``single_view`` assumption (anterior, low confidence). Frame order
    is never used.

    Args:
        frames: the frames of one study (1 or more).

    Returns:
        (anterior or composite frame, posterior frame or None).

    Raises:
        InputError: 3+ frames lacking view information, or views claimed twice.
    """
    if not frames:
        raise InputError(None, "no image frames found")
    if len(frames) == 1:
        fr = frames[0]
        if fr.view is None:
            fr = replace(
                fr,
                view="anterior",
                rule="single_view",
                confidence=SINGLE_VIEW_CONFIDENCE,
                detail="one view and nothing says which; assumed anterior",
            )
        return fr, None  # a lone posterior is mirrored by scan_from_frames
    unknown = [f for f in frames if f.view is None]
    if len(frames) == 2 and len(unknown) == 1:
        known = frames[0] if frames[1] is unknown[0] else frames[1]
        frames = [known, _complete_pair(known, unknown[0])]
    elif len(frames) == 2 and len(unknown) == 2:
        frames = list(_by_pixels(frames[0], frames[1]))
    elif unknown:
        raise InputError(
            frames[0].file,
            f"{len(frames)} frames and {len(unknown)} without view information "
            "(cannot tell anterior from posterior among more than two frames)",
        )
    ant = [f for f in frames if f.view == "anterior"]
    post = [f for f in frames if f.view == "posterior"]
    if len(ant) != 1 or len(post) != 1 or len(frames) != 2:
        found = ", ".join(f"{_where(f)}={f.view}" for f in frames)
        raise InputError(
            frames[0].file, f"expected one anterior and one posterior view, found {found}"
        )
    return ant[0], post[0]


def scan_from_frames(
    frames: list[ViewFrame],
    *,
    patient_id: str,
    study_id: str,
    spacing_mm: tuple[float, float] | None,
    source: StudySource,
    acquisition: Acquisition | None = None,
    meta: dict | None = None,
) -> BoneScan:
    """Assign views and build the :class:`BoneScan` (posterior mirrored left-right).

    Args:
        frames: all frames of the study.
        patient_id: patient id.
        study_id: study id.
        spacing_mm: (row, col) spacing or None.
        source: provenance.
        acquisition: acquisition facts; ``total_counts`` is filled in here.
        meta: extra facts.

    Returns:
        The scan.

    Raises:
        InputError: views cannot be assigned or their shapes differ.
    """
    ant, post = assign_views(frames)
    notes = list(source.notes)
    anterior = ant.pixels.astype(np.float32)
    posterior = None
    views = [ant.source()]
    if ant.view == "posterior":  # a lone posterior: mirror it, store as the only view
        anterior = np.ascontiguousarray(anterior[:, ::-1])
        notes.append("single posterior view mirrored into anterior orientation and stored alone")
    if post is not None:
        if post.pixels.shape != ant.pixels.shape:
            raise InputError(
                post.file,
                f"posterior {post.pixels.shape} and anterior {ant.pixels.shape} differ in shape",
            )
        posterior = post.pixels.astype(np.float32)[:, ::-1].copy()  # faster than a cast of the flip
        views.append(post.source())
    # float32 pairwise sums are exact for integer counts below 2**24 per view (real: ~1e6)
    totals = tuple(float(a.sum()) for a in (anterior, posterior) if a is not None)
    acq = replace(acquisition or Acquisition(), total_counts=totals)
    return BoneScan(
        anterior=anterior,
        posterior=posterior,
        spacing_mm=spacing_mm,
        patient_id=patient_id,
        study_id=study_id,
        views=tuple(views),
        source=replace(source, notes=tuple(notes)),
        acquisition=acq,
        posterior_mirrored=True,
        meta=dict(meta or {}),
    )
