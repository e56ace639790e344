"""Spectral normalisation that torch_xla can trace: one implementation for every ylg layer.

:class:`SpectralNorm` is torch's ``parametrizations.spectral_norm`` (the same random
start, 15 power iterations at build, one per training forward, buffers ``_u`` and
``_v``) with ``sigma = sum(u * W v)`` in place of ``torch.vdot``, which torch_xla runs
on the host and which would cut the XLA graph at every layer. It registers under the
same names as torch's, so state dicts written with either load into the other
(``<layer>.parametrizations.weight.original``, ``...weight.0._u``, ``...weight.0._v``).

Apply it when a layer is built, on the CPU, before the model moves to its device
(torch_xla needs it that way). The SAGAN layers (:mod:`ylg.gan.models.layers`) and the
attention blocks (:mod:`ylg.attention.layers`) both use it.

>>> import torch
>>> from torch import nn
>>> layer = spectral_norm(nn.Linear(4, 3))
>>> for key in sorted(layer.state_dict()):
...     print(key)
bias
parametrizations.weight.0._u
parametrizations.weight.0._v
parametrizations.weight.original
>>> layer(torch.zeros(2, 4)).shape
torch.Size([2, 3])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize


class SpectralNorm(nn.Module):
    """Parametrization ``W -> W / sigma(W)``, sigma by power iteration (``_u``, ``_v`` buffers).

    >>> import torch
    >>> weight = torch.diag(torch.tensor([3.0, 1.0]))
    >>> round(float(torch.linalg.matrix_norm(SpectralNorm(weight)(weight), ord=2)), 4)
    1.0
    """

    def __init__(self, weight: torch.Tensor, eps: float = 1e-12) -> None:
        super().__init__()
        self.eps = eps
        mat = weight.detach().flatten(1)
        u = F.normalize(mat.new_empty(mat.shape[0]).normal_(0, 1), dim=0, eps=eps)
        v = F.normalize(mat.new_empty(mat.shape[1]).normal_(0, 1), dim=0, eps=eps)
        self.register_buffer("_u", u)
        self.register_buffer("_v", v)
        self._power_method(mat, 15)

    @torch.no_grad()
    def _power_method(self, mat: torch.Tensor, iterations: int) -> None:
        for _ in range(iterations):  # in place: DataParallel replicas share these buffers
            self._u.copy_(F.normalize(torch.mv(mat, self._v), dim=0, eps=self.eps))
            self._v.copy_(F.normalize(torch.mv(mat.t(), self._u), dim=0, eps=self.eps))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        mat = weight.flatten(1)
        if self.training:
            self._power_method(mat, 1)
        u, v = self._u.clone(), self._v.clone()  # autograd may need them after the next update
        return weight / (u * torch.mv(mat, v)).sum()

    def right_inverse(self, value: torch.Tensor) -> torch.Tensor:
        return value


def spectral_norm(module: nn.Module) -> nn.Module:
    """Spectrally normalise ``module.weight`` (first dimension = outputs); returns ``module``.

    >>> from torch import nn
    >>> conv = spectral_norm(nn.Conv2d(8, 4, 1))
    >>> type(conv.parametrizations.weight[0]).__name__
    'SpectralNorm'
    """
    parametrize.register_parametrization(module, "weight", SpectralNorm(module.weight))
    return module
