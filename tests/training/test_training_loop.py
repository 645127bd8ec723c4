"""The one training loop: tuple inputs (the lesion classifier's patch, context, tab) and fit_epochs."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset

from osteoscan.training.loop import fit_epochs


class _TwoInputs(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = torch.nn.Linear(3, 1), torch.nn.Linear(2, 1)

    def forward(self, x1, x2):
        return (self.a(x1) + self.b(x2))[:, 0]


def test_fit_epochs_trains_a_two_input_model_with_a_decaying_lr():
    torch.manual_seed(0)
    x1, x2 = torch.randn(64, 3), torch.randn(64, 2)
    y = ((x1[:, 0] - x2[:, 1]) > 0).float()
    data = TensorDataset(x1, x2, y)
    loader = DataLoader(data, batch_size=16, shuffle=True,
                        collate_fn=lambda items: ((torch.stack([i[0] for i in items]),
                                                   torch.stack([i[1] for i in items])),
                                                  torch.stack([i[2] for i in items]), None))
    model = _TwoInputs()
    seen = []
    history = fit_epochs(model, loader, torch.nn.BCEWithLogitsLoss(), epochs=30, lr=0.05,
                         on_epoch=lambda e, n, loss: seen.append((e, n)))
    assert len(history) == 30 and seen[-1] == (30, 30)
    assert history[-1] < 0.5 * history[0] and not model.training
