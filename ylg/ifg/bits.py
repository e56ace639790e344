"""Rows of bits: boolean matrices packed 64 columns to a ``uint64`` word.

Reachability through a step is a boolean product ``out[r] = OR of rows[c] over the
keys c of row r``; on packed rows that is a gather and an or per neighbour slot of a
block of rows, 64 columns per machine operation. Column ``c`` of a row is bit
``c % 64`` of word ``c // 64``.

>>> import numpy as np, scipy.sparse as sp
>>> m = sp.csr_array(np.array([[1, 0, 1], [0, 1, 0]], dtype=bool))
>>> unpack(pack(m), 3).astype(int).tolist()
[[1, 0, 1], [0, 1, 0]]
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp

from ylg.progress import progress as progress_bar

#: Bytes of one block of rows in :func:`propagate` (accumulator and gather buffer each;
#: 1 MiB measured best of 128 KiB..16 MiB on the 128x128 Fixed and Strided steps).
BLOCK_BYTES = 1 << 20
#: Stored entries :func:`pack` converts at a time.
PACK_ENTRIES = 1 << 22


def words(ncols: int) -> int:
    """Number of 64-bit words that hold ``ncols`` bits."""
    return (ncols + 63) // 64


def full_row(ncols: int) -> np.ndarray:
    """The packed row with all ``ncols`` bits set (and the padding bits clear).

    >>> full_row(66).tolist() == [2**64 - 1, 3]
    True
    """
    out = np.full(words(ncols), np.uint64(2**64 - 1), dtype=np.uint64)
    tail = ncols % 64
    if tail:
        out[-1] = np.uint64((1 << tail) - 1)
    return out


def pack(mat: sp.csr_array) -> np.ndarray:
    """A boolean sparse matrix ``[rows, cols]`` as packed rows ``[rows, words(cols)]``.

    Works on the stored entries only (about ``PACK_ENTRIES`` at a time): each entry
    becomes one bit of a word, and the bits of a word are or-ed together.
    """
    nrows, ncols = mat.shape
    nwords = words(ncols)
    out = np.zeros(nrows * nwords, dtype=np.uint64)
    mat = mat.tocsr()
    if not mat.has_sorted_indices:
        mat = mat.sorted_indices()
    indptr = mat.indptr.astype(np.int64)
    rows_per = max(1, PACK_ENTRIES * nrows // max(1, mat.nnz))
    for lo in range(0, nrows, rows_per):
        hi = min(nrows, lo + rows_per)
        cols = mat.indices[indptr[lo] : indptr[hi]].astype(np.int64)
        if cols.size == 0:
            continue
        rows = np.repeat(np.arange(lo, hi, dtype=np.int64), np.diff(indptr[lo : hi + 1]))
        word = rows * nwords + (cols >> 6)
        bit = np.left_shift(np.uint64(1), (cols & 63).astype(np.uint64))
        starts = np.flatnonzero(np.concatenate([[True], word[1:] != word[:-1]]))
        out[word[starts]] = np.bitwise_or.reduceat(bit, starts)
    return out.reshape(nrows, nwords)


def pack_dense(dense: np.ndarray) -> np.ndarray:
    """A dense bool array ``[rows, cols]`` as packed rows.

    >>> pack_dense(np.array([[True, False, True]])).tolist()
    [[5]]
    """
    rows, cols = dense.shape
    padded = np.zeros((rows, words(cols) * 64), dtype=bool)
    padded[:, :cols] = dense
    return np.packbits(padded, axis=1, bitorder="little").view("<u8")


def unpack(bits: np.ndarray, ncols: int) -> np.ndarray:
    """Packed rows back to a dense bool array ``[rows, ncols]``."""
    raw = np.ascontiguousarray(bits, dtype="<u8").view(np.uint8)
    return np.unpackbits(raw, axis=1, count=ncols, bitorder="little").astype(bool)


def popcount(bits: np.ndarray) -> np.ndarray:
    """Number of set bits in each packed row."""
    return np.bitwise_count(bits).sum(axis=1, dtype=np.int64)


def propagate(
    mat: sp.csr_array, bits: np.ndarray, ncols: int, *, progress: bool = False, desc: str = ""
) -> np.ndarray:
    """Packed ``out[r] = OR of bits[c] for every stored c of row r of mat``.

    ``bits`` has one packed row (``ncols`` bits) per column of ``mat``. A row that
    reaches a full row of ``bits`` is full without any gather, and empty rows of
    ``bits`` are skipped, so hub-shaped patterns cost one sparse product; rows with the
    same neighbour list are worked out once. The others go in blocks of similar degree:
    the j-th neighbours of a block are gathered into a small reused buffer and or-ed
    into the block's accumulator, which stays in cache (several times faster than one
    large gather and ``reduceat``).

    >>> import numpy as np, scipy.sparse as sp
    >>> m = sp.csr_array(np.array([[1, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=bool))
    >>> b = pack(sp.csr_array(np.array([[1, 0], [0, 0], [0, 1]], dtype=bool)))
    >>> unpack(propagate(m, b, 2), 2).astype(int).tolist()
    [[1, 0], [0, 1], [0, 0]]
    """
    nrows, nwords = mat.shape[0], bits.shape[1]
    counts = popcount(bits)
    out = np.zeros((nrows, nwords), dtype=np.uint64)
    # Every pass over the stored entries below takes at most a byte or the entries'
    # own index type per entry: a video's step has hundreds of millions of them.
    reaches_full = np.zeros(nrows, dtype=bool)
    full = counts == ncols
    if full.any():
        busy_rows = np.flatnonzero(np.diff(mat.indptr))
        if busy_rows.size:
            hit = full[mat.indices]
            reaches_full[busy_rows] = np.logical_or.reduceat(hit, mat.indptr[busy_rows])
            del hit
        out[reaches_full] = full_row(ncols)
    # The neighbour lists of the other rows, without neighbours whose row is empty.
    todo = np.flatnonzero(~reaches_full)
    sub = mat if todo.size == nrows else mat[todo]
    if (counts > 0).all():
        cols, degree = sub.indices[: sub.indptr[-1]], np.diff(sub.indptr)
    else:
        keep = counts[sub.indices] > 0
        cols = sub.indices[keep]
        owner = np.repeat(np.arange(todo.size), np.diff(sub.indptr))
        degree = np.bincount(owner[keep], minlength=todo.size)
        del keep, owner
    first = np.concatenate([[0], np.cumsum(degree)[:-1]]).astype(np.int64)
    # Rows with the same neighbour list have the same answer: work out each list once
    # (all the queries of a grid column under axial, of a residue class under Strided).
    same = same_lists(cols, first, degree)
    _, one = np.unique(same, return_index=True)
    degree, first = degree[one], first[one]
    answers = np.zeros((one.size, nwords), dtype=np.uint64)
    # The words a list can set: from the first to the last non-zero word of its rows
    # (local patterns reach a narrow band of positions). Blocks go by degree, then by
    # that band, so that a block only gathers and ors the words its band spans.
    nonzero = bits != 0
    word_lo = np.argmax(nonzero, axis=1)
    word_hi = nwords - np.argmax(nonzero[:, ::-1], axis=1)
    busy = degree > 0
    band_lo = np.zeros(one.size, dtype=np.int64)
    band_hi = np.zeros(one.size, dtype=np.int64)
    if busy.any():
        for rows in _entry_chunks(first, degree, np.flatnonzero(busy)):
            entries, at = _gather_lists(cols, first, degree, rows)
            band_lo[rows] = np.minimum.reduceat(word_lo[entries], at)
            band_hi[rows] = np.maximum.reduceat(word_hi[entries], at)
    order = np.lexsort((band_lo, degree))
    order = order[degree[order] > 0]
    # One extra all-zero row: padding for rows with fewer neighbours than their block.
    source = np.concatenate([bits, np.zeros((1, nwords), dtype=np.uint64)])
    pad = bits.shape[0]
    block = max(1, BLOCK_BYTES // (8 * nwords))
    acc = np.empty(block * nwords, dtype=np.uint64)
    tmp = np.empty((block, nwords), dtype=np.uint64)
    for lo in _bar(range(0, order.size, block), progress, desc):
        rows = order[lo : lo + block]
        deg, start = degree[rows], first[rows]
        w0, w1 = int(band_lo[rows].min()), int(band_hi[rows].max())
        whole = 4 * (w1 - w0) > 3 * nwords
        if whole:
            w0, w1 = 0, nwords
        a = acc[: rows.size * (w1 - w0)].reshape(rows.size, w1 - w0)
        a[...] = 0
        for j in range(int(deg.max())):
            idx = np.where(deg > j, cols[np.minimum(start + j, cols.size - 1)], pad)
            if whole:  # mode="clip" gathers without the buffered copy "raise" makes
                np.take(source, idx, axis=0, out=tmp[: rows.size], mode="clip")
                np.bitwise_or(a, tmp[: rows.size], out=a)
            else:
                np.bitwise_or(a, source[idx, w0:w1], out=a)
        answers[rows, w0:w1] = a
    out[todo] = answers[same]
    return out


#: Stored entries a chunked pass over neighbour lists gathers at a time.
CHUNK_ENTRIES = 1 << 24


def _entry_chunks(first: np.ndarray, degree: np.ndarray, rows: np.ndarray) -> Iterable[np.ndarray]:
    """``rows`` (with non-empty lists) in runs of about :data:`CHUNK_ENTRIES` entries,
    so that gathers over the entries stay small."""
    if rows.size == 0:
        return
    ends = np.cumsum(degree[rows])
    lo = 0
    while lo < rows.size:
        base = ends[lo - 1] if lo else 0
        hi = max(lo + 1, int(np.searchsorted(ends, base + CHUNK_ENTRIES, side="right")))
        yield rows[lo:hi]
        lo = hi


def _gather_lists(
    cols: np.ndarray, first: np.ndarray, degree: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The lists of ``rows`` one after another, and where each starts among them.

    >>> e, at = _gather_lists(np.array([5, 6, 7, 8]), np.array([0, 2]), np.array([2, 2]),
    ...                       np.array([1, 0]))
    >>> e.tolist(), at.tolist()
    ([7, 8, 5, 6], [0, 2])
    """
    d = degree[rows]
    at = np.cumsum(d) - d
    offsets = np.arange(int(d.sum())) - np.repeat(at, d)
    return cols[np.repeat(first[rows], d) + offsets], at


def same_lists(
    cols: np.ndarray, first: np.ndarray, degree: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """For each row's neighbour list ``cols[first[r] : first[r] + degree[r]]``, the id
    of its distinct list (ids ``0 .. u - 1``): rows with equal lists share one id.

    Lists are grouped by a 64-bit hash of their entries (random ``weights``, summed)
    and their length, and each grouped list is then compared with its group's first,
    so the ids are exact: a hash collision only costs a slower exact pass.

    >>> cols = np.array([1, 2, 1, 2, 0])
    >>> same_lists(cols, np.array([0, 2, 4]), np.array([2, 2, 1])).tolist()
    [0, 0, 1]
    """
    n = degree.size
    if weights is None:
        top = int(cols.max()) + 1 if cols.size else 1
        weights = np.random.default_rng(0).integers(1, 2**63, size=top, dtype=np.uint64)
    hashes = np.zeros(n, dtype=np.uint64)
    for rows in _entry_chunks(first, degree, np.flatnonzero(degree)):
        entries, at = _gather_lists(cols, first, degree, rows)
        hashes[rows] = np.add.reduceat(weights[entries], at)
    keys = np.stack([hashes, degree.astype(np.uint64)], axis=1)
    _, leader, ids = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    ids = ids.ravel()
    lead = leader[ids]
    follow = np.flatnonzero((lead != np.arange(n)) & (degree > 0))
    for rows in _entry_chunks(first, degree, follow):
        mine, _ = _gather_lists(cols, first, degree, rows)
        theirs, _ = _gather_lists(cols, first, degree, lead[rows])
        if not np.array_equal(mine, theirs):  # a collision: compare every list exactly
            found: dict[bytes, int] = {}
            return np.fromiter(
                (
                    found.setdefault(cols[f : f + k].tobytes(), len(found))
                    for f, k in zip(first.tolist(), degree.tolist())
                ),
                dtype=np.int64,
                count=n,
            )
    return ids.astype(np.int64)


def distinct_entries(mat: sp.csr_array) -> int:
    """Stored entries of ``mat`` counting each distinct row once (rows compared by a
    64-bit hash of their columns): the gathers :func:`propagate` does at most.

    >>> import numpy as np, scipy.sparse as sp
    >>> distinct_entries(sp.csr_array(np.array([[1, 1], [1, 1], [0, 1]], dtype=bool)))
    3
    """
    if mat.nnz == 0:
        return 0
    weights = np.random.default_rng(0).integers(1, 2**63, size=mat.shape[1], dtype=np.uint64)
    per_row = np.diff(mat.indptr)
    full = np.flatnonzero(per_row)
    hashes = np.add.reduceat(weights[mat.indices], mat.indptr[full].astype(np.int64))
    keys = np.stack([hashes, per_row[full].astype(np.uint64)], axis=1)
    _, first = np.unique(keys, axis=0, return_index=True)
    return int(per_row[full][first].sum())


def _bar(blocks: range, progress: bool, desc: str) -> Iterable[int]:
    if progress and len(blocks) > 1:
        return progress_bar(blocks, desc=desc, unit="block", leave=False)
    return blocks
