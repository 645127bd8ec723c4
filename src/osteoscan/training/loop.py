"""The inner loop: one training epoch, inference over a loader, the LR schedule."""

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
    """One pass over ``loader``; returns the mean training loss (per study)."""
    model.train()
    total, count = 0.0, 0
    for step, (x, y, _) in enumerate(loader):
        if max_steps and step >= max_steps:
            break
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, amp):
            loss = loss_fn(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        total += float(loss.detach()) * len(y)
        count += len(y)
        if on_step:
            on_step(1)
    return total / max(count, 1)


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
