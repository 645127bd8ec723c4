"""Folders of files: sort them, read what is readable, list the rest with the reason.

A folder from a PACS export or a user's disk holds more than one clean study: stray files,
empty files, damaged or truncated copies, other modalities, other studies. One bad file must
not take its neighbours down, and nothing is dropped silently: every file that is not used is
returned as a :class:`~osteoscan.io.guard.Skipped` (file and reason), and a scan carries them
in ``scan.source.skipped``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

from pydicom.dataset import Dataset

from osteoscan.errors import InputError
from osteoscan.io import dicomtags as tags
from osteoscan.io import limits
from osteoscan.io.dicom import classify, is_dicom, read_dataset, scan_from_datasets
from osteoscan.io.guard import Skipped, reading
from osteoscan.io.images import scan_from_picture
from osteoscan.io.picture_file import picture_format
from osteoscan.io.secondary import scan_from_sc
from osteoscan.types import BoneScan

Item = tuple[Path, Dataset, str]
"""(file, dataset, kind) of one readable DICOM image file."""


@dataclass
class FolderListing:
    """The files under a folder, sorted by what they look like (magic bytes or name).

    Attributes:
        dicom: DICOM candidates (``DICM`` magic, or a ``.dcm`` name), non-empty.
        pictures: PNG/JPEG/TIFF files.
        other: any other non-empty file (hidden files and DICOMDIR are not listed at all).
        empty: zero-byte files.
    """

    dicom: list[Path] = field(default_factory=list)
    pictures: list[Path] = field(default_factory=list)
    other: list[Path] = field(default_factory=list)
    empty: list[Path] = field(default_factory=list)


@dataclass
class FolderLoad:
    """What :func:`load_studies` made of a folder.

    Attributes:
        scans: one scan per study that loaded.
        skipped: every file not used, with the reason (a study that failed lists its files).
    """

    scans: list[BoneScan] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def list_folder(folder: str | Path) -> FolderListing:
    """Sort the files under ``folder`` (recursively; hidden files and DICOMDIR ignored).

    Args:
        folder: the folder.

    Returns:
        The listing, each list sorted by path.

    Raises:
        InputError: the folder cannot be listed.
    """
    out = FolderListing()
    with reading(folder, "folder"):
        paths = sorted(Path(folder).rglob("*"))
    for p in paths:
        if p.name.startswith(".") or p.name.upper() == "DICOMDIR" or not p.is_file():
            continue
        try:
            size = p.stat().st_size
        except OSError:
            continue  # vanished or unreadable: the reader that opens it will say so
        if size == 0:
            out.empty.append(p)
        elif is_dicom(p) or p.suffix.lower() == ".dcm":
            out.dicom.append(p)
        elif picture_format(p):
            out.pictures.append(p)
        else:
            out.other.append(p)
    return out


def read_groups(files: list[Path]) -> tuple[dict[str, list[Item]], list[Skipped]]:
    """Read DICOM files and group the usable ones by StudyInstanceUID.

    Args:
        files: DICOM candidates.

    Returns:
        ({StudyInstanceUID ("" when absent): [(file, dataset, kind)]}, files not usable).
    """
    groups: dict[str, list[Item]] = defaultdict(list)
    skipped: list[Skipped] = []
    for p in files:
        try:
            ds = read_dataset(p)
            kind = classify(ds, p)
            with reading(p, "DICOM header"):
                uid = tags.text(ds, tags.STUDY_UID).strip()
        except InputError as exc:
            skipped.append(Skipped(str(p), exc.problem))
            continue
        groups[uid].append((p, ds, kind))
    return dict(groups), skipped


def _scan_of_group(
    items: list[Item], skipped: list[Skipped], *, patient_id: str | None, study_id: str | None
) -> BoneScan:
    nm = [(p, ds) for p, ds, kind in items if kind == "nm"]
    sc = [(p, ds) for p, ds, kind in items if kind == "sc"]
    if nm:
        skipped += [Skipped(str(p), "Secondary Capture beside NM images: not used") for p, _ in sc]
        return scan_from_datasets(nm, patient_id=patient_id, study_id=study_id, skipped=skipped)
    if len(sc) > 1:
        raise InputError(sc[0][0], f"{len(sc)} Secondary Capture files in one study; expected one")
    with reading(sc[0][0], "DICOM file"):
        return scan_from_sc(*sc[0], patient_id=patient_id, study_id=study_id)


EMPTY = "empty file"
PICTURE_BESIDE_DICOM = "picture beside DICOM files: load it on its own"
NOT_AN_IMAGE = "neither DICOM nor a PNG/JPEG/TIFF picture"


def _not_used(listing: FolderListing, *, pictures: bool = True) -> list[Skipped]:
    out = [Skipped(str(p), EMPTY) for p in listing.empty]
    if pictures:
        out += [Skipped(str(p), PICTURE_BESIDE_DICOM) for p in listing.pictures]
    return out + [Skipped(str(p), NOT_AN_IMAGE) for p in listing.other]


def _with_skipped(scan: BoneScan, skipped: list[Skipped]) -> BoneScan:
    pairs = tuple((s.file, s.reason) for s in sorted(skipped, key=lambda s: s.file))
    return replace(scan, source=replace(scan.source, skipped=scan.source.skipped + pairs))


def _pick(folder: Path, groups: dict[str, list[Item]], study_id: str | None) -> str:
    if study_id is not None and study_id in groups:
        return study_id
    if len(groups) == 1:
        return next(iter(groups))
    shown = ", ".join(sorted(groups)[:4]) + (", ..." if len(groups) > 4 else "")
    raise InputError(
        folder,
        f"{len(groups)} studies (StudyInstanceUID {shown}) in one folder; "
        "give study_id, or analyse the folder as a batch (load_studies)",
    )


def load_folder(
    folder: str | Path, *, patient_id: str | None = None, study_id: str | None = None
) -> BoneScan:
    """Load the one study of a folder; files not used are listed in ``scan.source.skipped``.

    Args:
        folder: the folder (searched recursively).
        patient_id: override for PatientID.
        study_id: StudyInstanceUID to pick when the folder holds several studies (also
            the study id of the scan).

    Returns:
        The scan.

    Raises:
        InputError: no usable file, several studies and no ``study_id`` naming one, or the
            study's usable files do not make a scan.
    """
    folder = Path(folder)
    listing = list_folder(folder)
    if not listing.dicom:
        return _pictures_only(folder, listing, patient_id=patient_id, study_id=study_id)
    if len(listing.dicom) > limits.MAX_FILES_PER_STUDY:
        raise InputError(
            folder,
            f"{len(listing.dicom)} DICOM files exceeds {limits.MAX_FILES_PER_STUDY} per study",
        )
    groups, skipped = read_groups(listing.dicom)
    skipped += _not_used(listing)
    if not groups:
        first = skipped[0] if skipped else "none"
        raise InputError(folder, f"no usable DICOM file among {len(listing.dicom)} ({first})")
    uid = _pick(folder, groups, study_id)
    for other, items in groups.items():
        if other != uid:
            why = f"another study (StudyInstanceUID {other})"
            skipped += [Skipped(str(p), why) for p, *_ in items]
    scan = _scan_of_group(groups[uid], skipped, patient_id=patient_id, study_id=study_id)
    return _with_skipped(scan, skipped)


def _pictures_only(
    folder: Path, listing: FolderListing, *, patient_id: str | None, study_id: str | None
) -> BoneScan:
    if len(listing.pictures) == 1:
        scan = scan_from_picture(listing.pictures[0], patient_id=patient_id, study_id=study_id)
        return _with_skipped(scan, _not_used(listing, pictures=False))
    raise InputError(
        folder,
        f"no DICOM files in the folder ({len(listing.pictures)} picture(s), "
        f"{len(listing.empty)} empty file(s))",
    )


def load_studies(folder: str | Path) -> FolderLoad:
    """Load every study of a folder (DICOM by StudyInstanceUID, each picture on its own).

    A study that fails lists each of its files with the reason; the others still load.

    Args:
        folder: the folder (searched recursively).

    Returns:
        The scans and every file not used.

    Raises:
        InputError: the folder cannot be listed.

    Example:
        >>> got = load_studies("export/")  # doctest: +SKIP
        >>> len(got.scans), [str(s) for s in got.skipped]  # doctest: +SKIP
        (1, ['junk.dcm: not a readable DICOM file (...)', 'empty.dcm: empty file'])
    """
    listing = list_folder(folder)
    groups, skipped = read_groups(listing.dicom)
    out = FolderLoad(skipped=skipped + _not_used(listing, pictures=False))
    for uid, items in sorted(groups.items()):
        mine: list[Skipped] = []
        try:
            scan = _scan_of_group(items, mine, patient_id=None, study_id=None)
        except InputError as exc:
            own = {s.file: s for s in mine}
            out.skipped += [own.get(str(p), Skipped(str(p), exc.problem)) for p, *_ in items]
            continue
        out.scans.append(_with_skipped(scan, mine))
        out.skipped += mine
    for p in listing.pictures:
        try:
            out.scans.append(scan_from_picture(p))
        except InputError as exc:
            out.skipped.append(Skipped(str(p), exc.problem))
    return out
