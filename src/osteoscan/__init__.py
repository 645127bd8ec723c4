"""osteoscan: find bone metastases in whole-body bone scintigraphy.

The public API (imported lazily so that ``import osteoscan`` stays light and torch is
only loaded when a model is needed)::

    import osteoscan as osc
    scan = osc.load_study("study.dcm")
    result = osc.Predictor.default().predict(scan)
    osc.write_report(scan, result, "report.html")
"""

from __future__ import annotations

from osteoscan._lazy import lazy_getattr

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    # public name -> module that defines it; each stage adds its own line
    "Predictor": "osteoscan.inference",
    "Prediction": "osteoscan.inference",
    "write_report": "osteoscan.reporting.html",
    "train": "osteoscan.training.trainer",
    "load_checkpoint": "osteoscan.training.checkpoint",
    "ModelCard": "osteoscan.artefacts",
    "evaluate_predictions": "osteoscan.evaluation.core",
    "delong_roc_test": "osteoscan.evaluation.statistics",
    "delong_roc_variance": "osteoscan.evaluation.statistics",
    "BoneScan": "osteoscan.types",
    "StudyLabel": "osteoscan.types",
    "Annotation": "osteoscan.types",
    "Hotspot": "osteoscan.types",
    "ViewSource": "osteoscan.types",
    "OsteoscanError": "osteoscan.errors",
    "InputError": "osteoscan.errors",
    "list_models": "osteoscan.models",
    "create_model": "osteoscan.models",
    "model_info": "osteoscan.models",
    "load_study": "osteoscan.io.study",
    "read_manifest": "osteoscan.io.manifest",
    "read_labelme": "osteoscan.io.annotations",
    "simulate_study": "osteoscan.simulate",
    "simulate_cohort": "osteoscan.simulate",
    "write_cohort": "osteoscan.simulate",
    "LesionAnalyzer": "osteoscan.lesions.analyzer",
    "LesionResult": "osteoscan.lesions.analyzer",
    "froc_score": "osteoscan.evaluation.lesions",
}

__all__ = ["__version__", *_LAZY]


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)
