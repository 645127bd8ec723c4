"""Resumable training state without pickle: tensors in safetensors, the rest in JSON.

``state.safetensors`` holds the optimizer's per-parameter tensors and torch's RNG state;
``state.json`` holds the optimizer's hyper-parameters, the LR scheduler's state, the epoch,
early-stopping bookkeeping and numpy/python RNG states.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from osteoscan.artefacts import atomic_write, atomic_write_text
from osteoscan.errors import ModelError

STATE_TENSORS = "state.safetensors"
STATE_JSON = "state.json"


def _flatten_optimizer(opt_state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, scalars = {}, {}
    for pid, entries in opt_state["state"].items():
        for name, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"optim.{pid}.{name}"] = value.detach().cpu().contiguous().clone()
            else:
                scalars[f"{pid}.{name}"] = value
    return tensors, {"param_groups": opt_state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = value
    for key, value in meta["scalars"].items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def save_state(
    directory: Path, optimizer: torch.optim.Optimizer, scheduler: Any, info: dict
) -> None:
    """Write the training state next to a checkpoint (atomically).

    Args:
        directory: checkpoint folder (usually ``last/``).
        optimizer: its state is saved.
        scheduler: an LR scheduler with a JSON-serialisable ``state_dict`` (LambdaLR's is,
            once the lambdas are dropped).
        info: JSON-ready bookkeeping (epoch, best metric, patience counter, ...).
    """
    tensors, opt_meta = _flatten_optimizer(optimizer.state_dict())
    tensors["rng.torch"] = torch.get_rng_state()
    sched = {k: v for k, v in scheduler.state_dict().items() if k != "lr_lambdas"}
    np_state = np.random.get_state()
    meta = {
        "info": info, "optimizer": opt_meta, "scheduler": sched,
        "rng": {"python": list(random.getstate()[1]), "python_pos": random.getstate()[2],
                "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]]},
    }
    atomic_write(directory / STATE_TENSORS, lambda tmp: save_file(tensors, str(tmp)))
    atomic_write_text(directory / STATE_JSON, json.dumps(meta))


def load_state(directory: Path, optimizer: torch.optim.Optimizer, scheduler: Any) -> dict:
    """Restore optimizer, scheduler and RNG states saved by :func:`save_state`.

    Returns:
        The ``info`` mapping given to :func:`save_state`.

    Raises:
        ModelError: the state files are missing or unreadable.
    """
    try:
        meta = json.loads((directory / STATE_JSON).read_text())
        tensors = load_file(str(directory / STATE_TENSORS))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{directory.name}: no resumable state here ({exc})") from exc
    optimizer.load_state_dict(_unflatten_optimizer(tensors, meta["optimizer"]))
    sched = scheduler.state_dict()
    sched.update(meta["scheduler"])
    scheduler.load_state_dict(sched)
    torch.set_rng_state(tensors["rng.torch"])
    rng = meta["rng"]
    random.setstate((3, tuple(rng["python"]), rng["python_pos"]))
    np_state = rng["numpy"]
    np.random.set_state((np_state[0], np.array(np_state[1], dtype=np.uint32), *np_state[2:]))
    return meta["info"]
