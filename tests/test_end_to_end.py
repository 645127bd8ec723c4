"""The one end-to-end smoke test: ``osteoscan demo --quick`` produces a linked, working site."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from osteoscan.service.cli import app


def test_demo_quick_end_to_end(tmp_path):
    out = tmp_path / "demo"
    res = CliRunner().invoke(app, ["demo", "--quick", "--out", str(out)])
    assert res.exit_code == 0, res.output
    index = out / "index.html"
    assert str(index.resolve()) in res.output
    html = index.read_text()
    assert "Research use only" in html
    links = re.findall(r'href="([^"]+)"', html)
    assert any(link.endswith("worklist.html") for link in links)
    for link in links:
        assert (out / link).is_file(), link  # every link on the index resolves
    external = json.loads((out / "evaluation" / "external" / "metrics.json").read_text())
    assert external["n"] > 0 and 0.0 <= external["auc"]["value"] <= 1.0
    assert external["auc"]["ci_low"] <= external["auc"]["value"] <= external["auc"]["ci_high"]
    summary = json.loads((out / "analyze" / "analysis.json").read_text())
    assert summary["n_ok"] == 3 and summary["n_failed"] == 0
    reports = sorted((out / "analyze" / "reports").glob("*.html"))
    assert len(reports) == 3 and all("Grad-CAM" in r.read_text() for r in reports)
    sites = {json.loads(p.read_text())["source"]["files"][0].split("/dicom/")[0] for p in
             (out / "analyze" / "studies").glob("*.json")}
    assert len(sites) == 1  # analysed studies come from the written cohort
