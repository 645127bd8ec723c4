"""A simulated study as a screen capture read back, with its truth carried onto the read grid.

The picture variant of the detector was trained on screen exports
(:func:`osteoscan.lesions.augment.screen_round_trip`: the scan's own grid, windowed and
quantised). A real screen capture goes further: it is drawn into a page (frames, headers,
grey-scale bars, spot views, text, JPEG), and the picture reader finds the two views again,
crops them to the body and resamples them (docs/ingest.md). Per layout the bundle's capture
AUC spread from 0.91 (header) to 0.985 (plain) in session 16 (docs/independent-sites.md).

:func:`capture_round_trip` gives a training study that went the whole way: the simulator's
capture layouts (:func:`osteoscan.simulate.captures.render_capture`, layout and JPEG quality
drawn per study), the JPEG file read by :func:`osteoscan.io.images.scan_from_picture`, and the
study's lesion masks, region maps and bone mask carried onto the read views through both
transforms: read view pixel -> picture (the reader's ``source.picture`` map) -> simulated view
pixel (the drawing's :class:`~osteoscan.simulate.captures.Placement`), nearest neighbour. No
library maps label images through two affine page layouts, hence the few lines here.
``bench_detector --augment-mode capture`` trains on such studies (cached as ``-augcapture``).
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from osteoscan.errors import InputError

log = logging.getLogger(__name__)


def _sim_pixels(x: np.ndarray, y: np.ndarray, q) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Picture points -> (row, col, inside) of the simulated view drawn at placement ``q``."""
    c = (x - q.x0) / q.sx
    inside = (c >= 0) & (c < q.width / q.sx) & (y >= q.y0) & (y < q.y0 + q.height)
    col = np.floor(q.cols - c if q.mirrored else c).astype(np.int64)
    row = np.floor(q.row0 + (y - q.y0) / q.sy).astype(np.int64)
    return row, col, inside


def carried(images: dict[str, np.ndarray], place: dict, read) -> np.ndarray:
    """``images`` (per simulated view, on its grid) sampled on one read view ``read`` (a
    :class:`~osteoscan.types.ViewPlacement`); 0 where no simulated view was drawn."""
    rr, cc = np.mgrid[0:read.rows, 0:read.cols].astype(np.float64) + 0.5
    x, y = read.to_picture(rr, cc)
    first = next(iter(images.values()))
    out = np.zeros((read.rows, read.cols), first.dtype)
    for view, q in place.items():
        src = images[view]
        row, col, inside = _sim_pixels(np.asarray(x), np.asarray(y), q)
        inside &= (row >= 0) & (row < src.shape[0]) & (col >= 0) & (col < src.shape[1])
        out[inside] = src[row[inside], col[inside]]
    return out


def capture_round_trip(sim, rng: np.random.Generator):
    """``sim`` (a :class:`~osteoscan.simulate.study.SimulatedStudy`) as a screen capture read
    back by osteoscan's picture reader, with its truth on the read grid; None when the reader
    cannot read the capture (the caller falls back to the screen export)."""
    from osteoscan.io.images import scan_from_picture
    from osteoscan.simulate.captures import LAYOUTS, QUALITIES, jpeg_bytes, render_capture

    layout = LAYOUTS[int(rng.integers(len(LAYOUTS)))]
    pic, place = render_capture(sim, layout, rng)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{sim.study_id}.jpg"
        path.write_bytes(jpeg_bytes(pic, QUALITIES[int(rng.integers(len(QUALITIES)))]))
        try:
            scan = scan_from_picture(path, patient_id=sim.patient_id, study_id=sim.study_id)
        except InputError as exc:
            log.warning("%s as a %s capture: not read (%s)", sim.study_id, layout, exc)
            return None
    # a picture whose views could not be split is one "composite" view, stored as the anterior
    reads = {"posterior" if p.view == "posterior" else "anterior": p
             for p in scan.source.picture.placements}
    masks = {v: carried(sim.lesion_masks, place, p) for v, p in reads.items()}
    regions = {v: carried(sim.region_maps, place, p) for v, p in reads.items()}
    bone = {v: np.asarray(sim.bone_mask) for v in place}
    first = next(iter(reads.values()))
    source = replace(scan.source, notes=(*scan.source.notes, f"simulated capture: {layout}"))
    return replace(sim, scan=replace(scan, source=source), lesion_masks=masks,
                   region_maps=regions, bone_mask=carried(bone, place, first))
