"""The studies of a seg3d cohort folder, read when used and held within a memory budget.

``seg3d train``, ``select`` and ``evaluate`` walk a cohort study by study (training keeps
only each study's arrays on the model's grid; selection and evaluation score one study at a
time), but a list of :class:`~osteoscan.volumetric.inputs.Case` objects holds every study
at full resolution at once. That is 0.6 M voxels a study on the coarse simulated grid, but
20-120 M on a real CT (0.2-1.5 GB a study): 120 training studies would need about 70 GB.
:func:`read_cases` therefore returns :class:`CohortCase` objects: the manifest's fields
(ids, primary, profile, lesion kinds) are read at once; the volumes are read from disk when
first used and kept in one least-recently-used cache per cohort of at most
:data:`CACHE_BYTES` (a small cohort stays in memory after its first pass, as before; a large
one is streamed, one study or a few at a time). Written by hand: ``functools.lru_cache``
bounds the number of entries, not their bytes.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from osteoscan.errors import InputError
from osteoscan.volumetric.inputs import Case

CACHE_BYTES = 2 * 1024**3
"""At most this many bytes of full-resolution studies stay in memory per cohort (at least
one study always does)."""

MANIFEST_COLUMNS = {"study_id", "patient_id", "profile", "primary", "ct", "spect", "semantic",
                    "instances"}


def lesion_kinds(lesions) -> dict[int, str]:
    """{instance id: lesion kind} of a study's truth (``truth.json``'s ``lesions``)."""
    return {int(les["id"]): str(les["kind"]) for les in lesions or ()
            if "id" in les and "kind" in les}


def read_kinds(folder: Path, row) -> dict[int, str]:
    """The lesion kinds of a cohort row's ``truth.json`` ({} when the cohort has none)."""
    name = getattr(row, "truth", "")
    path = folder / name if name else None
    if path is None or not path.is_file():
        return {}
    try:
        return lesion_kinds(json.loads(path.read_text()).get("lesions"))
    except (ValueError, TypeError, KeyError) as exc:
        raise InputError(path, f"not a readable truth file ({exc})") from exc


def read_row(folder: Path, row) -> Case:
    """One manifest row as a :class:`Case` at full resolution (CT grid, SPECT resampled)."""
    from osteoscan.io.volumes import read_spect_ct, read_volume

    ct, spect = read_spect_ct(folder / row.ct, folder / row.spect)
    semantic = read_volume(folder / row.semantic, "CT").array
    instances = read_volume(folder / row.instances, "CT").array
    if semantic.shape != ct.shape or instances.shape != ct.shape:
        raise InputError(folder / row.semantic, f"masks {semantic.shape} do not match the CT "
                                                f"grid {ct.shape}")
    return Case(str(row.study_id), str(row.patient_id),
                tuple(float(v) for v in ct.spacing_mm), ct=ct.array, spect=spect.array,
                semantic=np.rint(semantic).astype(np.uint8),
                instances=np.rint(instances).astype(np.int32),
                primary=None if row.primary in ("", "none") else str(row.primary),
                profile=str(row.profile), extra={"lesion_kinds": read_kinds(folder, row)})


def case_bytes(case: Case) -> int:
    """The bytes of a case's arrays."""
    return sum(a.nbytes for a in (case.ct, case.spect, case.semantic, case.instances)
               if a is not None)


class CaseCache:
    """Full-resolution cases by key, least recently used out first, at most ``budget`` bytes
    (the newest case always stays; room is made before a read, so a budget below two cases
    holds one study at a time, not two)."""

    def __init__(self, budget: int = CACHE_BYTES):
        self.budget = int(budget)
        self.items: OrderedDict[int, Case] = OrderedDict()
        self.reads = 0

    def get(self, key: int, load: Callable[[], Case]) -> Case:
        """The case of ``key``, read by ``load`` when it is not held."""
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        if self.items:  # make room first, guessing the new case's size from the newest one
            self._shrink(self.budget - case_bytes(next(reversed(self.items.values()))), keep=0)
        case = load()
        self.reads += 1
        self.items[key] = case
        self._shrink(self.budget, keep=1)
        return case

    def _shrink(self, budget: int, keep: int) -> None:
        """Drop the least recently used cases until they fit ``budget`` or ``keep`` remain."""
        while len(self.items) > keep and sum(map(case_bytes, self.items.values())) > budget:
            self.items.popitem(last=False)


class CohortCase:
    """A study of a cohort folder with the attributes of a :class:`Case`: ids, primary,
    profile and lesion kinds at once, the volumes (and the grid they give: ``spacing_mm``,
    ``shape``) read when first used, through the cohort's :class:`CaseCache`."""

    def __init__(self, folder: Path, row, key: int, cache: CaseCache):
        self.case_id, self.patient_id = str(row.study_id), str(row.patient_id)
        self.primary = None if row.primary in ("", "none") else str(row.primary)
        self.profile = str(row.profile)
        self.extra = {"lesion_kinds": read_kinds(folder, row)}
        self._folder, self._row, self._key, self._cache = folder, row, key, cache

    def load(self) -> Case:
        """The study as a :class:`Case` at full resolution."""
        return self._cache.get(self._key, lambda: read_row(self._folder, self._row))

    ct = property(lambda self: self.load().ct, doc="Hounsfield units (read when used).")
    spect = property(lambda self: self.load().spect, doc="Counts on the CT grid.")
    semantic = property(lambda self: self.load().semantic, doc="Truth labels 0/1/2.")
    instances = property(lambda self: self.load().instances, doc="Truth lesion ids.")
    spacing_mm = property(lambda self: self.load().spacing_mm, doc="(z, y, x) voxel size, mm.")
    shape = property(lambda self: self.load().shape, doc="The grid's (z, y, x) size.")

    def __repr__(self) -> str:
        return f"CohortCase({self.case_id!r}, {self._folder / self._row.ct})"


def read_cases(folder: str | Path, *, budget: int = CACHE_BYTES) -> list[CohortCase]:
    """The studies of a cohort folder (``manifest.csv``, as ``seg3d simulate`` writes it),
    read when used and held within ``budget`` bytes (module docstring). Every file the
    manifest names must exist; a missing one is an :class:`InputError` naming it."""
    folder = Path(folder)
    index = folder / "manifest.csv"
    if not index.is_file():
        raise InputError(folder, "no manifest.csv (make a cohort with `osteoscan seg3d simulate`)")
    table = pd.read_csv(index, dtype=str, keep_default_na=False)
    missing = MANIFEST_COLUMNS - set(table.columns)
    if missing:
        raise InputError(index, f"missing column(s) {', '.join(sorted(missing))}")
    for row in table.itertuples():
        for column in ("ct", "spect", "semantic", "instances"):
            if not (folder / getattr(row, column)).exists():
                raise InputError(folder / getattr(row, column),
                                 f"named by {index.name} ({row.study_id}, {column}) but missing")
    cache = CaseCache(budget)
    return [CohortCase(folder, row, i, cache) for i, row in enumerate(table.itertuples())]
