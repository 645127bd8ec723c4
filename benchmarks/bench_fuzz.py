"""Mutation fuzzing of every reader, 10,000+ inputs each: does anything but OsteoscanError escape?

Each reader runs in its own child process (so that its peak resident memory is its own),
on inputs made by the mutators of ``tests/io/fuzz_readers.py`` from valid seed files, driven
by ``random.Random(seed)``: DICOM (``load_study`` on byte flips, truncation, VR/length/value
changes of any element), a folder holding a valid pair and a mutated copy, PNG/JPEG/TIFF
(``load_study`` and ``read_mask``; headers claiming other and huge sizes), LabelMe JSON, the
manifest CSV (read, validate, load rows), the model card (model.json) and the YAML config.

Per reader: inputs, accepted, rejected (an OsteoscanError), escaped (anything else: must be
0), the slowest input in seconds (target: < 5 s), resident memory after warm-up and at peak
(target: < 1 GB). Escaping inputs are saved under ``--keep`` to reproduce them.

Run: ``.venv/bin/python -m benchmarks.bench_fuzz [--inputs 10000 --seed 0]``; writes
``benchmarks/results/fuzz.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
MAX_SECONDS = 5.0
MAX_RSS_MB = 1024.0
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "io"))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _keep(path: Path, data: bytes, exc: BaseException) -> dict:
    """Save an escaping input, to reproduce it, and describe it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"type": type(exc).__name__, "message": str(exc)[:200], "saved": str(path)}


def fuzz_one_reader(name: str, n: int, seed: int, keep: Path) -> dict:
    """Run ``n`` mutated inputs through one reader, in this process."""
    import fuzz_readers as fz

    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    reader = fz.READERS[name]
    root = Path(tempfile.mkdtemp(prefix=f"fuzz-{name}-"))
    seeds = fz.make_seeds(root / "seeds")
    fz.prepare(root, root / "seeds")
    for data in seeds[reader.seeds]:  # warm-up: imports (torch for the card) not timed
        fz.run_one(reader, data, root)
    rss_before = _rss_mb()
    rng = random.Random(f"{seed}-{name}")
    counts: Counter[str] = Counter()
    escapes: list[dict] = []
    slowest, slowest_len = 0.0, 0
    started = time.perf_counter()
    for i in range(n):
        data = reader.mutate(rng.choice(seeds[reader.seeds]), rng)
        began = time.perf_counter()
        try:
            counts[fz.run_one(reader, data, root)] += 1
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - an escape is what this measures
            counts["escaped"] += 1
            if len(escapes) < 20:
                escapes.append(_keep(keep / f"{name}-{i}.bin", data, exc))
        took = time.perf_counter() - began
        if took > slowest:
            slowest, slowest_len = took, len(data)
    return {
        "reader": name,
        "inputs": n,
        "accepted": counts["accepted"],
        "rejected_osteoscan_error": counts["rejected"],
        "escaped": counts["escaped"],
        "escapes": escapes,
        "max_seconds_per_input": round(slowest, 3),
        "slowest_input_bytes": slowest_len,
        "mean_ms_per_input_with_mutation": round(
            1000 * (time.perf_counter() - started) / max(n, 1), 2
        ),
        "rss_after_warmup_mb": round(rss_before, 1),
        "peak_rss_mb": round(_rss_mb(), 1),
    }


def _run_child(name: str, args: argparse.Namespace) -> dict:
    """One reader in its own process (its peak RSS is its own)."""
    cmd = [sys.executable, "-m", "benchmarks.bench_fuzz", "--child", name,
           "--inputs", str(args.inputs), "--seed", str(args.seed), "--keep", str(args.keep)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:  # the child itself died (a crash, an OOM kill): an escape
        row = {"reader": name, "inputs": args.inputs, "escaped": -1,
               "child_exit_code": done.returncode, "stderr": done.stderr[-2000:]}
    else:
        row = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps({k: v for k, v in row.items() if k != "escapes"}), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=10_000, help="inputs per reader")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--readers", nargs="*", default=None, help="default: all")
    parser.add_argument("--keep", type=Path, default=Path(tempfile.gettempdir()) / "fuzz-escapes")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(fuzz_one_reader(args.child, args.inputs, args.seed, args.keep)))
        return
    import fuzz_readers as fz

    rows = [_run_child(name, args) for name in args.readers or list(fz.READERS)]
    import hypothesis
    import pydicom

    out = {
        "command": " ".join([".venv/bin/python -m benchmarks.bench_fuzz", *sys.argv[1:]]),
        "inputs_per_reader": args.inputs,
        "seed": args.seed,
        "targets": {"escaped": 0, "max_seconds_per_input": MAX_SECONDS, "peak_rss_mb": MAX_RSS_MB},
        "meets_targets": all(
            r.get("escaped") == 0 and r.get("max_seconds_per_input", 1e9) < MAX_SECONDS
            and r.get("peak_rss_mb", 1e9) < MAX_RSS_MB for r in rows
        ),
        "python": platform.python_version(),
        "pydicom": pydicom.__version__,
        "hypothesis": hypothesis.__version__,
        "readers": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fuzz.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS / 'fuzz.json'}: meets targets: {out['meets_targets']}")


if __name__ == "__main__":
    main()
