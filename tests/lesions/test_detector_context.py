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
