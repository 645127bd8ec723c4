"""Origin (lung vs other primary) features of lesion instances and the patient aggregation.

The simulator (and the clinical picture it copies) makes a lung primary's bone metastases
mostly lytic or mixed, larger and more often in ribs and scapulae, another primary's mostly
blastic in the spine and pelvis (:mod:`osteoscan.simulate.volume_lesions`). On the training
cohort's truth the share of blastic metastases alone separates the primaries with AUC 0.93
(docs/seg3d.md, "Origin: ceiling and features (session 7)"). So besides the instance
features of :mod:`osteoscan.volumetric.instances` each instance gets

* ``ct_low_fraction``: share of its voxels below :data:`LYTIC_HU` (bone replaced by soft
  tissue; read back in HU from the narrow trabecular window when the model has it, else the
  bone window), ``ct_high_fraction``: share at or above :data:`SCLEROTIC_HU` (sclerosis;
  from the bone window, where the trabecular one saturates);
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
from osteoscan.volumetric.instances import OriginModel, cut_instances, origin_instances

LYTIC_HU = 100.0
"""Below: bone replaced by soft tissue (a lytic focus is 20-70 HU, cancellous bone 140-320)."""
SCLEROTIC_HU = 600.0
"""At or above: sclerosis (blastic foci add 250-700 HU to cancellous bone)."""
INSTANCE_ORIGIN_FEATURES = ("ct_low_fraction", "ct_high_fraction", "lateral", "y_fraction")
PATIENT_FEATURES = ("log_count", "mean_ct_low_fraction", "mean_ct_high_fraction",
                    "lytic_share", "mean_lateral", "mean_log_volume_ml", "mean_spect_contrast")


def _hu(image: np.ndarray, channel_names: Sequence[str], hu_window: Sequence[float],
        order: Sequence[str]) -> np.ndarray | None:
    """The CT back in HU (within its window) from the first normalised CT channel of
    ``order`` the model has, or None."""
    names = list(channel_names)
    windows = {"ct_trabecular": TRABECULAR_WINDOW, "ct": tuple(hu_window)}
    for name in order:
        if name in names:
            level, width = (float(v) for v in windows[name])
            return image[names.index(name)] * width + (level - width / 2)
    return None


def add_origin_features(image: np.ndarray | None, labels: np.ndarray, table: list[dict],
                        channel_names: Sequence[str], hu_window: Sequence[float]) -> None:
    """Store :data:`INSTANCE_ORIGIN_FEATURES` in each instance's ``origin_features`` (in
    place; the CT shares are 0 without a CT channel)."""
    if not table:
        return
    ids = [t["id"] for t in table]
    # lysis from the narrow trabecular window when there is one (finer steps); sclerosis
    # from the bone window first (the trabecular window saturates at 600 HU)
    shares = []
    for order, test in ((("ct_trabecular", "ct"), lambda hu: hu < LYTIC_HU),
                        (("ct", "ct_trabecular"), lambda hu: hu >= SCLEROTIC_HU)):
        hu = _hu(image, channel_names, hu_window, order) if image is not None else None
        shares.append(np.zeros(len(ids)) if hu is None
                      else np.atleast_1d(ndimage.mean(test(hu), labels, ids)))
    low, high = shares
    span = np.maximum(np.array(labels.shape, float) - 1, 1)
    for t, lo, hi in zip(table, low, high, strict=True):
        z, y, x = (float(c) / s for c, s in zip(t["centre_vox"], span, strict=True))
        t["origin_features"] = {"ct_low_fraction": float(lo), "ct_high_fraction": float(hi),
                                "lateral": float(abs(2 * x - 1)), "y_fraction": float(y)}


def instance_matrix(table: Sequence[dict], names: Sequence[str]) -> np.ndarray:
    """Rows for a model whose features are ``names``: each instance's vector (``features``)
    as it is, then the :data:`INSTANCE_ORIGIN_FEATURES` the model names, from its
    ``origin_features``. A card of the earlier runs names none of those, so its rows are the
    vectors as they were, position by position."""
    extra = [n for n in names if n in INSTANCE_ORIGIN_FEATURES]
    rows = [[*t["features"], *(t.get("origin_features", {}).get(n, 0.0) for n in extra)]
            for t in table]
    return np.asarray(rows, float).reshape(len(rows), -1)


def _named(table: Sequence[dict], cols: Sequence[str], base_names: Sequence[str]) -> np.ndarray:
    """The named columns of each instance, from its vector (named by ``base_names``) or its
    ``origin_features``."""
    rows = []
    for t in table:
        values = dict(zip(base_names, t["features"], strict=False))
        values.update(t.get("origin_features", {}))
        rows.append([float(values.get(n, 0.0)) for n in cols])
    return np.asarray(rows, float).reshape(len(rows), len(cols))


def patient_features(table: Sequence[dict], base_names: Sequence[str],
                     over: str = "mask") -> np.ndarray | None:
    """:data:`PATIENT_FEATURES` over the instances the origin uses; None when there are none."""
    chosen = origin_instances(table, over)
    if not chosen:
        return None
    cols = ["ct_low_fraction", "ct_high_fraction", "lateral", "log_volume_ml", "spect_contrast"]
    m = _named(chosen, cols, base_names)
    return np.array([np.log1p(len(chosen)), m[:, 0].mean(), m[:, 1].mean(),
                     float(np.mean(m[:, 0] > m[:, 1])), m[:, 2].mean(), m[:, 3].mean(),
                     m[:, 4].mean()])


def patient_probability(table: Sequence[dict], model: OriginModel, base_names: Sequence[str],
                        over: str = "mask") -> float:
    """The patient model's P(lung); NaN when the patient has no metastatic instance."""
    row = patient_features(table, base_names, over)
    return float("nan") if row is None else float(model.predict_proba(row[None])[0])


ORIGIN_MODELS = ("instance", "instance_plus", "patient")
"""What :func:`fit_second_stage` fits for the origin: ``instance`` (the instance features,
the patient's P(lung) the mean; every run up to session 6), ``instance_plus`` (with
:data:`INSTANCE_ORIGIN_FEATURES`), ``patient`` (``instance`` for each lesion's P(lung) and a
patient-level model on :data:`PATIENT_FEATURES`, stored as ``settings["origin_patient"]``)."""


def _fit(names: Sequence[str], X: np.ndarray, y: np.ndarray, C: float) -> dict | None:
    return OriginModel(names, C).fit(X, y).to_dict() if len(np.unique(y)) == 2 else None


def kept_instances(table: list[dict], lesion: dict | None, post: dict) -> list[dict]:
    """The instances as inference keeps them (the lesion model's cut, ``in_mask``;
    :func:`~osteoscan.volumetric.instances.cut_instances`), copies of ``table``'s."""
    model = OriginModel.from_dict(lesion) if lesion else None
    _, kept = cut_instances(np.zeros(1, np.int32), [dict(t) for t in table], model,
                            float(post.get("min_p_lesion", 0.0)), post.get("cut", "all"))
    return kept


def fit_second_stage(settings: dict, studies: Sequence[tuple[list[dict], str | None]],
                     base_names: Sequence[str], C: float = 1.0,
                     kind: str = "instance") -> dict:
    """Fit the lesion model and the origin model(s) of :data:`ORIGIN_MODELS` into a card's
    ``settings`` (in place) from training studies: (unfiltered predicted instances, each with
    ``real`` and ``hits_met``, primary). A model whose classes are not both present is left
    as it was. The patient model sees each training patient's instances as the card's
    ``postprocess`` keeps them (all of them before ``seg3d select`` has chosen a cut).
    Returns the summary of the rows used."""
    if kind not in ORIGIN_MODELS:
        raise ValueError(f"origin model {kind!r}: choose one of {', '.join(ORIGIN_MODELS)}")
    base = list(base_names)
    names = base + (list(INSTANCE_ORIGIN_FEATURES) if kind == "instance_plus" else [])
    every = [t for table, _ in studies for t in table]
    lung = np.array([int(p == "lung") if p in ("lung", "other") and t["hits_met"] else -1
                     for table, p in studies for t in table], int)
    real = np.array([int(t["real"]) for t in every], int)
    fits = {"lesion_model": _fit(base, instance_matrix(every, base), real, C),
            "origin": _fit(names, instance_matrix(every, names)[lung >= 0],
                           lung[lung >= 0], C)}
    settings.update({k: v for k, v in fits.items() if v is not None})
    settings.pop("origin_patient", None)
    post = settings.get("postprocess") or {}
    rows = [(patient_features(kept_instances(table, settings.get("lesion_model"), post), base,
                              post.get("origin", "mask")), p == "lung")
            for table, p in studies if p in ("lung", "other")] if kind == "patient" else []
    rows = [(x, y) for x, y in rows if x is not None]
    if rows and (model := _fit(PATIENT_FEATURES, np.array([x for x, _ in rows]),
                               np.array([y for _, y in rows], int), C)):
        settings["origin_patient"] = model
    return {"instances": int((lung >= 0).sum()), "lung": int((lung == 1).sum()),
            "other": int((lung == 0).sum()), "all_instances": len(every),
            "real": int(real.sum()), "origin_model": kind, "patients": len(rows)}
