"""The exponential moving average of the generator, the one that samples are drawn from."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Exponential moving average of a model's parameters; buffers are copied.

    Until ``start`` steps have passed, the average simply copies the model.

    >>> m = nn.Linear(1, 1, bias=False); ema = EMA(m, decay=0.5, start=0)
    >>> with torch.no_grad(): _ = m.weight.fill_(1.0)
    >>> _ = nn.init.zeros_(ema.model.weight); ema.update(m, step=1); ema.model.weight.item()
    0.5
    """

    def __init__(self, model: nn.Module, decay: float, start: int) -> None:
        self.model = copy.deepcopy(model).eval()
        self.model.requires_grad_(False)
        self.decay, self.start = decay, start

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        decay = self.decay if step >= self.start else 0.0
        ema_params = dict(self.model.named_parameters())
        for name, param in model.named_parameters():
            ema_params[name].lerp_(param.detach(), 1.0 - decay)
        ema_buffers = dict(self.model.named_buffers())
        for name, buf in model.named_buffers():
            ema_buffers[name].copy_(buf)
