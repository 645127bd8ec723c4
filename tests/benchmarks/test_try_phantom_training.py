"""benchmarks/try_phantom_training.py: which phantom records each arm trains on."""

import pytest

from benchmarks.try_phantom_training import _phantoms_of


def test_arms_name_phantoms_counts_and_normals_only():
    recs = {k: [{"label": i % 2, "id": f"{k}{i}"} for i in range(10)] for k in "xz"}
    assert _phantoms_of("own", recs) == {}
    assert [r["id"] for r in _phantoms_of("mix_z3", recs)["z"]] == ["z0", "z1", "z2"]
    normals = _phantoms_of("mix_z3n", recs)["z"]  # the first three normal studies
    assert [r["id"] for r in normals] == ["z0", "z2", "z4"]
    both = _phantoms_of("mix_xzn", recs)
    assert set(both) == {"x", "z"} and all(r["label"] == 0 for v in both.values() for r in v)
    assert len(both["x"]) == 5
    with pytest.raises(SystemExit, match="unknown arm"):
        _phantoms_of("z100", recs)
