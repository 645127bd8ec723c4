"""Domain objects: small frozen dataclasses with documented units.

Orientation convention (docs/architecture.md): every image array is ``(rows, cols)`` with
row 0 at the head and the anterior view's orientation: patient's right on the viewer's
left (column 0 side), as an anterior whole-body image is displayed. The posterior view
is acquired mirrored (patient's right on the viewer's right); :class:`BoneScan` stores it
flipped left-right into the anterior orientation and records that in
``posterior_mirrored``. Pixel values are detected counts per pixel (float32).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

ViewName = Literal["anterior", "posterior", "composite"]

VIEW_RULES = ("view_code", "keyword", "pixels", "single_view", "caller")
"""How a view was identified, most to least trustworthy.

``view_code``: DetectorInformationSequence/ViewCodeSequence (SNOMED/DICOM codes);
``keyword``: ANT/POST words in ImageID, SeriesDescription and similar text tags;
``pixels``: an anatomical rule on the counts (spine/kidneys vs bladder/sternum);
``single_view``: one view only and nothing says which (assumed anterior, low confidence);
``caller``: the caller said so (simulator, or an explicit option).
"""


@dataclass(frozen=True)
class ViewSource:
    """Where one view came from and how it was identified.

    Attributes:
        view: "anterior", "posterior" or "composite" (both views fused in one picture).
        rule: one of :data:`VIEW_RULES`.
        confidence: 0..1; 1.0 for ``view_code``, lower for keyword and pixel rules.
        detail: human-readable evidence, e.g. "ViewCodeSequence R-10214 (postero-anterior)".
        file: the file the pixels came from.
        frame: 0-based frame index inside that file (None for a single-frame file).
    """

    view: ViewName
    rule: str
    confidence: float
    detail: str
    file: str
    frame: int | None = None


@dataclass(frozen=True)
class Acquisition:
    """Acquisition facts useful for count normalisation (any may be unknown: None).

    Attributes:
        total_counts: total counts per stored view, in the order (anterior, posterior).
        scan_length_mm: table travel of the whole-body sweep (DICOM ScanLength).
        frame_duration_ms: ActualFrameDuration per view.
        scan_velocity_mm_s: table speed (DICOM ScanVelocity).
        radiopharmaceutical: e.g. "Tc99m MDP".
        injected_mbq: injected activity in MBq.
    """

    total_counts: tuple[float, ...] = ()
    scan_length_mm: float | None = None
    frame_duration_ms: float | None = None
    scan_velocity_mm_s: float | None = None
    radiopharmaceutical: str | None = None
    injected_mbq: float | None = None


@dataclass(frozen=True)
class ViewPlacement:
    """Where one stored view lies on the picture it was cut from (screen captures).

    Coordinates are LabelMe pixel EDGES (pixel ``(r, c)`` covers ``c <= x < c + 1``): picture
    point ``(x, y)`` is view point ``col = (x - x0) / scale``, ``row = (y - y0) / scale``, then
    ``col -> cols - col`` when the view was mirrored (the posterior, stored in the anterior
    orientation). ``x0, y0`` may be negative where a view was padded.

    Attributes:
        view: "anterior", "posterior" or "composite".
        x0: picture x of the view's left pixel edge (before mirroring).
        y0: picture y of the view's top pixel edge.
        scale: picture pixels per view pixel (1 unless a huge picture was block-reduced).
        rows: view rows.
        cols: view columns.
        mirrored: the view is stored mirrored left-right relative to the picture.
    """

    view: str
    x0: float
    y0: float
    scale: float
    rows: int
    cols: int
    mirrored: bool = False

    def to_view(self, x: float, y: float) -> tuple[float, float]:
        """Picture point ``(x, y)`` -> view ``(row, col)`` (may fall outside the view)."""
        col = (x - self.x0) / self.scale
        return (y - self.y0) / self.scale, (self.cols - col if self.mirrored else col)

    def to_picture(self, row: float, col: float) -> tuple[float, float]:
        """View ``(row, col)`` -> picture point ``(x, y)``."""
        c = self.cols - col if self.mirrored else col
        return self.x0 + c * self.scale, self.y0 + row * self.scale

    def contains(self, x: float, y: float) -> bool:
        """True when picture point ``(x, y)`` lies on this view (edges included)."""
        row, col = self.to_view(x, y)
        return 0 <= row <= self.rows and 0 <= col <= self.cols


@dataclass(frozen=True)
class PictureMap:
    """A screen capture's layout and the transform picture pixels <-> view pixels.

    Attributes:
        picture_shape: (rows, cols) of the picture as decoded.
        layout: what was found, in words (e.g. "framed panels on black, 2 whole-body + 2 spot").
        placements: one per stored view, in the order of ``BoneScan.views``.
        discarded: what was left out, as (kind, reason) pairs: spot views, laterals, grey-scale
            bars, text and markers.
    """

    picture_shape: tuple[int, int]
    layout: str
    placements: tuple[ViewPlacement, ...]
    discarded: tuple[tuple[str, str], ...] = ()

    def to_view(self, x: float, y: float) -> tuple[str, float, float] | None:
        """Picture point ``(x, y)`` -> ``(view, row, col)``, or None off every stored view."""
        for p in self.placements:
            if p.contains(x, y):
                return (p.view, *p.to_view(x, y))
        return None

    def to_picture(self, view: str, row: float, col: float) -> tuple[float, float]:
        """``(view, row, col)`` -> picture point ``(x, y)``.

        Raises:
            KeyError: no such view in the scan.
        """
        for p in self.placements:
            if p.view == view:
                return p.to_picture(row, col)
        raise KeyError(f"no {view} view on this picture")

    def placement(self, view: str) -> ViewPlacement | None:
        """The placement of one view, or None."""
        return next((p for p in self.placements if p.view == view), None)


@dataclass(frozen=True)
class StudySource:
    """Provenance of a study: files, format and equipment.

    Attributes:
        files: the files read (absolute paths as strings).
        format: "dicom-nm", "dicom-sc", "image" (PNG/JPEG/TIFF) or "simulated".
        vendor: Manufacturer, when known.
        model: ManufacturerModelName, when known.
        notes: what the reader did on the way (cropped text, undid inversion, split views).
        skipped: files of the input folder that were not used, as (file, reason) pairs:
            unreadable or empty files, copies, other modalities, other studies, stray files.
        picture: for a picture (PNG/JPEG/TIFF, DICOM SC): the layout found and the transform
            picture pixels <-> view pixels; None for count images from DICOM NM.
    """

    files: tuple[str, ...]
    format: str
    vendor: str | None = None
    model: str | None = None
    notes: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    picture: PictureMap | None = None


@dataclass(frozen=True, eq=False)
class BoneScan:
    """A whole-body planar bone scan: two views in counts, in one orientation.

    Attributes:
        anterior: float32 (rows, cols) counts; for an image with both bodies fused and no
            way to split, the composite picture (``views[0].view == "composite"``).
        posterior: float32 (rows, cols) counts mirrored into the anterior orientation, or
            None when the study has a single view.
        spacing_mm: (row, col) pixel spacing in mm; None when the file does not say
            (screen exports).
        patient_id: PatientID or a caller-given id.
        study_id: StudyInstanceUID or a caller-given id.
        views: how each stored view was identified (anterior first).
        source: the files and equipment.
        acquisition: count-related facts.
        posterior_mirrored: True when ``posterior`` was flipped left-right on reading.
        meta: other facts worth keeping (strings and numbers only).
    """

    anterior: np.ndarray
    posterior: np.ndarray | None
    spacing_mm: tuple[float, float] | None
    patient_id: str
    study_id: str
    views: tuple[ViewSource, ...]
    source: StudySource
    acquisition: Acquisition = field(default_factory=Acquisition)
    posterior_mirrored: bool = True
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("anterior", "posterior"):
            arr = getattr(self, name)
            if arr is None:
                continue
            if arr.ndim != 2:
                raise ValueError(f"BoneScan.{name} must be 2-D, got shape {arr.shape}")
            if arr.dtype != np.float32:
                object.__setattr__(self, name, arr.astype(np.float32))
        if self.posterior is not None and self.posterior.shape != self.anterior.shape:
            raise ValueError(
                f"anterior {self.anterior.shape} and posterior {self.posterior.shape} differ in shape"
            )

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of one view."""
        return tuple(self.anterior.shape)  # type: ignore[return-value]

    @property
    def has_both_views(self) -> bool:
        """True when an anterior and a posterior view are present."""
        return self.posterior is not None


LesionLabel = Literal["benign", "malignant", "ignore"]


@dataclass(frozen=True)
class Annotation:
    """One annotated lesion outline on one view, in the BoneScan's pixel grid.

    Attributes:
        view: "anterior" or "posterior" (posterior coordinates already mirrored).
        kind: "polygon" or "rectangle".
        points: ((x, y), ...) in pixels, x = column, y = row; a rectangle has 2 corners.
        label: "benign", "malignant" or "ignore" after the label map.
        raw_label: the label text as written in the annotation file.
    """

    view: str
    kind: Literal["polygon", "rectangle"]
    points: tuple[tuple[float, float], ...]
    label: LesionLabel
    raw_label: str = ""


@dataclass(frozen=True)
class StudyLabel:
    """Labels of one study, kept apart from the images.

    Attributes:
        label: class name (e.g. "normal"/"metastasis", or the multi-class names), or None.
        primary: primary tumour ("prostate", "lung", "breast", ...), or None.
        lesion_count: number of metastatic lesions, or None when unknown.
        annotations: lesion outlines.
        site: acquisition site name, or None.
    """

    label: str | None = None
    primary: str | None = None
    lesion_count: int | None = None
    annotations: tuple[Annotation, ...] = ()
    site: str | None = None


@dataclass(frozen=True, eq=False)
class Hotspot:
    """One connected region of abnormal uptake on one view.

    Attributes:
        view: "anterior" or "posterior".
        row: centroid row in pixels (BoneScan orientation, posterior already mirrored).
        col: centroid column in pixels.
        area_mm2: area in mm^2 (pixels when the spacing is unknown, see ``meta``).
        region: skeletal region name (osteoscan.skeleton.REGIONS).
        probability: probability of malignancy, 0..1.
        mask: bool (rows, cols) mask of the hotspot.
        max_counts: maximum counts inside the hotspot.
        mean_counts: mean counts inside the hotspot.
        uptake_ratio: mean counts over the mean of normal bone of the same region.
        match: index of the matching hotspot on the other view, or None.
        features: shape and intensity features (name -> float).
    """

    view: str
    row: float
    col: float
    area_mm2: float
    region: str
    probability: float
    mask: np.ndarray
    max_counts: float = 0.0
    mean_counts: float = 0.0
    uptake_ratio: float = 0.0
    match: int | None = None
    features: dict = field(default_factory=dict)
