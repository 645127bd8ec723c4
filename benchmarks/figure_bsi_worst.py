"""A figure, not in the code: the own studies of largest BSI error in a
:mod:`benchmarks.diagnose_bsi_balance` result, rendered again from their seeds (both views,
square-root display) with each arm's answer beside the truth (docs/independent-sites.md,
"The studies that decide the home BSI").

    .venv/bin/python -m benchmarks.figure_bsi_worst \\
        --result benchmarks/results/bsi_balance_diagnosis_worst.json --arm relative_var \\
        --own-start 440000 --out docs/img/bsi_worst.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def _answers(result: dict, seed: int) -> str:
    """Each arm's BSI and malignant calls for the study ``seed``, one line per arm."""
    lines = []
    for arm, block in result.items():
        hit = [w for w in block.get("worst", []) if w["study"] == seed]
        if hit:
            lines.append(f"{arm}: BSI {hit[0]['bsi']:.1f} %, {hit[0]['called']} called")
    return "\n".join(lines)


def _body(img: np.ndarray) -> np.ndarray:
    """The view cropped to the rows and columns the body covers, square-root display."""
    rows = np.flatnonzero(img.max(axis=1) > 0.05 * img.max())
    cols = np.flatnonzero(img.max(axis=0) > 0.05 * img.max())
    return np.sqrt(img[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])


def main(argv=None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from benchmarks.select_detector import SELECT
    from osteoscan.simulate import simulate_study

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--result", type=Path, required=True)
    ap.add_argument("--arm", required=True, help="the arm whose worst studies are shown")
    ap.add_argument("--own-start", type=int, required=True, help="the result's first own seed")
    ap.add_argument("--n", type=int, default=3)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    result = json.loads(args.result.read_text())
    worst = result[args.arm]["worst"][: args.n]
    fig, axes = plt.subplots(1, 2 * len(worst), figsize=(2.6 * len(worst), 7.0),
                             layout="constrained")
    for k, w in enumerate(worst):
        seed = w["study"]
        site = SELECT[(seed - args.own_start) % len(SELECT)]  # simulated_records' assignment
        label = "metastasis" if np.random.default_rng(seed).random() < 0.5 else "normal"
        scan = simulate_study(seed, site=site, force_label=label).scan  # as the records were
        for j, name in enumerate(("anterior", "posterior")):
            ax = axes[2 * k + j]
            ax.imshow(_body(np.asarray(getattr(scan, name), float)), cmap="gray_r")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{seed} ({site})\ntrue BSI {w['true']:.1f} %" if j == 0 else name,
                         fontsize=8, loc="left")
        axes[2 * k].set_xlabel(_answers(result, seed), fontsize=6.5, color="crimson",
                               loc="left")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
