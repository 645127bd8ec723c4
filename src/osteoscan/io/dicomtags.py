"""Fast reads of the few header values the DICOM reader needs.

Why by hand: pydicom converts an element on first access through its hook machinery
(keyword lookup, value conversion, validation, a DataElement per value): tens of
microseconds per element, which for the ~30 values a whole-body load reads costs as much as
parsing the whole file; a sequence costs a pydicom Dataset per item. For the common case
(little-endian data, numbers, pure-ASCII text, defined-length sequences) :func:`value`
converts the raw bytes directly, giving the values pydicom would give (minus its validation
warnings), and sequence items are light read-only :class:`RawItem` mappings; anything else
(big endian, non-ASCII or ISO 2022 text, person names, dates, undefined lengths inside a
sequence, deferred elements) goes through pydicom unchanged.
"""

from __future__ import annotations

from functools import lru_cache
from struct import error as StructError
from struct import unpack, unpack_from
from typing import Any

from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag

_BINARY = {"US": "H", "UL": "I", "SS": "h", "SL": "i", "FL": "f", "FD": "d"}
_SIZE = {"H": 2, "I": 4, "h": 2, "i": 4, "f": 4, "d": 8}
_MULTI_TEXT = {"CS", "SH", "LO", "UC", "UI", "AE", "AS"}  # backslash separates values
_PER_VALUE_RSTRIP = {"SH", "LO", "UC"}  # pydicom strips each value (others: the whole string)
_SINGLE_TEXT = {"LT", "ST", "UT"}  # backslash is text
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT"}
_LONG_VRS |= {b"UV"}  # explicit VRs with a 4-byte length (PS3.5 7.1.2)
_ITEM, _ITEM_END, _UNDEFINED = 0xFFFEE000, 0xFFFEE00D, 0xFFFFFFFF

# common tags (group << 16 | element)
TRANSFER_SYNTAX = 0x00020010
SPECIFIC_CHARACTER_SET = 0x00080005
SOP_CLASS_UID = 0x00080016
SOP_INSTANCE_UID = 0x00080018
MODALITY = 0x00080060
MANUFACTURER = 0x00080070
MODEL_NAME = 0x00081090
PATIENT_ID = 0x00100020
STUDY_UID = 0x0020000D
SAMPLES_PER_PIXEL = 0x00280002
PHOTOMETRIC = 0x00280004
NUMBER_OF_FRAMES = 0x00280008
ROWS = 0x00280010
COLUMNS = 0x00280011
PIXEL_SPACING = 0x00280030
BITS_ALLOCATED = 0x00280100
BITS_STORED = 0x00280101
PIXEL_REPRESENTATION = 0x00280103
RESCALE_INTERCEPT = 0x00281052
RESCALE_SLOPE = 0x00281053
PIXEL_DATA = 0x7FE00010


@lru_cache(maxsize=512)
def _dictionary_vr(tag: int) -> str | None:
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return None


def _numbers(raw: bytes, code: str) -> Any:
    size = _SIZE[code]
    if len(raw) % size:
        return _FALLBACK
    values = unpack(f"<{len(raw) // size}{code}", raw)
    if not values:
        return ""
    return values[0] if len(values) == 1 else list(values)


def _text(raw: bytes, vr: str) -> Any:
    if not raw.isascii() or b"\x1b" in raw:
        return _FALLBACK  # other character sets, ISO 2022 escapes: pydicom decodes
    text = raw.decode("ascii")
    if vr in _SINGLE_TEXT:
        return text.rstrip("\0 ")
    if vr in _PER_VALUE_RSTRIP:
        parts = [p.rstrip("\0 ") for p in text.split("\\")]
    elif vr == "AE":
        parts = [p.strip() for p in text.split("\\")]
    else:
        parts = text.rstrip("\0 ").split("\\")
    return parts[0] if len(parts) == 1 else parts


def _number_strings(raw: bytes, kind: type) -> Any:
    if not raw.isascii() or b"_" in raw:
        return _FALLBACK  # int()/float() accept "1_000"; pydicom's rules decide
    try:
        parts = [kind(p) for p in raw.decode("ascii").strip("\0 ").split("\\")]
    except ValueError:
        return _FALLBACK  # e.g. IS "1.0": pydicom's own rules and warnings
    return parts[0] if len(parts) == 1 else parts


_FALLBACK = object()
_SEQUENCE = object()


class _Undecided(Exception):
    """A sequence this parser leaves to pydicom (undefined lengths inside, odd bytes)."""


class RawItem(dict):
    """A sequence item parsed from raw bytes: ``{tag: RawDataElement}``, read with
    :func:`value`. ``item[tag].value`` converts through pydicom (the fallback path)."""

    def __init__(self, elements: dict, encoding: Any) -> None:
        super().__init__(elements)
        self.encoding = encoding

    def get_item(self, tag: int) -> RawDataElement | None:
        """The raw element (pydicom's ``Dataset.get_item`` counterpart)."""
        return self.get(tag)

    def __getitem__(self, tag: int) -> DataElement:
        return convert_raw_data_element(dict.__getitem__(self, tag), encoding=self.encoding)


def _header(buf: bytes, pos: int, implicit: bool) -> tuple[int, str | None, int, int]:
    """(tag, VR, value length, value offset) of the element at ``pos``."""
    group, elem = unpack_from("<HH", buf, pos)
    if implicit or group == 0xFFFE:
        return group << 16 | elem, None, unpack_from("<I", buf, pos + 4)[0], pos + 8
    vr = buf[pos + 4 : pos + 6]
    if vr in _LONG_VRS:
        return group << 16 | elem, vr.decode(), unpack_from("<I", buf, pos + 8)[0], pos + 12
    return group << 16 | elem, vr.decode("latin-1"), unpack_from("<H", buf, pos + 6)[0], pos + 8


def _item_elements(buf: bytes, pos: int, end: int, implicit: bool) -> tuple[dict, int]:
    """Elements of one item from ``pos`` to ``end`` or its delimiter; (elements, next pos)."""
    out = {}
    while pos < end:
        tag, vr, length, start = _header(buf, pos, implicit)
        if tag == _ITEM_END:
            return out, start
        if length == _UNDEFINED or start + length > len(buf):
            raise _Undecided
        raw = buf[start : start + length]
        out[tag] = RawDataElement(BaseTag(tag), vr, length, raw, start, implicit, True, True, False)
        pos = start + length
    return out, pos


def _parse_sequence(buf: bytes, implicit: bool, encoding: Any) -> list[RawItem]:
    """Items of a defined-length little-endian sequence value."""
    items, pos = [], 0
    try:
        while pos < len(buf):
            tag, _, length, start = _header(buf, pos, True)
            if tag != _ITEM:
                raise _Undecided
            end = len(buf) if length == _UNDEFINED else start + length
            elements, pos = _item_elements(buf, start, end, implicit)
            if SPECIFIC_CHARACTER_SET in elements:
                raise _Undecided  # an item with its own character set: pydicom's rules
            items.append(RawItem(elements, encoding))
    except StructError:
        raise _Undecided from None
    return items


def _encoding(ds: Any) -> Any:
    return ds.encoding if isinstance(ds, RawItem) else getattr(ds, "_character_set", None)


def _convert(elem: RawDataElement) -> Any:
    if not elem.is_little_endian or elem.value is None:
        return _FALLBACK
    vr = elem.VR or _dictionary_vr(elem.tag)
    raw = elem.value
    if vr == "SQ":
        return _SEQUENCE  # parsed by value(), which knows the dataset's character set
    if not raw:
        if vr in _MULTI_TEXT or vr in _SINGLE_TEXT:
            return ""
        return None if vr in _BINARY or vr in ("IS", "DS") else _FALLBACK
    if vr in _BINARY:
        return _numbers(raw, _BINARY[vr])
    if vr in _MULTI_TEXT or vr in _SINGLE_TEXT:
        return _text(raw, vr)
    if vr == "IS":
        return _number_strings(raw, int)
    if vr == "DS":
        return _number_strings(raw, float)
    return _FALLBACK


def value(ds: Dataset, tag: int, default: Any = None) -> Any:
    """The value of a top-level element of ``ds``, converted like pydicom would.

    Args:
        ds: a dataset (or a sequence item, or ``file_meta``).
        tag: the tag as an int, e.g. ``0x00280010``.
        default: returned when the element is absent.

    Returns:
        The value: int/float (or a list of them), str (or a list), bytes for pixel data,
        and for anything else what pydicom's ``ds[tag].value`` gives.
    """
    elem = ds.get_item(tag)
    if elem is None:
        return default
    if isinstance(elem, RawDataElement):
        if tag == PIXEL_DATA and elem.value is not None and elem.length != 0xFFFFFFFF:
            return elem.value  # native pixel bytes, as pydicom's OB/OW conversion returns
        got = _convert(elem)
        if got is _SEQUENCE and elem.length != _UNDEFINED:
            try:
                return _parse_sequence(elem.value, elem.is_implicit_VR, _encoding(ds))
            except _Undecided:
                pass
        elif got is not _FALLBACK and got is not _SEQUENCE:
            return got
        return ds[tag].value
    return elem.value


def text(ds: Dataset, tag: int) -> str:
    """The value of a text element as one string ("" when absent or empty)."""
    got = value(ds, tag)
    if got is None:
        return ""
    return "\\".join(str(v) for v in got) if isinstance(got, (list, MultiValue)) else str(got)


def number(ds: Dataset, tag: int, default: int) -> int:
    """An integer element, ``default`` when absent, empty or zero."""
    got = value(ds, tag)
    if isinstance(got, list):
        got = got[0] if got else None
    return int(got or default)
