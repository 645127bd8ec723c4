"""Are the simulator's labels learnable? Ideal observers that know where every finding is.

REALISM.md "Learnable labels": a study labelled metastatic must show its disease. For each
difficulty, ``--n`` studies (prevalence 0.5, site ``--site``) are scored by two observers
(``osteoscan.simulate.realism.oracle``), both of which know every finding's mask and also
check ``n_sham`` lesion-sized places on lesion-free bone:

- ``label_aware``: the best Rose CNR over the malignant findings (it knows the context that
  makes a finding malignant): the upper bound of what a detector can learn; target patient
  AUC >= 0.97 at the default difficulty;
- ``visibility``: the best Rose CNR over every finding, benign or malignant: a detector that
  sees hotspots but not their nature. Its AUC should sit well below the first (the gap is what
  the models must learn).

Also the REALISM.md visibility figures: metastatic studies with a visible metastasis (CNR >= 5;
target >= 95 %) and normal studies with a visible benign finding (target >= 70 %), with Wilson
95 % intervals. AUCs carry DeLong 95 % CIs (``osteoscan.evaluation.statistics.delong_ci``) and
the gap a paired DeLong test (``delong_roc_test``).

Run: ``.venv/bin/python -m benchmarks.bench_oracle [--n 200] [--site site_a]``.
Writes ``benchmarks/results/oracle.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

from osteoscan.evaluation.statistics import delong_ci, delong_roc_test
from osteoscan.simulate import simulate_cohort
from osteoscan.simulate.realism import oracle

RESULTS = Path(__file__).parent / "results"


def _share(flags: list[bool]) -> dict:
    k, n = int(np.sum(flags)), len(flags)
    if n == 0:
        return {"share": None, "ci95": [None, None], "n": 0}
    ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
    return {"share": k / n, "ci95": [float(ci.low), float(ci.high)], "n": n}


def _auc(y: np.ndarray, s: np.ndarray) -> dict:
    auc, lo, hi = delong_ci(y, s)
    return {"auc": auc, "ci95": [lo, hi]}


def evaluate(n: int, difficulty: str, site: str = "site_a", seed: int = 31) -> dict:
    """Oracle AUCs and visibility shares on n simulated studies of one difficulty."""
    rows = [(st.label.label == "metastasis", oracle(st))
            for st in simulate_cohort(n, seed=seed, sites=(site,), difficulty=difficulty)]
    y = np.array([int(m) for m, _ in rows])
    la = np.array([o["label_aware"] for _, o in rows])
    vis = np.array([o["visibility"] for _, o in rows])
    test = delong_roc_test(y, la, vis)
    return {"difficulty": difficulty, "site": site, "n": n, "n_metastatic": int(y.sum()),
            "label_aware": _auc(y, la), "visibility_only": _auc(y, vis),
            "gap": {"auc_difference": test["auc_diff"],
                    "ci95": [test["diff_ci_low"], test["diff_ci_high"]], "p": test["delong_p"]},
            "metastatic_with_visible_metastasis": _share([o["visible_malignant"]
                                                          for m, o in rows if m]),
            "normal_with_visible_benign": _share([o["visible_benign"] for m, o in rows if not m])}


def _fmt(r: dict) -> str:
    a, v = r["label_aware"], r["visibility_only"]
    vm, vb = r["metastatic_with_visible_metastasis"], r["normal_with_visible_benign"]

    def pct(d: dict) -> str:
        lo, hi = d["ci95"]
        return f"{100 * d['share']:.0f} % [{100 * lo:.0f}, {100 * hi:.0f}]"

    return (f"| {r['difficulty']} | {r['n']} | {a['auc']:.3f} [{a['ci95'][0]:.3f}, "
            f"{a['ci95'][1]:.3f}] | {v['auc']:.3f} [{v['ci95'][0]:.3f}, {v['ci95'][1]:.3f}] | "
            f"{pct(vm)} | {pct(vb)} | {r['gap']['auc_difference']:+.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="studies per difficulty")
    ap.add_argument("--site", default="site_a")
    args = ap.parse_args()
    t = time.perf_counter()
    res = [evaluate(args.n, d, args.site) for d in ("easy", "default", "hard")]
    head = ("| difficulty | studies | label-aware oracle AUC [95 % CI] | visibility-only AUC "
            "[95 % CI] | metastatic studies with a visible metastasis | normals with a visible "
            "benign finding | gap (label-aware - visibility) |\n|---|---|---|---|---|---|---|")
    md = "\n".join([head, *(_fmt(r) for r in res)])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "oracle.json").write_text(json.dumps(
        {"results": res, "table_markdown": md, "seconds": round(time.perf_counter() - t, 1),
         "command": f".venv/bin/python -m benchmarks.bench_oracle --n {args.n} "
                    f"--site {args.site}"}, indent=2))
    print(md)


if __name__ == "__main__":
    main()
