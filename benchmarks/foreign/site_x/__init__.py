"""site_x: an independent simulated bone-scan site (atlas phantom, GE-like camera and DICOM).

Run ``python -m benchmarks.foreign.site_x --out DIR --n N --seed S``; see
docs/foreign-site_x.md. Imports numpy, scipy, scikit-image, Pillow and pydicom only.
"""

from benchmarks.foreign.site_x.cohort import write_cohort

__all__ = ["write_cohort"]
