"""Origin (lung vs other primary) features of lesion instances and the patient aggregation.

The simulator (and the clinical picture it copies) makes a lung primary's bone metastases
mostly lytic or mixed, larger and more often in ribs and scapulae, another primary's mostly
blastic in the spine and pelvis (:mod:`osteoscan.simulate.volume_lesions`). On the training
cohort's truth the share of blastic metastases alone separates the primaries with AUC 0.93
(docs/seg3d.md, "Origin: ceiling and features (session 7)"). So besides the instance
features of :mod:`osteoscan.volumetric.instances` each instance gets

* ``ct_low_fraction``: share of its voxels below :data:`LYTIC_HU` (bone replaced by soft
  tissue), ``ct_high_fraction``: share above :data:`SCLEROTIC_HU` (sclerosis), both read
  back in HU from the normalised CT channel (the narrow trabecular window when the model
  has it);
* ``lateral``: distance of its centre from the grid's left-right midline (0 centre, 1 edge;
  ribs and scapulae lie lateral, vertebral bodies central), ``y_fraction``: its
  anterior-posterior position;

and a patient gets :data:`PATIENT_FEATURES`, summaries over the metastatic instances the
origin uses (:func:`~osteoscan.volumetric.instances.origin_instances`): their count, the
means of the instance features above, the share of lytic-looking ones (more lucent than
sclerotic voxels) and their mean log volume. A logistic regression on those
(:class:`~osteoscan.volumetric.instances.OriginModel`, plain numbers in the card under
``settings["origin_patient"]``) gives the patient's P(lung); a card without that key keeps the
mean of the instances' P(lung) (the rule of every earlier run).

Example:
    >>> image = np.zeros((1, 4, 4, 4), np.float32); labels = np.zeros((4, 4, 4), np.int32)
    >>> labels[1:3, 1:3, 0:2] = 1; image[0][labels == 1] = 0.0   # -500 HU in the bone window
    >>> table = [{"id": 1, "centre_vox": [1.5, 1.5, 0.5], "features": []}]
    >>> add_origin_features(image, labels, table, ("ct",), (500.0, 2000.0))
    >>> f = table[0]["origin_features"]
    >>> f["ct_low_fraction"], round(f["lateral"], 3)
    (1.0, 0.667)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from osteoscan.volumetric.inputs import TRABECULAR_WINDOW
from osteoscan.volumetric.instances import OriginModel, origin_instances

LYTIC_HU = 100.0
"""Below: bone replaced by soft tissue (a lytic focus is 20-70 HU, cancellous bone 140-320)."""
SCLEROTIC_HU = 600.0
"""Above: sclerosis (blastic foci add 250-700 HU to cancellous bone)."""
INSTANCE_ORIGIN_FEATURES = ("ct_low_fraction", "ct_high_fraction", "lateral", "y_fraction")
PATIENT_FEATURES = ("log_count", "mean_ct_low_fraction", "mean_ct_high_fraction",
                    "lytic_share", "mean_lateral", "mean_log_volume_ml", "mean_spect_contrast")


def _hu(image: np.ndarray, channel_names: Sequence[str],
        hu_window: Sequence[float]) -> np.ndarray | None:
    """The CT back in HU (within its window) from the normalised channel, or None."""
    names = list(channel_names)
    for name, (level, width) in (("ct_trabecular", TRABECULAR_WINDOW), ("ct", hu_window)):
        if name in names:
            return image[names.index(name)] * float(width) + (float(level) - float(width) / 2)
    return None


def add_origin_features(image: np.ndarray | None, labels: np.ndarray, table: list[dict],
                        channel_names: Sequence[str], hu_window: Sequence[float]) -> None:
    """Store :data:`INSTANCE_ORIGIN_FEATURES` in each instance's ``origin_features`` (in
    place; the CT shares are 0 without a CT channel)."""
    if not table:
        return
    hu = _hu(image, channel_names, hu_window) if image is not None else None
    ids = [t["id"] for t in table]
    if hu is not None:
        low = np.atleast_1d(ndimage.mean(hu < LYTIC_HU, labels, ids))
        high = np.atleast_1d(ndimage.mean(hu > SCLEROTIC_HU, labels, ids))
    else:
        low = high = np.zeros(len(ids))
    span = np.maximum(np.array(labels.shape, float) - 1, 1)
    for t, lo, hi in zip(table, low, high, strict=True):
        z, y, x = (float(c) / s for c, s in zip(t["centre_vox"], span, strict=True))
        t["origin_features"] = {"ct_low_fraction": float(lo), "ct_high_fraction": float(hi),
                                "lateral": float(abs(2 * x - 1)), "y_fraction": float(y)}


def instance_matrix(table: Sequence[dict], names: Sequence[str],
                    base_names: Sequence[str]) -> np.ndarray:
    """Rows of the named features of each instance: the instance vector (``features``,
    named by ``base_names``) and its ``origin_features``. An old card names only the first,
    so its rows are the vectors as they were."""
    rows = []
    for t in table:
        values = dict(zip(base_names, t["features"], strict=False))
        values.update(t.get("origin_features", {}))
        rows.append([float(values.get(n, 0.0)) for n in names])
    return np.asarray(rows, float).reshape(len(rows), len(names))


def patient_features(table: Sequence[dict], base_names: Sequence[str],
                     over: str = "mask") -> np.ndarray | None:
    """:data:`PATIENT_FEATURES` over the instances the origin uses; None when there are none."""
    chosen = origin_instances(table, over)
    if not chosen:
        return None
    cols = ["ct_low_fraction", "ct_high_fraction", "lateral", "log_volume_ml", "spect_contrast"]
    m = instance_matrix(chosen, cols, base_names)
    return np.array([np.log1p(len(chosen)), m[:, 0].mean(), m[:, 1].mean(),
                     float(np.mean(m[:, 0] > m[:, 1])), m[:, 2].mean(), m[:, 3].mean(),
                     m[:, 4].mean()])


def patient_probability(table: Sequence[dict], model: OriginModel, base_names: Sequence[str],
                        over: str = "mask") -> float:
    """The patient model's P(lung); NaN when the patient has no metastatic instance."""
    row = patient_features(table, base_names, over)
    return float("nan") if row is None else float(model.predict_proba(row[None])[0])
