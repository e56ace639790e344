"""k-token flow: can every set of k inputs send k units of flow to every set of k outputs?

The paper's stronger requirement (section 9.5). With unit capacity per token per
layer (see :mod:`ylg.ifg.flow`), ``k = 1`` is Full Information. By Menger's theorem
a pair of k-sets ``(A, B)`` carries less than k units exactly when some set ``C`` of
fewer than k tokens (of any layer, ``A`` and ``B`` included) meets every path from
``A`` to ``B``. The exact mode walks those small cuts: for each ``C`` it computes
reachability without ``C`` and looks for k inputs and k outputs that are then fully
disconnected. The sampled mode (for graphs too large for that) runs max flows on
random pairs of k-sets drawn with a stated seed and reports the worst it met: it can
find a failure but cannot prove the property, so a sample without a failure is
undecided (``holds`` is ``None``), never "holds".

>>> from ylg.patterns import load_pattern
>>> star = load_pattern("star").on("3x3")
>>> k_flow(star, 1).holds, k_flow(star, 2).holds
(True, False)
>>> w = k_flow(star, 2).worst[0]
>>> w.flow, w.bottleneck
(1, [(1, 0, (0, 0))])
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ylg.errors import YlgError
from ylg.ifg.flow import FlowNetwork, Token
from ylg.ifg.layers import layer_grids, step_matrices
from ylg.ifg.reach import check_arguments, full_information
from ylg.patterns import Grid, Masks
from ylg.progress import progress as progress_bar

#: Largest estimated work (cut sets x input sets x outputs x inputs) of an automatic
#: exact check; beyond it :func:`k_flow` samples.
EXACT_BUDGET = 2 * 10**8
#: Largest estimated work of an exact check even when asked for one.
EXACT_LIMIT = 100 * EXACT_BUDGET
DEFAULT_SAMPLES = 200
#: Most samples one sampled check runs (each is a max flow; a million take hours already).
MAX_SAMPLES = 10**6
DEFAULT_SEED = 0
#: Largest sampling seed (numpy's generators take any non-negative integer; this keeps
#: seeds to what a JSON reader and every other ylg command accept).
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class Witness:
    """A pair of token sets and the flow between them, with a minimum cut."""

    inputs: list[tuple[int, tuple[int, int]]]
    outputs: list[tuple[int, tuple[int, int]]]
    flow: int
    bottleneck: list[Token]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "inputs": [{"position": p, "cell": list(c)} for p, c in self.inputs],
            "outputs": [{"position": p, "cell": list(c)} for p, c in self.outputs],
            "flow": self.flow,
            "bottleneck": [
                {"layer": layer, "position": p, "cell": list(c)} for layer, p, c in self.bottleneck
            ],
        }


@dataclass(frozen=True)
class KFlow:
    """The verdict of :func:`k_flow`.

    ``exact``: every pair of k-sets was covered (``pairs`` of them); otherwise
    ``samples`` random pairs drawn with ``seed`` were tried and ``failing`` of them
    carried less than k. ``min_flow`` is the smallest flow met, ``worst`` the pairs
    that carried it. ``holds`` is ``True`` or ``False`` when decided, ``None`` when a
    sample met no failure (a sample can refute the property, never prove it).
    """

    k: int
    holds: bool | None
    exact: bool
    min_flow: int
    pairs: int
    worst: list[Witness]
    seconds: float
    samples: int | None = None
    seed: int | None = None
    failing: int | None = None
    pattern: str = ""
    layout: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "property": f"{self.k}-token flow",
            "k": self.k,
            "holds": self.holds,
            "verdict": self.verdict,
            "exact": self.exact,
            "min_flow": self.min_flow,
            "pairs": self.pairs,
            "samples": self.samples,
            "seed": self.seed,
            "failing": self.failing,
            "worst": [w.to_dict() for w in self.worst],
            "seconds": self.seconds,
            "pattern": self.pattern,
            "layout": self.layout,
        }

    @property
    def verdict(self) -> str:
        """``holds``, ``does not hold`` or ``undecided`` (a sample without a failure)."""
        return {True: "holds", False: "does not hold", None: "undecided"}[self.holds]


def exact_work(masks: Masks, k: int) -> int:
    """Estimated work of the exact check (compare with :data:`EXACT_BUDGET`).

    >>> from ylg.patterns import load_pattern
    >>> exact_work(load_pattern("ltr").on("3x3"), 2)
    20412
    """
    tokens = sum(g.size for g in layer_grids(masks))
    cuts = sum(math.comb(tokens, c) for c in range(k))
    return cuts * math.comb(masks.nk, k - 1) * masks.nk * masks.nq


def k_flow(
    masks: Masks,
    k: int,
    *,
    exact: bool | None = None,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    examples: int = 3,
    progress: bool = False,
) -> KFlow:
    """Whether every k inputs can send k units of flow to every k outputs.

    ``exact=None`` decides by :func:`exact_work`; ``k = 1`` is always answered exactly
    by :func:`ylg.ifg.full_information`.

    >>> from ylg.patterns import load_pattern
    >>> r = k_flow(load_pattern("axial").on("3x3"), 2)
    >>> r.holds, r.exact, r.min_flow
    (False, True, 1)
    """
    check_arguments(masks, examples)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise YlgError(f"k must be a positive integer, got {k!r}")
    if k > min(masks.nk, masks.nq):
        raise YlgError(f"k = {k} is more than the {min(masks.nk, masks.nq)} tokens of a layer")
    if (
        isinstance(samples, bool)
        or not isinstance(samples, (int, np.integer))
        or not 1 <= samples <= MAX_SAMPLES
    ):
        raise YlgError(f"the number of samples must be from 1 to {MAX_SAMPLES}, got {samples!r}")
    if (
        isinstance(seed, bool)
        or not isinstance(seed, (int, np.integer))
        or not 0 <= seed <= MAX_SEED
    ):
        raise YlgError(f"the seed must be an integer from 0 to {MAX_SEED}, got {seed!r}")
    start = time.perf_counter()
    grids = layer_grids(masks)
    sampled: dict[str, Any] = {}
    if k == 1:
        fi = full_information(masks, examples=examples, progress=progress)
        worst = [Witness([(i, ic)], [(o, oc)], 0, []) for i, ic, o, oc in fi.examples]
        exact, min_flow = True, 1 if fi.holds else 0
    else:
        work = exact_work(masks, k)
        if exact is None:
            exact = work <= EXACT_BUDGET
        elif exact and work > EXACT_LIMIT:
            raise YlgError(
                f"an exact {k}-token flow check of {masks.describe()} is too large"
                f" (about {work:.1e} operations); sample instead"
            )
        if exact:
            min_flow, worst = _exact(masks, k, grids, examples, progress)
        else:
            min_flow, worst, failing = _sampled(masks, k, grids, samples, seed, examples, progress)
            sampled = {"samples": samples, "seed": seed, "failing": failing}
    return KFlow(
        k=k,
        holds=min_flow >= k if exact or min_flow < k else None,
        exact=exact,
        min_flow=min_flow,
        pairs=math.comb(masks.nk, k) * math.comb(masks.nq, k),
        worst=worst,
        seconds=time.perf_counter() - start,
        pattern=masks.pattern.name,
        layout=masks.describe(),
        **sampled,
    )


def _cuts(offsets: list[int], k: int) -> Iterator[tuple[int, tuple[int, ...]]]:
    """Every set of fewer than k tokens, smallest first, as (size, token numbers)."""
    for size in range(k):
        for cut in itertools.combinations(range(offsets[-1]), size):
            yield size, cut


def _exact(
    masks: Masks, k: int, grids: list[Grid], examples: int, progress: bool
) -> tuple[int, list[Witness]]:
    mats = [m.toarray().astype(np.float32) for m in step_matrices(masks)]
    offsets = np.concatenate([[0], np.cumsum([g.size for g in grids])]).tolist()
    total = sum(math.comb(offsets[-1], c) for c in range(k))
    found: list[Witness] = []
    seen: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
    found_size = k
    cuts = _cuts(offsets, k)
    if progress:
        cuts = progress_bar(cuts, total=total, desc=f"{k}-token cuts", unit="cut", leave=False)
    for size, cut in cuts:
        if size > found_size:
            break
        for inputs, outputs in _separated(mats, offsets, cut, k, max(1, examples - len(found))):
            if (tuple(inputs), tuple(outputs)) in seen:
                continue
            seen.add((tuple(inputs), tuple(outputs)))
            tokens = [_token(offsets, grids, t) for t in cut]
            found.append(
                Witness(
                    [(a, grids[0].cell(a)) for a in inputs],
                    [(b, grids[-1].cell(b)) for b in outputs],
                    size,
                    tokens,
                )
            )
            found_size = size
        if found and len(found) >= examples:
            break
    return found_size, found[: max(0, examples)]


def _token(offsets: list[int], grids: list[Grid], t: int) -> Token:
    layer = int(np.searchsorted(offsets, t, side="right")) - 1
    pos = t - offsets[layer]
    return layer, pos, grids[layer].cell(pos)


def _separated(
    mats: list[np.ndarray], offsets: list[int], cut: tuple[int, ...], k: int, limit: int
) -> list[tuple[list[int], list[int]]]:
    """Up to ``limit`` pairs (k inputs, k outputs) with no path avoiding ``cut``."""
    keep = [np.ones(offsets[i + 1] - offsets[i], dtype=np.float32) for i in range(len(mats) + 1)]
    for t in cut:
        layer = int(np.searchsorted(offsets, t, side="right")) - 1
        keep[layer][t - offsets[layer]] = 0
    reach = mats[0] * keep[0][None, :]
    for i, m in enumerate(mats[1:], 1):
        reach = np.minimum((m * keep[i][None, :]) @ reach, 1)
    blocked = (reach * keep[-1][:, None]) == 0  # [outputs, inputs]
    n_in = blocked.shape[1]
    out: list[tuple[list[int], list[int]]] = []
    for rest in itertools.combinations(range(n_in), k - 1):
        common = blocked[:, list(rest)].all(axis=1)
        if common.sum() < k:
            continue
        counts = common.astype(np.float32) @ blocked
        for a in np.flatnonzero(counts >= k):
            if rest and a <= rest[-1]:
                continue
            outputs = np.flatnonzero(common & blocked[:, a])[:k]
            out.append(([*rest, int(a)], outputs.tolist()))
            if len(out) >= limit:
                return out
    return out


def _sampled(
    masks: Masks,
    k: int,
    grids: list[Grid],
    samples: int,
    seed: int,
    examples: int,
    progress: bool,
) -> tuple[int, list[Witness], int]:
    net = FlowNetwork(masks)
    rng = np.random.default_rng(seed)
    min_flow, failing = k, 0
    worst: list[Witness] = []
    draws = range(samples)
    if progress:
        draws = progress_bar(draws, desc=f"{k}-token flow samples", unit="pair", leave=False)
    for _ in draws:
        inputs = np.sort(rng.choice(masks.nk, size=k, replace=False)).tolist()
        outputs = np.sort(rng.choice(masks.nq, size=k, replace=False)).tolist()
        flow = net.max_flow(inputs, outputs)
        if flow.value < k:
            failing += 1
        if flow.value < min_flow:
            min_flow, worst = flow.value, []
        if flow.value == min_flow and flow.value < k and len(worst) < examples:
            worst.append(
                Witness(
                    [(a, grids[0].cell(a)) for a in inputs],
                    [(b, grids[-1].cell(b)) for b in outputs],
                    flow.value,
                    flow.bottleneck,
                )
            )
    return min_flow, worst, failing
