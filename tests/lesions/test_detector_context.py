"""Context features: body coordinates follow the body, not the frame."""

import numpy as np
import pytest
from scipy import ndimage

from osteoscan.lesions.candidates import scan_candidates
from osteoscan.lesions.context import FEATURES, body_frame, scan_context


@pytest.fixture(scope="module")
def sim():
    from osteoscan.simulate.study import simulate_study

    return simulate_study(11, site="site_a", force_label="metastasis")


def _body(sim):
    return scan_candidates(sim.scan)[1]["anterior"].body


def test_body_coordinates_hold_when_the_body_moves(sim):
    body = _body(sim)
    frame = body_frame(body)
    moved = np.zeros_like(body)
    moved[40:, 15:] = body[:-40, :-15]  # 40 rows down, 15 columns right
    f2 = body_frame(moved)
    y1, x1 = frame.to_body(300, 120)
    y2, x2 = f2.to_body(340, 135)
    assert y2 == pytest.approx(y1, abs=0.03) and x2 == pytest.approx(x1, abs=0.03)


def test_body_coordinates_hold_when_the_body_is_larger(sim):
    body = _body(sim)
    big = ndimage.zoom(body.astype(np.uint8), 1.15, order=0)
    big = big[:body.shape[0], :body.shape[1]].astype(bool)
    f1, f2 = body_frame(body), body_frame(big)
    y1, _ = f1.to_body(400, 128)
    y2, _ = f2.to_body(400 * 1.15, 128 * 1.15)
    assert y2 == pytest.approx(y1, abs=0.1)
    assert f2.head / f1.head == pytest.approx(1.15, abs=0.08)


def test_features_are_named_finite_and_views_concordant(sim):
    hot, maps = scan_candidates(sim.scan)
    ctx = scan_context(hot, maps)
    X = ctx.features["anterior"]
    assert X.shape == (len(hot["anterior"]), len(FEATURES))
    assert np.isfinite(X).all()
    # the sagittal midline of a simulated body is near x_body 0, the skull near y_body 0.5
    y = X[:, FEATURES.index("y_body")]
    assert y.min() > -0.5 and np.median(np.abs(X[:, FEATURES.index("x_body")])) < 1.0
    # most anterior candidates have a posterior partner within 60 mm
    assert np.mean(X[:, FEATURES.index("other_dist_mm")] < 60) > 0.5


def test_head_length_holds_across_count_levels_and_a_count_halved_copy():
    """The body frame is the patient's, not the noise's: head lengths of one patient at 0.3 M
    and 1.5 M counts, 2.4 and 4.8 mm pixels and a count-halved copy agree within 4 %
    (on raw row widths they ranged 88-124 pixels for one profile_9001 patient)."""
    from osteoscan.lesions.candidates import view_maps
    from osteoscan.preprocessing.augment import thin_counts
    from osteoscan.simulate.variants import Variant, render_variants

    vs = [Variant(1.5e6, 2.4), Variant(0.3e6, 2.4), Variant(1.5e6, 4.8)]
    studies = render_variants(910006, vs, site="profile_9001", force_label="normal")
    rng = np.random.default_rng(0)
    heads = []
    for v, st in studies.items():
        img, sp = st.scan.posterior, st.scan.spacing_mm
        for x in (img, thin_counts(img, 0.5, rng)):
            heads.append(body_frame(view_maps(x, sp).body).head * sp[0])
    assert max(heads) / min(heads) <= 1.04, heads


def _neckless_body():
    """A body mask whose outline runs from the head straight into the shoulders (no neck),
    with a bone map whose cervical spine is the narrow part."""
    body = np.zeros((400, 120), bool)
    z = np.full(body.shape, 0.3, np.float32)
    for r in range(20, 380):
        half = 20 + min(r - 20, 30) if r < 90 else 45  # a dome, then straight on
        body[r, 60 - half:60 + half] = True
    z[25:70, 40:80] = 1.5   # skull
    z[70:85, 57:63] = 1.2   # cervical spine, the narrow bone
    z[85:110, 15:105] = 1.5  # shoulder girdle
    z[110:380, 50:70] = 1.2  # spine below
    return body, z


def test_a_body_mask_without_a_neck_takes_the_neck_from_the_bone():
    body, z = _neckless_body()
    mask_only = body_frame(body)
    assert mask_only.head < 0.09 * 360  # the outline alone finds no neck
    frame = body_frame(body, z)
    assert 70 <= frame.top + frame.head <= 85  # the cervical spine
    normal = np.zeros_like(body)  # a body with a neck keeps the mask's answer, z or not
    normal[20:70, 40:80] = True
    normal[70:85, 52:68] = True
    normal[85:380, 15:105] = True
    assert body_frame(normal, z) == body_frame(normal)


def test_the_real_nm1_scan_gets_its_head_length_and_regions_in_body_order():
    from pydicom import data as pdata

    from osteoscan.io import load_study
    from osteoscan.lesions.context import HEAD_MM, estimated_spacing
    from osteoscan.lesions.patient import bundled_detector_or_none

    path = pdata.get_testdata_file("JPEG-LL.dcm")  # NEMA NM1, GE Millennium MG, 2.26 mm
    det = bundled_detector_or_none()
    if path is None or det is None:
        pytest.skip("the NM1 sample (pydicom-data) or the bundled detector is missing")
    scan = load_study(path)
    px, _ = estimated_spacing(scan)  # as if stored without a pixel size (a screen export)
    assert abs(px - 2.26) < 0.35 * 2.26  # was 8.1 mm: the outline's "neck" at 68 mm
    assert 0.6 * HEAD_MM < HEAD_MM * 2.26 / px < 1.4 * HEAD_MM
    rows = {}
    for h in det.analyze(scan).hotspots:
        rows.setdefault(h.region, []).append(h.row)
    head_neck = max(rows.get("skull", []) + rows.get("cervical_spine", []))
    below = rows.get("pelvis", []) + rows.get("femurs", []) + rows.get("lumbar_spine", [])
    assert rows.get("skull") and min(below) > head_neck  # pelvis was at the shoulders' row
