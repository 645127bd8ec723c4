"""Independent simulated test sites for the bone-scan detector (issue 16).

Each subpackage is written as an outsider would write it: its own anatomy, camera, count
level and DICOM conventions, without importing :mod:`osteoscan`. Only their tests import
osteoscan, to check that its documented reader reads the cohorts.
"""
