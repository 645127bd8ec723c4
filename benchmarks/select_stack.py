"""Selection of the second stage's context (docs/lesions.md, "The second stage's context"), on
the selection sites only (never a test site).

Arms: ``bundle`` (the shipped detector) and detector folders fitted by the bundle's recipe
with the second stage on fewer stack columns (``--arm NAME=FOLDER``; ``local``:
:data:`osteoscan.lesions.stacking.LOCAL_STACK`, ``local+rel``: with ``p1_rank`` and
``p1_over_max``). Each is scored on the selection studies as simulated, thinned to 0.3-0.4 M
counts and count-halved (:func:`benchmarks.select_lowcount.arm_figures`), pooled over the
record sets given (``--set NATIVE_CACHE THINNED_CACHE SEED_START N``), and the rule written
in the docs picks. Also counted: candidates on no lesion called malignant (p >= 0.5, the
last stage's) in metastatic studies ("far"), per rendering.

Run (records cached by the lowcount rounds; a few minutes)::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.select_stack \\
        --set /tmp/lowcount/c2 /tmp/lowcount/cache2 400000 200 \\
        --set /tmp/lowcount/c3new /tmp/lowcount/c3new 450000 100 \\
        --arm local=/tmp/stage2/local --arm local+rel=/tmp/stage2/local_rel
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.select_lowcount import not_worse

RESULTS = Path(__file__).parent / "results"
ORDER = ("local", "local+rel", "narrow")
"""Arms from the simplest (rule step 3)."""


def far_called(det, records) -> int:
    """Candidates on no lesion with a last-stage p >= 0.5, in the metastatic studies."""
    from osteoscan.lesions.detector_train import arrays

    n = 0
    for rec in (r for r in records if int(r["label"]) and len(r["X"])):
        p = det.stages(arrays(rec))["probability"]
        n += int(((p >= 0.5) & (rec["truth_id"] == 0)).sum())
    return n


def rule(arms: dict) -> dict:
    """The rule of docs/lesions.md ("The second stage's context")."""
    b, verdict = arms["bundle"], {}
    for name, a in ((k, v) for k, v in arms.items() if k != "bundle"):
        n, lo, bn, bl = a["native"], a["low"], b["native"], b["low"]
        eligible = (not_worse(n, bn) and n["normals_2plus"] <= 0.05 and not_worse(lo, bl)
                    and a["delta_half"]["mean"] <= 1.1 * b["delta_half"]["mean"]
                    and a["delta_half"]["share_over_bar"]
                    <= b["delta_half"]["share_over_bar"] + 0.010)
        gain = (lo["sens_at_1fp"] >= bl["sens_at_1fp"] + 0.010
                or lo["bsi_r"] >= bl["bsi_r"] + 0.005)
        verdict[name] = {"eligible": bool(eligible), "beats_bundle": bool(eligible and gain)}
    winners = [n for n in ORDER if verdict.get(n, {}).get("beats_bundle")]
    if not winners:
        return {"verdict": verdict, "chosen": "bundle"}
    best = max(arms[n]["low"]["sens_at_1fp"] for n in winners)
    return {"verdict": verdict,
            "chosen": next(n for n in winners if arms[n]["low"]["sens_at_1fp"] >= best - 0.005)}


def main(argv=None) -> int:
    from benchmarks.diagnose_lowcount import lowcount_records
    from benchmarks.select_detector import SELECT
    from benchmarks.select_lowcount import _brief, arm_figures
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.patient import HotspotDetector, bundled_detector_or_none

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", nargs=4, action="append", required=True,
                    metavar=("NATIVE_CACHE", "THINNED_CACHE", "SEED_START", "N"))
    ap.add_argument("--arm", action="append", default=[], help="NAME=FOLDER")
    ap.add_argument("--bundle", default=None, help="the baseline detector (default: bundled)")
    ap.add_argument("--out", default=str(RESULTS / "stack_select.json"))
    args = ap.parse_args(argv)
    bundle = HotspotDetector.load(args.bundle) if args.bundle else bundled_detector_or_none()
    band = tuple(bundle.card["count_band"])
    recs = {"native": [], "low": [], "half": []}
    for native, thinned, start, n in args.set:
        seeds = list(range(int(start), int(start) + int(n)))
        recs["native"] += simulated_records(SELECT, seeds, native, count_band=band)
        recs["low"] += lowcount_records(SELECT, seeds, thinned, band, (0.3e6, 0.4e6))
        recs["half"] += lowcount_records(SELECT, seeds, thinned, band, None)
    dets = {"bundle": bundle, **{a.split("=", 1)[0]: HotspotDetector.load(a.split("=", 1)[1])
                                 for a in args.arm}}
    arms = {}
    for name, det in dets.items():
        arms[name] = arm_figures(det, recs["native"], recs["low"], recs["half"])
        arms[name]["far_called"] = {k: far_called(det, v) for k, v in recs.items()}
        print(name, json.dumps(_brief({name: arms[name]})[name], default=float), flush=True)
    result = {"config": vars(args), "studies": len(recs["native"]), "arms": arms, **rule(arms)}
    Path(args.out).write_text(json.dumps(result, indent=1, default=float))
    print(json.dumps({"verdict": result["verdict"], "chosen": result["chosen"]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
