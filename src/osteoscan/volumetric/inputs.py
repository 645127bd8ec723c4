"""What a 3-D network sees: normalised modality channels on the model's grid, and its targets.

A :class:`Case` is one study's volumes as plain arrays (z, y, x) on one grid (SPECT already
resampled onto the CT grid by ``osteoscan.io``), with its ground truth when known. The
channels use the toolkit's one volume intensity preprocessing
(:mod:`osteoscan.preprocessing.volumes`):

* CT: Hounsfield units through a window to [0, 1] (default the "bone" window, level 500,
  width 2000: fat and soft tissue low, marrow, trabecular and cortical bone spread over the
  range, lytic and sclerotic lesions both visible);
* SPECT: counts divided by a robust 3-D reference level and log-mapped
  (``normalise_spect``), so that injected dose, acquisition time and scanner sensitivity
  drop out.

Volumes are resized to the model's voxel spacing (``settings["spacing_mm"]`` of its card) with
MONAI's ``Resize`` (trilinear for images, centre-aligned nearest neighbour for labels), and
labels are mapped back the same way, so a model trained at 4 mm reads a 0.8 mm CT.

Example:
    >>> import numpy as np
    >>> case = Case("c", "p", (4.0, 4.0, 4.0), ct=np.zeros((8, 8, 8)), spect=np.ones((8, 8, 8)))
    >>> channel_stack(case, "spectct").shape
    (2, 8, 8, 8)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from monai.transforms import MapTransform, RandomizableTransform, Resize
from scipy import ndimage

from osteoscan.errors import ConfigError
from osteoscan.preprocessing.volumes import hu_window as window_hu
from osteoscan.preprocessing.volumes import normalise_spect, window_of

CHANNELS: dict[str, tuple[str, ...]] = {"spect": ("spect",), "ct": ("ct",),
                                        "spectct": ("spect", "ct"),
                                        "spectct2w": ("spect", "ct", "ct_trabecular")}
"""Input variants: which channels, in order. ``ct_trabecular`` is the CT again through the
narrow :data:`TRABECULAR_WINDOW` (fifth seg3d run, docs/seg3d.md): in the bone window a
lytic focus (20-70 HU) in cancellous bone (140-320 HU) is 0.05-0.13 of the range, in this
window 0.15-0.4, and dense foci (bone islands) saturate like cortex."""

CLASSES: tuple[str, ...] = ("background", "benign", "metastatic")
HU_WINDOW: tuple[float, float] = window_of("bone")
"""(level, width) of the CT window in HU."""
TRABECULAR_WINDOW: tuple[float, float] = window_of("trabecular")
"""(level, width) in HU of the ``ct_trabecular`` channel (level 250, width 700)."""


@dataclass
class Case:
    """One study as arrays on one grid (z, y, x), with its truth when known.

    Attributes:
        case_id: study id.
        patient_id: patient id (folds never split a patient).
        spacing_mm: (z, y, x) voxel size in millimetres.
        ct: Hounsfield units, or None.
        spect: counts on the CT grid, or None.
        semantic: uint8 labels 0 background, 1 benign, 2 metastatic (truth), or None.
        instances: int32 lesion ids (0 = none), or None.
        primary: "lung", "other" or None (no metastasis / unknown).
        profile: the site profile it came from.
    """

    case_id: str
    patient_id: str
    spacing_mm: tuple[float, float, float]
    ct: np.ndarray | None = None
    spect: np.ndarray | None = None
    semantic: np.ndarray | None = None
    instances: np.ndarray | None = None
    primary: str | None = None
    profile: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        """The grid's (z, y, x) size."""
        ref = self.ct if self.ct is not None else self.spect
        return tuple(int(v) for v in ref.shape)


def check_channels(channels: str) -> tuple[str, ...]:
    """The modalities of an input variant ("spect", "ct" or "spectct")."""
    if channels not in CHANNELS:
        raise ConfigError(f"channels must be one of {', '.join(CHANNELS)}, got {channels!r}")
    return CHANNELS[channels]


def channel_stack(case: Case, channels: str,
                  hu_window: tuple[float, float] = HU_WINDOW) -> np.ndarray:
    """The normalised modalities as a float32 ``(C, z, y, x)`` array (``hu_window`` is a
    (level, width) pair in HU).

    Raises:
        ConfigError: unknown variant.
        ValueError: a modality the variant needs is missing from the case (the caller names
            the file).
    """
    return np.stack([_channel(case, name, channels, hu_window)
                     for name in check_channels(channels)])


def _channel(case: Case, name: str, channels: str, hu_window: tuple[float, float]) -> np.ndarray:
    """One normalised channel (``spect``, ``ct`` or ``ct_trabecular``) of a case."""
    modality = name.split("_")[0]
    array = getattr(case, modality)
    if array is None:
        raise ValueError(f"{case.case_id}: the {channels} model needs a {modality.upper()} volume")
    if modality == "spect":
        return normalise_spect(array)
    return window_hu(array, TRABECULAR_WINDOW if name == "ct_trabecular" else tuple(hu_window))


def channel_indices(channels: str, modality: str) -> tuple[int, ...]:
    """The positions of a modality's channels (``spect``, ``ct``) in an input variant.

    Example:
        >>> channel_indices("spectct2w", "ct")
        (1, 2)
    """
    return tuple(i for i, name in enumerate(check_channels(channels))
                 if name.split("_")[0] == modality)


class RandDropChannelsd(RandomizableTransform, MapTransform):
    """Modality dropout (seventh seg3d run, docs/seg3d.md): with probability ``prob`` per
    sample, the ``channels`` of every key are set to ``fill``, so that the network must find
    the lesions from the other modality alone.

    Written by hand: MONAI drops spatial regions (``RandCoarseDropoutd``) but has no
    transform that drops whole channels. The input is copied, never changed in place (the
    crops may be views of the prepared case).

    Example:
        >>> drop = RandDropChannelsd("image", channels=(0,), prob=1.0)
        >>> float(drop({"image": np.ones((2, 2, 2, 2), np.float32)})["image"][0].max())
        0.0
    """

    def __init__(self, keys, channels: tuple[int, ...], prob: float, fill: float = 0.0):
        MapTransform.__init__(self, keys)
        RandomizableTransform.__init__(self, prob)
        self.channels, self.fill = list(channels), float(fill)

    def __call__(self, data: dict) -> dict:
        out = dict(data)
        self.randomize(None)
        if not self._do_transform:
            return out
        for key in self.key_iterator(out):
            image = out[key]
            image = image.clone() if isinstance(image, torch.Tensor) else np.array(image)
            image[self.channels] = self.fill
            out[key] = image
        return out


def modalities(channels: str) -> tuple[str, ...]:
    """The volumes (``spect``, ``ct``) an input variant reads."""
    return tuple(dict.fromkeys(name.split("_")[0] for name in check_channels(channels)))


def work_shape(shape: tuple[int, ...], spacing_mm: tuple[float, ...],
               target_mm: float) -> tuple[int, int, int]:
    """The grid size after resampling ``shape`` at ``spacing_mm`` to isotropic ``target_mm``."""
    return tuple(max(1, int(round(n * s / target_mm))) for n, s in zip(shape, spacing_mm,
                                                                       strict=True))


def resize(array: np.ndarray, shape: tuple[int, int, int], *, labels: bool = False,
           anti_alias: bool = False) -> np.ndarray:
    """Resize a channel-first ``(C, z, y, x)`` array (MONAI ``Resize``); nearest for labels.

    ``anti_alias`` (images only) smooths an axis before it is shrunk (MONAI's gaussian,
    sigma (factor - 1) / 2 voxels), so a fine CT's noise averages over the coarse voxel
    instead of being point-sampled (docs/seg3d.md, "Finer simulated CT (session 7)"); off by
    default, as every model so far was trained without it. MONAI pads that smoothing with
    zeros, so the outermost voxels of a shrunk volume are darkened (a flat 3.0 reads 2.2 at
    the corners, 3.0 from two voxels in).

    Labels use torch's ``nearest-exact`` (voxel centres aligned, as trilinear with
    ``align_corners=False`` aligns the image), not ``nearest``: plain nearest maps output
    index i to floor(i * scale), half a voxel off, so a label map resized to the model's grid
    and back moved by up to one CT voxel, which capped the lesion Dice of a perfect model at
    0.35 on the simulated 8.6 x 4.8 x 4.8 mm grid (docs/seg3d.md, "Diagnosis").
    """
    if tuple(array.shape[1:]) == tuple(shape):
        return array
    mode = "nearest-exact" if labels else "trilinear"
    kwargs = {} if labels else {"align_corners": False, "anti_aliasing": bool(anti_alias)}
    out = Resize(spatial_size=shape, mode=mode, dtype=np.float32, **kwargs)(
        np.asarray(array, dtype=np.float32))
    out = np.asarray(out)
    return out.astype(array.dtype) if labels else out.astype(np.float32)


def work_image(case: Case, channels: str, spacing_mm: float,
               hu_window: tuple[float, float] = HU_WINDOW, anti_alias: bool = False) -> np.ndarray:
    """The normalised channels on the model's isotropic grid, float32 ``(C, z, y, x)``
    (``anti_alias``: see :func:`resize`).

    One modality at a time is normalised and resized, so a 512x512x300 CT never exists as
    more than one float32 copy at full resolution (bounded memory, docs/seg3d.md).
    """
    shape = work_shape(case.shape, case.spacing_mm, spacing_mm)
    parts = [resize(_channel(case, name, channels, hu_window)[None], shape, anti_alias=anti_alias)
             for name in check_channels(channels)]
    return np.concatenate(parts)


def centre_heatmap(instances: np.ndarray, sigma_vox: float = 1.5) -> np.ndarray:
    """The auxiliary target: a Gaussian blob of peak 1 at each lesion's centre of mass.

    Example:
        >>> inst = np.zeros((9, 9, 9), np.int32); inst[3:6, 3:6, 3:6] = 1
        >>> float(centre_heatmap(inst)[4, 4, 4])
        1.0
    """
    heat = np.zeros(instances.shape, np.float32)
    ids = [int(i) for i in np.unique(instances) if i > 0]
    for centre in ndimage.center_of_mass(np.ones_like(instances), instances, ids) if ids else []:
        idx = tuple(int(np.clip(round(c), 0, n - 1)) for c, n in zip(centre, instances.shape,
                                                                    strict=True))
        heat[idx] = 1.0
    if not ids:
        return heat
    blurred = ndimage.gaussian_filter(heat, sigma_vox, mode="constant")
    peak = ndimage.gaussian_filter(_delta(), sigma_vox, mode="constant").max()
    return np.clip(blurred / peak, 0.0, 1.0).astype(np.float32)


def _delta() -> np.ndarray:
    d = np.zeros((15, 15, 15), np.float32)
    d[7, 7, 7] = 1.0
    return d


def instance_classes(semantic: np.ndarray, instances: np.ndarray) -> dict[int, int]:
    """The semantic class (1 benign, 2 metastatic) of each lesion id, by majority vote."""
    ids = [int(i) for i in np.unique(instances) if i > 0]
    if not ids:
        return {}
    votes = ndimage.mean((semantic == 2).astype(np.float32), instances, ids)
    return {i: 2 if v >= 0.5 else 1 for i, v in zip(ids, np.atleast_1d(votes), strict=True)}
