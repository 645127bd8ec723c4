"""The figure of docs/independent-sites.md, "How many of a site's own studies it takes": patient
AUC (95 % CI) and normals called on ``site_z``'s selection cohort against the number of its
studies the detector was trained with, from the try's JSONs (no model is run).

    python -m benchmarks.figure_site_curve --curve benchmarks/results/phantom_curve_z.json \\
        --full benchmarks/results/phantom_training_try.json --out docs/img/site_curve.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def points(curve: dict, full: dict) -> list[tuple[int, dict]]:
    """(studies of the site trained on, figures) from the bundle (0) to the whole cohort."""
    blocks = {0: curve["foreign"]["z"]["all"]}
    for name, block in curve["foreign"]["z"].items():
        if name.startswith("mix_z") and not name.endswith("_all"):
            blocks[int(name.removeprefix("mix_z"))] = block
    blocks[1200] = full["foreign"]["z"]["mix_z"]
    return sorted(blocks.items())


def draw(rows: list[tuple[int, dict]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [max(k, 10) for k, _ in rows]  # the bundle (0 studies) drawn at 10 on the log axis
    auc = [b["patient"]["auc"] for _, b in rows]
    lo = [b["patient"]["auc"] - b["patient"]["auc_ci"][0] for _, b in rows]
    hi = [b["patient"]["auc_ci"][1] - b["patient"]["auc"] for _, b in rows]
    called = [1 - b["called"]["specificity"]["value"] for _, b in rows]
    fig, ax = plt.subplots(figsize=(6.4, 3.8), dpi=120)
    ax.errorbar(x, auc, yerr=[lo, hi], marker="o", capsize=3, label="patient AUC (95 % CI)")
    ax.plot(x, called, marker="s", ls="--", label="normals called metastatic")
    ax.axhline(0.95, color="grey", lw=0.8, ls=":")
    ax.text(x[0], 0.96, "issue bar 0.95", ha="left", va="bottom", fontsize=8, color="grey")
    ax.set_xscale("log")
    ax.set_xticks(x, ["bundle"] + [str(k) for k, _ in rows[1:]])
    ax.set_xlabel("site_z studies added to the 3,600 simulated training studies")
    ax.set_ylim(0, 1.02)
    ax.set_title("An unlike site: what its own labelled studies buy (site_z selection, 200)",
                 fontsize=9)
    ax.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--curve", type=Path, required=True)
    ap.add_argument("--full", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    draw(points(json.loads(args.curve.read_text()), json.loads(args.full.read_text())), args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
