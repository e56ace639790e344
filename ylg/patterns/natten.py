"""NATTEN's neighborhoods: their masks, and the NATTEN arguments of a step's masks.

`NATTEN <https://natten.org>`_ runs neighborhood attention on 1-D, 2-D and 3-D token
layouts (``na1d``, ``na2d``, ``na3d``) with, per axis, a ``kernel_size``, a ``stride``,
a ``dilation`` and ``is_causal``. Its mask is a product of one mask per axis; along an
axis of side ``n`` (from NATTEN's documentation and the generalized neighborhood
attention paper, arXiv:2504.16922):

* **dilation** ``d``: the positions with the same ``x % d`` form a group of
  ``(n - x % d + d - 1) // d`` positions; a query attends keys of its own group only,
  and everything below happens in group coordinates ``x // d``.
* **stride** ``s``: queries come in groups of ``s`` consecutive ones (``x // s``) that
  share the window of the group's *leader*: its centre query (for an even ``s`` the
  right one of the two) or, causal, its last query; never past the group's end.
* **window**, not causal: the ``kernel_size`` keys starting at
  ``clamp(leader - kernel_size // 2, 0, n_group - kernel_size)``: centred on the
  leader, shifted inwards at the borders, so every query attends exactly
  ``kernel_size`` keys (an even size has one key more before the centre than after).
* **window**, causal: keys at or before the query, and more than
  ``leader - kernel_size`` (fewer keys near the start).

NATTEN takes ``kernel_size <= n``, ``stride <= kernel_size`` and
``dilation * kernel_size <= n`` per axis.

>>> natten_mask_1d(5, 3).astype(int)
array([[1, 1, 1, 0, 0],
       [1, 1, 1, 0, 0],
       [0, 1, 1, 1, 0],
       [0, 0, 1, 1, 1],
       [0, 0, 1, 1, 1]])
>>> from ylg.patterns import load_pattern
>>> natten_arguments(load_pattern("na").with_params(win_i=3, win_j=5).on("8x8"))
{'kernel_size': (3, 5), 'stride': (1, 1), 'dilation': (1, 1), 'is_causal': (False, False)}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ylg.errors import PatternError

if TYPE_CHECKING:
    from ylg.patterns.masks import Masks

#: The NATTEN function for a layout with 1, 2 or 3 axes.
NATTEN_FUNCTIONS = {1: "na1d", 2: "na2d", 3: "na3d"}
#: The arguments :func:`natten_arguments` returns, in NATTEN's order.
NATTEN_ARGUMENTS = ("kernel_size", "stride", "dilation", "is_causal")
#: Largest token count whose masks :func:`natten_arguments` checks pair by pair when a
#: step is not written as an ``and`` of one-axis clauses.
MAX_CHECKED_PAIRS = 1 << 31


def check_natten_axis(
    side: int, kernel_size: int, stride: int = 1, dilation: int = 1, axis: str = "j"
) -> None:
    """Refuse what NATTEN refuses along one axis (one line, naming the axis).

    >>> check_natten_axis(7, 3, dilation=3)
    Traceback (most recent call last):
    ...
    ylg.errors.PatternError: axis j (side 7): NATTEN needs dilation * kernel_size <= side, got 3 * 3
    """
    for name, value in (("kernel_size", kernel_size), ("stride", stride), ("dilation", dilation)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise PatternError(f"axis {axis}: {name} must be a positive integer, got {value!r}")
    where = f"axis {axis} (side {side})"
    if kernel_size > side:
        raise PatternError(f"{where}: NATTEN needs kernel_size <= side, got {kernel_size}")
    if stride > kernel_size:
        raise PatternError(
            f"{where}: NATTEN needs stride <= kernel_size, got {stride} > {kernel_size}"
        )
    if dilation * kernel_size > side:
        raise PatternError(
            f"{where}: NATTEN needs dilation * kernel_size <= side, got {dilation} * {kernel_size}"
        )


def natten_windows(
    side: int, kernel_size: int, stride: int = 1, dilation: int = 1, is_causal: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per position of an axis: its dilation group, and the first and last key of its
    window in group coordinates (key ``y`` is attended when ``y % d`` is the group and
    ``first <= y // d <= last``). Windows are clamped to the group even where NATTEN
    would refuse the arguments (``kernel_size`` larger than the group: the whole group).

    >>> [a.tolist() for a in natten_windows(6, 2, stride=2)]  # blocked: stride = kernel_size
    [[0, 0, 0, 0, 0, 0], [0, 0, 2, 2, 4, 4], [1, 1, 3, 3, 5, 5]]
    """
    x = np.arange(side, dtype=np.int64)
    group = x % dilation
    within = x // dilation
    group_side = (side - group + dilation - 1) // dilation
    if is_causal:
        leader = np.minimum(within // stride * stride + stride - 1, group_side - 1)
        first = np.maximum(leader - kernel_size + 1, 0)
        last = within
    else:
        leader = np.minimum(within // stride * stride + stride // 2, group_side - 1)
        first = np.maximum(np.minimum(leader - kernel_size // 2, group_side - kernel_size), 0)
        last = np.minimum(first + kernel_size - 1, group_side - 1)
    return group, first, last


def natten_mask_1d(
    side: int, kernel_size: int, stride: int = 1, dilation: int = 1, is_causal: bool = False
) -> np.ndarray:
    """NATTEN's mask along one axis: bool ``[side, side]``, ``M[query, key]``.

    >>> natten_mask_1d(4, 2, is_causal=True).astype(int)
    array([[1, 0, 0, 0],
           [1, 1, 0, 0],
           [0, 1, 1, 0],
           [0, 0, 1, 1]])
    """
    group, first, last = natten_windows(side, kernel_size, stride, dilation, is_causal)
    keys = np.arange(side, dtype=np.int64)[None, :]
    within = keys // dilation
    return (
        (keys % dilation == group[:, None]) & (first[:, None] <= within) & (within <= last[:, None])
    )


def natten_mask(
    shape: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int] | None = None,
    dilation: Sequence[int] | None = None,
    is_causal: Sequence[bool] | None = None,
) -> np.ndarray:
    """NATTEN's mask on a token layout (row-major positions), bool ``[n, n]``: the
    Kronecker product of the per-axis masks, first axis first. Checks the arguments
    as NATTEN does.

    >>> bool(natten_mask((2, 3), (2, 3)).all()), natten_mask((4,), (3,)).sum(axis=1).tolist()
    (True, [3, 3, 3, 3])
    """
    ndim = len(shape)
    args = _per_axis(ndim, kernel_size, stride, dilation, is_causal)
    out = np.ones((1, 1), dtype=bool)
    for axis, (side, k, s, d, c) in enumerate(zip(shape, *args)):
        check_natten_axis(side, k, s, d, _axis_name(axis, ndim))
        out = np.kron(out, natten_mask_1d(side, k, s, d, c)).astype(bool)
    return out


def natten_arguments(masks: "Masks", step: int = 0) -> dict[str, tuple[Any, ...]]:
    """The arguments of NATTEN's ``na1d`` / ``na2d`` / ``na3d`` (by the grid's number
    of axes) that give exactly the masks of one step (0-based) of a pattern.

    Found from the masks themselves, not the pattern's name: any step whose mask is a
    NATTEN neighborhood gets its arguments (``na``, ``dilated-na``, ``gna`` and ``sta``
    of the library, ``dense``, patterns of your own), the smallest stride and
    bidirectional where several give the same mask. NATTEN's token layout is the
    grid in row-major order, ylg's positions: ``q.view(B, *grid.shape, heads, dim)``.
    Refused with one line (:class:`PatternError`): queries on another grid than the
    keys, a mask that is no NATTEN neighborhood, arguments NATTEN does not take.

    >>> from ylg.patterns import load_pattern
    >>> gna = load_pattern("gna").with_params(win_j=4, stride_j=2, causal_j=1)
    >>> natten_arguments(gna.on("16"))
    {'kernel_size': (4,), 'stride': (2,), 'dilation': (1,), 'is_causal': (True,)}
    >>> natten_arguments(load_pattern("ltr").on("4x4"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ylg.errors.PatternError: pattern 'ltr', step 1 on 4x4, esa, s=4: no NATTEN arguments ...
    """
    where = f"pattern {masks.pattern.name!r}, step {step + 1} on {masks.describe()}"
    if not masks.square:
        raise PatternError(
            f"{where}: NATTEN attends within one token layout; queries on the"
            f" {masks.query_grid} grid and keys on the {masks.grid} grid are not one"
        )
    masks._check_step(step)
    factors = masks.axis_factors(step)
    separable = factors is not None
    if factors is None:
        factors = _projected_factors(masks, step)
    ndim = masks.grid.ndim
    found = []
    for axis, factor in enumerate(factors):
        dense = factor.toarray() if hasattr(factor, "toarray") else np.asarray(factor)
        try:
            found.append(_infer_axis(dense.astype(bool), _axis_name(axis, ndim)))
        except PatternError as exc:
            raise PatternError(f"{where}: no NATTEN arguments give this mask: {exc}") from None
    args = {name: tuple(values) for name, values in zip(NATTEN_ARGUMENTS, zip(*found))}
    if not separable and not _equal_to_product(masks, step, found):
        raise PatternError(
            f"{where}: no NATTEN arguments give this mask: it is not a product of one"
            " window per axis"
        )
    return args


def natten_function(masks: "Masks") -> str:
    """``na1d``, ``na2d`` or ``na3d``: the NATTEN function for the masks' grid.

    >>> from ylg.patterns import load_pattern
    >>> natten_function(load_pattern("na").on("4x8x8"))
    'na3d'
    """
    return NATTEN_FUNCTIONS[masks.grid.ndim]


def _axis_name(axis: int, ndim: int) -> str:
    return ("t", "i", "j")[3 - ndim + axis]


def _per_axis(
    ndim: int,
    kernel_size: Sequence[int],
    stride: Sequence[int] | None,
    dilation: Sequence[int] | None,
    is_causal: Sequence[bool] | None,
) -> list[tuple[Any, ...]]:
    out = []
    for name, values, default in (
        ("kernel_size", kernel_size, None),
        ("stride", stride, 1),
        ("dilation", dilation, 1),
        ("is_causal", is_causal, False),
    ):
        if values is None:
            values = (default,) * ndim
        values = tuple(values)
        if len(values) != ndim:
            raise PatternError(f"{name}: give {ndim} values (one per axis), not {values!r}")
        out.append(values)
    return out


def _infer_axis(factor: np.ndarray, axis: str) -> tuple[int, int, int, bool]:
    """``(kernel_size, stride, dilation, is_causal)`` whose 1-D NATTEN mask is ``factor``."""
    side = factor.shape[0]
    counts = factor.sum(axis=1)
    if (counts == 0).any():
        raise PatternError(f"axis {axis}: a query attends no key along it")
    rows, cols = np.nonzero(factor)
    gaps = np.abs(rows - cols)
    gaps = gaps[gaps > 0]
    dilation = int(np.gcd.reduce(gaps)) if len(gaps) else 1
    kernel = int(counts.max())
    if np.any((rows - cols) % dilation):
        raise PatternError(f"axis {axis}: keys of a query are not one dilation group")
    x = np.arange(side)
    first_key = np.argmax(factor, axis=1)
    last_key = side - 1 - np.argmax(factor[:, ::-1], axis=1)
    group = x % dilation
    contiguous = (last_key - first_key) // dilation + 1 == counts
    same_group = first_key % dilation == group
    if not (contiguous.all() and same_group.all()):
        raise PatternError(f"axis {axis}: the keys of a query are not one window")
    first, last = first_key // dilation, last_key // dilation
    check_natten_axis(side, kernel, 1, dilation, axis)
    for causal in (False, True):
        for stride in range(1, kernel + 1):
            _, f, ell = natten_windows(side, kernel, stride, dilation, causal)
            if np.array_equal(f, first) and np.array_equal(ell, last):
                return kernel, stride, dilation, causal
    raise PatternError(
        f"axis {axis}: no kernel_size, stride and is_causal give its windows"
        f" (side {side}, {kernel} keys at most, dilation {dilation})"
    )


def _projected_factors(masks: "Masks", step: int) -> list[np.ndarray]:
    """Per axis, the keys (projected on that axis) of the queries on the axis through
    cell 0: the factors if the step is a product of per-axis masks."""
    grid = masks.grid
    factors = []
    for axis, side in enumerate(grid.shape):
        factor = np.zeros((side, side), dtype=bool)
        others = tuple(a for a in range(grid.ndim) if a != axis)
        for x in range(side):
            cell = [0] * grid.ndim
            cell[axis] = x
            q = grid.position(*cell)
            row = masks.rows(step, q, q + 1)[0].reshape(grid.shape)
            factor[x] = row.any(axis=others) if others else row
        factors.append(factor)
    return factors


def _equal_to_product(masks: "Masks", step: int, found: list[tuple[int, int, int, bool]]) -> bool:
    """Whether the step's mask is the NATTEN mask of ``found``, block by block."""
    import scipy.sparse as sp

    if masks.nq * masks.nk > MAX_CHECKED_PAIRS:
        raise PatternError(
            f"{masks.describe()}: the step is not written per axis, and checking its"
            f" {masks.nq * masks.nk:,} pairs one by one is too slow; write it as an"
            " 'and' of one-axis clauses"
        )
    product = sp.csr_array(np.ones((1, 1), dtype=bool))
    for side, (k, s, d, c) in zip(masks.grid.shape, found):
        product = sp.kron(product, sp.csr_array(natten_mask_1d(side, k, s, d, c)), format="csr")
    product = product.astype(bool)
    for start, stop in masks._blocks():
        block = product[start:stop].toarray()
        if not np.array_equal(block, masks.rows(step, start, stop)):
            return False
    return True
