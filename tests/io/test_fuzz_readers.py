"""Short fuzz run over every reader (the long one: benchmarks/bench_fuzz.py).

Property: whatever the bytes, a reader returns or raises an OsteoscanError (named file, no
traceback for the user), within 5 s (of CPU time here; wall time in the benchmark) and 1 GB.
Inputs are mutations of valid files
(tests/io/fuzz_readers.py). hypothesis drives the mutators' random choices, derandomized so
that the default suite is repeatable; the benchmark explores with fresh seeds.
"""

from __future__ import annotations

import logging
import resource
import sys
import time
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
import fuzz_readers as fz  # noqa: E402

EXAMPLES = {"dicom": 60, "dicom_folder": 40, "picture": 50, "mask": 30, "labelme": 50,
            "manifest": 40, "card": 40, "config": 40, "nm_spect": 40, "ct_series": 30,
            "nifti": 50}
MAX_SECONDS = 5.0
MAX_GROWTH_KB = 1 << 20  # 1 GB of peak resident memory above the start of the test


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    seeds = fz.make_seeds(root / "seeds")
    for name, reader in fz.READERS.items():
        work = root / name
        work.mkdir()
        fz.prepare(work, root / "seeds")
        assert fz.run_one(reader, seeds[reader.seeds][0], work) == "accepted", name  # warm
    return root, seeds


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_only_osteoscan_errors_escape(name, fuzz_dir):
    root, seeds = fuzz_dir
    reader = fz.READERS[name]
    outcomes: list[str] = []
    start_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    @settings(max_examples=EXAMPLES[name], deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(rng=st.randoms(use_true_random=False))
    def check(rng):
        data = reader.mutate(rng.choice(seeds[reader.seeds]), rng)
        began = time.process_time()  # CPU time: the shared machine's load does not count
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcomes.append(fz.run_one(reader, data, root / name))  # escapes fail the test
        assert time.process_time() - began < MAX_SECONDS
        assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start_kb < MAX_GROWTH_KB

    logging.disable(logging.CRITICAL)
    try:
        check()
    finally:
        logging.disable(logging.NOTSET)
    assert len(outcomes) >= EXAMPLES[name] // 2  # the mutators really ran
    assert "rejected" in outcomes  # they really produced bad input
