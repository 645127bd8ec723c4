"""Mixed precision: the CUDA path is wired (float16 autocast + GradScaler) and is a no-op on
the CPU, where training and prediction with ``amp=True`` give what ``amp=False`` gives.

No GPU is available to the test suite; this checks the wiring, not CUDA numerics.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from osteoscan.training.loop import autocast, predict_loader, train_epoch


@pytest.mark.filterwarnings("ignore:CUDA is not available")  # expected without a GPU
def test_autocast_is_float16_on_cuda_and_a_no_op_elsewhere():
    ctx = autocast(torch.device("cuda"), True)
    assert isinstance(ctx, torch.autocast) and ctx.fast_dtype == torch.float16
    assert not isinstance(autocast(torch.device("cuda"), False), torch.autocast)
    assert not isinstance(autocast(torch.device("cpu"), True), torch.autocast)


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 2, 8, 4, generator=g)
    y = (x[:, 0].mean(dim=(1, 2)) > 0).long()
    return [(x[i:i + 4], y[i:i + 4], torch.arange(i, i + 4)) for i in range(0, 16, 4)]


def _fit(amp: bool) -> tuple[float, np.ndarray]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    scaler = torch.amp.GradScaler("cpu", enabled=False)  # what fit.py builds off CUDA
    loss = train_epoch(model, _data(), opt, sched, nn.CrossEntropyLoss(), torch.device("cpu"),
                       amp=amp, scaler=scaler)
    _, _, prob = predict_loader(model, _data(), torch.device("cpu"), amp=amp)
    return loss, prob


def test_amp_flag_on_cpu_trains_and_predicts_exactly_as_without():
    loss_amp, prob_amp = _fit(True)
    loss, prob = _fit(False)
    assert np.isfinite(loss_amp) and loss_amp == loss
    np.testing.assert_array_equal(prob_amp, prob)
    assert prob.shape == (16, 2) and prob.dtype == np.float32
