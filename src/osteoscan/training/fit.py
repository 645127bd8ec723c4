"""Training one model on one patient-level split: epochs, validation, checkpoints, resume."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, WeightedRandomSampler

from osteoscan.artefacts import atomic_write
from osteoscan.data.dataset import ScanDataset
from osteoscan.data.splits import Split
from osteoscan.data.table import StudyTable
from osteoscan.training import distributed as dist_
from osteoscan.training.build import (
    card_for, create_for_training, make_pipeline, model_kwargs, parameter_groups, probe_input,
    resolved_settings,
)
from osteoscan.training.checkpoint import read_weights, save_checkpoint
from osteoscan.config.train import TrainConfig
from osteoscan.training.loop import lr_lambda, predict_loader, train_epoch, validation_loss
from osteoscan.training.metrics import auc_score, choose_threshold, patient_bootstrap_auc
from osteoscan.training.predict import predictions_frame, write_predictions
from osteoscan.training.state import STATE_JSON, load_state, save_state

logger = logging.getLogger(__name__)


@dataclass
class FitContext:
    """What every split of a run shares."""

    cfg: TrainConfig
    table: StudyTable
    targets: np.ndarray
    info: dist_.DistInfo
    progress: bool = False
    stop_after_epoch: int | None = None
    resume: bool = False


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def write_log(path: Path, rows: list[dict]) -> None:
    """Rewrite log.csv with every epoch so far (atomically)."""
    atomic_write(path, lambda tmp: pd.DataFrame(rows).to_csv(tmp, index=False, float_format="%.6g"))


def read_log(path: Path, up_to_epoch: int) -> list[dict]:
    """The rows of an existing log.csv up to an epoch (for resuming)."""
    if not path.is_file():
        return []
    frame = pd.read_csv(path)
    return frame[frame["epoch"] <= up_to_epoch].to_dict("records")


class Fit:
    """Train one model on ``split`` into ``run_dir``; call :meth:`run`."""

    def __init__(self, ctx: FitContext, split: Split, run_dir: Path):
        self.ctx, self.cfg, self.split, self.dir = ctx, ctx.cfg, split, Path(run_dir)
        self.main = ctx.info.is_main
        self.device = ctx.info.device
        classes = list(self.cfg.data.classes)
        self.positive = classes.index(self.cfg.data.positive) if len(classes) == 2 else None
        self.log: list[dict] = []
        self.best = {"score": -math.inf, "epoch": 0, "bad": 0}

    # ---------------------------------------------------------------- set-up
    def _datasets(self) -> None:
        cfg, t = self.cfg, self.ctx.table
        train_pipe = make_pipeline(cfg.preprocess, cfg.augment)
        eval_pipe = make_pipeline(cfg.preprocess, None)
        mk = lambda rows, pipe: ScanDataset(t, rows, self.ctx.targets, pipe, seed=cfg.seed,  # noqa: E731
                                            cache=cfg.data.cache)
        self.train_ds = mk(self.split.train, train_pipe)
        self.val_ds, self.test_ds = mk(self.split.val, eval_pipe), mk(self.split.test, eval_pipe)
        if cfg.data.cache and cfg.data.num_workers > 0:
            for ds in (self.train_ds, self.val_ds):
                ds.warm_cache()  # decode once here; forked workers share the cached pages
        self.in_chans, self.img_size = probe_input(eval_pipe, self.train_ds.scan(int(self.split.train[0])))

    def _model(self) -> None:
        cfg = self.cfg
        self.kwargs = model_kwargs(cfg, self.in_chans, self.img_size)
        self.model = create_for_training(cfg, self.kwargs, None).to(self.device)
        self.net = self.model
        if self.ctx.info.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        k = len(cfg.data.classes)
        counts = self.train_ds.class_counts(k)
        self.class_weights = None
        if cfg.data.balance == "weights":
            self.class_weights = (counts.sum() / (k * np.maximum(counts, 1))).astype(np.float32)
        weight = None if self.class_weights is None else torch.from_numpy(self.class_weights).to(self.device)
        self.loss_fn = torch.nn.CrossEntropyLoss(weight=weight)

    def _optimizer(self) -> None:
        o = self.cfg.optim
        groups = parameter_groups(self.model, o.lr, self.cfg.model.lr_decay, o.weight_decay)
        self.optimizer = torch.optim.AdamW(groups, lr=o.lr)
        self.steps = len(self._train_loader(0))
        if o.max_steps_per_epoch:
            self.steps = min(self.steps, o.max_steps_per_epoch)
        factor = lr_lambda(self.steps * o.epochs, round(o.warmup_epochs * self.steps), o.schedule)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, factor)
        self.amp = o.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp)

    def _train_loader(self, epoch: int) -> DataLoader:
        cfg, ds, info = self.cfg, self.train_ds, self.ctx.info
        gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        if info.enabled:
            sampler = DistributedSampler(ds, info.world_size, info.rank, shuffle=True, seed=cfg.seed)
            sampler.set_epoch(epoch)
        elif cfg.data.balance == "sampler":
            weights = torch.from_numpy(ds.sample_weights(len(cfg.data.classes)))
            sampler = WeightedRandomSampler(weights, len(ds), replacement=True, generator=gen)
        else:
            sampler = RandomSampler(ds, generator=gen)
        bs = cfg.optim.batch_size
        return DataLoader(ds, batch_size=bs, sampler=sampler, num_workers=cfg.data.num_workers,
                          drop_last=len(ds) // max(info.world_size, 1) > bs)

    def _eval_loader(self, ds: ScanDataset) -> DataLoader:
        return DataLoader(ds, batch_size=self.cfg.optim.batch_size, shuffle=False,
                          num_workers=self.cfg.data.num_workers)

    # ---------------------------------------------------------------- run
    def run(self) -> None:
        """Train (or resume), then write predictions and the final cards."""
        if self.ctx.resume and self._finished():
            logger.info("%s: already finished, nothing to resume", self.dir)
            return
        seed_everything(self.cfg.seed)
        self._datasets()
        self._model()
        self._optimizer()
        self.card = card_for(self.cfg, self.kwargs)
        self.card.preprocess, self.card.augment = resolved_settings(self.cfg.preprocess, self.cfg.augment)
        start = self._restore() if self.ctx.resume else 0
        if self._epochs(start) == "killed":
            return
        if self.main:
            self._finish()
        dist_.barrier(self.ctx.info)

    def _finished(self) -> bool:
        import json

        state = self.dir / "last" / STATE_JSON
        return state.is_file() and json.loads(state.read_text())["info"].get("finished", False)

    def _restore(self) -> int:
        last = self.dir / "last"
        if not (last / STATE_JSON).is_file():
            logger.info("%s: nothing to resume, starting at epoch 1", self.dir)
            return 0
        self.model.load_state_dict(read_weights(last / "model.safetensors"))
        info = load_state(last, self.optimizer, self.scheduler)
        self.best = info["best"]
        self.log = read_log(self.dir / "log.csv", info["epoch"])
        logger.info("%s: resuming after epoch %d", self.dir, info["epoch"])
        return int(info["epoch"])

    def _epochs(self, start: int) -> str:
        o = self.cfg.optim
        with _progress(self.ctx.progress and self.main) as bar:
            task = bar.add_task(f"{self.split.name} epochs", total=o.epochs, completed=start) if bar else None
            for epoch in range(start, o.epochs):
                stop = self._one_epoch(epoch, bar)
                if bar:
                    bar.update(task, advance=1)
                if self.ctx.stop_after_epoch is not None and epoch + 1 >= self.ctx.stop_after_epoch:
                    return "killed"
                if dist_.broadcast_flag(self.ctx.info, stop):
                    logger.info("early stopping after epoch %d", epoch + 1)
                    break
        return "done"

    def _one_epoch(self, epoch: int, bar) -> bool:
        t0 = time.perf_counter()
        self.train_ds.set_epoch(epoch)
        loader = self._train_loader(epoch)
        step_task = bar.add_task(f"epoch {epoch + 1}", total=self.steps) if bar else None
        hook = (lambda n: bar.update(step_task, advance=n)) if bar else None
        loss = train_epoch(self.net, loader, self.optimizer, self.scheduler, self.loss_fn, self.device,
                           amp=self.amp, scaler=self.scaler, max_steps=self.cfg.optim.max_steps_per_epoch,
                           on_step=hook)
        if bar:
            bar.remove_task(step_task)
        if not self.main:
            return False
        _, y, prob = predict_loader(self.model, self._eval_loader(self.val_ds), self.device, amp=self.amp)
        row = {"epoch": epoch + 1, "train_loss": loss,
               "val_loss": validation_loss(prob, y, self.class_weights),
               "val_auc": auc_score(y, prob, self.positive),
               "lr": self.optimizer.param_groups[-1]["lr"], "time_s": time.perf_counter() - t0}
        self.log.append(row)
        write_log(self.dir / "log.csv", self.log)
        return self._checkpoint(epoch + 1, row, y, prob)

    def _checkpoint(self, epoch: int, row: dict, y: np.ndarray, prob: np.ndarray) -> bool:
        use_auc = self.cfg.optim.monitor == "val_auc" and not math.isnan(row["val_auc"])
        score = row["val_auc"] if use_auc else -row["val_loss"]
        if score > self.best["score"]:
            self.best = {"score": float(score), "epoch": epoch, "bad": 0}
            self._set_threshold(y, prob)
            self.card.training = self._training_info(epoch)
            save_checkpoint(self.dir / "best", self.model, self.card)
        else:
            self.best["bad"] += 1
        self.card.training = self._training_info(epoch)
        save_checkpoint(self.dir / "last", self.model, dataclasses.replace(self.card))
        save_state(self.dir / "last", self.optimizer, self.scheduler,
                   {"epoch": epoch, "best": self.best, "finished": False})
        patience = self.cfg.optim.patience
        return bool(patience) and self.best["bad"] >= patience

    def _set_threshold(self, y: np.ndarray, prob: np.ndarray) -> None:
        if self.positive is None or len(y) == 0:
            return
        self.card.threshold = choose_threshold(y == self.positive, prob[:, self.positive],
                                               self.cfg.optim.threshold)

    def _training_info(self, epoch: int) -> dict:
        cfg = self.cfg
        return {"name": cfg.name, "split": self.split.name, "protocol": cfg.protocol.kind,
                "epochs_run": epoch, "best_epoch": self.best["epoch"], "init": cfg.model.init,
                "label_column": cfg.data.label_column, "seed": cfg.seed,
                "monitor": cfg.optim.monitor, "world_size": self.ctx.info.world_size}

    # ---------------------------------------------------------------- finish
    def _finish(self) -> None:
        self.model.load_state_dict(read_weights(self.dir / "best" / "model.safetensors"))
        frames, metrics = {}, {}
        for part, ds in (("val", self.val_ds), ("test", self.test_ds)):
            rows, y, prob = predict_loader(self.model, self._eval_loader(ds), self.device, amp=self.amp)
            if part == "val":
                self._set_threshold(y, prob)
            frames[part] = self._frame(rows, prob)
            metrics.update(self._metrics(part, rows, y, prob))
        for part, frame in frames.items():
            write_predictions(frame, self.dir / f"predictions_{part}.csv")
        self.card.metrics = metrics
        self.card.data = self.ctx.table.summary(self.cfg.data.label_column, self.split.parts())
        self.card.training = self._training_info(len(self.log))
        save_checkpoint(self.dir / "best", self.model, self.card)
        info = {"epoch": len(self.log), "best": self.best, "finished": True}
        save_state(self.dir / "last", self.optimizer, self.scheduler, info)
        logger.info("%s: best epoch %d, %s", self.dir, self.best["epoch"], metrics)

    def _frame(self, rows: np.ndarray, prob: np.ndarray) -> pd.DataFrame:
        f = self.ctx.table.frame.iloc[rows] if len(rows) else self.ctx.table.frame.iloc[:0]
        labels = f[self.cfg.data.label_column].astype(str).to_numpy()
        if len(rows) == 0:
            prob = np.zeros((0, len(self.cfg.data.classes)))
        return predictions_frame(self.card, f["study_id"].to_numpy(), f["patient_id"].to_numpy(),
                                 prob, labels)

    def _metrics(self, part: str, rows: np.ndarray, y: np.ndarray, prob: np.ndarray) -> dict:
        if len(rows) == 0:
            return {}
        f = self.ctx.table.frame.iloc[rows]
        patients = f["patient_id"].astype(str).to_numpy()
        out = {f"{part}_auc": patient_bootstrap_auc(y, prob, patients, positive=self.positive,
                                                    n_boot=500, seed=self.cfg.seed)}
        sites = f["site"].astype(str).to_numpy()
        if len(set(sites)) > 1:
            out[f"{part}_auc_by_site"] = {s: auc_score(y[sites == s], prob[sites == s], self.positive)
                                          for s in sorted(set(sites))}
        external = np.isin(sites, self.cfg.protocol.test_sites)
        if part == "test" and self.cfg.protocol.kind == "external" and (~external).any():
            for name, mask in (("internal", ~external), ("external", external)):
                out[f"test_auc_{name}"] = patient_bootstrap_auc(
                    y[mask], prob[mask], patients[mask], positive=self.positive, n_boot=500,
                    seed=self.cfg.seed)
        if self.positive is not None:
            called = prob[:, self.positive] >= self.card.threshold
            pos = y == self.positive
            out[f"{part}_sensitivity"] = float(called[pos].mean()) if pos.any() else math.nan
            out[f"{part}_specificity"] = float((~called[~pos]).mean()) if (~pos).any() else math.nan
        return out


@contextlib.contextmanager
def _progress(enabled: bool):
    """A rich progress display with ETA on stderr, or None."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        yield bar

