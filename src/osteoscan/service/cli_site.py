"""``osteoscan lesions calibrate`` and ``lesions adapt``: a site's own decision threshold
from its normal studies, and the bundle's recipe refitted with them.

Thin layers over :mod:`osteoscan.lesions.site_threshold` and
:mod:`osteoscan.lesions.site_adapt` (docs/site-threshold.md); every figure ``calibrate``
prints is in the ``calibration.json`` it writes, and ``adapt`` writes ``adaptation.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from osteoscan.artefacts import atomic_write_json
from osteoscan.errors import ConfigError, ModelError
from osteoscan.service import exits
from osteoscan.service._progress import counted_progress
from osteoscan.service.cli_lesions import ModelsOpt, console, lesion_stage, lesions_app


def calibrate(
    manifest: Annotated[Path, typer.Argument(
        help="Manifest of the site's studies with a label column: normal rows set the "
             "threshold, metastasis rows measure its sensitivity (docs/data-format.md).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the calibrated detector "
                                      "(use it with analyze --lesion-models), calibration.json "
                                      "and scores.csv.")],
    max_fpr: Annotated[float, typer.Option(
        "--max-fpr", help="Largest share of the site's future normal studies to call "
        "metastatic.")] = 0.10,
    confidence: Annotated[float, typer.Option(
        "--confidence", help="Probability that the share stays <= --max-fpr for the normals "
        "given (a tolerance bound; 29 normals at least for 0.10 and 0.95).")] = 0.95,
    on_average: Annotated[bool, typer.Option(
        "--on-average", help="Promise --max-fpr only on average over the choice of the normals "
        "(fewer normals, more sensitivity; one site in two sees more).")] = False,
    models: ModelsOpt = None,
) -> None:
    """Set the detector's decision threshold on studies the site knows are normal, without
    annotations (docs/site-threshold.md). Unreadable or unlabelled rows are listed; exit
    code 1."""
    from osteoscan.io import read_manifest
    from osteoscan.lesions import site_threshold as st

    confidence = None if on_average else confidence
    st.check_settings(max_fpr, confidence)  # before reading a single study
    det = lesion_stage(models)
    if not hasattr(det, "decision_threshold"):
        raise ModelError(f"{models}: not a hotspot detector (lesions cv --stage detector); the "
                         "lesion networks have no patient threshold to calibrate")
    m = read_manifest(manifest, validate=False)  # a bad row is listed, the others go on
    with counted_progress(console) as prog:
        task = prog.add_task("scoring the site's studies", total=len(m))
        scored, failed = st.score_manifest(det, m, lambda: prog.advance(task))
    for study_id, problem in failed:  # listed first: a threshold that cannot be set exits 2
        console.print(f"[red]skipped[/] {study_id}: {problem}")
    site = st.calibrated(det, st.thresholds(scored, max_fpr, confidence), manifest.name)
    site.save(out)
    result = {"manifest": str(manifest), "max_fpr": max_fpr, "confidence": confidence,
              "studies": len(scored),
              "domains": {d: st.for_domain(site, d).card["site_calibration"]
                          for d in st.DOMAINS if d == "count" or site.picture is not None},
              "called": st.summary(scored, det, site), "failed": [list(f) for f in failed]}
    atomic_write_json(out / "calibration.json", result, default=float)
    st.write_scores(out / "scores.csv", scored, site)
    console.print(_table(result))
    console.print(f"written to {out}: the calibrated detector, calibration.json, scores.csv; "
                  f"use it with: osteoscan analyze ... --lesion-models {out}")
    exits.finish(bool(failed))


def _table(result: dict) -> Table:
    """Per domain: normals, threshold before/after, the shares called with their CIs."""
    sure = f" with confidence {result['confidence']:g}" if result["confidence"] else ""
    table = Table(title=f"site threshold at max FPR {result['max_fpr']:g}{sure}")
    for col in ("domain", "normals", "threshold", "normals called", "metastatic called",
                "future normals called (90 %)"):
        table.add_column(col)
    for dom, called in result["called"].items():
        block = result["domains"][dom]
        t = called["threshold"]
        band = block.get("expected_fpr_5_95")
        table.add_row(dom, str(block["normals"]), f"{t['previous']:.6g} -> {t['site']:.6g}",
                      _pair(called["normals_called"]), _pair(called["metastatic_called"]),
                      f"{band[0]:.0%}-{band[1]:.0%}" if band else block.get("kept", ""))
    return table


def _pair(shares: dict) -> str:
    """``before -> after`` shares, the site's with its 95 % CI (blank without studies)."""
    a, b = shares["previous"], shares["site"]
    if not b["n"]:
        return "-"
    return f"{a['share']:.0%} -> {b['share']:.0%} ({b['ci'][0]:.0%}-{b['ci'][1]:.0%}, n={b['n']})"


def adapt(
    manifest: Annotated[Path, typer.Argument(help="Manifest of the site's studies: the rows "
                                             "labelled normal are used, nothing need be drawn "
                                             "(docs/data-format.md).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the refitted detector (use it "
                                      "with analyze --lesion-models) and adaptation.json.")],
    cache: Annotated[Path | None, typer.Option(
        help="Folder for the simulated training studies, made once (default: "
             "$XDG_CACHE_HOME/osteoscan/detector-records).")] = None,
    n_train: Annotated[int | None, typer.Option(
        "--n-train", help="Use the recipe's first N training studies (default: all).",
        min=20)] = None,
    n_select: Annotated[int | None, typer.Option(
        "--n-select", help="Use the recipe's first N selection studies (default: all).",
        min=10)] = None,
    workers: Annotated[int, typer.Option(
        "--workers", "-w", help="Worker processes that simulate the recipe's studies.",
        min=1)] = 2,
) -> None:
    """Refit the bundled detector's recipe with the site's normal studies as negatives
    (docs/site-threshold.md): count studies refit the count detector, screen pictures its
    picture variant. The first run simulates the recipe's studies (about 30 min of one core,
    15 with two workers, for each domain; cached). Unreadable rows are listed; exit code 1."""
    from osteoscan.lesions import site_adapt as sa
    from osteoscan.lesions.patient import bundled_detector_or_none

    det = bundled_detector_or_none()
    if det is None:
        raise ModelError("no bundled hotspot detector is installed")
    m, rows = _normal_rows(manifest)
    failed: list[tuple[str, str]] = []
    by_domain = _domains(m, rows, failed)
    for study_id, problem in failed:
        console.print(f"[red]skipped[/] {study_id}: {problem}")
    if not any(by_domain.values()):
        raise ConfigError(f"{manifest}: no readable study labelled normal")
    plan = sa.recipes(det, count=bool(by_domain["count"]), picture=bool(by_domain["picture"]),
                      n_train=n_train, n_select=n_select)
    listed = len(failed)
    with counted_progress(console) as prog:
        total = sum(r.n_train + len(r.select_seeds) for r in plan.values())
        task = prog.add_task("simulated training studies, then the site's",
                             total=total + len(rows) - len(failed))
        step = lambda: prog.advance(task)  # noqa: E731
        records = {k: sa.simulated(r, cache or _default_cache(), step, workers=workers)
                   for k, r in plan.items()}
        normals = {d: sa.site_records(_scans(m, ids, failed), records[d][0], step)
                   for d, ids in by_domain.items() if ids}
        prog.add_task("fitting on the simulated studies and the site's", total=None)
        new = sa.adapted(det, plan, records, normals, manifest.name)
    for study_id, problem in failed[listed:]:  # unreadable on the second reading
        console.print(f"[red]skipped[/] {study_id}: {problem}")
    _write_adapted(new, out, list(normals), failed, manifest.name)
    exits.finish(bool(failed))


def _write_adapted(det, out: Path, domains: list[str], failed: list, source: str) -> None:
    """Save the refitted detector and ``adaptation.json`` (each refitted domain's card block
    and the rows that could not be used); say what was refitted."""
    from osteoscan.lesions.site_threshold import for_domain

    det.save(out)
    blocks = {d: for_domain(det, d).card["site_adaptation"] for d in domains}
    atomic_write_json(out / "adaptation.json", {"domains": blocks,
                                                "failed": [list(f) for f in failed]})
    for d, block in blocks.items():
        console.print(f"{d}: refitted on {block['own_studies']} simulated studies and "
                      f"{block['normals']} normal studies of {source}")
    console.print(f"written to {out}. Set its threshold on other normals: osteoscan lesions "
                  f"calibrate OTHER.csv --models {out} --out SITE")


def _normal_rows(manifest: Path):
    """The manifest (read without validation: a bad row is listed, the others go on) and the
    indices of its rows labelled normal.

    Raises:
        ConfigError: no row is labelled normal (said before any study is simulated).
    """
    from osteoscan.io import read_manifest
    from osteoscan.lesions.site_threshold import label_value

    m = read_manifest(manifest, validate=False)
    labels = m.frame["label"] if "label" in m.frame else [""] * len(m)
    rows = [i for i, text in enumerate(labels) if label_value(text) == 0]
    if not rows:
        raise ConfigError(f"{manifest}: no study labelled normal")
    return m, rows


def _domains(m, rows: list[int], failed: list[tuple[str, str]]) -> dict[str, list[int]]:
    """The ``rows`` of count studies and of screen pictures (each read once here and again
    when its record is made, so that no more than one study is held); a row that cannot be
    read goes to ``failed`` with the reason."""
    from osteoscan.errors import OsteoscanError
    from osteoscan.lesions.candidates import is_picture

    out: dict[str, list[int]] = {"count": [], "picture": []}
    for i in rows:
        try:
            out["picture" if is_picture(m.load_scan(i)) else "count"].append(i)
        except OsteoscanError as exc:
            failed.append((m.value(i, "study_id"), str(exc)))
    return out


def _scans(m, rows: list[int], failed: list[tuple[str, str]]):
    """The studies of ``rows``, read one at a time (a site may give hundreds)."""
    from osteoscan.errors import OsteoscanError

    for i in rows:
        try:
            yield m.load_scan(i)
        except OsteoscanError as exc:  # changed since it was first read
            failed.append((m.value(i, "study_id"), str(exc)))


def _default_cache() -> Path:
    import os

    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "osteoscan" / "detector-records"


def register(app: typer.Typer) -> None:
    """Add ``lesions calibrate`` and ``lesions adapt`` to the lesion command group
    (registered by cli_lesions)."""
    lesions_app.command("calibrate")(calibrate)
    lesions_app.command("adapt")(adapt)
