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
    reaches_full = (mat.astype(np.int32) @ (counts == ncols).astype(np.int32)) > 0
    out[reaches_full] = full_row(ncols)
    # The neighbour lists of the other rows, without neighbours whose row is empty.
    todo = np.flatnonzero(~reaches_full)
    sub = mat[todo]
    keep = counts[sub.indices] > 0
    cols = sub.indices[keep].astype(np.int64)
    degree = np.bincount(
        np.repeat(np.arange(todo.size), np.diff(sub.indptr))[keep], minlength=todo.size
    )
    first = np.concatenate([[0], np.cumsum(degree)[:-1]])
    # Rows with the same neighbour list have the same answer: work out each list once
    # (all the queries of a grid column under axial, of a residue class under Strided).
    lists: dict[bytes, int] = {}
    same = np.fromiter(
        (
            lists.setdefault(cols[f : f + d].tobytes(), len(lists))
            for f, d in zip(first.tolist(), degree.tolist())
        ),
        dtype=np.int64,
        count=todo.size,
    )
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
        band_lo[busy] = np.minimum.reduceat(word_lo[cols], first[busy])
        band_hi[busy] = np.maximum.reduceat(word_hi[cols], first[busy])
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
