"""Cohorts of simulated studies: patients, follow-ups, sites and prevalence, deterministic.

Studies come in consecutive pairs (0-1, 2-3, ...). A pair is either one patient scanned twice
(baseline and follow-up) or two patients, decided by the pair's own random stream, so study i
depends only on (seed, i) and a cohort can be generated in any order or in parallel.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from osteoscan.errors import ConfigError
from osteoscan.simulate.sites import get_site
from osteoscan.simulate.study import SimulatedStudy, StudyPlan, difficulty_value, render_plan


def check_cohort_args(n: int, sites: Sequence[str], prevalence: float,
                      studies_per_patient: float) -> None:
    """Refuse cohort settings that cannot be simulated (ConfigError naming the setting)."""
    if n < 0:
        raise ConfigError(f"n = {n}: the number of studies cannot be negative")
    if not sites:
        raise ConfigError("sites: give at least one site")
    for s in sites:
        get_site(s)
    if not 0.0 <= prevalence <= 1.0:
        raise ConfigError(f"prevalence {prevalence}: must lie between 0 and 1")
    if not 1.0 <= studies_per_patient <= 2.0:
        raise ConfigError(f"studies_per_patient {studies_per_patient}: must lie between 1 and 2")


def cohort_plan(i: int, *, seed: int, sites: Sequence[str], difficulty: float,
                prevalence: float, studies_per_patient: float,
                uptake_balance: bool = False) -> StudyPlan:
    """The plan of study i of a cohort (patient, visit, site), from (seed, i) only;
    ``uptake_balance``: :func:`osteoscan.simulate.study.simulate_study`'s."""
    pair = i // 2
    rng = np.random.default_rng([seed, 11, pair])
    same_patient = rng.random() < 2.0 - 2.0 / studies_per_patient
    site = sites[int(rng.integers(len(sites)))]
    sub = 0 if same_patient else i % 2
    visit = i % 2 if same_patient else 0
    patient_seed = int(np.random.SeedSequence([seed, 13, pair, sub]).generate_state(1)[0])
    suffix = "" if same_patient else "ab"[sub]
    patient_id = f"S{seed}-P{pair:05d}{suffix}"
    return StudyPlan(patient_seed=patient_seed, visit=visit, site=site, difficulty=difficulty,
                 prevalence=prevalence, patient_id=patient_id,
                 study_id=f"{patient_id}-V{visit}", uptake_balance=uptake_balance)


def simulate_cohort(n: int, *, seed: int = 0, sites: Sequence[str] = ("site_a",),
                    difficulty: str | float = "default", prevalence: float = 0.5,
                    studies_per_patient: float = 1.15,
                    uptake_balance: bool = False) -> Iterator[SimulatedStudy]:
    """Yield n simulated studies; study i depends only on (seed, i).

    Args:
        n: number of studies.
        seed: cohort seed.
        sites: site profiles; each patient is scanned at one of them.
        difficulty: "easy", "default", "hard" or a number in 0..1.
        prevalence: fraction of patients with bone metastases.
        studies_per_patient: mean studies per patient, 1..2 (some patients get a follow-up,
            so splits must be made by patient).
        uptake_balance: each patient's balance of uptake between the skeleton's parts
            (:func:`osteoscan.simulate.physiology.sample_uptake_balance`; off by default).

    Yields:
        The studies, in order.

    Example:
        >>> [s.patient_id for s in simulate_cohort(2, seed=1)]  # doctest: +SKIP
        ['S1-P00000a', 'S1-P00000b']
    """
    d = difficulty_value(difficulty)
    check_cohort_args(n, sites, prevalence, studies_per_patient)
    for i in range(n):
        plan = cohort_plan(i, seed=seed, sites=tuple(sites), difficulty=d, prevalence=prevalence,
                           studies_per_patient=studies_per_patient,
                           uptake_balance=uptake_balance)
        yield render_plan(plan).study
