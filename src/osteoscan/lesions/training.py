"""Training the lesion networks from masks, LabelMe polygons or boxes only.

Training data is a list of :class:`osteoscan.lesions.studies.LesionStudy` (a scan, instance
masks of its lesions per view, their labels, optional region maps), built from a simulated
study or from annotations (:mod:`osteoscan.lesions.studies`):

* ``supervision="mask"``: polygons are filled (scikit-image ``polygon``), rectangles filled;
* ``supervision="box"``: every outline is reduced to its bounding box and the box becomes a
  box-constrained pseudo-mask (uptake above the box's Otsu threshold, see
  :func:`osteoscan.lesions.hotspots.box_pseudo_mask`): weak supervision from rectangles.

The networks train through the toolkit's one training loop
(:func:`osteoscan.training.loop.fit_epochs`, built on the same ``train_epoch`` as the study
classifiers): Adam for a fixed number of epochs, the data loaders below adding left-right
flips (and row windows for the hotspot U-Net). On the CPU in minutes for the bundled sizes.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from monai.losses import DiceCELoss
from torch.utils.data import DataLoader, TensorDataset

from osteoscan.lesions.classifier import LesionClassifier, lesion_inputs
from osteoscan.lesions.hotspots import (
    WORK_SHAPE,
    HotspotSegmenter,
    hotspots_from_labels,
    resize,
    scan_views,
    view_input,
)
from osteoscan.lesions.regions import RegionSegmenter, normal_bone_means, place
from osteoscan.lesions.studies import LesionStudy, thin_scan
from osteoscan.training.loop import fit_epochs
from osteoscan.types import Hotspot

log = logging.getLogger(__name__)

Progress = Callable[[int, int, float], None]
"""``progress(epoch, epochs, loss)`` callback (the CLI draws a rich progress bar)."""


def _seg_tensors(studies: Sequence[LesionStudy], work_shape, target: str, *,
                 thin: tuple[float, float] | None = None, seed: int = 0,
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack inputs and targets of every view at ``work_shape`` (plus a count-thinned copy of
    each study when ``thin`` gives the range of kept fractions)."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for st in studies:
        scans = [st.scan]
        if thin:
            scans.append(thin_scan(st.scan, float(rng.uniform(*thin)), rng))
        for scan in scans:
            for view in scan_views(scan):
                x = torch.from_numpy(view_input(scan, view))[None]
                xs.append(resize(x, work_shape)[0])
                ys.append(_target(st, view, target, work_shape))
    return torch.stack(xs), torch.stack(ys)


def _target(st: LesionStudy, view: str, target: str, work_shape) -> torch.Tensor:
    if target == "hotspot":
        y = torch.from_numpy((st.lesion_masks[view] > 0).astype(np.float32))[None, None]
        return (resize(y, work_shape) > 0.25).float()[0]
    y = torch.from_numpy(st.region_maps[view].astype(np.float32))[None, None]
    return F.interpolate(y, size=work_shape, mode="nearest")[0]


def _crop_rows(x: torch.Tensor, y: torch.Tensor, rows: int, gen: torch.Generator):
    """Random row windows of height ``rows``; half of them centred on a target pixel."""
    xs, ys = [], []
    for xi, yi in zip(x, y, strict=True):
        top = int(torch.randint(0, x.shape[-2] - rows + 1, (1,), generator=gen))
        pos = torch.nonzero(yi[0] > 0)
        if len(pos) and torch.rand(1, generator=gen).item() < 0.5:
            r = int(pos[int(torch.randint(0, len(pos), (1,), generator=gen)), 0])
            top = min(max(r - rows // 2, 0), x.shape[-2] - rows)
        xs.append(xi[:, top:top + rows])
        ys.append(yi[:, top:top + rows])
    return torch.stack(xs), torch.stack(ys)


def _loader(tensors: Sequence[torch.Tensor], batch: int, seed: int, augment) -> DataLoader:
    """Shuffled batches ``(x, y, None)`` of ``tensors`` (targets last), ``augment(items, gen)``
    making ``(x, y)`` from the sampled rows with its own seeded generator."""
    gen = torch.Generator().manual_seed(seed)

    def collate(items):
        x, y = augment([torch.stack(col) for col in zip(*items, strict=True)], gen)
        return x, y, None

    return DataLoader(TensorDataset(*tensors), batch_size=batch, shuffle=True, collate_fn=collate,
                      generator=torch.Generator().manual_seed(seed))


def _seg_augment(crop: int | None):
    """Row windows (:func:`_crop_rows`: the network is fully convolutional, so it trains on
    windows and predicts whole views) and a left-right flip of half the batches."""
    def augment(cols, gen):
        xb, yb = cols
        if crop:
            xb, yb = _crop_rows(xb, yb, crop, gen)
        if torch.rand(1, generator=gen).item() < 0.5:
            xb, yb = xb.flip(-1), yb.flip(-1)
        return xb, yb

    return augment


def _fit_seg(net, x, y, loss_fn, *, epochs, batch, lr, seed, progress, crop=None) -> list[float]:
    """Train a segmentation net through the shared loop (cosine LR); the loss per epoch."""
    def on_epoch(epoch: int, total: int, loss: float) -> None:
        log.info("epoch %d/%d loss %.4f", epoch, total, loss)
        if progress:
            progress(epoch, total, loss)

    return fit_epochs(net, _loader((x, y), batch, seed, _seg_augment(crop)), loss_fn,
                      epochs=epochs, lr=lr, on_epoch=on_epoch)


def train_segmenter(studies: Sequence[LesionStudy], *, arch: str = "unet", work_shape=WORK_SHAPE,
                    epochs: int = 20, batch: int = 8, lr: float = 2e-3, seed: int = 0,
                    tiny: bool = False, channels=None, crop: int | None = 128,
                    thin: tuple[float, float] | None = (0.3, 0.7),
                    progress: Progress | None = None,
                    init: HotspotSegmenter | None = None,
                    calibrate_on: Sequence[LesionStudy] | None = None) -> HotspotSegmenter:
    """Train the hotspot U-Net (Dice + cross-entropy on the sigmoid output) on row windows
    of ``crop`` rows at the working resolution (None: whole views), each study seen at its
    own count level and once more thinned to a random fraction in ``thin`` (None: off).

    ``init`` continues training that segmenter (its architecture and work shape; a second
    stage of a recipe, as the bundled one was trained); its card's epochs are added up.
    ``calibrate_on``: studies the card threshold is chosen on (held-out selection profiles;
    default: the first 16 training studies)."""
    torch.manual_seed(seed)
    if init is None:
        kwargs = {"tiny": tiny} if channels is None else {"channels": list(channels)}
        seg = HotspotSegmenter.build(arch, tuple(work_shape), **kwargs)
    else:
        seg = HotspotSegmenter(init.net, dict(init.card))
    work_shape = tuple(seg.card["work_shape"])
    x, y = _seg_tensors(studies, work_shape, "hotspot", thin=thin, seed=seed)
    loss = DiceCELoss(sigmoid=True, batch=True)
    crop = crop if crop and crop < work_shape[0] else None
    hist = _fit_seg(seg.net, x, y, loss, epochs=epochs, batch=batch, lr=lr, seed=seed,
                    progress=progress, crop=crop)
    before = (init.card.get("training") or {}).get("epochs", 0) if init is not None else 0
    seg.card["training"] = {"studies": len(studies), "epochs": before + epochs, "crop_rows": crop,
                            "count_thinning": list(thin) if thin else None, "final_loss": hist[-1]}
    select = list(calibrate_on) if calibrate_on is not None else list(studies[:16])
    seg.card["threshold"] = calibrate_threshold(seg, select)
    seg.card["training"]["threshold_studies"] = ("held-out selection" if calibrate_on is not None
                                                 else "training") + f" ({len(select)} studies)"
    return seg


def calibrate_threshold(seg: HotspotSegmenter, studies: Sequence[LesionStudy],
                        grid=tuple(np.round(np.arange(0.1, 0.8, 0.05), 2))) -> float:
    """The probability threshold with the best pooled pixel Dice on ``studies``.

    A short training run leaves the network under-confident (lesions near 0.4); choosing the
    threshold on the training studies keeps hotspots from vanishing. Stored in the card.
    """
    inter = np.zeros(len(grid))
    total = np.zeros(len(grid))
    for st in studies:
        probs = seg.predict(st.scan)
        for view, prob in probs.items():
            truth = st.lesion_masks[view] > 0
            for i, t in enumerate(grid):
                pred = prob >= t
                inter[i] += (pred & truth).sum()
                total[i] += pred.sum() + truth.sum()
    dice = np.where(total > 0, 2 * inter / np.maximum(total, 1), 0.0)
    best = float(grid[int(dice.argmax())])
    log.info("hotspot threshold %.2f (pooled Dice %.3f on %d calibration studies)", best,
             dice.max(), len(studies))
    return best


def train_regions(studies: Sequence[LesionStudy], *, arch: str = "unet", work_shape=WORK_SHAPE,
                  epochs: int = 20, batch: int = 8, lr: float = 2e-3, seed: int = 0,
                  tiny: bool = False, channels=None, progress: Progress | None = None,
                  init: RegionSegmenter | None = None) -> RegionSegmenter:
    """Train the skeletal-region U-Net on studies with region maps (Dice + CE, softmax);
    ``init`` continues that network (its architecture and work shape; trained in place)."""
    usable = [s for s in studies if s.region_maps]
    if not usable:
        raise ValueError("no study has region maps to train the region network on")
    torch.manual_seed(seed)
    kwargs = {"tiny": tiny} if channels is None else {"channels": list(channels)}
    reg = RegionSegmenter.build(arch, tuple(work_shape), **kwargs) if init is None \
        else RegionSegmenter(init.net, dict(init.card))
    work_shape = tuple(reg.card["work_shape"])
    x, y = _seg_tensors(usable, work_shape, "regions", thin=(0.3, 0.7), seed=seed)
    loss = DiceCELoss(softmax=True, to_onehot_y=True, batch=True)
    hist = _fit_seg(reg.net, x, y, loss, epochs=epochs, batch=batch, lr=lr, seed=seed, progress=progress)
    reg.card.update(training={"studies": len(usable), "epochs": epochs, "final_loss": hist[-1]})
    return reg


def truth_hotspots(study: LesionStudy, region_maps: dict[str, np.ndarray] | None = None,
                   ) -> dict[str, list[Hotspot]]:
    """Hotspots drawn from the true lesion masks, with regions, uptake and matches.

    ``region_maps`` defaults to the study's own; ``features["label_id"]`` holds the lesion id.
    """
    maps = region_maps or study.region_maps
    out: dict[str, list[Hotspot]] = {}
    for view, counts in scan_views(study.scan).items():
        labels = study.lesion_masks[view]
        hs = hotspots_from_labels(labels, counts, view, spacing_mm=study.scan.spacing_mm)
        if maps is not None:
            normal = normal_bone_means(counts, maps[view], labels > 0)
            hs = [_with_region(h, maps[view], normal) for h in hs]
        out[view] = hs
    return _match_by_id(out)


def _with_region(h: Hotspot, region_map: np.ndarray, normal: dict[str, float]) -> Hotspot:
    region = place(h.mask, region_map, h.row, h.col)
    ref = normal.get(region, normal["__all__"])
    return dataclasses.replace(h, region=region, uptake_ratio=h.mean_counts / max(ref, 1e-6))


def _match_by_id(by_view: dict[str, list[Hotspot]]) -> dict[str, list[Hotspot]]:
    """Truth hotspots are matched through their shared lesion id."""
    if "posterior" not in by_view:
        return by_view
    ids = {v: [int(h.features["label_id"]) for h in hs] for v, hs in by_view.items()}
    out = {}
    for view, other in (("anterior", "posterior"), ("posterior", "anterior")):
        index = {lid: j for j, lid in enumerate(ids[other])}
        out[view] = [dataclasses.replace(h, match=index.get(lid)) for h, lid in zip(by_view[view], ids[view], strict=True)]
    return out


def classifier_samples(studies: Sequence[LesionStudy], segmenter: HotspotSegmenter | None = None,
                       regions: RegionSegmenter | None = None, *, fp_threshold: float | None = 0.5,
                       ) -> dict[str, np.ndarray]:
    """Patch/context/tabular arrays, labels and grouping columns for every true lesion.

    With a ``segmenter``, its false-positive hotspots (overlapping no lesion) are added as
    label 0 ("not malignant"), so the classifier also learns what the detector confuses: the
    components of its probability map at ``fp_threshold`` (None: the segmenter card's threshold,
    the candidates ``LesionAnalyzer`` meets; 0.5 is what the bundled classifier was trained on).
    Studies without region maps get them from ``regions`` when given.

    Returns:
        ``patch``, ``context``, ``tab``, ``y`` (1 = malignant), ``patient`` (str), ``burden``
        (number of malignant lesions of the study), ``primary`` (str) and ``study`` (int).
    """
    chunks: list[dict[str, np.ndarray]] = []
    for k, st in enumerate(studies):  # predicted region maps are not stored in the study
        maps = st.region_maps
        if maps is None and regions is not None:
            maps = regions.predict(st.scan)
        by_view = truth_hotspots(st, maps)
        hs = [h for v in by_view.values() for h in v]
        y = [int(st.lesion_labels.get(int(h.features["label_id"])) == "malignant") for h in hs]
        if segmenter is not None:
            fps = _false_positives(st, segmenter, maps, fp_threshold)
            hs, y = hs + fps, y + [0] * len(fps)
        if not hs:
            continue
        arrays = lesion_inputs(st.scan, hs)
        n_mal = sum(1 for lab in st.lesion_labels.values() if lab == "malignant")
        arrays.update(y=np.asarray(y, np.int64), patient=np.full(len(hs), st.patient_id, dtype=object),
                      burden=np.full(len(hs), n_mal), primary=np.full(len(hs), str(st.primary), dtype=object),
                      study=np.full(len(hs), k))
        chunks.append(arrays)
    if not chunks:
        raise ValueError("no lesion in the training studies")
    return {key: np.concatenate([c[key] for c in chunks]) for key in chunks[0]}


def _false_positives(st: LesionStudy, segmenter: HotspotSegmenter, maps, threshold: float | None,
                     ) -> list[Hotspot]:
    from osteoscan.lesions.hotspots import extract_hotspots

    probs = segmenter.predict(st.scan)
    card = segmenter.card
    kw = {"threshold": threshold} if threshold is not None else \
        {"threshold": card.get("threshold", 0.5), "min_area_px": card.get("min_area_px", 4)}
    out = []
    for view, counts in scan_views(st.scan).items():
        for h in extract_hotspots(probs[view], counts, view, spacing_mm=st.scan.spacing_mm, **kw):
            if not (st.lesion_masks[view][h.mask] > 0).any():
                out.append(h if maps is None else _with_region(h, maps[view], normal_bone_means(
                    counts, maps[view], st.lesion_masks[view] > 0)))
    return out


def _flip_patches(cols, gen):
    """Left-right flip of patch and context (not the tabular features) for half the batches."""
    patch, context, tab, y = cols
    if torch.rand(1, generator=gen).item() < 0.5:
        patch, context = patch.flip(-1), context.flip(-1)
    return (patch, context, tab), y


def fit_classifier(samples: dict[str, np.ndarray], *, arch: str = "patchcontext", epochs: int = 15,
                   batch: int = 64, lr: float = 1e-3, seed: int = 0, index: np.ndarray | None = None,
                   progress: Progress | None = None, init: LesionClassifier | None = None,
                   **arch_kwargs) -> LesionClassifier:
    """Train a lesion classifier on (a subset ``index`` of) :func:`classifier_samples`;
    ``init`` continues that classifier (fine-tuning, in place) instead of a fresh ``arch``."""
    torch.manual_seed(seed)
    clf = LesionClassifier.build(arch, **arch_kwargs) if init is None \
        else LesionClassifier(init.net, dict(init.card))
    idx = np.arange(len(samples["y"])) if index is None else np.asarray(index)
    t = [torch.from_numpy(samples[k][idx]) for k in ("patch", "context", "tab")]
    y = torch.from_numpy(samples["y"][idx]).float()
    pos = float(y.mean()) if len(y) else 0.5
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor((1 - pos) / max(pos, 1e-3)))
    fit_epochs(clf.net, _loader((*t, y), batch, seed, _flip_patches), loss_fn, epochs=epochs,
               lr=lr, weight_decay=1e-4, schedule="constant", on_epoch=progress)
    clf.card.update(training={"lesions": int(len(y)), "malignant_fraction": pos, "epochs": epochs, "lr": lr})
    return clf
