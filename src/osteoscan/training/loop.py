"""The inner loop: one training epoch, inference over a loader, the LR schedule.

Every network of the toolkit trains through :func:`train_epoch`: the study classifiers
inside :class:`osteoscan.training.fit.Fit` (validation, checkpoints, resume around it), the
lesion stage's U-Nets and lesion classifier through :func:`fit_epochs` (a fixed number of
epochs, no validation: ``osteoscan.lesions.training``). A batch is ``(x, y, rows)``; ``x`` is
a tensor or a tuple of tensors (passed to the model as separate arguments).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

ProgressHook = Callable[[int], None]


def lr_lambda(total_steps: int, warmup_steps: int, schedule: str) -> Callable[[int], float]:
    """Multiplier of the base LR at a step: linear warm-up, then cosine decay or constant."""

    def factor(step: int) -> float:
        if warmup_steps and step < warmup_steps:
            return (step + 1) / warmup_steps
        if schedule == "constant":
            return 1.0
        span = max(1, total_steps - warmup_steps)
        progress = min(1.0, (step - warmup_steps) / span)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    """bfloat16/float16 autocast on CUDA when enabled; a no-op elsewhere."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def train_epoch(
    model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer, scheduler,
    loss_fn: nn.Module, device: torch.device, *, amp: bool, scaler, max_steps: int = 0,
    on_step: ProgressHook | None = None,
) -> float:
    """One pass over ``loader``; returns the mean training loss (per sample)."""
    model.train()
    total, count = 0.0, 0
    for step, (x, y, _) in enumerate(loader):
        if max_steps and step >= max_steps:
            break
        x, y = to_device(x, device), y.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, amp):
            loss = loss_fn(model(*x) if isinstance(x, tuple) else model(x), y)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        total += float(loss.detach()) * len(y)
        count += len(y)
        if on_step:
            on_step(1)
    return total / max(count, 1)


def to_device(x, device: torch.device):
    """A tensor, or a tuple of tensors, on ``device``."""
    if isinstance(x, (tuple, list)):
        return tuple(t.to(device, non_blocking=True) for t in x)
    return x.to(device, non_blocking=True)


EpochHook = Callable[[int, int, float], None]
"""``on_epoch(epoch, epochs, mean loss)`` after each epoch (the CLI draws a progress bar)."""


def fit_epochs(
    model: nn.Module, loader: DataLoader, loss_fn: nn.Module, *, epochs: int, lr: float,
    weight_decay: float = 0.0, schedule: str = "cosine", device: torch.device | None = None,
    on_epoch: EpochHook | None = None, start_epoch: int = 0,
) -> list[float]:
    """Adam for a fixed number of epochs of :func:`train_epoch`, the LR following
    :func:`lr_lambda` per step (no warm-up); leaves the model in eval mode.

    Args:
        model: the network (moved to ``device``).
        loader: batches ``(x, y, rows)``; its sampler/collate carry shuffling and augmentation.
        loss_fn: ``loss_fn(model(x), y)``.
        epochs: passes over ``loader``.
        lr: base learning rate.
        weight_decay: Adam's L2 penalty.
        schedule: "cosine" (to zero at the last step) or "constant".
        device: default CPU.
        on_epoch: progress callback (also where a caller writes its per-epoch checkpoint).
        start_epoch: epochs already done (resuming from a checkpoint of the model's weights:
            the LR schedule continues where it stopped; Adam's moments restart).

    Returns:
        The mean training loss of every epoch run.
    """
    device = device or torch.device("cpu")
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    total, offset = max(1, epochs * len(loader)), start_epoch * len(loader)
    factor = lr_lambda(total, 0, schedule)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: factor(step + offset))
    scaler = torch.amp.GradScaler(device.type, enabled=False)
    history = []
    for epoch in range(start_epoch, epochs):
        history.append(train_epoch(model, loader, optimizer, scheduler, loss_fn, device,
                                   amp=False, scaler=scaler))
        if on_epoch:
            on_epoch(epoch + 1, epochs, history[-1])
    model.eval()
    return history


@torch.no_grad()
def predict_loader(
    model: nn.Module, loader: DataLoader, device: torch.device, *, amp: bool = False,
    on_step: ProgressHook | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Softmax probabilities over a loader.

    Returns:
        (rows, targets, probabilities (n, classes)) in loader order.
    """
    model.eval()
    rows, targets, probs = [], [], []
    for x, y, row in loader:
        with autocast(device, amp):
            logits = model(x.to(device, non_blocking=True))
        probs.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
        targets.append(np.asarray(y))
        rows.append(np.asarray(row))
        if on_step:
            on_step(1)
    if not rows:
        return np.zeros(0, int), np.zeros(0, int), np.zeros((0, 0))
    return np.concatenate(rows), np.concatenate(targets), np.concatenate(probs)


def validation_loss(prob: np.ndarray, targets: np.ndarray, weights: np.ndarray | None) -> float:
    """Mean (class-weighted) cross-entropy of known targets, from probabilities."""
    keep = targets >= 0
    if not keep.any():
        return math.nan
    p = np.clip(prob[keep, targets[keep]], 1e-7, 1.0)
    w = np.ones_like(p) if weights is None else weights[targets[keep]]
    return float(np.sum(-np.log(p) * w) / np.sum(w))
