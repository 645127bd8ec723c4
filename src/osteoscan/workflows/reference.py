"""The bundled reference classifier's cohort, and its card figures recomputed from its weights.

The reference (``src/osteoscan/assets/reference``) is trained by ``scripts/build_reference.py``
on one simulated cohort (:data:`COHORT`: the calibrated simulator's default difficulty) whose
sites are three disjoint groups:

* training: the generated profiles of the lesion recipes
  (:data:`~osteoscan.lesions.recipes.TRAIN_PROFILES`; a share of their patients is held out
  as the internal test set);
* selection: other generated profiles (:data:`~osteoscan.lesions.recipes.SELECT_PROFILES`), the
  validation set that picks the best epoch and the threshold (``protocol.val_sites``);
* test: site_c, never used for training or selection (the external test, ``test_auc_external``).

site_c is listed three times among the cohort's sites so that it gets about 3/18 of the
studies (each study's site is drawn uniformly from the list). Study i of a cohort depends
only on (seed, i), so the test studies can be rendered in memory without the files on disk:
:func:`external_studies` does that, and :func:`external_auc` recomputes the card's external
AUC from the shipped weights (``tests/workflows/test_reference_card.py``,
``benchmarks/bench_cards.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from osteoscan.lesions.recipes import SELECT_PROFILES, TEST_SITE, TRAIN_PROFILES

CHECK_STUDIES = 16
"""The first test-site studies whose AUC the card also states (``test_auc_external_subset``),
recomputed by the default test suite in seconds."""


@dataclass(frozen=True)
class Cohort:
    """The reference cohort (``osteoscan simulate`` settings)."""

    n: int = 1000
    seed: int = 2027
    difficulty: str = "default"
    train: tuple[str, ...] = TRAIN_PROFILES
    select: tuple[str, ...] = SELECT_PROFILES
    test: str = TEST_SITE
    test_weight: int = 3

    @property
    def sites(self) -> tuple[str, ...]:
        """The cohort's site list, in the order ``osteoscan simulate --site`` takes it."""
        return (*self.train, *self.select, *(self.test,) * self.test_weight)

    def simulate_args(self) -> list[str]:
        """Arguments of ``osteoscan simulate OUT ...`` that write this cohort."""
        sites = [a for s in self.sites for a in ("--site", s)]
        return ["--n", str(self.n), "--seed", str(self.seed), "--difficulty", self.difficulty,
                *sites]


COHORT = Cohort()
"""The shipped reference's cohort."""


def external_studies(cohort: Cohort = COHORT, first: int | None = None) -> Iterator:
    """The cohort's test-site studies (SimulatedStudy), in cohort order, rendered in memory."""
    from osteoscan.simulate.cohort import cohort_plan
    from osteoscan.simulate.study import difficulty_value, render_plan

    d, done = difficulty_value(cohort.difficulty), 0
    for i in range(cohort.n):
        plan = cohort_plan(i, seed=cohort.seed, sites=cohort.sites, difficulty=d, prevalence=0.5,
                           studies_per_patient=1.15)
        if plan.site != cohort.test or (first is not None and done >= first):
            continue
        done += 1
        yield render_plan(plan).study


def external_auc(source: str = "reference", cohort: Cohort = COHORT, first: int | None = None,
                 *, n_boot: int = 500, seed: int = 0) -> dict:
    """Patient-bootstrap AUC (the trainer's: 500 replicates, seed 0) of the model at ``source``
    on the cohort's test-site studies (the first ``first`` of them), predicted in memory."""
    import numpy as np

    from osteoscan.evaluation.statistics import auc_ci
    from osteoscan.inference import Predictor

    pred = Predictor.from_path(source, lesions=False, gradcam=False)
    rows = [(s.label.label == pred.card.positive, pred.predict(s.scan).probability, s.patient_id)
            for s in external_studies(cohort, first)]
    y, p, patients = (np.asarray(c) for c in zip(*rows, strict=True))
    return auc_ci(y, p, patients.astype(str), n_boot=n_boot, seed=seed)
