"""How often the bundled detector counts one metastasis as several lesions, on the selection
sites only (docs/lesions.md, "Lesion counts: one metastasis, several lesions").

Prompted by the demo's report of ``S7-P00013a-V0``: one humerus metastasis of 28 mm radius is
called as three malignant lesions, because the candidate stage seeds every maximum >= 9 mm
apart and cuts each basin at 25 mm from its seed. On the 300 selection studies of
``diagnose_called_fp`` (seeds 400000-400199 and 450000-450099 on ``select_detector.SELECT``,
records with the card's count band as ``analyze`` makes them), over the studies called
metastatic: each lesion called malignant (an A/P candidate group, ``arr.group``) is assigned
the true metastasis most of its candidates overlap (``truth_id``), if any. Reported: how many
called groups each metastasis hit receives (1 = counted once), and the called count minus the
true count of metastases per study. Never a test site.

Run (about 1 min, records cached)::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.diagnose_lesion_count \\
        --cache /tmp/lowcount/c2 --fresh-cache /tmp/lowcount/c3new
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"


def study_counts(det, rec) -> dict | None:
    """Called groups per true metastasis hit, and the count error, of one study (None: the
    study is called normal)."""
    from osteoscan.lesions.detector_train import arrays

    arr = arrays(rec)
    st = det.stages(arr)
    d = det.decide(arr, st["probability"], st["codes"], st["stack"])
    if not d["positive"]:
        return None
    mal = {int(i) for i in rec["malignant_ids"]}
    hits: Counter = Counter()
    for g in np.unique(arr.group[d["malignant"]]):
        ids = [int(t) for t in rec["truth_id"][arr.group == g] if int(t) in mal]
        if ids:
            hits[Counter(ids).most_common(1)[0][0]] += 1
    return {"per_hit": list(hits.values()), "called": len(d["malignant"]), "true": len(mal)}


def main(argv=None) -> int:
    from benchmarks.diagnose_called_fp import selection_records
    from benchmarks.select_detector import SELECT
    from osteoscan.artefacts import atomic_write_json

    args, det, recs = selection_records(argv, __doc__, "lesion_count_diagnosis.json")
    rows = [r for r in (study_counts(det, rec) for rec in recs) if r is not None]
    per_hit = Counter(n for r in rows for n in r["per_hit"])
    err = np.array([r["called"] - r["true"] for r in rows])
    hit = sum(per_hit.values())
    result = {"config": {**vars(args), "select": list(SELECT), "studies": len(recs)},
              "studies_called_metastatic": len(rows), "metastases_hit": hit,
              "called_groups_on_them": int(sum(k * v for k, v in per_hit.items())),
              "groups_per_metastasis_hit": {str(k): v for k, v in sorted(per_hit.items())},
              "share_counted_more_than_once": round(1 - per_hit[1] / hit, 3) if hit else None,
              "called_minus_true": {"median": float(np.median(err)), "mean": float(err.mean()),
                                    "mean_abs": float(np.abs(err).mean()),
                                    "share_over_by_2_or_more": float(np.mean(err >= 2))}}
    atomic_write_json(args.out, result)
    print({k: v for k, v in result.items() if k != "config"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
