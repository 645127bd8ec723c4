"""Mutators for the reader fuzzing (tests/io/fuzz_readers.py): valid bytes in, hostile bytes out.

Each takes the bytes of a valid file and a ``random.Random``-like source of choices (hypothesis
drives it in the tests, a seeded ``random.Random`` in benchmarks/bench_fuzz.py).
"""

from __future__ import annotations

import json
import random
import struct
import zlib

import yaml

HOSTILE_TEXT = [
    "", "inf", "-inf", "nan", "NaN", "-1", "0", "-0", "1e308", "1e-320", "99999999999999999999",
    "abc", "\\\\\\", "x" * 5000, "/etc/passwd", "../../../../etc/passwd", "C:\\x", "a\0b",
    "=cmd|' /C calc'!A0", "ÿþ", "\u202e", "\n\r", '"', "'", ";", ":", "{}", "[]", "~", "!!binary",
]
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT",
             b"UV"}
_VRS = [b"AE", b"AS", b"CS", b"DA", b"DS", b"IS", b"LO", b"OB", b"OW", b"SQ", b"SS", b"UI",
        b"UL", b"UN", b"US", b"FD", b"FL", b"Us", b"\x00\x00", b"zz"]


# --- byte-level mutations ---------------------------------------------------------------------


def _bytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.randrange(256) for _ in range(n))


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """Bit flips, overwritten runs, truncation, insertion, deletion or a repeated chunk."""
    buf = bytearray(data)
    op = rng.randrange(6)
    at = rng.randrange(max(len(buf), 1))
    if op == 0:
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
    elif op == 1:
        n = rng.randint(1, 16)
        buf[at : at + n] = _bytes(rng, n)
    elif op == 2:
        del buf[at:]
    elif op == 3:
        buf[at:at] = _bytes(rng, rng.randint(1, 64))
    elif op == 4:
        del buf[at : at + rng.randint(1, 256)]
    else:
        buf[at:at] = buf[at : at + rng.randint(1, 512)] * rng.randint(1, 4)
    return bytes(buf)


# --- DICOM element mutations ------------------------------------------------------------------


def dicom_elements(buf: bytes) -> list[tuple[int, bytes, int, int]]:
    """(offset, VR, header size, value length) of every explicit-VR little-endian element,
    nested sequence items included (encapsulated pixel fragments are skipped)."""
    out: list[tuple[int, bytes, int, int]] = []

    def walk(pos: int, end: int) -> None:
        while pos + 8 <= end:
            group, elem = struct.unpack_from("<HH", buf, pos)
            if group == 0xFFFE:
                length = struct.unpack_from("<I", buf, pos + 4)[0]
                pos += 8
                if elem == 0xE000 and length != 0xFFFFFFFF:
                    walk(pos, min(pos + length, end))
                    pos += length
                continue
            vr = buf[pos + 4 : pos + 6]
            long = vr in _LONG_VRS
            if long and pos + 12 > end:
                return
            length = struct.unpack_from("<I" if long else "<H", buf, pos + (8 if long else 6))[0]
            header = 12 if long else 8
            out.append((pos, vr, header, length))
            pos += header
            if (group, elem) == (0x7FE0, 0x0010) and length == 0xFFFFFFFF:
                return  # encapsulated fragments: bytes, not elements
            if length == 0xFFFFFFFF:
                continue  # undefined-length sequence: its items follow inline
            if vr == b"SQ":
                walk(pos, min(pos + length, end))
            pos += length

    try:
        walk(132, len(buf))
    except struct.error:
        pass
    return out


def mutate_dicom(data: bytes, rng: random.Random) -> bytes:
    """Change one element's VR, length or value (or delete/duplicate it); else bytes."""
    elements = dicom_elements(data)
    if not elements or rng.random() < 0.25:
        return mutate_bytes(data, rng)
    pos, vr, header, length = rng.choice(elements)
    buf = bytearray(data)
    op = rng.randrange(5)
    if op == 0:
        buf[pos + 4 : pos + 6] = rng.choice(_VRS)
    elif op == 1:
        new = rng.choice([0, 1, 3, length + 1, max(length - 1, 0), length * 2, 0xFFFF,
                          rng.randrange(1 << 16)])
        if header == 12:
            new = rng.choice([new, 0xFFFFFFFF, 0xFFFFFFFE, rng.randrange(1 << 32)])
            struct.pack_into("<I", buf, pos + 8, new & 0xFFFFFFFF)
        else:
            struct.pack_into("<H", buf, pos + 6, new & 0xFFFF)
    elif op == 2 and length != 0xFFFFFFFF:
        text = rng.choice(HOSTILE_TEXT).encode("utf-8", "replace")
        value = text if rng.random() < 0.5 else _bytes(rng, rng.choice([1, 2, 3, 4, 8, length]))
        value += b" " * (len(value) % 2)
        fmt, off = ("<I", pos + 8) if header == 12 else ("<H", pos + 6)
        if len(value) < (1 << (32 if header == 12 else 16)):
            struct.pack_into(fmt, buf, off, len(value))
            buf[pos + header : pos + header + length] = value
    elif op == 3 and length != 0xFFFFFFFF:
        del buf[pos : pos + header + length]
    elif length != 0xFFFFFFFF:
        buf[pos:pos] = buf[pos : pos + header + length]
    return bytes(buf)


# --- picture header mutations -----------------------------------------------------------------


def _huge(rng: random.Random) -> int:
    return rng.choice([0, 1, 7, 8, 63, 4095, 4096, 4097, 8192, 8193, 65535, 100_000,
                       (1 << 31) - 1, rng.randrange(1 << 16)])


def mutate_picture(data: bytes, rng: random.Random) -> bytes:
    """Rewrite the size/depth fields of a PNG IHDR (CRC fixed), JPEG SOF or TIFF IFD; else bytes."""
    if rng.random() < 0.4:
        return mutate_bytes(data, rng)
    buf = bytearray(data)
    if data.startswith(b"\x89PNG") and len(buf) >= 33:
        field = rng.choice([(16, ">I"), (20, ">I"), (24, ">B"), (25, ">B")])
        value = _huge(rng) if field[1] == ">I" else rng.randrange(256)
        struct.pack_into(field[1], buf, field[0], value & 0xFFFFFFFF)
        struct.pack_into(">I", buf, 29, zlib.crc32(bytes(buf[12:29])))
    elif data.startswith(b"\xff\xd8"):
        at = data.find(b"\xff\xc0")
        if at > 0 and at + 9 <= len(buf):
            struct.pack_into(">H", buf, at + rng.choice([5, 7]), _huge(rng) & 0xFFFF)
    elif data[:2] == b"II" and len(buf) >= 8:
        ifd = struct.unpack_from("<I", buf, 4)[0]
        if ifd + 2 <= len(buf):
            count = struct.unpack_from("<H", buf, ifd)[0]
            entry = ifd + 2 + 12 * rng.randrange(max(count, 1))
            if entry + 12 <= len(buf):
                struct.pack_into("<I", buf, entry + rng.choice([4, 8]), _huge(rng))
    return bytes(buf)


_NIFTI_FIELDS = (  # (offset, struct code) of NIfTI-1 header fields a reader trusts
    [(40 + 2 * k, "<h") for k in range(8)]  # dim[0..7]
    + [(70, "<h"), (72, "<h")]  # datatype, bitpix
    + [(76 + 4 * k, "<f") for k in range(8)]  # pixdim
    + [(108, "<f"), (112, "<f"), (116, "<f")]  # vox_offset, scl_slope, scl_inter
    + [(252, "<h"), (254, "<h")]  # qform_code, sform_code
    + [(280 + 4 * k, "<f") for k in range(12)])  # srow_x, srow_y, srow_z


def mutate_nifti(data: bytes, rng: random.Random) -> bytes:
    """Rewrite a NIfTI-1 header field (sizes, type, spacing, offset, scaling, affine), or
    mutate bytes."""
    if rng.random() < 0.3 or len(data) < 348:
        return mutate_bytes(data, rng)
    buf = bytearray(data)
    offset, code = rng.choice(_NIFTI_FIELDS)
    if code == "<h":
        value = rng.choice([-1, 0, 1, 2, 3, 7, 8, 16, 32, 64, 128, 255, 1536, 2304, 32767])
    else:
        value = rng.choice([0.0, -1.0, 1e-30, 1e30, float("nan"), float("inf"), 352.0, 3.5])
    struct.pack_into(code, buf, offset, value)
    return bytes(buf)


# --- structured text mutations ----------------------------------------------------------------


def random_value(rng: random.Random, depth: int = 0) -> object:
    """A random JSON/YAML value: hostile scalars, lists and mappings."""
    kind = rng.randrange(8 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2, 3, 10**30, -(10**30), 2**63])
    if kind == 3:
        return rng.choice([0.5, -1.5, 1e308, float("inf"), float("-inf"), float("nan")])
    if kind in (4, 5):
        return rng.choice(HOSTILE_TEXT)
    if kind == 6:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(HOSTILE_TEXT[:12] + ["shapes", "points", "classes"]):
            random_value(rng, depth + 1) for _ in range(rng.randrange(4))}


def _replace_somewhere(doc: object, rng: random.Random) -> object:
    if not isinstance(doc, (dict, list)) or not doc or rng.random() < 0.2:
        return random_value(rng)
    if isinstance(doc, dict):
        key = rng.choice(list(doc))
        if rng.random() < 0.15:
            return {k: v for k, v in doc.items() if k != key}
        return {**doc, key: _replace_somewhere(doc[key], rng)}
    i = rng.randrange(len(doc))
    return doc[:i] + [_replace_somewhere(doc[i], rng)] + doc[i + 1 :]


def mutate_json(data: bytes, rng: random.Random) -> bytes:
    """Replace or delete a random subtree of the JSON document; else bytes."""
    if rng.random() < 0.3:
        return mutate_bytes(data, rng)
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return mutate_bytes(data, rng)
    for _ in range(rng.randint(1, 3)):
        doc = _replace_somewhere(doc, rng)
    return json.dumps(doc).encode()


def mutate_yaml(data: bytes, rng: random.Random) -> bytes:
    """Replace or delete a random subtree of the YAML document; else bytes.

    The hostile seeds (aliases, deep nesting) only get byte mutations: walking them here would
    cost the fuzzer what they are meant to cost the reader."""
    if rng.random() < 0.3 or b"&" in data or b"[[[" in data:
        return mutate_bytes(data, rng)
    try:
        doc = yaml.safe_load(data)
    except (yaml.YAMLError, RecursionError):
        return mutate_bytes(data, rng)
    for _ in range(rng.randint(1, 3)):
        doc = _replace_somewhere(doc, rng)
    try:
        return yaml.safe_dump(doc, allow_unicode=True).encode("utf-8", "replace")
    except RecursionError:  # the YAML bomb seed: too deep to dump, mutate its bytes
        return mutate_bytes(data, rng)


def mutate_csv(data: bytes, rng: random.Random) -> bytes:
    """Replace cells with hostile text, drop or repeat rows and columns; else bytes."""
    if rng.random() < 0.3:
        return mutate_bytes(data, rng)
    rows = [line.split(",") for line in data.decode("utf-8", "replace").splitlines()]
    for _ in range(rng.randint(1, 4)):
        r = rng.randrange(len(rows))
        op = rng.randrange(4)
        if op == 0 and rows[r]:
            rows[r][rng.randrange(len(rows[r]))] = rng.choice(HOSTILE_TEXT)
        elif op == 1:
            rows.insert(r, list(rows[r]))
        elif op == 2 and len(rows) > 1:
            del rows[r]
        else:
            rows[r] = rows[r] + [rng.choice(HOSTILE_TEXT)]
    return "\n".join(",".join(row) for row in rows).encode("utf-8", "replace")
