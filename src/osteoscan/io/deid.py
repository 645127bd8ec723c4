"""De-identify DICOM files: DICOM PS3.15 Annex E, Basic Application Level Confidentiality Profile.

The attribute actions (Table E.1-1: D replace, Z empty, X remove, U new UID, ...) come from
the maintained ``dicom-anonymizer`` package (KitwareMedical, BSD-3), whose tables are
generated from the standard (edition 2026c here); docs/privacy.md says why this package and
what it removes, keeps and changes. What osteoscan adds around it:

* the actions are applied inside every sequence item too (the package acts on the top level
  only, so a date or name nested in a sequence would survive);
* one UID map per :class:`Deidentifier` (one run), so the anterior and posterior files of
  one study still share one new StudyInstanceUID; likewise one random pseudonym per
  PatientID (``DEID-`` + 12 hex digits, not derived from the original), so the studies of
  one patient stay one patient (the package writes the same dummy for everyone);
* Patient Identity Removed, De-identification Method (Code Sequence, DCM 113100) and
  Longitudinal Temporal Information Modified are set as PS3.15 E.1.1 asks;
* files that declare Burned In Annotation YES are not written unless asked for, because the
  profile does not touch pixel data;
* outputs are named by their new UIDs (``OUT/<StudyInstanceUID>/<SOPInstanceUID>.dcm``), so
  no file or folder name of the input (which often holds a name or an id) reaches them;
  they are written atomically and the inputs are only read;
* no table linking old and new ids is written unless asked for
  (:meth:`Deidentifier.write_links`, ``--links FILE``): it would re-identify the patients.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from osteoscan.artefacts.files import atomic_write, atomic_write_text
from osteoscan.errors import InputError
from osteoscan.io.dicom import read_dataset

log = logging.getLogger(__name__)

TABLE_EDITION = "dicomfields_2026c"
"""The dicom-anonymizer table (DICOM edition of PS3.15 Table E.1-1) applied."""
LINK_KEYS = ("PatientID", "StudyInstanceUID")
"""The ids :meth:`Deidentifier.write_links` records, before and after."""
BASIC_PROFILE_CODE = ("113100", "DCM", "Basic Application Confidentiality Profile")
"""PS3.16 CID 7050 code for the profile applied (De-identification Method Code Sequence)."""


def _method_text() -> str:
    from importlib.metadata import version

    from osteoscan import __version__

    lib = version("dicom-anonymizer")
    text = f"osteoscan {__version__}: PS3.15 E.1-1 basic, dicom-anonymizer {lib}"
    return text[:64]  # VR LO


@lru_cache(maxsize=1)
def _rules() -> dict:
    from dicomanonymizer.simpledicomanonymizer import initialize_actions

    return initialize_actions(TABLE_EDITION)


@dataclass
class DeidReport:
    """What one run did.

    Attributes:
        written: (input, output) per file written.
        skipped: (input, reason) per file left out on purpose (not DICOM, burned-in text).
        failed: (input, reason) per file that could not be de-identified.
        burned_in: inputs that declare Burned In Annotation YES (written or not).
    """

    written: list[tuple[Path, Path]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    burned_in: list[Path] = field(default_factory=list)


class Deidentifier:
    """One de-identification run: one UID map shared by every file it handles.

    Args:
        keep_burned_in: also write files that declare Burned In Annotation YES (their
            Patient Identity Removed is then "NO": the pixels may still show a name).

    Example:
        >>> run = Deidentifier()                                   # doctest: +SKIP
        >>> report = run.files(["study/"], "deid-out")             # doctest: +SKIP
    """

    def __init__(self, *, keep_burned_in: bool = False):
        self.keep_burned_in = keep_burned_in
        self._uids: dict[str, str] = {}
        self._patients: dict[str, str] = {}
        self.links: list[dict[str, str]] = []
        """One row per file written: where it came from and its old and new ids."""

    @contextmanager
    def _uid_map(self):
        # dicom-anonymizer keeps its old->new UID map in a module global; swap ours in so
        # that two runs in one process do not share (or leak) a map. Not thread-safe.
        from dicomanonymizer import simpledicomanonymizer as sda

        saved, sda.dictionary = sda.dictionary, self._uids
        try:
            yield
        finally:
            sda.dictionary = saved

    def dataset(self, ds: Dataset) -> Dataset:
        """De-identify ``ds`` in place (pixel data untouched) and return it."""
        from dicomanonymizer.simpledicomanonymizer import anonymize_dataset

        burned = str(ds.get("BurnedInAnnotation", "")).upper() == "YES"
        patient = str(ds.get("PatientID", "") or "")
        with self._uid_map():
            _deep(ds, anonymize_dataset)
        if patient:
            ds.PatientID = self._patients.setdefault(patient, f"DEID-{secrets.token_hex(6)}")
        ds.PatientIdentityRemoved = "NO" if burned else "YES"
        ds.DeidentificationMethod = _method_text()
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = BASIC_PROFILE_CODE
        ds.DeidentificationMethodCodeSequence = Sequence([code])
        ds.LongitudinalTemporalInformationModified = "REMOVED"
        meta = getattr(ds, "file_meta", None)
        if meta is not None and "SOPInstanceUID" in ds:
            meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        return ds

    def file(self, src: str | Path, out_dir: str | Path) -> Path | None:
        """De-identify one file into ``out_dir``; None when skipped for burned-in text.

        Raises:
            InputError: the file is not readable DICOM or cannot be written back.
        """
        return self._file(Path(src), Path(out_dir))[0]

    def _file(self, src: Path, out_dir: Path) -> tuple[Path | None, bool]:
        ds = read_dataset(src)
        burned = str(ds.get("BurnedInAnnotation", "")).upper() == "YES"
        if burned and not self.keep_burned_in:
            return None, burned
        before = [str(ds.get(k, "") or "") for k in LINK_KEYS]
        try:
            self.dataset(ds)
        except (NotImplementedError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InputError(src, f"cannot de-identify ({type(exc).__name__}: {exc})") from exc
        study = _safe_uid(ds.get("StudyInstanceUID", "")) or "no-study-uid"
        dst = out_dir / study / f"{_safe_uid(ds.get('SOPInstanceUID', '')) or 'object'}.dcm"
        _write(ds, dst, src)
        after = [str(ds.get(k, "") or "") for k in LINK_KEYS]
        self.links.append({"input": str(src), "output": str(dst),
                           **{f"original_{k}": v for k, v in zip(LINK_KEYS, before, strict=True)},
                           **{f"new_{k}": v for k, v in zip(LINK_KEYS, after, strict=True)}})
        return dst, burned

    def write_links(self, path: str | Path) -> Path:
        """Write the re-identification table (input, output, original and new PatientID and
        StudyInstanceUID per file) as CSV: a key to the patients, keep it away from the outputs."""
        import csv
        import io

        from osteoscan.csvsafe import neutralise  # ids come from the files: formula injection

        buf = io.StringIO()
        fields = ["input", "output", *(f"{w}_{k}" for w in ("original", "new") for k in LINK_KEYS)]
        writer = csv.DictWriter(buf, fieldnames=fields)
        writer.writeheader()
        writer.writerows({k: neutralise(v) for k, v in row.items()} for row in self.links)
        path = Path(path)
        atomic_write_text(path, buf.getvalue())
        return path

    def files(self, inputs: Iterable[str | Path], out_dir: str | Path, *,
              on_file: Callable[[Path], None] | None = None) -> DeidReport:
        """De-identify files and folders (searched recursively) into ``out_dir``.

        A file that fails is listed in the report and the others go on.

        Raises:
            InputError: an input does not exist (nothing is written then).
        """
        candidates, report = collect(inputs, out_dir)
        for src in candidates:
            self.add(src, Path(out_dir), report)
            if on_file:
                on_file(src)
        return report

    def add(self, src: Path, out_dir: Path, report: DeidReport) -> None:
        """De-identify one file into ``out_dir`` and record the outcome in ``report``."""
        try:
            dst, burned = self._file(src, out_dir)
        except InputError as exc:
            report.failed.append((src, exc.problem))
            return
        except OSError as exc:  # disk full, permission: this file fails, the run goes on
            report.failed.append((src, f"cannot write the output ({exc.strerror or exc})"))
            return
        if burned:
            report.burned_in.append(src)
        if dst is None:
            report.skipped.append((src, "Burned In Annotation YES (pixels may show identity); "
                                        "--keep-burned-in writes it"))
        else:
            report.written.append((src, dst))


def _deep(ds: Dataset, anonymize: Callable) -> None:
    """Apply the profile to ``ds`` and, depth first, to every sequence item left in it."""
    anonymize(ds, None, True, _rules)
    for elem in list(ds):
        if elem.VR == "SQ" and elem.value:
            for item in elem.value:
                _deep(item, anonymize)


def _safe_uid(uid: object) -> str:
    text = str(uid or "")
    return text if text and all(c.isdigit() or c == "." for c in text) else ""


def _complete_meta(ds: Dataset) -> None:
    """Give a file read without File Meta Information (no preamble) the meta it needs to be
    written as a DICOM file: the transfer syntax it was encoded in, its SOP class and UID."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    meta = getattr(ds, "file_meta", None) or FileMetaDataset()
    if "TransferSyntaxUID" not in meta:
        implicit, little = getattr(ds, "original_encoding", (True, True))
        meta.TransferSyntaxUID = (ImplicitVRLittleEndian if implicit else
                                  ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
    for key, source in (("MediaStorageSOPClassUID", "SOPClassUID"),
                        ("MediaStorageSOPInstanceUID", "SOPInstanceUID")):
        if key not in meta and source in ds:
            setattr(meta, key, ds[source].value)
    ds.file_meta = meta


def _write(ds: Dataset, dst: Path, src: Path) -> None:
    _complete_meta(ds)
    try:
        atomic_write(dst, lambda tmp: ds.save_as(tmp, enforce_file_format=True))
    except (ValueError, AttributeError) as exc:  # e.g. no transfer syntax in a headerless file
        raise InputError(src, f"cannot write it back as DICOM ({exc})") from exc


def _skip_reason(path: Path) -> str:
    if path.name.upper() == "DICOMDIR":  # an index that names the patients: never copied
        return "DICOMDIR index, not copied (it lists patient names)"
    return "not DICOM"


def collect(inputs: Iterable[str | Path], out_dir: str | Path) -> tuple[list[Path], DeidReport]:
    """The DICOM files named by ``inputs`` (folders recursively) and a report with the skips.

    A folder's files without DICOM magic or ``.dcm`` name are skipped (listed); a file
    named on the command line is always tried.

    Raises:
        InputError: an input does not exist, or ``out_dir`` lies inside an input folder
            (a second run would de-identify the first one's outputs).
    """
    from osteoscan.io.study import study_files

    report, out, target = DeidReport(), [], Path(out_dir).resolve()
    for raw in inputs:
        path = Path(raw)
        if path.is_dir() and target.is_relative_to(path.resolve()):
            raise InputError(path, f"the output folder {out_dir} is inside this input folder")
        if path.is_dir():
            found = study_files(path)
            out += found
            keep = set(found)
            report.skipped += [(p, _skip_reason(p)) for p in sorted(path.rglob("*"))
                               if p.is_file() and p not in keep and not p.name.startswith(".")]
        elif path.is_file():
            out.append(path)
        else:
            raise InputError(path, "no such file or folder")
    seen: set[Path] = set()
    unique = [p for p in out if not (p.resolve() in seen or seen.add(p.resolve()))]
    return unique, report


__all__ = ["Deidentifier", "DeidReport", "collect"]
