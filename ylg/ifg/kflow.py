"""k-token flow: can every set of k inputs send k units of flow to every set of k outputs?

The paper's stronger requirement (section 9.5). With unit capacity per token per
layer (see :mod:`ylg.ifg.flow`), ``k = 1`` is Full Information. By Menger's theorem
a pair of k-sets ``(A, B)`` carries less than k units exactly when some set ``C`` of
fewer than k tokens (of any layer, ``A`` and ``B`` included) meets every path from
``A`` to ``B``. The exact mode walks those small cuts: for each ``C`` it computes
reachability without ``C`` and looks for k inputs and k outputs that are then fully
disconnected. For ``k = 2`` a much faster exact check (:func:`_exact_two`) finds the
one-token cuts from a count, for every (output, input) pair, of the tokens of each
inner layer on its paths. The sampled mode (for graphs too large for that) runs max
flows on random pairs of k-sets drawn with a stated seed and reports the worst it
met: it can find a failure but cannot prove the property, so a sample without a
failure is undecided (``holds`` is ``None``), never "holds".

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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ylg.errors import YlgError
from ylg.ifg.bits import pack_dense, popcount, words
from ylg.ifg.flow import FlowNetwork, Token
from ylg.ifg.layers import layer_grids, step_matrices
from ylg.ifg.reach import check_arguments, full_information, reach_matrices
from ylg.patterns import Grid, Masks
from ylg.progress import progress as progress_bar

#: Largest estimated work (cut sets x input sets x outputs x inputs) of an automatic
#: exact check; beyond it :func:`k_flow` samples.
EXACT_BUDGET = 2 * 10**8
#: Largest estimated work of an exact check even when asked for one.
EXACT_LIMIT = 100 * EXACT_BUDGET
#: The same two for the exact 2-token check, whose work :func:`exact_work` estimates in
#: about nanoseconds on one core: a few seconds (two-step patterns up to 64x64), and
#: about a minute (128x128 takes 10 to 15 s and 1.2 GiB; 256x256 would need 16 times that).
TWO_FLOW_BUDGET = 5 * 10**9
TWO_FLOW_LIMIT = 10 * TWO_FLOW_BUDGET
#: Estimated cost (nanoseconds) of one (output, input) pair in a pass of the 2-token
#: check, of one entry a sparse product adds up, of one multiply-add of a dense one.
PAIR_COST = 20
SPARSE_COST = 10
DENSE_COST = 0.02
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
    """Estimated work of the exact check: for ``k = 2`` of the one-token-cut search
    (compare with :data:`TWO_FLOW_BUDGET`), for larger ``k`` of the walk over token
    sets (cut sets x input sets x outputs x inputs; compare with :data:`EXACT_BUDGET`).

    >>> from ylg.patterns import load_pattern
    >>> exact_work(load_pattern("ltr").on("3x3"), 3)
    1105164
    >>> [exact_work(load_pattern("ltr").on(g), 2) <= TWO_FLOW_BUDGET for g in ("64x64", "128x128")]
    [True, False]
    """
    if k == 2:
        return _two_work(masks)
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

    ``exact=None`` decides by :func:`exact_work` (``exact=False`` samples, unless there
    are no more pairs of k-sets than ``samples``: then all are checked, exactly); ``k = 1``
    is always answered exactly
    by :func:`ylg.ifg.full_information`, ``k = 2`` exactly by one-token cuts (see
    :func:`_exact_two`) up to 64x64 or so.

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
    pairs = math.comb(masks.nk, k) * math.comb(masks.nq, k)
    if k == 1:
        fi = full_information(masks, examples=examples, progress=progress)
        worst = [Witness([(i, ic)], [(o, oc)], 0, []) for i, ic, o, oc in fi.examples]
        exact, min_flow = True, 1 if fi.holds else 0
    else:
        # The 2-token check and its estimate share the step matrices (built once).
        mats = step_matrices(masks) if k == 2 else None
        work = _two_work(masks, mats) if k == 2 else exact_work(masks, k)
        budget, limit = (TWO_FLOW_BUDGET, TWO_FLOW_LIMIT) if k == 2 else (EXACT_BUDGET, EXACT_LIMIT)
        if exact is None:
            exact = work <= budget
        elif not exact and pairs <= samples and work <= limit:
            exact = True  # a sample as large as the pairs is better checked pair by pair
        elif exact and work > limit:
            raise YlgError(
                f"an exact {k}-token flow check of {masks.describe()} is too large"
                f" (estimated work {work:.1e}, the limit {limit:.0e}); sample instead"
            )
        if exact and k == 2:
            min_flow, worst = _exact_two(masks, examples=examples, progress=progress, mats=mats)
        elif exact:
            min_flow, worst = _exact(masks, k, grids, examples, progress)
        else:
            min_flow, worst, failing = _sampled(masks, k, grids, samples, seed, examples, progress)
            sampled = {"samples": samples, "seed": seed, "failing": failing}
    return KFlow(
        k=k,
        holds=min_flow >= k if exact or min_flow < k else None,
        exact=exact,
        min_flow=min_flow,
        pairs=pairs,
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


# -- 2-token flow ------------------------------------------------------------------------

#: One 2-token witness: (2 inputs, 2 outputs, bottleneck token numbers).
Pair2 = tuple[tuple[int, int], tuple[int, int], tuple[int, ...]]


def _two_work(masks: Masks, mats: "list[sp.csr_array] | None" = None) -> int:
    """Estimated work of :func:`_exact_two` (about nanoseconds on one core; compare with
    :data:`TWO_FLOW_BUDGET`): the products that count, for each (output, input) pair,
    the tokens of each inner layer on its paths, and a few passes over those pairs.

    >>> from ylg.patterns import load_pattern
    >>> [_two_work(load_pattern("axial").on(g)) // 10**6 for g in ("16x16", "32x32")]
    [2, 53]
    """
    mats = step_matrices(masks) if mats is None else mats
    pairs = masks.nq * masks.nk
    edges = sum(m.nnz for m in mats)
    work = PAIR_COST * pairs + edges * words(masks.nk)
    for layer in range(1, len(mats)):
        dense = DENSE_COST * pairs * mats[layer - 1].shape[0]
        if len(mats) == 2:
            work += min(dense, SPARSE_COST * _product_size(mats[0], mats[1]))
        else:  # the reach matrices into and out of the layer, then a dense product
            work += dense + edges * (words(masks.nk) + words(masks.nq))
        work += PAIR_COST * pairs
    return int(work)


def _exact_two(
    masks: Masks,
    *,
    examples: int = 3,
    progress: bool = False,
    mats: "list[sp.csr_array] | None" = None,
) -> tuple[int, list[Witness]]:
    """Exact 2-token flow: the smallest flow (0, 1 or 2) of a pair of 2-sets, and up to
    ``examples`` pairs that carry it, by bottleneck token as in the general check.

    A pair ``({a, b}, {c, d})`` carries less than 2 units when one token ``v`` meets
    every path between them, and 0 when it has no path at all: a 2x2 block of missing
    entries in the reach matrix. Otherwise ``v`` is an input (the other input reaches
    neither output), an output, or a token of an inner layer ``l``. Every path from the
    inputs to the outputs passes exactly one token of each layer, so all the paths
    from input ``i`` to output ``o`` pass ``v`` exactly when ``v`` is the only token of
    layer ``l`` that ``i`` reaches and that reaches ``o``. One product of the reach
    matrices into and out of layer ``l`` counts those tokens for every pair (exact
    integers, at most a layer's size) and labels the pairs with a count of 1 by their
    token. Where no input or output cut exists, every pair cut by ``v`` has its four
    (output, input) pairs labelled ``v``, so searching each token's labelled pairs for
    2 inputs and 2 outputs finds them all.

    >>> from ylg.patterns import load_pattern
    >>> flow, worst = _exact_two(load_pattern("axial").on("16x16"), examples=1)
    >>> flow, worst[0].inputs, worst[0].bottleneck
    (1, [(0, (0, 0)), (1, (0, 1))], [(1, 0, (0, 0))])
    """
    grids = layer_grids(masks)
    mats = step_matrices(masks) if mats is None else mats
    offsets = np.concatenate([[0], np.cumsum([g.size for g in grids])]).tolist()
    limit = max(1, examples)
    missing = ~reach_matrices(mats).dense()  # [outputs, inputs]: no path
    none = [((a, b), (c, d), ()) for a, b, c, d in _rectangles(missing.T, limit)]
    if none:
        return 0, _witnesses(none, grids, offsets, 0, examples)
    found: dict[tuple[tuple[int, int], tuple[int, int]], Pair2] = {}
    for pair in _one_token_cuts(mats, missing, offsets, limit, progress):
        found.setdefault(pair[:2], pair)
        if len(found) >= limit:
            break
    if not found:
        return 2, []
    return 1, _witnesses(list(found.values()), grids, offsets, 1, examples)


def _witnesses(
    pairs: list[Pair2], grids: list[Grid], offsets: list[int], flow: int, examples: int
) -> list[Witness]:
    return [
        Witness(
            [(a, grids[0].cell(a)) for a in inputs],
            [(b, grids[-1].cell(b)) for b in outputs],
            flow,
            [_token(offsets, grids, t) for t in cut],
        )
        for inputs, outputs, cut in pairs[: max(0, examples)]
    ]


def _one_token_cuts(
    mats: list[sp.csr_array],
    missing: np.ndarray,
    offsets: list[int],
    limit: int,
    progress: bool,
) -> Iterator[Pair2]:
    """Pairs of 2-sets cut by one token, by token: inputs, inner layers, outputs (all of
    them where no pair carries 0; ``missing[o, i]``: input ``i`` does not reach ``o``)."""
    for a, b, far in _end_cuts(missing):
        yield (min(a, b), max(a, b)), far, (a,)
    for layer in range(1, len(mats)):
        yield from _inner_cuts(mats, layer, offsets[layer], limit, progress)
    for c, d, far in _end_cuts(missing.T):
        yield far, (min(c, d), max(c, d)), (offsets[-2] + c,)


def _end_cuts(missing: np.ndarray) -> Iterator[tuple[int, int, tuple[int, int]]]:
    """``(a, b, (c, d))`` where column ``b`` misses rows ``c`` and ``d``, so that cutting
    column ``a`` cuts ``{a, b}`` from ``{c, d}``; by ``a``, then ``b``."""
    bad = np.flatnonzero(np.count_nonzero(missing, axis=0) >= 2).tolist()
    if not bad:
        return
    for a in range(missing.shape[1]):
        for b in bad:
            if b != a:
                c, d = np.flatnonzero(missing[:, b])[:2].tolist()
                yield a, b, (c, d)


def _inner_cuts(
    mats: list[sp.csr_array], layer: int, offset: int, limit: int, progress: bool
) -> Iterator[Pair2]:
    """Pairs of 2-sets whose every path passes one token of the inner layer ``layer``
    (numbered from ``offset``), by token, then by inputs.

    A token's pairs lie among the outputs that read it and the inputs it reads: they
    are read off the label matrix there, or, where that block is much larger than the
    token's labelled pairs, from one pass that gathers those tokens' pairs."""
    into = mats[0] if layer == 1 else reach_matrices(mats[:layer]).dense()
    out = mats[-1] if layer == len(mats) - 1 else reach_matrices(mats[layer:]).dense()
    labels, counts = _single_tokens(into, out)
    reads, read_by = _neighbours(sp.csr_array(into)), _neighbours(sp.csc_array(out))
    sizes = np.array([r.size * o.size for r, o in zip(reads, read_by)], dtype=np.int64)
    small = sizes <= GATHER_RATIO * counts + GATHER_MIN
    busy = np.flatnonzero(counts >= 4)  # a cut pair has 4 (output, input) pairs
    groups: dict[int, tuple[np.ndarray, np.ndarray]] | None = None
    tokens: Iterable[int] = busy.tolist()
    if progress:
        tokens = progress_bar(tokens, desc=f"2-token cuts in V{layer}", unit="token", leave=False)
    for token in tokens:
        if small[token]:
            found = _block_rectangles(labels, token, reads[token], read_by[token], limit)
        else:
            if groups is None:
                groups = _token_pairs(labels, busy[~small[busy]])
            found = _pair_rectangles(*groups[token], labels.shape[1], labels.shape[0], limit)
        for a, b, c, d in found:
            yield (a, b), (c, d), (offset + token,)


#: A token's pairs are read off its block of the label matrix unless that block is
#: larger than this many times its labelled pairs (plus :data:`GATHER_MIN`).
GATHER_RATIO = 64
GATHER_MIN = 1 << 12


def _neighbours(mat: sp.csr_array | sp.csc_array) -> list[np.ndarray]:
    """The stored (non-zero) indices of each row of a CSR or each column of a CSC
    matrix, sorted."""
    mat = mat.astype(bool)
    mat.eliminate_zeros()
    mat.sort_indices()
    return np.split(mat.indices, mat.indptr[1:-1])


def _block_rectangles(
    labels: np.ndarray, token: int, inputs: np.ndarray, outputs: np.ndarray, limit: int
) -> list[tuple[int, int, int, int]]:
    """:func:`_rectangles` of the pairs labelled ``token`` among ``outputs x inputs`` as
    ``(input, input, output, output)``."""
    block = (labels[np.ix_(outputs, inputs)] == token).T
    return [
        (int(inputs[a]), int(inputs[b]), int(outputs[c]), int(outputs[d]))
        for a, b, c, d in _rectangles(block, limit)
    ]


def _token_pairs(
    labels: np.ndarray, tokens: np.ndarray
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """``token: (inputs, outputs)`` of the pairs labelled with each of ``tokens``, in
    the order of the pairs (by output, then input), in one pass over ``labels``."""
    wanted = np.zeros(int(labels.max(initial=0)) + 1, dtype=bool)
    wanted[tokens] = True
    flat = np.flatnonzero(wanted[labels].ravel())
    mine = labels.ravel()[flat]
    flat = flat[np.argsort(mine, kind="stable")]
    counts = np.bincount(mine, minlength=wanted.size)
    ends = np.cumsum(counts)
    outputs, inputs = np.divmod(flat, labels.shape[1])
    return {
        t: (inputs[ends[t] - counts[t] : ends[t]], outputs[ends[t] - counts[t] : ends[t]])
        for t in tokens.tolist()
    }


def _product_size(into: sp.csr_array | np.ndarray, out: sp.csr_array | np.ndarray) -> int:
    """Entries a sparse product ``out @ into`` adds up: over the middle tokens, the
    inputs each one reads times the outputs that read it."""
    if sp.issparse(into):
        reads = np.diff(sp.csr_array(into).indptr)
    else:
        reads = np.count_nonzero(into, axis=1)
    if sp.issparse(out):
        read_by = np.bincount(sp.csr_array(out).indices, minlength=out.shape[1])
    else:
        read_by = np.count_nonzero(out, axis=0)
    return int(reads.astype(np.int64) @ read_by.astype(np.int64))


def _single_tokens(
    into: sp.csr_array | np.ndarray, out: sp.csr_array | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The label matrix ``[outputs, inputs]`` of the only middle token on the paths of
    each (output, input) pair (the size of the middle layer where there are none or
    several), and how many pairs each token labels. ``into`` maps the inputs to the
    middle layer, ``out`` the middle layer to the outputs (booleans, sparse or dense).

    >>> import numpy as np
    >>> into = np.array([[1, 1], [0, 1]], dtype=bool)    # middle 0 reads 0, 1; 1 reads 1
    >>> out = np.array([[1, 1], [0, 1]], dtype=bool)     # output 0 reads 0, 1; 1 reads 1
    >>> labels, counts = _single_tokens(into, out)
    >>> labels.tolist(), counts.tolist()    # 2: no middle token, or several
    ([[0, 2], [2, 1]], [1, 1])
    """
    n_mid = into.shape[0]
    labels = np.full((out.shape[0], into.shape[1]), n_mid, dtype=_label_type(n_mid))
    counts = np.zeros(n_mid, dtype=np.int64)
    dense = DENSE_COST * out.shape[0] * n_mid * into.shape[1]
    if SPARSE_COST * _product_size(into, out) <= dense:
        blocks = _single_tokens_sparse(sp.csr_array(into), sp.csr_array(out))
    else:
        blocks = _single_tokens_dense(_dense(into), _dense(out))
    for rows, cols, tokens in blocks:
        labels[rows, cols] = tokens
        counts += np.bincount(tokens, minlength=n_mid)
    return labels, counts


def _label_type(n_mid: int) -> type[np.integer]:
    return np.uint16 if n_mid < 1 << 16 else np.int32


def _dense(mat: sp.csr_array | np.ndarray) -> np.ndarray:
    return (mat.toarray() if sp.issparse(mat) else np.asarray(mat)).astype(np.float32)


#: Entries a block of the sparse product in :func:`_single_tokens_sparse` adds up.
PRODUCT_BLOCK = 1 << 22
#: Entries of one block of counts in :func:`_single_tokens_dense`.
DENSE_BLOCK = 1 << 22


def _single_tokens_sparse(
    into: sp.csr_array, out: sp.csr_array
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The blocks of :func:`_single_tokens`, ``(outputs, inputs, tokens)`` of the pairs
    with one middle token, by a sparse integer product: each middle token ``u`` weighs
    ``1 + (u + 1) << shift``, so a pair's sum holds its count of tokens in the low bits
    (below ``2 ** shift``) and, where that is 1, its token in the high bits."""
    n_mid, n_in = into.shape
    shift = n_mid.bit_length() + 1  # counts <= n_mid < 2**shift; sums < n_mid**3 < 2**63
    ones = sp.csr_array(out, dtype=np.int64)
    ones.sum_duplicates()
    ones.eliminate_zeros()
    ones.data[:] = 1
    weights = sp.csr_array(into, dtype=np.int64)
    weights.sum_duplicates()
    weights.eliminate_zeros()
    middle = np.repeat(np.arange(n_mid, dtype=np.int64), np.diff(weights.indptr))
    weights.data = 1 + ((middle + 1) << shift)
    # A block of outputs at a time, each adding up about PRODUCT_BLOCK entries.
    work = np.cumsum(ones @ np.diff(weights.indptr))
    top = int(work[-1]) if work.size else 0
    cuts = np.searchsorted(work, np.arange(PRODUCT_BLOCK, top, PRODUCT_BLOCK))
    bounds = sorted({0, *(cuts + 1).tolist(), out.shape[0]})
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        sums = sp.csr_array(ones[lo:hi] @ weights)
        one = (sums.data & ((1 << shift) - 1)) == 1
        rows = np.repeat(np.arange(lo, hi), np.diff(sums.indptr))[one]
        yield rows, sums.indices[one], (sums.data[one] >> shift) - 1


def _single_tokens_dense(
    into: np.ndarray, out: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The blocks of :func:`_single_tokens` by float32 products: the counts (integers
    below 2**24, so exact) and, where a count is 1, the sum of the token numbers plus
    1 (one term, so exact too)."""
    n_mid, n_in = into.shape
    labelled = into * np.arange(1, n_mid + 1, dtype=np.float32)[:, None]
    step = max(1, DENSE_BLOCK // max(1, n_in))
    for lo in range(0, out.shape[0], step):
        block = out[lo : lo + step]
        rows, cols = np.nonzero((block @ into) == 1)
        if rows.size:
            yield rows + lo, cols, (block @ labelled)[rows, cols].astype(np.int64) - 1


def _pair_rectangles(
    rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int, limit: int
) -> list[tuple[int, int, int, int]]:
    """:func:`_rectangles` of the set entries ``(rows[j], cols[j])`` of an
    ``n_rows x n_cols`` matrix, in its numbers."""
    row_count = np.bincount(rows, minlength=n_rows)
    col_count = np.bincount(cols, minlength=n_cols)
    keep = (row_count >= 2)[rows] & (col_count >= 2)[cols]
    if not keep.all():
        rows, cols = rows[keep], cols[keep]
        row_count = np.bincount(rows, minlength=n_rows)
        col_count = np.bincount(cols, minlength=n_cols)
    if rows.size < 4:
        return []
    row_ids, col_ids = np.flatnonzero(row_count), np.flatnonzero(col_count)
    row_rank, col_rank = np.cumsum(row_count > 0) - 1, np.cumsum(col_count > 0) - 1
    block = np.zeros((row_ids.size, col_ids.size), dtype=bool)
    block[row_rank[rows], col_rank[cols]] = True
    return [
        (int(row_ids[a]), int(row_ids[b]), int(col_ids[c]), int(col_ids[d]))
        for a, b, c, d in _rectangles(block, limit)
    ]


def _rectangles(block: np.ndarray, limit: int) -> list[tuple[int, int, int, int]]:
    """Up to ``limit`` all-true 2x2 submatrices ``(r1, r2, c1, c2)`` of a boolean matrix
    (``r1 < r2``, ``c1 < c2``; by rows, then by the first two shared columns).

    Rows and columns with fewer than two set entries are dropped (again until none
    is left), then each row is compared with every later one on packed bits.

    >>> import numpy as np
    >>> _rectangles(np.array([[1, 0, 1], [1, 1, 0], [1, 1, 1]], dtype=bool), 5)
    [(0, 2, 0, 2), (1, 2, 0, 1)]
    """
    rows, cols = np.arange(block.shape[0]), np.arange(block.shape[1])
    while block.size:
        busy_rows = np.count_nonzero(block, axis=1) >= 2
        block, rows = block[busy_rows], rows[busy_rows]
        busy_cols = np.count_nonzero(block, axis=0) >= 2
        if busy_cols.all():
            break
        block, cols = block[:, busy_cols], cols[busy_cols]
    found: list[tuple[int, int, int, int]] = []
    if block.shape[0] < 2:
        return found
    bits = pack_dense(block)
    for j in range(block.shape[0] - 1):
        shared = popcount(bits[j + 1 :] & bits[j])
        for h in (np.flatnonzero(shared >= 2) + j + 1).tolist():
            c, d = np.flatnonzero(block[j] & block[h])[:2].tolist()
            found.append((int(rows[j]), int(rows[h]), int(cols[c]), int(cols[d])))
            if len(found) >= limit:
                return found
    return found
