"""osteoscan.simulate: a whole-body bone-scan phantom that writes the files a scanner writes.

No torch here. Public API::

    from osteoscan.simulate import simulate_study, simulate_cohort, write_cohort
    study = simulate_study(7, site="site_b", difficulty="hard")
    manifest = write_cohort("cohort", 100, seed=0, sites=("site_a", "site_b"))
    captures = write_capture_cohort("caps", 70, layouts=CAPTURE_LAYOUTS)  # JPEG + LabelMe

See docs/simulator.md for the anatomy, physics, findings, sites, difficulty and file layout.
"""

from __future__ import annotations

from osteoscan.simulate.captures import LAYOUTS as CAPTURE_LAYOUTS
from osteoscan.simulate.captures import write_capture_cohort
from osteoscan.simulate.cohort import simulate_cohort
from osteoscan.simulate.lesions import SimLesion
from osteoscan.simulate.sites import SITES, SiteProfile, get_site
from osteoscan.simulate.study import DIFFICULTY_LEVELS, SimulatedStudy, simulate_study
from osteoscan.simulate.writer import write_cohort, write_study

__all__ = ["CAPTURE_LAYOUTS", "DIFFICULTY_LEVELS", "SITES", "SimLesion", "SimulatedStudy",
           "SiteProfile", "get_site", "simulate_cohort", "simulate_study", "write_capture_cohort", "write_cohort",
           "write_study"]
