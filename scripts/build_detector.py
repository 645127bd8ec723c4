"""Build the bundled hotspot-first detector in one command (seeded, CPU, torch-free fit).

    .venv/bin/python scripts/build_detector.py [--cache /tmp/detector-cache] [extra bench args]

Runs ``benchmarks/bench_detector.py`` with its default cohorts (train site_a, select site_b,
test site_c; seeds from 100000; ``--seed 0``), which fits the detector, scores it and the
bundled lesion stage on the held-out test site, writes ``benchmarks/results/detector.json``
and saves the detector into ``src/osteoscan/assets/lesions/hotspot_detector.{safetensors,json}``.
The card gets the held-out figures. Any further argument is passed to the benchmark (for
example ``--train site_a site_b --select site_c --test site_d`` on a newer simulator).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ASSET = ROOT / "src" / "osteoscan" / "assets" / "lesions"
RESULT = ROOT / "benchmarks" / "results" / "detector.json"


def _without_probabilities(block: dict) -> dict:
    """A held-out block for the card: the figures, not the per-study probabilities."""
    return {k: ({kk: vv for kk, vv in v.items() if kk != "probabilities"}
                if isinstance(v, dict) else v) for k, v in block.items()}


KEPT = ("count_band", "count_band_source")
"""Card settings that are not fitted here (docs/robustness.md: the count band, set by hand)
and survive a rebuild."""


def _kept_settings(card_path: Path) -> dict:
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: card[k] for k in KEPT if k in card}


def main(argv: list[str]) -> int:
    from benchmarks.bench_detector import main as bench
    from osteoscan.artefacts import atomic_write_text, dumps_json

    card_path = ASSET / "hotspot_detector.json"
    kept = _kept_settings(card_path)
    code = bench(["--save", str(ASSET), "--out", str(RESULT), *argv])
    if code:
        return code
    card = {**json.loads(card_path.read_text()), **kept}
    result = json.loads(RESULT.read_text())
    card["held_out"] = {"config": result["config"],
                        **{k: _without_probabilities(v) for k, v in result.items()
                           if k.startswith("test")}}
    card["caveat"] = "trained, selected and tested on simulated scans only; research use"
    atomic_write_text(card_path, dumps_json(card, default=float))
    size = sum(p.stat().st_size for p in ASSET.glob("hotspot_detector.*")) / 1e6
    print(f"wrote {card_path} and its trees ({size:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
