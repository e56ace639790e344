"""Issue 12, item 10: the attention API refuses nonsense with a YlgError that says what
is wrong, and an empty batch is an empty answer on every backend."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ylg.attention import SAGANAttention2d, SparseSelfAttention, YLGAttention2d, head_masks
from ylg.attention.functional import sparse_attention
from ylg.attention.layers import LAYOUT_ENTRIES, PREPARED_ENTRIES
from ylg.attention.masksets import LRUCache
from ylg.errors import YlgError


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pattern": {"ltr"}}, "pattern must be a library name"),
        ({"pattern": "ltr", "heads": [("rtl", 0)]}, "give pattern= or heads=, not both"),
        ({"num_heads": 2.0}, "num_heads must be a positive integer, got 2.0"),
        ({"num_heads": np.bool_(True)}, "num_heads must be a positive integer"),
        ({"pattern": []}, "pattern must be a library name"),
        ({"pattern": 5}, "pattern must be a library name"),
        ({"pattern": ["ltr", None]}, "pattern must be a library name"),
        ({"num_heads": 0}, "num_heads must be a positive integer, got 0"),
        ({"num_heads": -1}, "num_heads must be a positive integer, got -1"),
        ({"heads": []}, "heads must be a non-empty list of"),
        ({"heads": "ltr"}, "heads must be a non-empty list of"),
    ],
)
def test_layer_arguments_that_make_no_sense(kwargs: dict, message: str) -> None:
    with pytest.raises(YlgError, match=message):
        YLGAttention2d(64, **kwargs)


def test_sparse_attention_wants_head_masks() -> None:
    q = torch.randn(1, 8, 256, 8)
    k = v = torch.randn(1, 8, 64, 8)
    with pytest.raises(YlgError, match="heads must come from head_masks"):
        sparse_attention(q, k, v, torch.ones(8, 256, 64, dtype=torch.bool))  # type: ignore


@pytest.mark.parametrize("backend", ["auto", "dense", "grouped"])
def test_an_empty_batch_gives_an_empty_answer(backend: str) -> None:
    masks = head_masks("ylg", grid="8x8", query_grid="16x16")
    q = torch.randn(0, 8, 256, 8, requires_grad=True)
    k, v = torch.randn(0, 8, 64, 8), torch.randn(0, 8, 64, 16)
    out = sparse_attention(q, k, v, masks, backend=backend)
    assert out.shape == (0, 8, 256, 16)
    out.sum().backward()
    assert q.grad is not None and q.grad.shape == q.shape
    layer = YLGAttention2d(64, backend=backend)
    assert layer(torch.randn(0, 64, 16, 16)).shape == (0, 64, 16, 16)
    assert layer.last_backend == "dense"  # what ran, not what the backend would pick
    tokens = SparseSelfAttention(16, "na", grid="4x4", num_heads=2, backend=backend)
    assert tokens(torch.randn(0, 16, 16)).shape == (0, 16, 16) and tokens.last_backend == "dense"
    tokens(torch.randn(1, 16, 16))
    assert tokens.last_backend == ("grouped" if backend == "auto" else backend)


def test_numpy_counts_are_counts() -> None:
    """Sizes read from numpy arrays or configs (``np.int64``) are taken as the ints they
    are, in every layer kind, and stored as Python ints."""
    two, sixty_four = np.int64(2), np.int64(64)
    layers = [
        YLGAttention2d(sixty_four, num_heads=two, pattern="ltr", verify=2),
        SAGANAttention2d(sixty_four, num_heads=two),
        SparseSelfAttention(sixty_four, "na", grid="4x4", num_heads=two),
    ]
    for layer in layers:
        assert type(layer.num_heads) is int and layer.num_heads == 2
    assert layers[2](torch.randn(1, 16, 64)).shape == (1, 16, 64)


def test_pattern_and_heads_together_are_refused_everywhere() -> None:
    """``heads=`` names each head's pattern; a ``pattern`` beside it used to be ignored."""
    for build in (
        lambda **kw: YLGAttention2d(64, **kw),
        lambda **kw: SparseSelfAttention(16, grid="4x4", verify=False, **kw),
        lambda **kw: head_masks(grid="4x4", verify=False, **kw),
    ):
        with pytest.raises(YlgError, match="give pattern= or heads=, not both"):
            build(pattern="ltr", heads=[("rtl", 0), ("rtl", 1)])
        assert build(heads=[("rtl", 0), ("rtl", 1)]).labels == ("rtl/1", "rtl/2")
    assert YLGAttention2d(64).labels == head_masks("ylg", grid="4x4", verify=False).labels
    assert SparseSelfAttention(16, grid="4x4", num_heads=2, verify=2).labels == ("na/1", "na/1")


def test_a_layer_run_on_ever_new_sizes_keeps_what_it_built_bounded() -> None:
    """Variable-length sequences meet a new grid at every length: a layer keeps the masks
    of the :data:`LAYOUT_ENTRIES` most recent grids and the
    :data:`PREPARED_ENTRIES` most recent device builds, rebuilding an evicted one."""
    layer = SparseSelfAttention(8, "window", grid="8", num_heads=2, verify=False)
    lengths = range(8, 8 + 2 * LAYOUT_ENTRIES + 4)
    for n in lengths:
        layer(torch.randn(1, n, 8), grid=str(n))
    assert len(layer._grids) == LAYOUT_ENTRIES and len(layer._prepared) <= PREPARED_ENTRIES
    oldest, newest = f"{lengths[0]}", f"{lengths[-1]}"
    assert all(str(g) != oldest for g in layer._grids)
    x = torch.randn(2, lengths[0], 8)
    again = layer(x, grid=oldest)  # evicted: built again, the same answer as a fresh layer
    fresh = SparseSelfAttention(8, "window", grid=oldest, num_heads=2, verify=False)
    fresh.load_state_dict(layer.state_dict())
    assert torch.equal(again, fresh(x)) and any(str(g) == oldest for g in layer._grids)
    assert any(str(g) == newest for g in layer._grids)
    model = nn.Sequential(YLGAttention2d(64, verify=False))
    for side in range(8, 8 + 2 * LAYOUT_ENTRIES + 2, 2):
        model(torch.randn(1, 64, side, side))
    assert len(model[0]._layouts) == LAYOUT_ENTRIES


def test_the_lru_cache_keeps_what_was_used_last() -> None:
    cache = LRUCache(3)
    for key in "abc":
        cache[key] = key.upper()
    assert cache["a"] == "A"  # "a" is now the newest
    cache["d"] = "D"
    assert list(cache) == ["c", "a", "d"] and "b" not in cache
    cache["c"] = "C2"  # writing makes it the newest too
    cache["e"] = "E"
    assert list(cache) == ["d", "c", "e"]
    import copy
    import pickle

    for twin in (copy.deepcopy(cache), pickle.loads(pickle.dumps(cache))):
        assert list(twin.items()) == list(cache.items()) and twin.max_entries == 3


def test_the_lru_cache_copies_and_pickles_whole_and_threads_may_share_it() -> None:
    import copy
    import pickle
    import threading

    big = LRUCache(100)
    for i in range(80):
        big[i] = i
    for twin in (big.copy(), copy.deepcopy(big), pickle.loads(pickle.dumps(big))):
        assert list(twin.items()) == list(big.items()) and twin.max_entries == 100
    assert list(big) == list(range(80))  # copying read nothing: the order stands
    shared, failures = LRUCache(4), []

    def hammer(offset: int) -> None:
        try:
            for i in range(3000):
                key = (i + offset) % 9
                if shared.get(key) is None:
                    shared[key] = key
                _ = shared.get((key + 1) % 9)
        except Exception as exc:  # noqa: BLE001 - what the test looks for
            failures.append(exc)

    threads = [threading.Thread(target=hammer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures and len(shared) <= 4


def test_a_layer_saves_whatever_backend_ran() -> None:
    """What a backend built (FlexAttention's mask functions cannot be pickled) is left
    out of a saved or copied layer, and rebuilt on use."""
    import copy
    import io

    layer = SparseSelfAttention(16, "na", grid="4x4", num_heads=2, backend="flex-eager")
    x = torch.randn(1, 16, 16)
    with torch.no_grad():
        before = layer(x)
    assert len(layer._prepared) > 0
    buffer = io.BytesIO()
    torch.save(layer, buffer)
    buffer.seek(0)
    for again in (torch.load(buffer, weights_only=False), copy.deepcopy(layer)):
        assert len(again._prepared) == 0
        with torch.no_grad():
            assert torch.allclose(again(x), before, atol=1e-6)


def test_head_masks_takes_numpy_counts_and_flags() -> None:
    masks = head_masks("ltr", grid="4x4", num_heads=np.int64(2), verify=np.bool_(False))
    assert masks.num_heads == 2
    assert YLGAttention2d(64, verify=np.bool_(True)).verify == 1
