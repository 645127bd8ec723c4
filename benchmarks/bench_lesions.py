"""Lesion stage on a simulated EXTERNAL site: FROC, lesion AUC, BSI agreement, patient AUC, cost.

The bundled lesion models were trained on simulated site_a and site_b; this benchmark
simulates ``--n`` studies of site_c (another camera, lower counts, more blur) with seeds
never used in training, and writes ``benchmarks/results/lesions.json``:

* FROC (sensitivity at 0.125 ... 8 false positives per scan and their mean, the CPM) for
  every lesion (score: detector probability) and for metastases (score: malignancy
  probability; hotspots on benign lesions are neither TP nor FP);
* lesion AUC (benign vs malignant) with a DeLong 95% CI on the delineated lesions;
* lesion confusion matrix (benign / malignant / none) at the classifier threshold;
* BSI agreement with the simulator's ground truth (Pearson r, Bland-Altman bias, limits);
* patient AUC of the lesion-based probability next to the image-level classifier's AUC on
  the same studies (the bundled reference model when installed; else not reported);
* time of the lesion stage per study over the image-level forward pass (the bundled
  reference model, or a stand-in with its architecture and random weights: named in the
  JSON), best of ``--repeat`` on one thread, measured in the same run.

Run: ``.venv/bin/python -m benchmarks.bench_lesions [--n 40]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def _best(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _image_model(work: Path):
    """The bundled reference Predictor, or a stand-in of its architecture (random weights)."""
    from osteoscan.inference import REFERENCE_DIR, Predictor

    if (REFERENCE_DIR / "model.json").is_file():
        return Predictor.default(gradcam=False), "bundled reference", True
    sys.path.insert(0, str(Path(__file__).parent.parent))
    from benchmarks.bench_analyze import model_source

    path, desc = model_source(work, "reference")
    return Predictor.from_path(path, gradcam=False, lesions=False), desc, False


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark and write the JSON."""
    import numpy as np
    import torch

    from osteoscan.lesions.analyzer import LesionAnalyzer
    from osteoscan.lesions.pipeline import simulate_studies
    from osteoscan.lesions.scoring import evaluate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--site", default="site_c")
    ap.add_argument("--seed", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    analyzer = LesionAnalyzer.default()
    studies = simulate_studies(args.n, args.seed, sites=(args.site,))
    with tempfile.TemporaryDirectory() as tmp:
        predictor, model_desc, real = _image_model(Path(tmp))
        image_p = [predictor.predict(s.scan).probability for s in studies] if real else None
        scan = studies[0].scan
        x = torch.from_numpy(np.ascontiguousarray(predictor.pipeline(scan, None)))[None]

        def forward():
            with torch.no_grad():
                predictor.model(x)

        t_forward = _best(forward, args.repeat)
    t_lesions = _best(lambda: analyzer.analyze(scan), args.repeat)
    metrics = evaluate(analyzer, studies, image_probabilities=image_p)
    out = {
        "benchmark": "lesions", "site": args.site, "n_studies": args.n, "seed": args.seed,
        "trained_on": "simulated site_a + site_b (bundled lesion models)",
        "image_model": model_desc,
        "timing": {"threads": 1, "lesion_stage_s": t_lesions, "image_forward_s": t_forward,
                   "ratio_lesions_over_forward": t_lesions / t_forward,
                   "method": f"best of {args.repeat} after a warm-up, same process"},
        **metrics,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "lesions.json").write_text(json.dumps(out, indent=2, default=float) + "\n")
    return out


if __name__ == "__main__":
    res = main()
    summary = {k: res[k] for k in ("froc_detection", "froc_metastasis", "lesion_auc_delineated",
                                   "patient_auc_lesions", "timing")}
    summary["bsi"] = {k: res["bsi"][k] for k in ("pearson_r", "bias", "loa_lower", "loa_upper")}
    json.dump(summary, sys.stdout, indent=1, default=float)
