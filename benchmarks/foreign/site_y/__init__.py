"""site_y: an independent simulated whole-body bone-scan site (issue 16).

A 3-D voxel phantom (4.0-4.6 mm voxels) imaged by a dual-head camera model with attenuation,
depth-dependent collimator blur, scatter and Poisson noise, stored as a Siemens-Symbia-like
pair of single-frame NM DICOM files. Imports numpy, scipy, pydicom and Pillow only (never
osteoscan). See docs/foreign-site_y.md.
"""
