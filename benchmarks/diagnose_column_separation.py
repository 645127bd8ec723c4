"""How well each context column the bundle's trees take separates, alone, on osteoscan's
training records and on phantoms' training records (docs/independent-sites.md, "Which columns
rank a site differently"): per column, the AUC of malignant against other candidates, and
the patient AUC of the study's largest value (no model is fitted).

    python -m benchmarks.diagnose_column_separation --cache /tmp/rec/s12 \\
        --phantom x=/tmp/rec/s14ph/x z=/tmp/rec/s14ph/z --out OUT.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def separation(records: list[dict], column: str) -> dict:
    """Candidate AUC (malignant vs other) and patient AUC of the study's largest value
    (NaN values left out; a study without a value scores 0)."""
    from sklearn.metrics import roc_auc_score

    from osteoscan.lesions.context import FEATURES

    c = FEATURES.index(column)
    x = np.concatenate([r["X"][:, c] for r in records])
    y = np.concatenate([r["y"] for r in records])
    ok = np.isfinite(x)
    top = [float(np.nanmax(r["X"][:, c])) if np.isfinite(r["X"][:, c]).any() else 0.0
           for r in records]
    return {"candidate_auc": float(roc_auc_score(y[ok], x[ok])),
            "patient_auc": float(roc_auc_score([int(r["label"]) for r in records], top))}


def main(argv=None) -> int:
    from benchmarks.try_phantom_training import _pairs
    from benchmarks.try_structure_features import _training
    from scripts.build_detector import CONTEXT_FEATURES

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", required=True, help="osteoscan's records (balanced, -bal)")
    ap.add_argument("--phantom", nargs="+", default=[], help="NAME=FOLDER of phantom records")
    ap.add_argument("--n", type=int, default=1200, help="studies per set")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    sets = {"own": _training(argparse.Namespace(n_train=args.n, cache=args.cache,
                                                cache_var=args.cache), "var", {})}
    for name, folder in _pairs(args.phantom).items():
        sets[name] = [dict(np.load(p, allow_pickle=False))
                      for p in sorted(folder.glob("*.npz"))[:args.n]]
    out = {"studies": {k: len(v) for k, v in sets.items()},
           "columns": {c: {k: separation(v, c) for k, v in sets.items()}
                       for c in CONTEXT_FEATURES}}
    Path(args.out).write_text(json.dumps(out, indent=1))
    print("column".ljust(16), *(f"{k:>8}" for k in sets), " | patient:", *(f"{k:>7}" for k in sets))
    for c, row in out["columns"].items():
        print(c.ljust(16), *(f"{row[k]['candidate_auc']:8.3f}" for k in sets), " |         ",
              *(f"{row[k]['patient_auc']:7.3f}" for k in sets))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
