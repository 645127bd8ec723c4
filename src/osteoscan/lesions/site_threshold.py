"""A site's own decision threshold, set on studies it knows are normal (docs/site-threshold.md).

The hotspot detector's ranking is left as it is; only the patient probability at which a
study is called metastatic changes, per domain (count studies, screen pictures), to the
split-conformal quantile of the site's normal studies: with n normals and a largest
acceptable share ``max_fpr`` of normals called, the k-th smallest of their probabilities,
k = ceil((n + 1)(1 - max_fpr)). Written by hand: it is one order statistic and one Beta
quantile; the conformal packages wrap estimators and give prediction sets, not a threshold
on a fixed detector's score.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.stats import beta

from osteoscan.errors import ConfigError, OsteoscanError
from osteoscan.evaluation.io import positive_label
from osteoscan.evaluation.statistics import proportion_ci
from osteoscan.lesions.candidates import is_picture
from osteoscan.lesions.patient import HotspotDetector

DOMAINS = ("count", "picture")
"""Count studies (DICOM, NIfTI, simulated) and screen pictures: each has its own threshold."""
EXPECTED = (0.05, 0.95)
"""Percentiles of the share of future normals called that the card reports."""


@dataclass(frozen=True)
class SiteThreshold:
    """The threshold a site's normals set, and what it promises."""

    threshold: float
    """Patient probability at which a study is called metastatic (just above the k-th)."""
    normals: int
    max_fpr: float
    rank: int
    """k: the threshold lies just above the k-th smallest normal probability."""
    expected_fpr: tuple[float, float]
    """5th and 95th percentile of the share of future normals called (Beta(n + 1 - k, k))."""
    confidence: float | None = None
    """None: at most ``max_fpr`` on average; else with this probability (:func:`_rank`)."""

    def card(self, previous: float, source: str) -> dict:
        """The card's ``site_calibration`` block."""
        return {"method": "split-conformal quantile of the site's normals "
                          "(docs/site-threshold.md)",
                "normals": self.normals, "max_fpr": self.max_fpr,
                "confidence": self.confidence, "rank": self.rank,
                "threshold": self.threshold, "previous_threshold": previous,
                "expected_fpr_5_95": list(self.expected_fpr), "calibration": source,
                "date": datetime.date.today().isoformat()}


def min_normals(max_fpr: float, confidence: float | None = None) -> int:
    """The fewest normals that set a threshold at ``max_fpr``: (n + 1)(1 - a) <= n; with
    ``confidence``, the fewest whose largest gives P(future share <= a) >= confidence,
    1 - (1 - confidence)^(1/n) <= a."""
    if confidence is None:
        return math.ceil((1.0 - max_fpr) / max_fpr - 1e-9)
    return math.ceil(math.log(1.0 - confidence) / math.log(1.0 - max_fpr) - 1e-9)


def _rank(n: int, max_fpr: float, confidence: float | None) -> int | None:
    """k of the module docstring; with ``confidence`` the smallest k whose Beta(n + 1 - k, k)
    share of future normals called stays <= ``max_fpr`` with that probability (a guarantee
    for this set of normals, not only on average). None: no k <= n will do."""
    k = math.ceil((n + 1) * (1.0 - max_fpr) - 1e-9)
    if confidence is not None:
        ks = np.arange(max(k, 1), n + 1)
        ok = ks[beta.ppf(confidence, n + 1 - ks, ks) <= max_fpr]
        k = int(ok[0]) if len(ok) else n + 1
    return k if k <= n else None


def check_settings(max_fpr: float, confidence: float | None = None) -> None:
    """Raises ConfigError, naming the option, for a rate or confidence outside (0, 1)."""
    if not 0.0 < max_fpr < 1.0:
        raise ConfigError(f"--max-fpr must lie between 0 and 1, got {max_fpr:g}")
    if confidence is not None and not 0.0 < confidence < 1.0:
        raise ConfigError(f"--confidence must lie between 0 and 1, got {confidence:g}")


def site_threshold(normal_probs, max_fpr: float, confidence: float | None = None
                   ) -> SiteThreshold:
    """The conformal threshold of ``normal_probs`` at ``max_fpr`` (module docstring); with
    ``confidence``, the share of future normals called stays <= ``max_fpr`` with that
    probability over the choice of the normals.

    Raises:
        ConfigError: ``max_fpr`` or ``confidence`` outside (0, 1), or fewer normals than
            :func:`min_normals`.
    """
    check_settings(max_fpr, confidence)
    p = np.sort(np.asarray(normal_probs, dtype=float))
    n = len(p)
    k = _rank(n, max_fpr, confidence)
    if k is None:
        raise ConfigError(f"{n} normal studies cannot set a threshold at a false-positive "
                          f"rate of {max_fpr:g}"
                          + (f" with confidence {confidence:g}" if confidence else "")
                          + f": at least {min_normals(max_fpr, confidence)} are needed")
    lo, hi = beta.ppf(EXPECTED, n + 1 - k, k)
    return SiteThreshold(threshold=float(np.nextafter(p[k - 1], np.inf)), normals=n,
                         max_fpr=float(max_fpr), rank=k, expected_fpr=(float(lo), float(hi)),
                         confidence=confidence)


def for_domain(det: HotspotDetector, domain: str) -> HotspotDetector:
    """The detector (``det`` or its picture variant) whose threshold decides ``domain``."""
    return det.picture if domain == "picture" and det.picture is not None else det


def domain_of(det: HotspotDetector, scan) -> str:
    """Which of the detector's thresholds decides ``scan``: ``picture`` when its picture
    variant answers it (:meth:`HotspotDetector.for_scan`), else ``count``."""
    return "picture" if det.picture is not None and is_picture(scan) else "count"


def label_value(text: str) -> int | None:
    """1 for a label naming metastasis, 0 for any other label, None for a blank one."""
    if not str(text).strip():
        return None
    return int(positive_label(text))


@dataclass(frozen=True)
class Scored:
    """One study of the calibration manifest as the source detector answers it."""

    study_id: str
    patient_id: str
    label: int
    domain: str
    probability: float


def score_manifest(det: HotspotDetector, manifest, on_study: Callable[[], None] = lambda: None
                   ) -> tuple[list[Scored], list[tuple[str, str]]]:
    """Every labelled study of ``manifest`` (an ``osteoscan.io.Manifest``) scored by ``det``;
    and ``(study_id, why)`` of each study that could not be used (unreadable, or no label)."""
    scored, failed = [], []
    for i in range(len(manifest)):
        sid = manifest.value(i, "study_id")
        label = label_value(manifest.value(i, "label") if "label" in manifest.frame else "")
        try:
            if label is None:
                raise ConfigError("no label: neither normal nor metastatic")
            scan = manifest.load_scan(i)
            p = det.analyze(scan).probability
            scored.append(Scored(sid, manifest.value(i, "patient_id"), label,
                                 domain_of(det, scan), float(p)))
        except OsteoscanError as exc:
            failed.append((sid, str(exc)))
        on_study()
    return scored, failed


def thresholds(scored: list[Scored], max_fpr: float, confidence: float | None = None
               ) -> dict[str, SiteThreshold]:
    """Each domain's threshold from its normal studies (a domain without any is left out).

    Raises:
        ConfigError: no normal study at all, or too few in a domain that has some.
    """
    out = {}
    for dom in DOMAINS:
        normals = [s.probability for s in scored if s.domain == dom and s.label == 0]
        if normals:
            out[dom] = site_threshold(normals, max_fpr, confidence)
    if not out:
        raise ConfigError("no study labelled normal: the site threshold is set on normal studies")
    return out


def calibrated(det: HotspotDetector, by_domain: Mapping[str, SiteThreshold], source: str
               ) -> HotspotDetector:
    """A copy of ``det`` whose domains in ``by_domain`` decide at the site's threshold; the
    others keep theirs and their card says why."""
    def one(d: HotspotDetector, dom: str) -> HotspotDetector:
        st = by_domain.get(dom)
        if st is None:
            block = {"normals": 0, "kept": "no normal study of this domain in " + source}
            return replace(d, card={**d.card, "site_calibration": block})
        return replace(d, card={**d.card, "decision_threshold": st.threshold,
                                "site_calibration": st.card(d.decision_threshold, source)})

    out = one(det, "count")
    if det.picture is not None:
        out = replace(out, picture=one(det.picture, "picture"))
    return out


def summary(scored: list[Scored], before: HotspotDetector, after: HotspotDetector) -> dict:
    """Per domain: normals and metastatic studies called at the source detector's threshold
    and at the site's, with Wilson 95 % CIs."""
    out = {}
    for dom in DOMAINS:
        rows = [s for s in scored if s.domain == dom]
        if not rows:
            continue
        t0, t1 = (for_domain(d, dom).decision_threshold for d in (before, after))
        out[dom] = {"threshold": {"previous": t0, "site": t1}}
        for name, lab in (("normals_called", 0), ("metastatic_called", 1)):
            p = np.array([s.probability for s in rows if s.label == lab])
            out[dom][name] = {when: _share(int((p >= t).sum()), len(p))
                              for when, t in (("previous", t0), ("site", t1))}
    return out


def _share(k: int, n: int) -> dict:
    lo, hi = proportion_ci(k, n)
    return {"k": k, "n": n, "share": k / n if n else float("nan"), "ci": [lo, hi]}


def write_scores(path: str | Path, scored: list[Scored], after: HotspotDetector) -> None:
    """One CSV row per study: ids, label, domain, probability and the site's call."""
    import pandas as pd

    from osteoscan.artefacts import atomic_write
    from osteoscan.csvsafe import neutralise_frame

    thr = {dom: for_domain(after, dom).decision_threshold for dom in DOMAINS}
    frame = pd.DataFrame([{"study_id": s.study_id, "patient_id": s.patient_id,
                           "label": "metastasis" if s.label else "normal", "domain": s.domain,
                           "probability": s.probability,
                           "site_call": "metastasis" if s.probability >= thr[s.domain]
                           else "normal"} for s in scored])
    atomic_write(path, lambda p: neutralise_frame(frame).to_csv(p, index=False))
