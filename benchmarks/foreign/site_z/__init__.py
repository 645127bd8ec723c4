"""site_z: an independent simulated test site of 99mTc-MDP whole-body bone scans.

A 2.5-D patient (bones as 3-D capsules with depth and thickness) projected onto the two
heads of a dual-head camera with depth-dependent attenuation and collimator blur, Poisson
noise, and an emphasis on normal variants and benign findings. Written without reading
osteoscan's simulator or the other foreign sites, and without importing osteoscan.
See docs/foreign-site_z.md.
"""

from .cohort import write_cohort

__all__ = ["write_cohort"]
