"""A detector refitted with a site's normal studies as negatives (docs/site-threshold.md,
"Refitting with the site's normals"; measured in docs/independent-sites.md, "A site's normal
studies as negatives" and "Screen captures: a site's normal pictures refit the picture
variant").

The bundled detector's own recipe, read from its card (``held_out.config``: training and
selection sites, seeds, sizes, uptake balance, design; the card's context, BSI and stack
columns, BSI rule and count band), is fitted again on its simulated training studies **plus**
every candidate of the site's normal studies, each a benign example: no lesion is drawn, the
study is known to be normal. Calibration stays on the simulator's selection studies, as the
bundle's. Count studies refit the count detector; screen pictures refit the picture variant
on its own recipe (the same studies as their screen exports), whose threshold is matched to
the count detector's false-positive rate as the bundled variant's was. The simulated studies
are made once and cached (``cache``); with the bundle's 3,600 and 200 that is about 30 min of
one core the first time (0.45 s a study), 15 with two workers
(``benchmarks/bench_adapt_records.py``), seconds afterwards; as much again for pictures.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from osteoscan.errors import ModelError
from osteoscan.lesions.patient import HotspotDetector
from osteoscan.lesions.stacking import STACK_FEATURES

log = logging.getLogger(__name__)

SELECT_SEED = 400_000
"""First selection seed of the bundle's recipe at seed 0 (``benchmarks/bench_detector.py``,
``_select_seeds``: 100000 + 1000 x seed + 300000; a test keeps the two equal)."""


@dataclass(frozen=True)
class Recipe:
    """What the bundle was fitted on and how (module docstring)."""

    train_sites: tuple[str, ...]
    train_seeds: range
    select_sites: tuple[str, ...]
    select_seeds: range
    uptake_balance: bool
    design: str
    seed: int
    fit: dict
    """Keyword arguments of :func:`osteoscan.lesions.detector_train.fit_detector` for the
    columns: ``context_features``, ``bsi_context_features``, ``stack_features``."""
    card: dict
    """Card settings set after the fit: ``bsi_hotspots``, ``count_band``."""
    augment: str | None = None
    """``"export"`` for the picture variant (every study as its screen export), else None."""
    extra: tuple[tuple[str, range], ...] = ()
    """Further training cohorts on the training sites, (augmentation mode, seeds) each, after
    the plain ones (``bench_detector --augment-mode``: the picture variant's captures read
    back, ``capture``), drawn as ``bench_detector`` draws them: without the uptake balance."""

    def sized(self, n_train: int | None, n_select: int | None) -> Recipe:
        """The same recipe on its first ``n_train`` / ``n_select`` studies of each cohort
        (None: all)."""
        t, s = self.train_seeds, self.select_seeds
        return replace(self, train_seeds=t[:n_train] if n_train else t,
                       select_seeds=s[:n_select] if n_select else s,
                       extra=tuple((m, r[:n_train] if n_train else r) for m, r in self.extra))

    @property
    def n_train(self) -> int:
        """Training studies, every cohort."""
        return len(self.train_seeds) + sum(len(r) for _, r in self.extra)


def recipe_of(det: HotspotDetector) -> Recipe:
    """The recipe in ``det``'s card.

    Raises:
        ModelError: the card does not say how it was fitted (no ``held_out.config``).
    """
    c = (det.card.get("held_out") or {}).get("config")
    if not c or "train" not in c:
        raise ModelError("the detector's card does not say how it was fitted (held_out.config):"
                         " only the bundled detector, or one built by scripts/build_detector.py,"
                         " can be refitted")
    stack = tuple(det.card.get("stack_features", STACK_FEATURES))
    seed = int(c.get("seed", 0))
    start = SELECT_SEED + 1000 * seed
    return Recipe(
        train_sites=tuple(c["train"]),
        train_seeds=range(int(c["train_seed"]), int(c["train_seed"]) + int(c["n_train"])),
        select_sites=tuple(c["select"]), select_seeds=range(start, start + int(c["n_select"])),
        uptake_balance=bool(c.get("uptake_balance")), design=str(c["design"]), seed=seed,
        fit={"context_features": det.context_features,
             "bsi_context_features": c.get("bsi_context_features"),
             "stack_features": None if stack == STACK_FEATURES else stack},
        card={k: det.card[k] for k in ("bsi_hotspots", "count_band") if k in det.card},
        augment="export" if c.get("domain") == "picture" else None, extra=_extra(c))


def _extra(config: dict) -> tuple[tuple[str, range], ...]:
    """The augmented training cohorts of a ``bench_detector`` config (one per mode, n > 0)."""
    modes, counts = config.get("augment_mode") or [], config.get("n_augmented") or []
    base = 200_000 + 1000 * int(config.get("seed", 0))  # bench_detector._augmented's default
    seeds = config.get("augmented_seed") or [base + 50_000 * k for k in range(len(modes))]
    return tuple((str(m), range(int(s), int(s) + int(n)))
                 for m, n, s in zip(modes, counts, seeds) if int(n) > 0)


def recipes(det: HotspotDetector, *, count: bool, picture: bool, n_train: int | None = None,
            n_select: int | None = None) -> dict[str, Recipe]:
    """What an adaptation simulates, each sized by :meth:`Recipe.sized`. With ``count``
    normals: ``count``, the count detector's recipe. With ``picture`` normals: ``picture``, the
    picture variant's, and ``match``, the count recipe's selection studies as the picture
    recipe reads the count detector's false-positive rate on them, without the uptake balance
    (``bench_detector --match-fpr``, which built the bundled variant; refitted with no normal
    it is given back exactly, ``benchmarks/adapt_control.py``).

    Raises:
        ModelError: a card that does not say how it was fitted, or picture normals for a
            detector without a picture variant.
    """
    base = recipe_of(det).sized(n_train, n_select)
    out = {"count": base} if count else {}
    if picture:
        if det.picture is None:
            raise ModelError("the detector has no picture variant to refit with pictures")
        out["picture"] = recipe_of(det.picture).sized(n_train, n_select)
        out["match"] = replace(base, train_seeds=range(0), extra=(), uptake_balance=False)
    return out


def adapted(det: HotspotDetector, plan: dict[str, Recipe], records: dict[str, tuple],
            normals: dict[str, list[dict]], source: str) -> HotspotDetector:
    """``det`` refitted in each domain that ``normals`` names (``count``, ``picture``) with
    the site's normals of it (records of :func:`site_records`; none: the recipe alone, the
    control that gives the bundled detector back), on the ``records`` (training, selection)
    that :func:`simulated` made of each recipe of ``plan`` (:func:`recipes`)."""
    new = det
    if "count" in normals:
        new = refit(new, plan["count"], *records["count"], normals["count"], source)
    if "picture" in normals:
        new = refit_picture(new, plan["picture"], *records["picture"], normals["picture"],
                            records["match"][1], source)
    return new


def normal_record(scan, codes, region_area: np.ndarray) -> dict:
    """The training record of a study known to be normal: every candidate a benign one
    (:func:`osteoscan.lesions.detector_records.manifest_record` with empty lesion masks)."""
    from osteoscan.lesions.detector_records import manifest_record
    from osteoscan.lesions.hotspots import scan_views
    from osteoscan.lesions.studies import LesionStudy

    masks = {v: np.zeros(np.shape(img), np.int32) for v, img in scan_views(scan).items()}
    return manifest_record(LesionStudy(scan=scan, lesion_masks=masks, lesion_labels={}, bsi=0.0),
                           codes, region_area)


def site_records(scans, own: list[dict], on_study: Callable[[], None] = lambda: None
                 ) -> list[dict]:
    """:func:`normal_record` of each of the site's normal ``scans``, with the region lookup
    and region areas fitted on the ``own`` training records (the bundle's, on its 3,600)."""
    from osteoscan.lesions.region_lookup import RegionLookup

    codes = RegionLookup.from_records(own).codes
    area = np.median(np.array([r["region_area"] for r in own]), axis=0)
    out = []
    for scan in scans:
        out.append(normal_record(scan, codes, area))
        on_study()
    return out


def _record(job: tuple) -> dict:
    """One recipe study's record, made (or read from the cache) in this process or a worker."""
    from osteoscan.lesions.detector_records import simulated_records

    site, seed, cache, band, balance, augment = job
    return simulated_records((site,), [seed], cache, count_band=band, uptake_balance=balance,
                             augment=augment or False)[0]


def simulated(recipe: Recipe, cache: Path, on_study: Callable[[], None] = lambda: None,
              workers: int = 1) -> tuple[list[dict], list[dict]]:
    """The recipe's training and selection records (made once, cached in ``cache``; with
    ``workers`` > 1 in a process pool, as ``osteoscan simulate`` does)."""
    from concurrent.futures import ProcessPoolExecutor

    band = tuple(recipe.card["count_band"]) if recipe.card.get("count_band") else None
    balance = recipe.uptake_balance
    # the augmented cohorts without the uptake balance, as bench_detector._augmented draws them
    cohorts = ((recipe.train_sites, recipe.train_seeds, None, recipe.augment, balance),
               *((recipe.train_sites, seeds, None, mode, False) for mode, seeds in recipe.extra),
               (recipe.select_sites, recipe.select_seeds, band, recipe.augment, balance))
    jobs = [(sites[i % len(sites)], seed, cache, b, bal, mode)
            for sites, seeds, b, mode, bal in cohorts for i, seed in enumerate(seeds)]
    out = []
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for rec in pool.map(_record, jobs, chunksize=4):
                out.append(rec)
                on_study()
    else:
        for job in jobs:
            out.append(_record(job))
            on_study()
    n = recipe.n_train
    return out[:n], out[n:]


def _fitted(det: HotspotDetector, recipe: Recipe, own: list[dict], select: list[dict],
            normals: list[dict], source: str) -> HotspotDetector:
    """``det``'s recipe fitted on ``own`` plus the site's ``normals``, calibrated on
    ``select`` as the recipe is; the card records the adaptation and keeps the recipe."""
    from osteoscan.lesions.detector_train import fit_detector

    new = fit_detector(own + normals, select, seed=recipe.seed, design=recipe.design,
                       **recipe.fit)
    new.card.update(recipe.card)
    new.card["site_adaptation"] = {
        "method": "the bundle's recipe refitted with the site's normal studies as negatives "
                  "(docs/site-threshold.md)",
        "normals": len(normals), "own_studies": len(own), "select_studies": len(select),
        "calibration": source, "date": datetime.date.today().isoformat()}
    new.card["held_out"] = {"config": det.card["held_out"]["config"]}  # the recipe, kept
    return new


def refit(det: HotspotDetector, recipe: Recipe, own: list[dict], select: list[dict],
          normals: list[dict], source: str) -> HotspotDetector:
    """``det``'s recipe fitted on ``own`` plus the site's ``normals``, calibrated on
    ``select``; the picture variant is ``det``'s, unchanged (its card says so)."""
    new = _fitted(det, recipe, own, select, normals, source)
    if det.picture is not None:
        note = {"normals": 0, "kept": "the picture variant is the source detector's"}
        new.picture = replace(det.picture, card={**det.picture.card, "site_adaptation": note})
    return new


def false_positive_rate(det: HotspotDetector, records: list[dict]) -> float:
    """Share of the normal studies among ``records`` that ``det`` calls metastatic."""
    from osteoscan.lesions.detector_train import arrays

    normals = [arrays(r) for r in records if int(r["label"]) == 0]
    called = [det.patient_probability(a, *det.score(a)) >= det.decision_threshold
              for a in normals]
    return float(np.mean(called)) if called else 0.0


def refit_picture(det: HotspotDetector, recipe: Recipe, own: list[dict], select: list[dict],
                  normals: list[dict], count_select: list[dict], source: str
                  ) -> HotspotDetector:
    """``det`` with its picture variant's recipe (``recipe``, from :func:`recipe_of` of
    ``det.picture``) fitted on ``own`` plus the site's normal ``normals`` pictures and
    calibrated on ``select`` (the selection exports) at sensitivity 0.90, the threshold raised
    where needed to ``det``'s false-positive rate on ``count_select`` (the same selection
    studies as count records): the picture variant calls no more normals than the count
    detector, as the bundled one (docs/robustness.md, "The picture-domain detector")."""
    from osteoscan.lesions.detector_train import calibrate

    if det.picture is None:
        raise ModelError("the detector has no picture variant to refit")
    pic = _fitted(det.picture, recipe, own, select, normals, source)
    fpr = false_positive_rate(det, count_select)
    calibrate(pic, select, max_fpr=fpr)
    pic.card["matched_to"] = {"false_positive_rate": fpr,
                              "decision_threshold": det.decision_threshold}
    pic.card["domain"] = "picture"
    return replace(det, picture=pic)
