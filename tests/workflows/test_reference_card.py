"""The bundled reference classifier's card figures come back from its shipped weights.

The fast test recomputes the AUC the card states on the first ``CHECK_STUDIES`` site_c
studies of its cohort (rendered in memory: study i depends only on the cohort seed and i) and
asks for the card's value; the slow one recomputes the external AUC on every site_c study of
the cohort and asks for the card's ``test_auc_external`` (computed by the trainer from the
DICOM files on disk) within 0.02 and inside its CI.
"""

from __future__ import annotations

import json

import pytest
import torch

from osteoscan.artefacts.paths import REFERENCE_DIR
from osteoscan.config import load_config
from osteoscan.workflows.reference import CHECK_STUDIES, COHORT, external_auc, external_studies

CARD = json.loads((REFERENCE_DIR / "model.json").read_text())


def test_the_reference_config_trains_selects_and_tests_on_the_cohort_site_groups():
    protocol = load_config(REFERENCE_DIR / "config.yaml").protocol
    assert protocol.kind == "external"
    assert tuple(protocol.train_sites) == COHORT.train
    assert tuple(protocol.val_sites) == COHORT.select
    assert tuple(protocol.test_sites) == (COHORT.test,)
    assert not {*COHORT.train, *COHORT.select} & {COHORT.test}
    assert set(CARD["data"]["val"]["sites"]) <= set(COHORT.select)
    assert set(CARD["data"]["train"]["sites"]) <= set(COHORT.train)
    assert CARD["data"]["n_studies"] == COHORT.n


def test_external_studies_are_the_cohorts_test_site_studies_in_order():
    first = list(external_studies(COHORT, 3))
    assert [s.site for s in first] == [COHORT.test] * 3
    ids = [s.study_id for s in first]
    assert ids == sorted(ids) and len(set(ids)) == 3


def test_reference_card_subset_auc_is_recomputed_from_the_shipped_weights():
    torch.set_num_threads(2)
    stated = CARD["metrics"]["test_auc_external_subset"]
    assert str(CHECK_STUDIES) in stated["studies"] and stated["n"] == CHECK_STUDIES
    fresh = external_auc(str(REFERENCE_DIR), first=CHECK_STUDIES, n_boot=0)
    assert fresh["value"] == pytest.approx(stated["value"], abs=1e-3)
    assert stated["ci_low"] <= fresh["value"] <= stated["ci_high"]


@pytest.mark.slow
def test_reference_card_external_auc_is_recomputed_from_the_shipped_weights():
    card = CARD["metrics"]["test_auc_external"]
    fresh = external_auc(str(REFERENCE_DIR))
    assert fresh["n"] == card["n"]
    assert fresh["value"] == pytest.approx(card["value"], abs=0.02)
    assert card["ci_low"] <= fresh["value"] <= card["ci_high"]
