"""A detector refitted with a site's normal studies as negatives (docs/site-threshold.md,
"Refitting with the site's normals"; measured in docs/independent-sites.md, "A site's normal
studies as negatives").

The bundled detector's own recipe, read from its card (``held_out.config``: training and
selection sites, seeds, sizes, uptake balance, design; the card's context, BSI and stack
columns, BSI rule and count band), is fitted again on its simulated training studies **plus**
every candidate of the site's normal studies, each a benign example: no lesion is drawn, the
study is known to be normal. Calibration stays on the simulator's selection studies, as the
bundle's. The simulated studies are made once and cached (``cache``); with the bundle's 3,600
and 200 that is about 30 min of one core the first time (0.45 s a study), 15 with two
workers (``benchmarks/bench_adapt_records.py``), seconds afterwards.
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

    def sized(self, n_train: int | None, n_select: int | None) -> Recipe:
        """The same recipe on its first ``n_train`` / ``n_select`` studies (None: all)."""
        t, s = self.train_seeds, self.select_seeds
        return replace(self, train_seeds=t[:n_train] if n_train else t,
                       select_seeds=s[:n_select] if n_select else s)


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
        card={k: det.card[k] for k in ("bsi_hotspots", "count_band") if k in det.card})


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

    site, seed, cache, band, balance = job
    return simulated_records((site,), [seed], cache, count_band=band, uptake_balance=balance)[0]


def simulated(recipe: Recipe, cache: Path, on_study: Callable[[], None] = lambda: None,
              workers: int = 1) -> tuple[list[dict], list[dict]]:
    """The recipe's training and selection records (made once, cached in ``cache``; with
    ``workers`` > 1 in a process pool, as ``osteoscan simulate`` does)."""
    from concurrent.futures import ProcessPoolExecutor

    band = tuple(recipe.card["count_band"]) if recipe.card.get("count_band") else None
    jobs = [(sites[i % len(sites)], seed, cache, b, recipe.uptake_balance)
            for sites, seeds, b in ((recipe.train_sites, recipe.train_seeds, None),
                                    (recipe.select_sites, recipe.select_seeds, band))
            for i, seed in enumerate(seeds)]
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
    n = len(recipe.train_seeds)
    return out[:n], out[n:]


def refit(det: HotspotDetector, recipe: Recipe, own: list[dict], select: list[dict],
          normals: list[dict], source: str) -> HotspotDetector:
    """``det``'s recipe fitted on ``own`` plus the site's ``normals``, calibrated on
    ``select``; the picture variant is ``det``'s, unchanged (its card says so)."""
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
    if det.picture is not None:
        note = {"normals": 0, "kept": "the picture variant is the source detector's"}
        new.picture = replace(det.picture, card={**det.picture.card, "site_adaptation": note})
    return new
