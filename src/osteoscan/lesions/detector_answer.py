"""The parts of the hotspot detector's answer built from its arrays
(:meth:`osteoscan.lesions.patient.HotspotDetector.analyze`): the annotated hotspots and the
region table. Kept apart from :mod:`osteoscan.lesions.patient` to keep that module short."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from osteoscan.lesions.burden import BSI_SHARE, LESION_ID, RegionRow
from osteoscan.lesions.context import FEATURES
from osteoscan.lesions.patches import PATCH_FEATURE
from osteoscan.lesions.stacking import STACK_FEATURES
from osteoscan.skeleton import MASS_FRACTION, REGIONS
from osteoscan.types import Hotspot

if TYPE_CHECKING:
    from osteoscan.lesions.patient import StudyArrays


def annotated_hotspots(hotspots: list[Hotspot], arr: StudyArrays, probs, codes,
                       stack: np.ndarray | None = None,
                       share: np.ndarray | None = None) -> list[Hotspot]:
    """Hotspots with probability, region, named features (the context vector and, with a
    second stage, :data:`STACK_FEATURES`; with ``share``, ``bsi_share``: the candidate's share
    of the BSI were its lesion called malignant) and ``match`` (index in the other view)."""
    n_ant = int((arr.view == 0).sum())
    partner = {}
    for j in range(n_ant, len(arr.group)):
        if arr.group[j] < n_ant:
            partner[int(arr.group[j])], partner[j] = j - n_ant, int(arr.group[j])

    def named(i):
        out = dict(zip(FEATURES, map(float, arr.X[i])))
        if arr.cnn_p is not None:
            out[PATCH_FEATURE] = float(arr.cnn_p[i])
        if stack is not None:
            out.update(zip(STACK_FEATURES, map(float, stack[i])))
        if share is not None:
            out[BSI_SHARE] = float(share[i])
        if arr.joined is not None:
            out[LESION_ID] = float(arr.joined[i])
        return out

    return [replace(h, probability=float(probs[i]), region=REGIONS[int(codes[i])],
                    match=partner.get(i), features={**h.features, **named(i)})
            for i, h in enumerate(hotspots)]


def region_rows(codes, out: dict) -> tuple[RegionRow, ...]:
    """Region table: distinct and malignant lesions and the BSI share per region."""
    rows = []
    lesions, mass = out["lesions"], out["mass"]
    for code, name in enumerate(REGIONS):
        if not code:
            continue
        here = codes[lesions] == code
        mal = int(np.isin(out["counted"], lesions[here]).sum())
        bsi = float(mass[codes == code].sum())
        frac = bsi / (100 * MASS_FRACTION[name])
        rows.append(RegionRow(name, int(here.sum()), mal, float(min(frac, 1.0)), bsi))
    return tuple(rows)
