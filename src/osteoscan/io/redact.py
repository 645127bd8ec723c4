"""The no-PHI output mode: one redaction step on the domain objects, before any writer.

A :class:`Redactor` turns a :class:`~osteoscan.types.BoneScan` (ids, file paths, reader notes,
view evidence, metadata), an input label, a failure message or a table of ids into a version
without the patient's identifiers; the writers (reports, JSON, worklist, predictions CSV)
then write what they are given. Decisions (docs/privacy.md):

* ids become keyed HMAC-SHA256 pseudonyms, truncated to 16 hex digits (64 bits:
  collisions are negligible below millions of studies), with a prefix that says what they
  name: ``P-`` patient, ``S-`` study, ``F-`` file, ``I-`` an input as the user named it,
  ``U-`` a UID;
* the key is random per run unless the user gives one (``--id-key FILE``): per-run
  pseudonyms cannot be linked across runs; with a kept key the same study gets the same
  pseudonym in every run (to join predictions with labels later), and only the key's
  holder can re-link them to the original ids;
* no paths: files and inputs are pseudonyms; text that quoted a file, an id or a DICOM text
  tag (reader notes, view evidence, error messages) has those parts replaced;
* no dates: metadata whose key names a date or time is dropped (the readers keep no study
  dates; the manifest's ``study_date`` column is dropped by :meth:`Redactor.table`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from osteoscan.errors import InputError
from osteoscan.types import BoneScan

PREFIXES = {"patient": "P", "study": "S", "file": "F", "input": "I", "uid": "U"}
ID_COLUMNS = {"patient_id": "patient", "study_id": "study", "image": "file", "input": "input"}
"""Table columns holding identifiers, and the pseudonym kind each gets."""
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
_TOKEN = r"[^\s\"',;()]"
_EXT = r"\.(?:dcm|dicom|ima|png|jpe?g|tiff?|csv|json|ya?ml|nii(?:\.gz)?)\b"
_PATHLIKE = re.compile(
    rf"{_TOKEN}*[/\\]{_TOKEN}*{_EXT}"  # a relative or absolute path to a file
    rf"|(?<![\w.~-])(?:[A-Za-z]:|~)?[/\\]{_TOKEN}*"  # an absolute path (not "spine/kidney")
    rf"|{_TOKEN}*[/\\]{_TOKEN}*[/\\]{_TOKEN}*"  # two or more levels
    rf"|[\w.-]+{_EXT}",  # a file name
    re.IGNORECASE)
_UID = re.compile(r"(?<![\w.])\d+(?:\.\d+){3,}(?![\w.])")  # a DICOM UID (not "1.12")
_ROW_ID = re.compile(r"#\d+ \((.+)\)$")
_DATED = re.compile(r"date|time", re.IGNORECASE)
MIN_KEY_BYTES = 16


@dataclass(frozen=True)
class Redactor:
    """Pseudonymise identifiers; the same value always gets the same pseudonym.

    Args:
        key: the HMAC key.
        keyed: True when the key was given by the user (stable across runs).

    Example:
        >>> r = Redactor(b"0123456789abcdef", keyed=True)
        >>> r.pseudonym("MRN-1", "patient")
        'P-a8b61d47f33fa05d'
    """

    key: bytes = field(repr=False)
    keyed: bool = False

    @classmethod
    def per_run(cls) -> Redactor:
        """A redactor with a random key: pseudonyms hold only within this run."""
        return cls(secrets.token_bytes(32), keyed=False)

    @classmethod
    def from_key_file(cls, path: str | Path) -> Redactor:
        """A redactor keyed by the bytes of ``path`` (at least 16, surrounding space ignored).

        Raises:
            InputError: the file is missing or too short.
        """
        try:
            key = Path(path).read_bytes().strip()
        except OSError as exc:
            raise InputError(path, f"cannot read the id key ({exc.strerror or exc})") from None
        if len(key) < MIN_KEY_BYTES:
            raise InputError(path, f"id key has {len(key)} bytes, at least {MIN_KEY_BYTES} needed "
                                   "(e.g. `head -c 32 /dev/urandom | base64 > key`)")
        return cls(key, keyed=True)

    def pseudonym(self, value: object, kind: str) -> str:
        """``<prefix>-<16 hex>``: HMAC-SHA256 of ``kind:value`` under the key."""
        digest = hmac.new(self.key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
        return f"{PREFIXES[kind]}-{digest[:16]}"

    def text(self, text: str, secrets_: dict[str, str]) -> str:
        """``text`` with each secret replaced by its pseudonym; quoted parts, UIDs and
        anything that looks like a path or a file name (unknown to the caller) replaced by ``…``."""
        for value in sorted(secrets_, key=len, reverse=True):  # a path before its file name
            if len(value) >= 3:  # an id of 1-2 characters would eat digits of every number
                text = text.replace(value, secrets_[value])
        return _UID.sub("…", _PATHLIKE.sub("…", _QUOTED.sub('"…"', text)))

    def _file_secrets(self, files: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for f in files:
            p, alias = Path(f), self.pseudonym(f, "file")
            for form in (f, str(p.resolve()) if p.is_absolute() else f, p.name, str(p.parent)):
                if form not in ("", ".", "/") and len(form) > 2:
                    out.setdefault(form, alias)
            if len(p.stem) > 2:
                out.setdefault(p.stem, alias)
        return out

    def scan(self, scan: BoneScan) -> BoneScan:
        """``scan`` with pseudonymous ids and files, scrubbed notes and evidence, no dates."""
        files = [*scan.source.files, *(v.file for v in scan.views),
                 *(f for f, _ in scan.source.skipped)]
        table = self._file_secrets(files)
        table[scan.patient_id] = self.pseudonym(scan.patient_id, "patient")
        table[scan.study_id] = self.pseudonym(scan.study_id, "study")
        views = tuple(replace(v, file=self.pseudonym(v.file, "file"),
                              detail=self.text(v.detail, table)) for v in scan.views)
        source = replace(scan.source,
                         files=tuple(self.pseudonym(f, "file") for f in scan.source.files),
                         notes=tuple(self.text(n, table) for n in scan.source.notes),
                         skipped=tuple((self.pseudonym(f, "file"), self.text(why, table))
                                       for f, why in scan.source.skipped))
        return replace(scan, patient_id=table[scan.patient_id], study_id=table[scan.study_id],
                       views=views, source=source, meta=self._meta(scan.meta, table))

    def _meta(self, meta: dict, table: dict[str, str]) -> dict:
        out: dict[str, Any] = {}
        for k, v in meta.items():
            if _DATED.search(k):
                continue
            if "uid" in k.lower():
                out[k] = ";".join(self.pseudonym(u, "uid") for u in str(v).split(";") if u)
            else:
                out[k] = self.text(v, table) if isinstance(v, str) else v
        return out

    def label(self, label: str) -> str:
        """An input as the user named it (a path, ``manifest.csv#3 (id)``) -> ``I-…``."""
        return self.pseudonym(label, "input")

    def failure(self, failure: dict) -> dict:
        """A ``{"input", "error"}`` failure: input pseudonymised, message scrubbed."""
        label = str(failure.get("input", ""))
        table = self._file_secrets([label.split("#")[0]]) | {label: self.label(label)}
        row_id = _ROW_ID.search(label)  # manifest rows read "manifest.csv#3 (study id)"
        if row_id:
            table[row_id.group(1)] = self.pseudonym(row_id.group(1), "study")
        return {**failure, "input": self.label(label),
                "error": self.text(str(failure.get("error", "")), table)}

    def table(self, frame: Any) -> Any:
        """A pandas table with its id columns (:data:`ID_COLUMNS`) pseudonymised, dates dropped."""
        frame = frame.drop(columns=[c for c in frame.columns if _DATED.search(str(c))])
        frame = frame.copy()
        for col, kind in ID_COLUMNS.items():
            if col in frame.columns:
                frame[col] = [self.pseudonym(v, kind) for v in frame[col].astype(str)]
        return frame

    def model(self, info: dict) -> dict:
        """A model summary with the weights' path reduced to its folder name."""
        src = info.get("source")
        return {**info, "source": Path(src).name} if src else dict(info)

    def prediction(self, result: Any) -> Any:
        """A :class:`~osteoscan.inference.Prediction` of a redacted scan, model path reduced."""
        return replace(result, model=self.model(result.model))

    def provenance(self, obj: Any) -> Any:
        """A dataclass whose ``source`` names a file (e.g. evaluation ``Predictions``), with
        that path reduced to the file name; the per-study ids are not written by its users."""
        return replace(obj, source=Path(obj.source).name) if getattr(obj, "source", "") else obj


class NoRedaction(Redactor):
    """The identity: normal mode, so that callers apply one step either way."""

    def __init__(self) -> None:
        super().__init__(b"", keyed=False)

    def scan(self, scan: BoneScan) -> BoneScan:  # noqa: D102 - identity
        return scan

    def label(self, label: str) -> str:  # noqa: D102
        return label

    def failure(self, failure: dict) -> dict:  # noqa: D102
        return failure

    def table(self, frame: Any) -> Any:  # noqa: D102
        return frame

    def model(self, info: dict) -> dict:  # noqa: D102
        return info

    def prediction(self, result: Any) -> Any:  # noqa: D102
        return result

    def provenance(self, obj: Any) -> Any:  # noqa: D102
        return obj


def make_redactor(no_phi: bool, id_key: str | Path | None = None) -> Redactor:
    """The redactor a command's ``--no-phi`` / ``--id-key`` options ask for."""
    if id_key is not None:
        return Redactor.from_key_file(id_key)
    return Redactor.per_run() if no_phi else NoRedaction()
