"""Full Information of a PyTorch model: the stack of its transformer attention layers.

Each :class:`~ylg.attention.SparseSelfAttention` checks its own pattern across the depth
it is told (``verify=N``), which a layer of a model that alternates patterns cannot do:
dilated neighbourhood attention alone never reaches every token, alternated with plain
neighbourhood attention it does within a few layers. :func:`verify_model` reads the
model itself: its attention layers in the order they were registered (the order a
plain stack of blocks runs them), each laid on the token grid, checked as one stack by
:func:`ylg.ifg.stack.verify_stack`, as ``ylg verify --model`` checks a model file
(a layer of parallel heads reads the union of their steps, what it does, as a model
file's layer of ``heads`` does; a model file's ``pattern`` layer reads its steps in
turn, as the paper does).
The residual stream, norms and MLPs of a transformer act on each token alone, so they
add no path between tokens and remove none.

>>> from torch import nn
>>> from ylg.attention import SparseSelfAttention
>>> from ylg.patterns import load_pattern
>>> near = load_pattern("na").with_params(win_i=3, win_j=3)
>>> far = load_pattern("dilated-na").with_params(win_i=3, win_j=3, dil_i=4, dil_j=4)
>>> model = nn.Sequential(*(
...     SparseSelfAttention(32, near if i % 2 == 0 else far, grid="16x16", num_heads=2,
...                         verify=False) for i in range(6)))
>>> verdict = verify_model(model)
>>> verdict.holds, verdict.needed.layers        # na alone needs 14, dilated-na never
(True, 5)
"""

from __future__ import annotations

from torch import nn

from ylg.attention.layers import check_flag
from ylg.attention.masksets import REGISTRY
from ylg.attention.tokens import SparseSelfAttention, layer_patterns
from ylg.errors import YlgError
from ylg.ifg.stack import DEFAULT_MAX_LAYERS, StackVerdict, verify_stack
from ylg.patterns import Grid, Masks


def model_layers(
    model: nn.Module, grid: "str | Grid | tuple[int, ...] | None" = None
) -> list[tuple[str, Masks]]:
    """The attention layers of ``model`` in registration order, each as its name and its
    pattern's masks on the token grid (``grid``, or each layer's own).

    A layer is what it does (:func:`~ylg.attention.tokens.layer_patterns`): its
    pattern's steps in turn (sequential heads), or the union of the steps its parallel
    heads attend through, from one pattern or several. A layer that is no one pattern
    (sequential heads of several patterns, or parallel heads whose steps read ``q`` and
    ``k`` numbered in different orders) is refused by name. A layer registered at several places
    (one module used twice in a stack) counts at each; the layers' own ``verify`` plays
    no part.

    >>> from torch import nn
    >>> model = nn.Sequential(SparseSelfAttention(16, "ltr", grid="4x4", num_heads=2, verify=2))
    >>> [(name, m.pattern.name, str(m.grid)) for name, m in model_layers(model)]
    [('0', 'ltr (steps 1 and 2 side by side)', '4x4')]
    """
    if not isinstance(model, nn.Module):
        raise YlgError(f"expected a torch.nn.Module, got {type(model).__name__}")
    found = []
    # Every registration counts: one layer used at two places of a stack runs twice.
    for name, layer in model.named_modules(remove_duplicate=False):
        if not isinstance(layer, SparseSelfAttention):
            continue
        heads = layer.masks_for(layer.grid if grid is None else grid, verify=False)
        label = name or type(model).__name__
        try:
            (pattern,) = layer_patterns(heads, strict=True, reads_queries=layer.reads_queries)
        except YlgError as exc:
            raise YlgError(f"layer {label}: {exc}") from None
        found.append((label, REGISTRY.masks(pattern, heads.layout)))
    if not found:
        raise YlgError(f"{type(model).__name__} has no SparseSelfAttention layer to verify")
    grids = {str(m.grid) for _, m in found}
    if len(grids) > 1:
        raise YlgError(
            f"the layers lie on different token grids ({', '.join(sorted(grids))}); pass"
            " grid= the one to verify on"
        )
    return found


def verify_model(
    model: nn.Module,
    grid: "str | Grid | tuple[int, ...] | None" = None,
    *,
    examples: int = 5,
    needed: bool = True,
    max_layers: int = DEFAULT_MAX_LAYERS,
    progress: bool = False,
) -> StackVerdict:
    """Full Information across the attention layers of ``model`` (see
    :func:`model_layers`) on the token grid, their receptive fields, and the layers
    needed with the model's layers cycled: a :class:`~ylg.ifg.stack.StackVerdict`
    (``ylg.ifg.report.stack_lines`` prints it as ``ylg verify`` does).

    >>> from torch import nn
    >>> from ylg.patterns import load_pattern
    >>> na = load_pattern("na").with_params(win_i=3, win_j=3)
    >>> block = lambda: SparseSelfAttention(16, na, grid="8x8", num_heads=2, verify=False)
    >>> verdict = verify_model(nn.Sequential(block(), block()))
    >>> verdict.holds, verdict.depth, verdict.needed.layers
    (False, 2, 6)
    """
    layers = [m for _, m in model_layers(model, grid)]
    check_flag("needed", needed)
    return verify_stack(
        layers, examples=examples, needed=needed, max_layers=max_layers, progress=progress
    )
