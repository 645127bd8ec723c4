"""The simulator beside real bone scans: REALISM.md's statistics, measured the same way.

The REAL column is copied from /work/shared/REALISM.md (513 real screen captures of 199
patients with physicians' boxes; 4 GE Discovery 670 DICOM studies): aggregate figures only,
hard-coded here as the reference. The simulated columns are measured with
``osteoscan.simulate.realism`` on ``--n`` studies per difficulty (site ``--site``, default
site_a, the GE Discovery 670 profile at 2.40 mm, so counts per pixel compare with the real
DICOM).

Run: ``.venv/bin/python -m benchmarks.bench_realism [--n 60] [--site site_a]``.
Writes ``benchmarks/results/realism.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from osteoscan.simulate import simulate_cohort
from osteoscan.simulate.realism import count_stats, lesion_stats

RESULTS = Path(__file__).parent / "results"

REAL = {  # /work/shared/REALISM.md, "Counts and geometry" and "Lesions"
    "total_counts_anterior": "0.54 M",
    "total_counts_posterior": "0.49 M",
    "counts_per_body_pixel_anterior": "5.5 (sim: mean of the per-study medians)",
    "counts_per_body_pixel_posterior": "3.5",
    "p99_over_median_anterior": "6.4",
    "p99_over_median_posterior": "7.8",
    "body_height_fraction": "0.68",
    "spine_post_over_ant": "1.42 (1.2-1.7)",
    "malignant_contrast": "4.45 (2.91-6.92)",
    "benign_contrast": "3.15 (2.32-4.64)",
    "malignant_boxes_per_met_study": "4 (2-8)",
    "met_studies_le3_4to6_gt6": "45 / 20 / 35 %",
    "normals_with_benign": "77 % (median 2)",
    "benign_boxes_per_met_study_mean": "0.63",
    "malignant_box_side_over_height": "3.4 % (1.8-10.4 %) of picture",
    "benign_box_side_over_height": "2.7 % (1.7-3.8 %) of picture",
}


def _miqr(x, scale: float = 1.0, fmt: str = "{:.2f}") -> str:
    if len(x) == 0:
        return "-"
    q = np.percentile(np.asarray(x, dtype=float) * scale, [50, 25, 75])
    return f"{fmt.format(q[0])} ({fmt.format(q[1])}-{fmt.format(q[2])})"


def measure(n: int, difficulty: str, site: str, seed: int = 2026) -> dict:
    """Every REALISM.md figure on n simulated studies (prevalence 0.5)."""
    counts, mal_c, ben_c, mal_s, ben_s = [], [], [], [], []
    n_mal, n_ben_met, n_ben_norm = [], [], []
    for st in simulate_cohort(n, seed=seed, sites=(site,), difficulty=difficulty):
        counts.append(count_stats(st))
        ls = lesion_stats(st)
        mal_c += ls["malignant_contrast"]
        ben_c += ls["benign_contrast"]
        mal_s += ls["malignant_size"]
        ben_s += ls["benign_size"]
        if st.label.label == "metastasis":
            n_mal.append(ls["n_malignant_boxes"])
            n_ben_met.append(ls["n_benign_boxes"])
        else:
            n_ben_norm.append(ls["n_benign_boxes"])
    return _summary(n, difficulty, site, counts, (mal_c, ben_c, mal_s, ben_s),
                    (np.array(n_mal), n_ben_met, n_ben_norm))


def _summary(n, difficulty, site, counts, boxes, numbers) -> dict:
    mal_c, ben_c, mal_s, ben_s = boxes
    nm, n_ben_met, n_ben_norm = numbers
    med = {k: float(np.median([c[k] for c in counts])) for k in counts[0]}
    med.update({k: float(np.mean([c[k] for c in counts])) for k in counts[0]  # integer medians
                if k.startswith("counts_per_body_pixel")})
    return {
        "n": n, "difficulty": difficulty, "site": site, **{f"raw_{k}": v for k, v in med.items()},
        "total_counts_anterior": f"{med['total_counts_anterior'] / 1e6:.2f} M",
        "total_counts_posterior": f"{med['total_counts_posterior'] / 1e6:.2f} M",
        **{k: f"{med[k]:.2f}" for k in ("counts_per_body_pixel_anterior",
                                        "counts_per_body_pixel_posterior",
                                        "p99_over_median_anterior", "p99_over_median_posterior",
                                        "body_height_fraction", "spine_post_over_ant")},
        "malignant_contrast": _miqr(mal_c), "benign_contrast": _miqr(ben_c),
        "malignant_boxes_per_met_study": _miqr(nm, fmt="{:.0f}"),
        "met_studies_le3_4to6_gt6": (f"{100 * np.mean(nm <= 3):.0f} / "
                                     f"{100 * np.mean((nm >= 4) & (nm <= 6)):.0f} / "
                                     f"{100 * np.mean(nm > 6):.0f} %") if nm.size else "-",
        "normals_with_benign": (f"{100 * np.mean(np.array(n_ben_norm) > 0):.0f} % (median "
                                f"{np.median(n_ben_norm):.0f})") if n_ben_norm else "-",
        "benign_boxes_per_met_study_mean": f"{np.mean(n_ben_met):.2f}" if n_ben_met else "-",
        "malignant_box_side_over_height": _miqr(mal_s, 100, "{:.1f}") + " % of body",
        "benign_box_side_over_height": _miqr(ben_s, 100, "{:.1f}") + " % of body",
        "n_metastatic": int(nm.size), "n_normal": len(n_ben_norm),
        "n_malignant_boxes": len(mal_c), "n_benign_boxes": len(ben_c),
    }


def table(cols: dict[str, dict]) -> str:
    head = "| figure | real (REALISM.md) | " + " | ".join(f"sim {k}" for k in cols) + " |"
    lines = [head, "|" + "---|" * (2 + len(cols))]
    for key, real in REAL.items():
        lines.append(f"| {key} | {real} | " + " | ".join(str(c[key]) for c in cols.values())
                     + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60, help="studies per difficulty")
    ap.add_argument("--site", default="site_a")
    ap.add_argument("--difficulty", action="append", default=None)
    args = ap.parse_args()
    t = time.perf_counter()
    cols = {d: measure(args.n, d, args.site) for d in (args.difficulty or
                                                       ["easy", "default", "hard"])}
    md = table(cols)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"real": REAL, "simulated": cols, "table_markdown": md,
           "seconds": round(time.perf_counter() - t, 1),
           "command": f".venv/bin/python -m benchmarks.bench_realism --n {args.n} "
                      f"--site {args.site}"}
    (RESULTS / "realism.json").write_text(json.dumps(out, indent=2))
    print(md)


if __name__ == "__main__":
    main()
