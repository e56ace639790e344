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

A layer it normalises pickles whole: ``torch.save(model)`` / ``torch.load(path,
weights_only=False)``, ``copy.copy`` and ``copy.deepcopy`` work on any model built of
them. Torch's parametrize refuses to pickle a parametrized module (its class is made on
the fly, so pickle cannot find it); :func:`spectral_norm` gives that class a
``__reduce_ex__`` that pickles the module as its own class (``nn.Conv2d``, ...) plus
its ``__dict__``, and :func:`_rebuild_parametrized` parametrizes it again on load, with
the saved ``parametrizations`` (``original``, ``_u``, ``_v``) put back as they were.
Nothing else changes: the same class, property and submodules as torch's, so the
forward pass, state dicts, ``torch.compile`` and DataParallel are untouched.

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
>>> import io
>>> buffer = io.BytesIO()
>>> torch.save(layer, buffer)
>>> _ = buffer.seek(0)
>>> again = torch.load(buffer, weights_only=False)
>>> torch.equal(again.parametrizations.weight[0]._u, layer.parametrizations.weight[0]._u)
True
"""

from __future__ import annotations

from typing import Any

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

    The module stays picklable (``torch.save(module)``, ``copy.copy``), see the module
    docstring.

    >>> import pickle
    >>> from torch import nn
    >>> conv = spectral_norm(nn.Conv2d(8, 4, 1))
    >>> type(conv.parametrizations.weight[0]).__name__
    'SpectralNorm'
    >>> type(pickle.loads(pickle.dumps(conv))).__name__
    'ParametrizedConv2d'
    """
    parametrize.register_parametrization(module, "weight", SpectralNorm(module.weight))
    _allow_pickling(module)
    return module


def _allow_pickling(module: nn.Module) -> None:
    """Give the class torch's parametrize made for ``module`` our ``__reduce_ex__``.

    That class is made for this module alone (and the copies deepcopy makes of it), so
    no other module changes. pickle looks ``__reduce_ex__`` up on the class before the
    ``__getstate__`` with which torch refuses; ``copy.deepcopy`` keeps using torch's
    ``__deepcopy__``.

    >>> from torch import nn
    >>> layer = nn.Linear(2, 2)
    >>> _ = parametrize.register_parametrization(layer, "weight", nn.Identity())
    >>> _allow_pickling(layer)
    >>> type(layer).__reduce_ex__ is _reduce_parametrized
    True
    """
    cls = type(module)
    if cls is not parametrize.type_before_parametrizations(module):
        cls.__reduce_ex__ = _reduce_parametrized  # type: ignore[method-assign, assignment]


def _reduce_parametrized(self: nn.Module, protocol: int) -> tuple[Any, ...]:
    """``__reduce_ex__`` of a parametrized module: its plain class, names and state.

    The state is what the plain class's ``__getstate__`` gives (``nn.Module``'s: a copy
    of ``__dict__``), ``parametrizations`` included; pickle sets it after the module is
    made, so modules that refer to each other pickle too.

    >>> import pickle
    >>> from torch import nn
    >>> layer = spectral_norm(nn.Linear(2, 2))
    >>> rebuild, args, state = _reduce_parametrized(layer, pickle.DEFAULT_PROTOCOL)
    >>> args
    (<class 'torch.nn.modules.linear.Linear'>, ('weight',))
    """
    cls = parametrize.type_before_parametrizations(self)
    names = tuple(self.parametrizations.keys())
    return _rebuild_parametrized, (cls, names), cls.__getstate__(self)


def _rebuild_parametrized(cls: type[nn.Module], names: tuple[str, ...]) -> nn.Module:
    """An empty ``cls`` parametrized on ``names``, ready for the pickled state.

    Torch's :func:`~torch.nn.utils.parametrize.register_parametrization` (``unsafe``:
    nothing is run) makes the class and properties, on placeholder tensors; the state
    pickle sets next (``__setstate__``) replaces every dict of the module, so the saved
    ``parametrizations`` (with ``original``, ``_u`` and ``_v``) come back in place of
    the placeholders, in their place among the submodules. Saved models name this
    function (``ylg.attention.spectral_norm._rebuild_parametrized``): keep its name.

    >>> from torch import nn
    >>> empty = _rebuild_parametrized(nn.Linear, ("weight",))
    >>> type(empty).__name__, list(empty.parametrizations)
    ('ParametrizedLinear', ['weight'])
    """
    module = cls.__new__(cls)
    nn.Module.__init__(module)
    for name in names:
        module.register_buffer(name, torch.empty(0))
        parametrize.register_parametrization(module, name, nn.Identity(), unsafe=True)
    _allow_pickling(module)
    return module
