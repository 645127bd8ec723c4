"""Simulated studies as training records of the hotspot detector (torch-free, seeded).

Each study is reduced once to arrays (:func:`study_record`: its candidates as the shipped
``analyze`` finds them, their truth, regions and BSI shares) and cached as ``.npz`` (no
pickle; :func:`simulated_records`), so that every fit and benchmark re-reads the same records
(:mod:`osteoscan.lesions.detector_train` fits on them).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import ndimage

from osteoscan.artefacts import atomic_write
from osteoscan.lesions.augment import augment_scan
from osteoscan.lesions.capture_trip import capture_round_trip
from osteoscan.lesions.context import FEATURES, estimated_spacing
from osteoscan.lesions.patient import study_arrays
from osteoscan.skeleton import MASS_FRACTION, REGIONS

log = logging.getLogger(__name__)

def _truth(hotspots, lesion_masks, malignant: set[int]
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per candidate: the lesion id it carries (the one it overlaps most, a malignant one
    preferred; 0: none; the ``legacy`` FROC rule), 1 if it overlaps a malignant lesion (the
    training label), and the lesion it overlaps most, benign or malignant (``hit_id``: the
    hit rule of :mod:`osteoscan.evaluation.lesions`)."""
    n = len(hotspots)
    tid, y, hit = np.zeros(n, int), np.zeros(n, int), np.zeros(n, int)
    for i, h in enumerate(hotspots):
        ids = lesion_masks[h.view][h.mask]
        ids = ids[ids > 0]
        if ids.size:
            tid[i] = hit[i] = int(np.bincount(ids).argmax())
            y[i] = int(any(int(k) in malignant for k in np.unique(ids)))
            if y[i] and tid[i] not in malignant:
                tid[i] = int(next(k for k in np.unique(ids) if int(k) in malignant))
    return tid, y, hit


def in_masks(lesion_masks, ids) -> np.ndarray:
    """The lesion ids of ``ids`` that hold at least one pixel of the truth masks (a lesion
    wholly under a later one's outline holds none: no hotspot can hit it)."""
    present = set().union(*(np.unique(m).tolist() for m in lesion_masks.values()))
    return np.array(sorted(int(k) for k in ids if int(k) in present), int)


def froc_matches(records, scores, rule: str = "standard") -> list:
    """:class:`~osteoscan.evaluation.lesions.LesionMatch` of malignant lesions per record,
    one distinct lesion (an anterior/posterior group, :func:`lesion_table`) counting once.

    ``standard`` (records with ``hit_id`` and ``mask_ids``): the hit rule of
    :mod:`osteoscan.evaluation.lesions` for every candidate of a group: it hits the lesion it
    overlaps most, with its own score; one on a benign lesion is neither TP nor FP; the
    lesions are the malignant ones of the truth masks. A group that overlaps no lesion is
    one false positive (its largest score). ``legacy`` (every record): a group hits only its
    first member's malignant ``truth_id``, with the group's score, and every malignant
    lesion of the study counts, also one the masks do not hold (docs/lesions.md, "Where the
    missed metastases go")."""
    from osteoscan.evaluation.lesions import LesionMatch
    from osteoscan.lesions.patient import lesion_table

    out = []
    for rec, probs in zip(records, scores, strict=True):
        idx, lp = lesion_table(probs, rec["group"])
        ids = rec["mask_ids"] if rule == "standard" else rec["malignant_ids"]
        mal, best, fps = set(ids.tolist()), np.full(len(ids), -np.inf), []
        for k, i in enumerate(idx):
            members = np.flatnonzero(rec["group"] == rec["group"][i])
            hits = _group_hits(rec, members, probs, mal, rule, lp[k])
            for t, s in hits:
                j = int(np.searchsorted(ids, t))
                best[j] = max(best[j], s)
            if not hits and not rec["truth_id"][members].any():
                fps.append(lp[k])
        out.append(LesionMatch(ids, best, np.zeros(0, int), np.asarray(fps, float)))
    return out


def _group_hits(rec, members, probs, mal: set[int], rule: str, group_score: float) -> list:
    """(lesion, score) pairs a group hits under ``rule`` (:func:`froc_matches`)."""
    if rule == "standard":
        return [(int(rec["hit_id"][i]), float(probs[i])) for i in members
                if int(rec["hit_id"][i]) in mal]
    if rule != "legacy":
        raise ValueError(f"unknown FROC rule {rule!r}: 'standard' or 'legacy'")
    first = [int(t) for t in rec["truth_id"][members] if int(t) in mal]
    return [(first[0], float(group_score))] if first else []


def _peak_regions(hotspots, region_maps) -> np.ndarray:
    """Simulator region code under each candidate's peak (nearest bone pixel off bone)."""
    out = np.zeros(len(hotspots), int)
    near = {}
    for v, m in region_maps.items():
        _, near[v] = ndimage.distance_transform_edt(m == 0, return_indices=True)
    for i, h in enumerate(hotspots):
        r, c = int(h.features["peak_row"]), int(h.features["peak_col"])
        ri, ci = near[h.view][:, r, c]
        out[i] = int(region_maps[h.view][ri, ci])
    return out


def bsi_shares(hotspots, lesion_masks, malignant: set[int], regions) -> np.ndarray:
    """Per candidate: its share of the simulator's BSI (percent). Each malignant lesion's
    whole contribution (its bone pixels' MASS_FRACTION[region] / the region's bone pixels, as
    :func:`osteoscan.simulate.groundtruth.bone_scan_index` counts it) is split among the
    candidates of each view by :func:`spread_shares`."""
    counts = np.bincount(regions.ravel(), minlength=len(REGIONS)).astype(float)
    w = np.array([100.0 * MASS_FRACTION[n] / counts[c] if c and counts[c] else 0.0
                  for c, n in enumerate(REGIONS)])[regions]
    return spread_shares(hotspots, lesion_masks, {
        les: float(w[np.logical_or.reduce([m == les for m in lesion_masks.values()])].sum())
        for les in malignant})


def spread_shares(hotspots, lesion_masks, contribution: dict[int, float]) -> np.ndarray:
    """Per candidate: its share of the lesions' ``contribution`` (lesion id -> BSI percent),
    each lesion's split among the candidates of each view in proportion to their overlap
    with it, so that on either view the shares of the candidates add up to the BSI of the
    lesions they found."""
    out = np.zeros(len(hotspots))
    labels = {v: np.zeros(m.shape, np.int64) for v, m in lesion_masks.items()}
    for i, h in enumerate(hotspots):
        labels[h.view][h.mask] = i + 1
    for les, share in contribution.items():
        for v, m in lesion_masks.items():
            hit = np.bincount(labels[v][m == les], minlength=len(hotspots) + 1)[1:]
            if hit.sum():
                out += share * hit / hit.sum()
    return out


def study_record(sim, count_band=None, patches: bool = False) -> dict[str, np.ndarray]:
    """Everything training and evaluation need from one simulated study, as arrays; with
    ``count_band`` the candidates are found as the shipped ``analyze`` finds them (the card's
    band, :func:`osteoscan.lesions.candidates.count_normalised`); with ``patches`` the
    candidates' image patches are kept too (float16, :mod:`osteoscan.lesions.patches`)."""
    arr, hotspots = study_arrays(sim.scan, count_band=count_band, patches=patches, reach=True)
    malignant = {int(les.id) for les in sim.lesions if les.malignant}
    tid, y, hit = _truth(hotspots, sim.lesion_masks, malignant)
    region_map = np.asarray(sim.region_maps["anterior"])
    px2 = float(np.prod(sim.scan.spacing_mm or estimated_spacing(sim.scan)))
    area = np.bincount(region_map.ravel(), minlength=len(REGIONS)) * px2 / arr.head_mm ** 2
    return {"X": arr.X, "view": arr.view, "group": arr.group, "head_mm": np.float64(arr.head_mm),
            "y": y, "truth_id": tid, "region": _peak_regions(hotspots, sim.region_maps),
            "label": np.int64(bool(malignant)), "bsi": np.float64(sim.bsi or 0.0),
            "malignant_ids": np.array(sorted(malignant), int), "hit_id": hit,
            "mask_ids": in_masks(sim.lesion_masks, malignant),
            "lesion_ids": np.array(sorted(int(les.id) for les in sim.lesions), int),
            "region_area": area,
            "bsi_share": bsi_shares(hotspots, sim.lesion_masks, malignant, region_map),
            "reach": arr.reach,
            **({"patches": arr.patches} if patches else {})}


AUGMENT_TAGS = {"camera": "-aug", "screen": "-augscreen", "lowcount": "-auglow",
                "export": "-augexport", "capture": "-augcapture"}
"""Cache-name tag of each :func:`osteoscan.lesions.augment.augment_scan` mode, and of
``capture`` (:func:`osteoscan.lesions.capture_trip.capture_round_trip`)."""


def _scan_mode(mode: str) -> str:
    """The :func:`augment_scan` mode of a training mode (a capture falls back to its export)."""
    return "export" if mode == "capture" else mode


def _savez(path: Path, rec: dict) -> None:
    """``np.savez`` into exactly ``path`` (given a name, it would add ".npz")."""
    with open(path, "wb") as f:
        np.savez(f, **rec)


def _cached(path: Path | None, make) -> dict:
    """The record cached at ``path`` (None: no cache), else ``make()``, saved there whole or
    not at all (two processes may make the same one); a record made before the context
    columns changed is made again."""
    if path is not None and path.is_file():
        rec = dict(np.load(path, allow_pickle=False))
        if rec["X"].shape[1] == len(FEATURES):
            return rec
        log.info("%s: made before the context columns changed; made again", path.name)
    rec = make()
    if path is not None:
        atomic_write(path, lambda tmp: _savez(tmp, rec))
    return rec


def simulated_records(sites: Sequence[str], seeds: Sequence[int], cache: str | Path | None = None,
                      prevalence: float = 0.5, difficulty: str = "default",
                      augment: bool | str = False, count_band=None,
                      patches: bool = False, uptake_balance: bool = False) -> list[dict]:
    """Records of simulated studies (``seeds[i]`` on ``sites[i % len(sites)]``), cached;
    ``augment`` applies :func:`augment_scan` (seeded by the study's seed; True or "camera",
    "screen", "lowcount" or "export": cached as ``-aug`` / ``-augscreen`` / ``-auglow`` /
    ``-augexport``), or with "capture" draws the study as a screen capture and reads it back
    (:func:`capture_round_trip`, ``-augcapture``); ``count_band``
    and ``patches`` are passed to :func:`study_record` (cached apart); ``uptake_balance``
    simulates each patient's balance of uptake between the skeleton's parts
    (:func:`osteoscan.simulate.study.simulate_study`; cached as ``-bal``)."""
    from dataclasses import replace

    from osteoscan.simulate.study import simulate_study

    mode = "camera" if augment is True else augment
    tag = ((AUGMENT_TAGS[mode] if mode else "") + _band_tag(count_band)
           + ("-patch" if patches else "") + ("-bal" if uptake_balance else ""))

    def make(seed: int, site: str) -> dict:
        label = "metastasis" if np.random.default_rng(seed).random() < prevalence else "normal"
        sim = simulate_study(seed, site=site, difficulty=difficulty, force_label=label,
                             uptake_balance=uptake_balance)
        rng = np.random.default_rng([seed, 1])
        read = capture_round_trip(sim, rng) if mode == "capture" else None
        if read is not None:
            sim = read
        elif augment:  # a capture the reader cannot read is trained on as its export
            sim = replace(sim, scan=augment_scan(sim.scan, rng, _scan_mode(mode), sim.bone_mask))
        return study_record(sim, count_band, patches)

    out = []
    for i, seed in enumerate(seeds):
        site = sites[i % len(sites)]
        path = Path(cache) / f"{site}-{difficulty}-{seed}{tag}.npz" if cache else None
        out.append(_cached(path, lambda seed=seed, site=site: make(seed, site)))
        if (i + 1) % 25 == 0:
            log.info("%d/%d studies", i + 1, len(seeds))
    return out


def _band_tag(count_band) -> str:
    """Cache-name tag of a count band ("" without one)."""
    return f"-band{count_band[0]}-{count_band[1]}" if count_band else ""


def _area_contribution(lesion_masks, malignant: set[int], bsi: float) -> dict[int, float]:
    """The study's BSI spread over its malignant lesions in proportion to their mean area over
    the views (a study read from a manifest carries its BSI but no per-lesion share)."""
    area = {les: float(np.mean([(m == les).sum() for m in lesion_masks.values()]))
            for les in malignant}
    total = sum(area.values())
    return {les: bsi * a / total for les, a in area.items()} if total > 0 else {}


def manifest_record(study, codes, region_area: np.ndarray, count_band=None) -> dict:
    """:func:`study_record` of a study read from a manifest with lesion-instance masks
    (:class:`osteoscan.lesions.studies.LesionStudy`, an independent phantom's): without the
    simulator's region maps, each candidate's ``region`` is ``codes(arrays)`` (a fitted
    detector's region lookup over body coordinates), ``region_area`` is given (the training
    studies' median), and ``bsi_share`` spreads the study's BSI over its metastases by area
    (:func:`_area_contribution`)."""
    arr, hotspots = study_arrays(study.scan, count_band=count_band, reach=True)
    malignant = {int(k) for k, v in study.lesion_labels.items() if v == "malignant"}
    tid, y, hit = _truth(hotspots, study.lesion_masks, malignant)
    bsi = float(study.bsi or 0.0)
    return {"X": arr.X, "view": arr.view, "group": arr.group, "head_mm": np.float64(arr.head_mm),
            "y": y, "truth_id": tid, "region": np.asarray(codes(arr), int),
            "label": np.int64(bool(malignant)), "bsi": np.float64(bsi),
            "malignant_ids": np.array(sorted(malignant), int), "hit_id": hit,
            "mask_ids": in_masks(study.lesion_masks, malignant),
            "lesion_ids": np.array(sorted(int(k) for k in study.lesion_labels), int),
            "region_area": np.asarray(region_area, float),
            "bsi_share": spread_shares(hotspots, study.lesion_masks,
                                       _area_contribution(study.lesion_masks, malignant, bsi)),
            "reach": arr.reach}


def manifest_records(manifest: str | Path, cache: str | Path, codes, region_area: np.ndarray,
                     count_band=None) -> list[dict]:
    """:func:`manifest_record` of every study of a manifest, cached in ``cache`` by study id
    (unreadable studies are logged and skipped: a training set, not a test)."""
    import osteoscan as osc
    from osteoscan.errors import OsteoscanError
    from osteoscan.lesions.data import study_from_row

    m = osc.read_manifest(manifest)
    Path(cache).mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(len(m.frame)):
        path = Path(cache) / f"{m.value(i, 'study_id')}{_band_tag(count_band)}.npz"
        try:
            out.append(_cached(path, lambda i=i: manifest_record(
                study_from_row(m, i, "mask"), codes, region_area, count_band)))
        except OsteoscanError as exc:
            log.warning("%s: skipped (%s)", path.stem, exc)
            continue
        if (i + 1) % 100 == 0:
            log.info("%d/%d studies", i + 1, len(m.frame))
    return out
