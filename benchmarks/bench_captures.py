"""Screen-capture reading on simulated captures in every layout (issue 14 targets).

For each of ``--n`` captures (layouts of ``osteoscan.simulate.captures.LAYOUTS`` in turn,
JPEG qualities cycled), measures:

- *found*: the reader returns both whole-body views;
- *named right*: the left panel gets the view it was drawn as (a quarter of the labelled
  layouts put the posterior on the left); baselines in the same run: the anatomical rule
  alone, and "left is anterior";
- *corner error*: every LabelMe box corner (polygon vertex), drawn in picture pixels, mapped
  by the reader into view coordinates, against where the simulator's own placement puts the
  lesion's true outline (simulator view -> picture -> reader view), in view pixels;
- *pixel shift*: the integer shift (within +-3) that best aligns each view the reader cut
  out with the simulator's view resampled through the reader's transform: 0 when the
  transform says where the pixels really are.

Run: ``nice -n 10 .venv/bin/python -m benchmarks.bench_captures --n 301 [--work DIR] [--resume]``.
Writes ``benchmarks/results/captures.json`` (and a per-capture log ``DIR/log.jsonl``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

from osteoscan.io import load_study
from osteoscan.io.annotations import read_labelme
from osteoscan.io.viewrule import decide_posterior
from osteoscan.simulate.captures import LABEL_MAP, LAYOUTS, Placement, write_capture
from osteoscan.simulate.cohort import cohort_plan
from osteoscan.simulate.realism import display_darkness
from osteoscan.simulate.study import difficulty_value, render_plan

RESULTS = Path(__file__).parent / "results"


def _shift(scan, view: str, study, pl: Placement) -> int:
    """Largest |shift| (pixels) that best aligns the reader's view with the true one."""
    got = getattr(scan, view)
    pm = scan.source.picture
    rr, cc = np.mgrid[0 : got.shape[0], 0 : got.shape[1]] + 0.5
    x, y = pm.to_picture(view, rr, cc)
    col_shown = (x - pl.x0) / pl.sx
    col = pl.cols - col_shown if pl.mirrored else col_shown
    row = (y - pl.y0) / pl.sy + pl.row0
    truth = display_darkness(getattr(study.scan, view))
    want = ndimage.map_coordinates(truth, [row - 0.5, col - 0.5], order=1, cval=0.0)
    best, where = -2.0, (0, 0)
    for dy in range(-3, 4):
        for dx in range(-3, 4):
            a = np.roll(want, (dy, dx), axis=(0, 1)).ravel()
            b = got.ravel()
            r = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else -1.0
            if r > best:
                best, where = r, (dy, dx)
    return max(abs(where[0]), abs(where[1]))


def _corner_error(scan, json_path: Path, study, place: dict[str, Placement]) -> float:
    """Largest distance between mapped LabelMe points and the true outline's, view pixels."""
    anns = read_labelme(json_path, picture=scan.source.picture, label_map=LABEL_MAP)
    pm = scan.source.picture
    worst = 0.0
    for got, true in zip(anns, study.label.annotations, strict=True):
        pl = place[true.view]
        pts = [pl.to_picture(y, x) for x, y in true.points]
        if got.kind == "rectangle":
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            pts = [(min(xs), min(ys)), (max(xs), max(ys))]
        want = [pm.placement(true.view).to_view(x, y) for x, y in pts]
        want = [(c, r) for r, c in want]
        if got.kind == "rectangle":
            (ax, ay), (bx, by) = want
            want = [(min(ax, bx), min(ay, by)), (max(ax, bx), max(ay, by))]
        p = pm.placement(true.view)
        want = [(min(max(x, 0), p.cols), min(max(y, 0), p.rows)) for x, y in want]
        assert got.view == true.view, (json_path, got.view, true.view)
        err = np.abs(np.asarray(got.points) - np.asarray(want)).max()
        worst = max(worst, float(err))
    return worst


def one(i: int, work: Path, seed: int) -> dict:
    """Write capture i and measure what the reader makes of it."""
    layout = LAYOUTS[i % len(LAYOUTS)]
    kw = dict(sites=("site_a", "site_b", "site_c"), difficulty=difficulty_value("default"),
              prevalence=0.5, studies_per_patient=1.0)
    study = render_plan(cohort_plan(i, seed=seed, **kw)).study
    row = write_capture(study, work, layout, i, seed)
    truth = json.loads((work / row["truth"]).read_text())
    place = {v: Placement(**p) for v, p in truth["views"].items()}
    out = {"i": i, "layout": layout, "quality": truth["quality"], "left": truth["left_view"]}
    try:
        scan = load_study(work / row["image"])
    except Exception as exc:  # noqa: BLE001 - a benchmark records every failure
        return {**out, "found": False, "error": str(exc)}
    out["found"] = bool(scan.has_both_views)
    if not out["found"]:
        return out
    left = next(v.view for v in scan.views if v.frame == 0)
    out["named_right"] = left == truth["left_view"]
    out["rule"] = scan.views[0].rule
    ant_first = np.ascontiguousarray(scan.anterior), np.ascontiguousarray(scan.posterior[:, ::-1])
    post, conf, _ = decide_posterior(*ant_first) if left == "anterior" else decide_posterior(
        ant_first[1], ant_first[0])
    anatomy_left = ("posterior" if post == 0 else "anterior") if conf > 0.55 else "anterior"
    out["anatomy_right"] = anatomy_left == truth["left_view"]
    out["left_is_anterior_right"] = truth["left_view"] == "anterior"
    out["corner_error"] = _corner_error(scan, work / row["annotations"], study, place)
    out["pixel_shift"] = max(_shift(scan, v, study, place[v]) for v in ("anterior", "posterior"))
    return out


def _summary(rows: list[dict]) -> dict:
    def rate(rs, key):
        return round(float(np.mean([bool(r.get(key)) for r in rs])), 4) if rs else None

    def block(rs):
        ok = [r for r in rs if r.get("found")]
        return {"n": len(rs), "both_views_found": rate(rs, "found"),
                "found_and_named_right": round(sum(bool(r.get("named_right")) for r in rs) / max(len(rs), 1), 4),
                "baseline_anatomy_only": rate(ok, "anatomy_right"),
                "baseline_left_is_anterior": rate(ok, "left_is_anterior_right"),
                "corner_error_max_px": max((r["corner_error"] for r in ok), default=None),
                "corners_within_1px": rate([{"x": r["corner_error"] <= 1.0} for r in ok], "x"),
                "pixel_shift_max": max((r["pixel_shift"] for r in ok), default=None),
                "views_within_1px": rate([{"x": r["pixel_shift"] <= 1} for r in ok], "x")}

    by = {name: block([r for r in rows if r["layout"] == name]) for name in LAYOUTS}
    failures = [{k: r[k] for k in ("i", "layout", "error") if k in r}
                for r in rows if not r.get("found") or not r.get("named_right")]
    return {"all": block(rows), "by_layout": by, "failures": failures}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=301)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--work", type=Path, default=None, help="Folder for captures and the log.")
    ap.add_argument("--resume", action="store_true", help="Skip captures already in the log.")
    ap.add_argument("--out", type=Path, default=RESULTS / "captures.json")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_captures_"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "log.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()] if args.resume and log.exists() else []
    done = {r["i"] for r in rows}
    t0 = time.time()
    with log.open("a") as fh:
        for i in range(args.n):
            if i in done:
                continue
            r = one(i, work, args.seed)
            rows.append(r)
            fh.write(json.dumps(r) + "\n")
            fh.flush()
            if len(rows) % 25 == 0:
                print(f"{len(rows)}/{args.n} in {time.time() - t0:.0f} s", flush=True)
    summary = {"command": f"python -m benchmarks.bench_captures --n {args.n} --seed {args.seed}",
               **_summary(rows)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary["all"], indent=1))
    for name, b in summary["by_layout"].items():
        print(f"{name:9s} n={b['n']:3d} found {b['both_views_found']} named {b['found_and_named_right']} "
              f"anatomy {b['baseline_anatomy_only']} left-ant {b['baseline_left_is_anterior']} "
              f"corner max {b['corner_error_max_px']} shift max {b['pixel_shift_max']}")


if __name__ == "__main__":
    main()
