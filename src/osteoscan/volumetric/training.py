"""Training a 3-D network: patches, the multi-task loss, the one loop, checkpoints.

Each case is resized once to the model's spacing; an epoch draws ``samples_per_case`` random
patches per case with MONAI's ``RandCropByPosNegLabeld`` (2 of 3 centred on a lesion voxel:
lesions fill a tiny fraction of a torso) and ``RandFlipd`` (left-right). The loss
(:mod:`osteoscan.volumetric.losses`) is a batch Dice + CE on the three classes (the CE
voxel- or lesion-weighted), plus, for a multi-task entry (``aux_channels`` > 0), a
binary cross-entropy of the auxiliary head against the lesion-centre heatmap. Training runs
through :func:`osteoscan.training.loop.fit_epochs` (the toolkit's one loop); after every epoch
the weights and card are written (``model.safetensors`` + ``model.json``) with ``state.json``,
so ``resume=True`` continues an interrupted run.

Example:
    >>> settings = Seg3DSettings(architecture="mtunet3d", tiny=True, patch=(16, 16, 16))  # doctest: +SKIP
    >>> train_seg3d(cases, settings, "runs/seg3d")                                        # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from monai.transforms import Compose, RandCropByLabelClassesd, RandCropByPosNegLabeld, RandFlipd
from torch import nn
from torch.utils.data import DataLoader, Dataset

from osteoscan.artefacts import ModelCard, atomic_write_json, resolve_checkpoint, seg3d_checkpoint
from osteoscan.errors import ConfigError
from osteoscan.models import create_model, init_from, model_info
from osteoscan.training.checkpoint import load_checkpoint, save_checkpoint
from osteoscan.training.loop import fit_epochs
from osteoscan.volumetric.inputs import (
    CHANNELS, CLASSES, HU_WINDOW, Case, RandDropChannelsd, centre_heatmap, channel_indices,
    check_channels, modalities, resize, work_image, work_shape,
)
from osteoscan.volumetric.losses import LOSSES, Seg3DLoss, lesion_weights

logger = logging.getLogger(__name__)

STATE = "state.json"
NEGATIVES = ("any", "bone")
BONE_HU = 150.0
CROPS = ("posneg", "kind")
KIND_GROUPS: dict[str, int] = {"osteoblastic": 1, "osteolytic": 2, "mixed": 3,
                               "osteophyte": 4, "bone_island": 4, "fracture": 4,
                               "schmorl": 5, "haemangioma": 5}
"""Lesion-type groups of the ``crops="kind"`` sampling: blastic, lytic, mixed metastases,
dense benign (osteophyte, bone island, fracture), lucent benign (Schmorl node, haemangioma).
A lesion of unknown kind counts as blastic (metastatic) or dense benign (benign)."""
N_GROUPS = 5


@dataclass
class Seg3DSettings:
    """Everything that shapes a 3-D training run (stored in the model card's ``settings``).

    Attributes:
        architecture: a registry name of task "segmentation3d".
        channels: "spect", "ct" or "spectct".
        spacing_mm: isotropic voxel size the network works at.
        patch: training patch and sliding-window ROI (z, y, x), in voxels.
        widths: channel widths per level (None: the entry's default or tiny widths).
        tiny: the registry's tiny variant.
        epochs, samples_per_case, batch_size, lr, weight_decay: the optimisation.
        aux_weight: weight of the auxiliary loss (multi-task entries).
        heat_sigma_vox: width of the lesion-centre blobs.
        negatives: where the negative third of the patches is centred: "any" non-lesion voxel,
            or "bone" (CT > 150 HU, dilated by a voxel; hard negatives).
        hu_window: CT window (level, width) in HU.
        crops: how the lesion-centred two thirds of the patches are drawn: "posneg" (centred
            on any lesion voxel, so large lesions dominate) or "kind" (equally often on each
            lesion-type group the case holds, :data:`KIND_GROUPS`; MONAI
            ``RandCropByLabelClassesd``).
        loss: "voxel" (batch Dice + CE, every voxel alike) or "lesion" (the CE weighted so
            that each lesion instance weighs the same; :mod:`osteoscan.volumetric.losses`).
        modality_dropout: probability per training patch that its SPECT channel is zeroed
            (:class:`~osteoscan.volumetric.inputs.RandDropChannelsd`), so the network must
            find lesions from CT alone; 0 (default) never, 1 always (a CT-only network,
            which :class:`~osteoscan.volumetric.infer.Segmenter3D` also runs with its SPECT
            zeroed). Needs SPECT and CT channels.
        kind_weights: lesion kind (:data:`KIND_GROUPS`' names) -> factor on the CE weight of
            every lesion of that kind (``loss="lesion"`` only; ninth run: lytic metastases
            up-weighted). Empty (default): every lesion weighs the same.
        seed: seeds patch sampling and initialisation.
    """

    architecture: str = "mtunet3d"
    channels: str = "spectct"
    spacing_mm: float = 4.0
    patch: tuple[int, int, int] = (32, 48, 48)
    widths: tuple[int, ...] | None = (8, 16, 32)
    tiny: bool = False
    epochs: int = 20
    samples_per_case: int = 4
    batch_size: int = 2
    lr: float = 3e-3
    weight_decay: float = 1e-5
    aux_weight: float = 0.5
    heat_sigma_vox: float = 1.5
    negatives: str = "any"
    hu_window: tuple[float, float] = HU_WINDOW
    crops: str = "posneg"
    loss: str = "voxel"
    modality_dropout: float = 0.0
    kind_weights: dict = field(default_factory=dict)
    seed: int = 0
    extra: dict = field(default_factory=dict)

    def check(self) -> Seg3DSettings:
        """Validate against the registry; returns self."""
        info = model_info(self.architecture)
        if info.task != "segmentation3d":
            raise ConfigError(f"{self.architecture} is not a 3-D segmentation network "
                              f"(task {info.task}); see `osteoscan models list`")
        check_channels(self.channels)
        if self.negatives not in NEGATIVES:
            raise ConfigError(f"negatives must be one of {', '.join(NEGATIVES)}, "
                              f"got {self.negatives!r}")
        if self.crops not in CROPS:
            raise ConfigError(f"crops must be one of {', '.join(CROPS)}, got {self.crops!r}")
        if self.loss not in LOSSES:
            raise ConfigError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if not 0.0 <= self.modality_dropout <= 1.0 or (
                self.modality_dropout and len(modalities(self.channels)) < 2):
            raise ConfigError(f"modality dropout must be in [0, 1] and needs SPECT and CT "
                              f"channels, got {self.modality_dropout} with {self.channels!r}")
        self._check_kind_weights()
        if self.epochs < 1 or self.samples_per_case < 1 or self.batch_size < 1:
            raise ConfigError("epochs, samples_per_case and batch_size must be >= 1")
        return self

    def _check_kind_weights(self) -> None:
        unknown = sorted(set(self.kind_weights) - set(KIND_GROUPS))
        if unknown or any(float(v) <= 0 for v in self.kind_weights.values()):
            raise ConfigError(f"kind weights need lesion kinds of {', '.join(KIND_GROUPS)} "
                              f"and factors > 0, got {self.kind_weights}")
        if self.kind_weights and self.loss != "lesion":
            raise ConfigError("kind weights weigh the lesion-weighted loss: use --loss lesion")

    def model_kwargs(self) -> dict:
        kwargs = {"num_classes": len(CLASSES), "in_chans": len(check_channels(self.channels)),
                  "img_size": list(self.patch), "tiny": self.tiny}
        if self.widths:
            kwargs["channels"] = list(self.widths)
        return kwargs


def prepare(case: Case, settings: Seg3DSettings) -> tuple:
    """A case on the model's grid: image ``(C, z, y, x)``, target ``(2, z, y, x)``
    (semantic labels, lesion-centre heatmap; ``loss="lesion"`` adds the per-voxel lesion
    weights as a third channel), both float32, where negative patches may be
    centred (``(1, z, y, x)``, CT bone > 150 HU dilated by a voxel, for ``negatives="bone"``;
    None: anywhere) and, for ``crops="kind"``, the lesion-type group of every voxel
    (``(1, z, y, x)``, 0 none, :data:`KIND_GROUPS`; else None)."""
    if case.semantic is None or case.instances is None:
        raise ValueError(f"{case.case_id}: training needs semantic and instance truth")
    shape = work_shape(case.shape, case.spacing_mm, settings.spacing_mm)
    image = work_image(case, settings.channels, settings.spacing_mm, settings.hu_window)
    inst = resize(case.instances[None].astype(np.int32), shape, labels=True)[0]
    sem = resize(case.semantic[None].astype(np.int32), shape, labels=True)[0]
    heat = centre_heatmap(inst, settings.heat_sigma_vox)
    where = None
    if settings.negatives == "bone" and case.ct is not None:
        bone = resize((case.ct > BONE_HU)[None].astype(np.float32), shape)[0] > 0.5
        where = ndimage.binary_dilation(bone)[None].astype(np.float32)
    groups = (kind_groups(inst, sem, case.extra.get("lesion_kinds", {}))[None]
              if settings.crops == "kind" else None)
    target = [sem.astype(np.float32), heat]
    if settings.loss == "lesion":
        kinds = case.extra.get("lesion_kinds", {})
        factors = {int(i): settings.kind_weights[k] for i, k in kinds.items()
                   if k in settings.kind_weights}
        target.append(lesion_weights(inst, factors))
    return image, np.stack(target), where, groups


def kind_groups(instances: np.ndarray, semantic: np.ndarray, kinds: dict) -> np.ndarray:
    """uint8 lesion-type group per voxel (0 none; :data:`KIND_GROUPS`, by the lesion's kind,
    or by its semantic class when the kind is unknown)."""
    out = np.zeros(instances.shape, np.uint8)
    for i in (int(v) for v in np.unique(instances) if v > 0):
        mask = instances == i
        default = 1 if (semantic[mask] == 2).mean() >= 0.5 else 4
        out[mask] = KIND_GROUPS.get(str(kinds.get(i, "")), default)
    return out


class PatchDataset(Dataset):
    """Random patches of prepared cases; ``samples_per_case`` items per case and epoch.

    ``crops="posneg"``: 2 of 3 patches centred on a lesion voxel (MONAI
    ``RandCropByPosNegLabeld``). ``crops="kind"`` (the items carry a group map): 2 of 3
    centred on a lesion, split equally over the lesion-type groups the case holds, whatever
    their size (MONAI ``RandCropByLabelClassesd`` with per-case ratios): with voxel-uniform
    centres a small CT-only lesion next to a large blastic one is almost never a centre.
    """

    def __init__(self, prepared: Sequence[tuple], patch, samples: int, seed: int = 0,
                 crops: str = "posneg", drop: tuple[tuple[int, ...], float] = ((), 0.0)):
        self.items, self.samples = list(prepared), int(samples)
        self.drop = drop
        self.patch, self.kind = tuple(int(p) for p in patch), crops == "kind"
        # negatives centred where the item's mask is set (prepare's third value), when given:
        # the first networks' false positives were small blobs in normal bone, which random
        # negatives (mostly air and soft tissue) rarely show them
        self.crop = Compose([
            RandCropByPosNegLabeld(keys=("image", "target"), label_key="fg",
                                   spatial_size=self.patch, pos=2.0, neg=1.0, num_samples=1,
                                   allow_smaller=True, image_key="where", image_threshold=0.5),
            _flip(), *self._drop(),
        ])
        self.crop.set_random_state(seed=seed)
        self.by_kind = [self._kind_crop(item, seed + k) if self.kind else None
                        for k, item in enumerate(self.items)]

    def _kind_crop(self, item: tuple, seed: int) -> Compose:
        present = set(np.unique(item[3]).tolist()) - {0}
        ratios = [1.0] + [2.0 / len(present) if g in present else 0.0
                          for g in range(1, N_GROUPS + 1)]
        crop = RandCropByLabelClassesd(
            keys=("image", "target"), label_key="groups", spatial_size=self.patch,
            ratios=ratios, num_classes=N_GROUPS + 1, num_samples=1, image_key="where",
            image_threshold=0.5, allow_smaller=True, warn=False)
        out = Compose([crop, _flip(), *self._drop()])
        out.set_random_state(seed=seed)
        return out

    def _drop(self) -> list:
        """Modality dropout, last in a chain; absent when off (Compose seeds its transforms
        in order, so the crops and flips of earlier runs draw as before)."""
        return [RandDropChannelsd("image", *self.drop)] if self.drop[1] > 0 else []

    def __len__(self) -> int:
        return len(self.items) * self.samples

    def __getitem__(self, index: int):
        k = index // self.samples
        image, target, *rest = self.items[k]
        fg = (target[:1] > 0).astype(np.float32)
        where = rest[0] if rest and rest[0] is not None else np.ones_like(fg)
        data = {"image": image, "target": target, "fg": fg, "where": where}
        if self.by_kind[k] is not None:
            # lesion voxels stay eligible centres when the negatives are limited to bone
            data.update(groups=rest[1], where=np.maximum(where, fg))
            sample = self.by_kind[k](data)[0]
        else:
            sample = self.crop(data)[0]
        x = _pad_to(torch.as_tensor(np.asarray(sample["image"])), self.patch)
        y = _pad_to(torch.as_tensor(np.asarray(sample["target"])), self.patch)
        return x.float(), y.float(), index


def _flip() -> RandFlipd:
    return RandFlipd(keys=("image", "target"), prob=0.5, spatial_axis=2)


def _pad_to(t: torch.Tensor, patch: tuple[int, ...]) -> torch.Tensor:
    """Zero-pad a ``(C, z, y, x)`` crop of a volume smaller than the patch."""
    pad = [p - s for s, p in zip(t.shape[1:], patch, strict=True)]
    if not any(pad):
        return t
    spec = [v for d in reversed(pad) for v in (0, max(d, 0))]
    return nn.functional.pad(t, spec)


def card_for(settings: Seg3DSettings, data: dict, epochs_done: int) -> ModelCard:
    """The model card of a 3-D network (task "segmentation3d")."""
    values = asdict(settings)
    values["patch"], values["hu_window"] = list(settings.patch), list(settings.hu_window)
    values["widths"] = list(settings.widths) if settings.widths else None
    return ModelCard(
        architecture=settings.architecture, model_kwargs=settings.model_kwargs(),
        classes=list(CLASSES), positive=None, threshold=None, task="segmentation3d",
        settings=values, data=data,
        training={"epochs": epochs_done, "loop": "osteoscan.training.loop.fit_epochs"},
        notes="Research use only; trained on simulated SPECT/CT (docs/seg3d.md).")


def _start(out: Path, settings: Seg3DSettings, resume: bool,
           init: str | Path | None) -> tuple[nn.Module, int]:
    """A fresh model (weights transferred from ``init`` when given), or the last checkpoint
    and its epoch count when resuming."""
    state_path = out / STATE
    if resume and state_path.is_file():
        done = int(json.loads(state_path.read_text())["epochs_done"])
        model, _ = load_checkpoint(out)
        logger.info("%s: resuming after epoch %d", out, done)
        return model, done
    torch.manual_seed(settings.seed)
    model = create_model(settings.architecture, **settings.model_kwargs())
    if init:
        weights, card = resolve_checkpoint(seg3d_checkpoint(init))
        report = init_from(model, weights, widen_inputs=_extends(card, settings.channels))
        logger.info("init from %s: %.0f %% of tensors (%d mismatched)", init,
                    100 * report.coverage, len(report.mismatched))
    return model, 0


def _extends(card_path: Path, channels: str) -> bool:
    """Whether a source model's input channels are the first of ``channels`` (then its first
    kernels are widened with zeros for the new channels, not re-initialised)."""
    source = json.loads(Path(card_path).read_text()).get("settings", {}).get("channels")
    mine = check_channels(channels)
    return source in CHANNELS and mine[:len(CHANNELS[source])] == CHANNELS[source]


def train_seg3d(
    cases: Sequence[Case], settings: Seg3DSettings, out: str | Path, *, resume: bool = False,
    on_epoch: Callable[[int, int, float], None] | None = None, init: str | Path | None = None,
) -> Path:
    """Train a 3-D network on ``cases`` into the checkpoint folder ``out``.

    ``init`` (a checkpoint of the same architecture, e.g. trained on another site or on SPECT
    alone) is transfer learning: every tensor of matching name and shape is loaded, the rest
    (a first convolution with another channel count) keeps its initialisation.

    Returns:
        ``out`` (``model.safetensors``, ``model.json``, ``state.json`` with the loss history).
    """
    settings.check()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model, done = _start(out, settings, resume, init)
    data = {"cases": len(cases), "patients": len({c.patient_id for c in cases}),
            "profiles": sorted({c.profile for c in cases}), "init": str(init or "")}
    history = list(json.loads((out / STATE).read_text()).get("loss", [])) if done else []
    if done >= settings.epochs:
        return out
    loader = DataLoader(
        PatchDataset([prepare(c, settings) for c in cases], settings.patch,
                     settings.samples_per_case, settings.seed + done, settings.crops,
                     (channel_indices(settings.channels, "spect"), settings.modality_dropout)),
        batch_size=settings.batch_size, shuffle=True,
        generator=torch.Generator().manual_seed(settings.seed + done))

    def checkpoint(epoch: int, epochs: int, loss: float) -> None:
        history.append(float(loss))
        save_checkpoint(out, model, card_for(settings, data, epoch))
        atomic_write_json(out / STATE, {"epochs_done": epoch, "loss": history})
        if on_epoch:
            on_epoch(epoch, epochs, loss)

    loss = Seg3DLoss(len(CLASSES), settings.aux_weight, settings.loss == "lesion")
    fit_epochs(model, loader, loss, epochs=settings.epochs,
               lr=settings.lr, weight_decay=settings.weight_decay, on_epoch=checkpoint,
               start_epoch=done)
    return out


def labelled_instances(segmenter, cases: Sequence[Case]) -> list[tuple[list[dict], str | None]]:
    """Per case, its predicted instances (each marked ``real``: overlaps a true lesion, and
    ``hits_met``: overlaps a true metastasis) and its primary.

    The instances come from the trained network's own output on the training cases (the
    same kind of instance the second-stage models see at test time).
    """
    out = []
    for case in cases:
        if case.instances is None:
            continue
        result = segmenter.predict(case)
        n = len(result.lesions) + 1
        inst = result.instances
        on_lesion = np.bincount(inst[(case.semantic > 0) & (inst > 0)], minlength=n)
        on_met = np.bincount(inst[(case.semantic == 2) & (inst > 0)], minlength=n)
        for t in result.lesions:
            t.update(real=bool(on_lesion[t["id"]] > 0), hits_met=bool(on_met[t["id"]] > 0))
        out.append((result.lesions, case.primary))
    return out


def fit_origin(out: str | Path, cases: Sequence[Case], C: float = 1.0,
               origin_model: str = "instance") -> dict:
    """Fit the second-stage instance models of the checkpoint ``out`` on ``cases``
    (:func:`fit_instance_models`) and store them in its card."""
    from osteoscan.volumetric.infer import Segmenter3D

    segmenter = Segmenter3D.from_checkpoint(out)
    summary = fit_instance_models(segmenter, cases, C, origin_model)
    save_checkpoint(out, segmenter.model, segmenter.card)
    return summary


def fit_instance_models(segmenter, cases: Sequence[Case], C: float = 1.0,
                        origin_model: str = "instance") -> dict:
    """Fit the second-stage instance models on ``cases``, into the segmenter and its card:
    the origin model (lung vs other, on instances that hit a true metastasis;
    ``origin_model="patient"`` adds the patient-level model,
    :data:`osteoscan.volumetric.origin.ORIGIN_MODELS`) and the lesion model (real lesion vs
    false positive, on every instance; docs/seg3d.md). The instances are the segmenter's as
    it runs (its threshold, minimum size, ``zeroed`` input: a CT path's models are fitted on
    its CT-only instances, recorded in the card's data).

    Returns:
        A summary (instances used per class); a model whose classes are not both present is
        not fitted (and left as it was).
    """
    from osteoscan.volumetric.instances import OriginModel, feature_names
    from osteoscan.volumetric.origin import fit_second_stage

    segmenter.lesion_model = None  # fit on the network's own instances, unfiltered
    card = segmenter.card
    names = feature_names(check_channels(segmenter.channels))
    summary = fit_second_stage(card.settings, labelled_instances(segmenter, cases), names, C,
                               origin_model)
    if segmenter.zeroed:
        summary["zeroed"] = list(segmenter.zeroed)
    if summary["lung"] * summary["other"] == 0 or summary["real"] in (0, summary["all_instances"]):
        logger.warning("%s: an instance model not fitted (%s)", card.architecture, summary)
    card.data["origin_training"] = summary
    for key in ("origin", "lesion_model"):
        if card.settings.get(key):
            setattr(segmenter, key, OriginModel.from_dict(card.settings[key]))
    return summary
