"""View evidence in DICOM headers: view codes and ANT/POST words, per frame.

Used by :mod:`osteoscan.io.dicom`; values are read through :mod:`osteoscan.io.dicomtags`
(raw-byte fast path) so that identifying the views costs microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydicom.dataset import Dataset

from osteoscan.io import dicomtags as tags

# antero-posterior (SRT, SNOMED CT), and CID 26's "Anterior projection" (SCT 399321004)
ANTERIOR_CODES = frozenset({"R-10206", "399348003", "399321004"})
# postero-anterior, and CID 26's "Posterior projection" (SCT 399001007)
POSTERIOR_CODES = frozenset({"R-10214", "399198008", "399001007"})
KEYWORD_TAGS = (
    ("ImageID", 0x00540400),
    ("SeriesDescription", 0x0008103E),
    ("ImageComments", 0x00204000),
    ("ViewName", 0x00082127),
    ("ProtocolName", 0x00181030),
    ("DerivationDescription", 0x00082111),
    ("AcquisitionContextDescription", 0x00400556),
)
DETECTOR_KEYWORD_TAGS = KEYWORD_TAGS + (
    ("DetectorDescription", 0x00187006),
    ("DetectorID", 0x0018700A),
)
"""Text tags searched inside a DetectorInformationSequence item (vendors put names there)."""
ANTERIOR_WORDS = frozenset({"ANT", "ANTERIOR", "AP"})
POSTERIOR_WORDS = frozenset({"POST", "POSTERIOR", "PA"})
KEYWORD_CONFIDENCE = 0.85
_TOKEN = re.compile(r"[A-Za-z]+")
_VIEW_CODE_SEQUENCE = 0x00540220
_DETECTOR_INFORMATION = 0x00540022
_DETECTOR_VECTOR = 0x00540020


def view_from_code(item: Dataset) -> tuple[str, str] | None:
    """View named by the ViewCodeSequence of a dataset or sequence item.

    Args:
        item: the dataset or DetectorInformationSequence item.

    Returns:
        (view, evidence) or None.
    """
    for code in tags.value(item, _VIEW_CODE_SEQUENCE) or []:
        value = tags.text(code, 0x00080100).strip()
        meaning = tags.text(code, 0x00080104).strip()
        word = meaning.lower().replace(" ", "-")
        if value in ANTERIOR_CODES or word.startswith(("antero", "anterior")):
            return "anterior", f"ViewCodeSequence {value or '?'} ({meaning or 'antero-posterior'})"
        if value in POSTERIOR_CODES or word.startswith(("postero", "posterior")):
            return "posterior", f"ViewCodeSequence {value or '?'} ({meaning or 'postero-anterior'})"
    return None


def view_from_words(text: str) -> str | None:
    """"anterior"/"posterior" when ``text`` names exactly one view as a whole word, else None.

    Words: ANT, ANTERIOR, AP (anterior); POST, POSTERIOR, PA (posterior); any case. Text
    naming both views ("ANT_POST", "AP/PA") is ambiguous: None.
    """
    words = {w.upper() for w in _TOKEN.findall(text)}
    ant, post = bool(words & ANTERIOR_WORDS), bool(words & POSTERIOR_WORDS)
    if ant == post:
        return None
    return "anterior" if ant else "posterior"


def view_from_keywords(
    ds: Dataset, keyword_tags: Iterable[tuple[str, int]] = KEYWORD_TAGS
) -> tuple[str, str] | None:
    """Find view words (whole tokens, any case) in the text tags of a dataset or item.

    A tag naming both views (e.g. "ANT_POST") is ambiguous and skipped.

    Args:
        ds: the dataset (or a DetectorInformationSequence item).
        keyword_tags: (keyword, tag) pairs searched in order.

    Returns:
        (view, evidence) or None.
    """
    for name, tag in keyword_tags:
        text = tags.text(ds, tag)
        view = view_from_words(text) if text else None
        if view:
            return view, f'{name} "{text}"'
    return None


def detector_items(ds: Dataset, n_frames: int) -> list[Dataset | None]:
    """The DetectorInformationSequence item of each frame (None where unknown).

    Frames map to items through DetectorVector; without it, item *i* is frame *i* when the
    counts match.
    """
    items = list(tags.value(ds, _DETECTOR_INFORMATION) or [])
    vector = tags.value(ds, _DETECTOR_VECTOR)
    if vector is not None and vector != "":
        vector = [int(v) for v in (vector if isinstance(vector, Iterable) else [vector])]
        if len(vector) == n_frames:
            return [items[d - 1] if 1 <= d <= len(items) else None for d in vector]
    if len(items) == n_frames:
        return items
    return [None] * n_frames


def frame_evidence(ds: Dataset, n_frames: int) -> list[tuple[str, str, float, str] | None]:
    """(view, rule, confidence, detail) for each frame of an NM object, None where unknown.

    Per frame: its detector item's view code, else the top-level view code (single-frame
    objects), else view words in its detector item, else (single-frame objects) view words
    in the top-level text tags.

    Args:
        ds: the NM dataset.
        n_frames: its number of frames.

    Returns:
        One entry per frame.
    """
    items = detector_items(ds, n_frames)
    single = n_frames == 1
    top_code = view_from_code(ds) if single else None
    top_words = view_from_keywords(ds) if single else None
    out: list[tuple[str, str, float, str] | None] = []
    for item in items:
        code = (view_from_code(item) if item is not None else None) or top_code
        if code:
            out.append((code[0], "view_code", 1.0, code[1]))
            continue
        words = view_from_keywords(item, DETECTOR_KEYWORD_TAGS) if item is not None else None
        if words:
            detail = f"DetectorInformationSequence item {words[1]}"
            out.append((words[0], "keyword", KEYWORD_CONFIDENCE, detail))
        elif top_words:
            out.append((top_words[0], "keyword", KEYWORD_CONFIDENCE, top_words[1]))
        else:
            out.append(None)
    return out
