"""osteoscan.io: readers that turn files into domain objects (numpy + metadata, never tensors).

* :func:`load_study`: DICOM NM whole body (multi- or single-frame, any transfer syntax
  pydicom decodes), Secondary Capture, PNG/JPEG/TIFF exports, or a folder holding one study;
  files of the folder it did not use are in ``scan.source.skipped`` (file, reason).
* :func:`load_studies`: every study of a folder, and every file not used with the reason.
* :func:`read_labelme`, :func:`read_mask`, :func:`annotations_to_mask`: lesion annotations
  (shapes drawn on a whole screen capture are mapped through ``scan.source.picture``);
  :func:`read_label_map`: a ``--label-map`` YAML.
* :func:`read_manifest`, :func:`write_manifest`: the dataset manifest (docs/data-format.md).
* :class:`Volume`, :func:`read_volume`, :func:`read_ct_series`, :func:`read_nm_spect`,
  :func:`read_nifti`, :func:`write_nifti`, :func:`read_spect_ct`, :func:`resample_to`:
  SPECT/CT and CT volumes (docs/volumes.md).
"""

from __future__ import annotations

from osteoscan._lazy import lazy_getattr

_EXPORTS = {
    "load_study": "osteoscan.io.study",
    "load_studies": "osteoscan.io.folder",
    "read_labelme": "osteoscan.io.annotations",
    "read_mask": "osteoscan.io.annotations",
    "annotations_to_mask": "osteoscan.io.annotations",
    "DEFAULT_LABEL_MAP": "osteoscan.io.annotations",
    "read_label_map": "osteoscan.io.annotations",
    "Manifest": "osteoscan.io.manifest",
    "read_manifest": "osteoscan.io.manifest",
    "write_manifest": "osteoscan.io.manifest",
    "Volume": "osteoscan.io.volume",
    "read_volume": "osteoscan.io.volumes",
    "read_ct_series": "osteoscan.io.volumes",
    "read_spect_ct": "osteoscan.io.volumes",
    "read_nm_spect": "osteoscan.io.nmtomo",
    "read_nifti": "osteoscan.io.nifti",
    "write_nifti": "osteoscan.io.nifti",
    "resample_to": "osteoscan.io.resample",
}

__all__ = list(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
