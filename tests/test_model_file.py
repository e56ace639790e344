"""Model files (ylg.patterns.model): a stack of layers in TOML, and every way to get one
wrong answered with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ylg.errors import PatternError
from ylg.patterns import Grid, Layout, load_pattern
from ylg.patterns.model import MAX_LAYERS, Model, ModelLayer, load_model

BAND = """
name = "band"
description = "a band of half-width r along the columns"
steps = ["abs(qj - kj) <= r"]
params = { r = 1 }
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_model_file_with_library_and_file_patterns(tmp_path: Path) -> None:
    write(tmp_path, "patterns/band.toml", BAND)
    path = write(
        tmp_path,
        "video.toml",
        """
name = "video"
description = "two bands, then axial"
grid = "2x4x6"
[[layers]]
pattern = "patterns/band.toml"
repeat = 2
params = { r = 2 }
[[layers]]
pattern = "axial"
order = "snake"
stride = 3
""",
    )
    model = load_model(path)
    assert (model.name, model.depth, model.grid) == ("video", 3, Grid(2, 4, 6))
    assert [layer.pattern.name for layer in model.expanded()] == ["band", "band", "axial"]
    assert model.layers[0].pattern.params == {"r": 2} and model.layers[0].source.endswith(".toml")
    stack = model.on()
    assert len(stack) == 3 and stack[0] is stack[1]
    assert [m.order for m in stack] == ["rowmajor", "rowmajor", "snake"]
    assert stack[2].stride == 3 and stack[0].grid == Grid(2, 4, 6)
    assert model.to_dict()["layers"][0] == {
        "pattern": "band",
        "source": "patterns/band.toml",
        "repeat": 2,
        "params": {"r": 2},
        "order": None,
        "stride": None,
    }
    # The call's order applies to layers without their own; the grid can be another.
    other = model.on("4x4", order="hilbert")
    assert [m.order for m in other] == ["hilbert", "hilbert", "snake"]
    assert other[0].grid == Grid(4, 4)


def test_the_name_defaults_to_the_file_and_the_last_layer_takes_the_query_grid(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "pair.toml", '[[layers]]\npattern = "rtl"\nrepeat = 2\n')
    model = load_model(path)
    assert model.name == "pair" and model.grid is None
    stack = model.on(Layout("4x4", query_grid="8x8"))
    assert [str(m.query_grid) for m in stack] == ["4x4", "8x8"]
    with pytest.raises(PatternError, match="names no grid"):
        model.on()


def test_text_and_objects() -> None:
    model = load_model('name = "m"\n[[layers]]\npattern = "ltr"')
    assert model.depth == 1
    direct = Model("d", "", (ModelLayer(load_pattern("ltr"), repeat=2),))
    assert direct.depth == 2
    with pytest.raises(PatternError, match="at least one layer"):
        Model("e", "", ())
    with pytest.raises(PatternError, match=f"at most {MAX_LAYERS}"):
        Model("big", "", (ModelLayer(load_pattern("ltr"), repeat=MAX_LAYERS + 1),))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = ", "model: not valid TOML"),
        ('name = "x"', "missing required key 'layers'"),
        ("layers = []", "at least one layer"),
        ("layers = 3", "layers must be an array of tables"),
        ('colour = "red"\n[[layers]]\npattern = "ltr"', r"unknown key\(s\) colour"),
        ("name = 3\n[[layers]]\npattern = 'ltr'", "name must be a string"),
        ("description = 3\n[[layers]]\npattern = 'ltr'", "description must be a string"),
        ("meta = 3\n[[layers]]\npattern = 'ltr'", "meta must be a table"),
        ("grid = '16x'\n[[layers]]\npattern = 'ltr'", "grid: grid must be written like"),
        ("[[layers]]\nrepeat = 2", "layer 1: give 'pattern' .* or 'heads' .*, one of the two"),
        (
            "[[layers]]\npattern = 'na'\nheads = [{ pattern = 'na' }]",
            "layer 1: give 'pattern' .* or 'heads'",
        ),
        ("[[layers]]\nheads = []", "layer 1: heads must be a non-empty list of tables"),
        ("[[layers]]\nheads = ['na']", "layer 1: heads must be a non-empty list of tables"),
        (
            "[[layers]]\nheads = [{ steps = [1] }]",
            "layer 1, head 1: missing required key 'pattern'",
        ),
        ("[[layers]]\nheads = [{ pattern = 'na', size = 2 }]", r"head 1: unknown key\(s\) size"),
        ("[[layers]]\nheads = [{ pattern = 'nope' }]", "layer 1, head 1: unknown pattern 'nope'"),
        (
            "[[layers]]\nheads = [{ pattern = 'na' }, { pattern = 'ltr', steps = [3] }]",
            r"head 2: steps must be a non-empty list of 'ltr'.s steps, 1 to 2 \(1-based\),"
            r" got \[3\]",
        ),
        ("[[layers]]\nheads = [{ pattern = 'ltr', steps = [] }]", "head 1: steps must be"),
        ("[[layers]]\nheads = [{ pattern = 'ltr', steps = [true] }]", "head 1: steps must be"),
        (
            "[[layers]]\nheads = [{ pattern = 'na', params = { r = 1 } }]",
            "layer 1, head 1: .*has no parameter 'r'",
        ),
        (
            "[[layers]]\nheads = [{ pattern = 'na' }]\nparams = { win_i = 3 }",
            "layer 1: with heads, each head sets its own params",
        ),
        ("[[layers]]\npattern = 'ltr'\nsize = 2", r"layer 1: unknown key\(s\) size"),
        ("[[layers]]\npattern = 3", "layer 1: pattern must be a library name or a .toml file"),
        ("[[layers]]\npattern = ''", "layer 1: pattern must be a library name"),
        ("[[layers]]\npattern = 'nope'", "layer 1: unknown pattern 'nope'"),
        ("[[layers]]\npattern = 'no/such.toml'", "layer 1: no pattern file no/such.toml"),
        ("[[layers]]\npattern = 'ltr'\nrepeat = 0", "layer 1: repeat must be a positive integer"),
        ("[[layers]]\npattern = 'ltr'\nrepeat = -2", "repeat must be a positive integer, got -2"),
        ("[[layers]]\npattern = 'ltr'\nrepeat = 1.5", "repeat must be a positive integer"),
        ("[[layers]]\npattern = 'ltr'\nrepeat = true", "repeat must be a positive integer"),
        ("[[layers]]\npattern = 'ltr'\nrepeat = 5000", f"repeat must be at most {MAX_LAYERS}"),
        (
            "[[layers]]\npattern = 'ltr'\nrepeat = 1000\n[[layers]]\npattern = 'rtl'\nrepeat = 30",
            f"more than {MAX_LAYERS} layers",
        ),
        ("[[layers]]\npattern = 'ltr'\nparams = 3", "layer 1: params must be a table"),
        ("[[layers]]\npattern = 'ltr'\nparams = { r = 2 }", "has no parameter 'r'"),
        ("[[layers]]\npattern = 'ltr'\norder = 'spiral'", "layer 1: unknown order 'spiral'"),
        ("[[layers]]\npattern = 'ltr'\nstride = 0", "layer 1: stride must be a positive integer"),
        ("[[layers]]\npattern = 'ltr'\n[[layers]]\npattern = 'x.toml'", "layer 2: no pattern file"),
    ],
)
def test_bad_model_files_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(PatternError, match=message) as info:
        load_model(text)
    assert "\n" not in str(info.value)


def test_bad_params_of_a_pattern_file(tmp_path: Path) -> None:
    write(tmp_path, "band.toml", BAND)
    bad = write(tmp_path, "m.toml", "[[layers]]\npattern = 'band.toml'\nparams = { r = 'x' }")
    with pytest.raises(PatternError, match="m.toml, layer 1: .*parameter 'r' must be an integer"):
        load_model(bad)
    write(tmp_path, "broken.toml", 'name = "b"\nsteps = ["k <"]')
    model = write(tmp_path, "n.toml", "[[layers]]\npattern = 'broken.toml'")
    with pytest.raises(PatternError, match="n.toml, layer 1: "):
        load_model(model)


def test_unreadable_model_files(tmp_path: Path) -> None:
    with pytest.raises(PatternError, match="no model file"):
        load_model(tmp_path / "none.toml")
    with pytest.raises(PatternError, match="cannot read model file"):
        load_model(tmp_path)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(PatternError, match="not UTF-8"):
        load_model(binary)
    big = tmp_path / "big.toml"
    big.write_text("#" * (2 << 20))
    with pytest.raises(PatternError, match="larger than"):
        load_model(big)
    with pytest.raises(PatternError, match="not int"):
        load_model(3)  # type: ignore[arg-type]


def test_a_layer_of_heads_side_by_side_is_the_union_of_their_steps(tmp_path: Path) -> None:
    """Heads of several patterns, their parameters of the same names at other values:
    the layer is one step, the OR of the heads' steps; the default is every step."""
    write(tmp_path, "patterns/band.toml", BAND)
    model = load_model(
        write(
            tmp_path,
            "mixed.toml",
            'grid = "6x6"\n[[layers]]\nrepeat = 2\nheads = [\n'
            '  { pattern = "na", params = { win_i = 3, win_j = 3 } },\n'
            '  { pattern = "dilated-na", params = { win_i = 3, win_j = 3, dil_i = 2 },'
            " steps = [1] },\n"
            '  { pattern = "patterns/band.toml", params = { r = 2 } },\n'
            '  { pattern = "axial" },\n]\n',
        )
    )
    (layer,) = model.layers
    assert layer.pattern is None and layer.name == "na + dilated-na + band + axial"
    assert [h.steps for h in layer.heads] == [(0,), (0,), (0,), (0, 1)]
    first, second = model.on()
    assert first is second and first.num_steps == 1
    parts = [
        load_pattern("na").with_params(win_i=3, win_j=3).on("6x6").dense(0),
        load_pattern("dilated-na").with_params(win_i=3, win_j=3, dil_i=2).on("6x6").dense(0),
        *load_pattern(str(tmp_path / "patterns/band.toml")).with_params(r=2).on("6x6").dense(),
        *load_pattern("axial").on("6x6").dense(),
    ]
    want = parts[0]
    for mask in parts[1:]:
        want = want | mask
    assert (first.dense(0) == want).all()
    data = model.to_dict()["layers"][0]
    assert data["heads"][1] == {
        "pattern": "dilated-na",
        "source": "dilated-na",
        "params": {**load_pattern("dilated-na").params, "win_i": 3, "win_j": 3, "dil_i": 2},
        "steps": [1],
    }
    with pytest.raises(PatternError, match="a pattern or heads, one of the two"):
        ModelLayer(None)


def test_heads_of_two_orders_are_refused_by_name_when_laid(tmp_path: Path) -> None:
    write(tmp_path, "causal.toml", 'name = "causal"\nsteps = ["k <= q"]')  # reads q, k
    two = '[[layers]]\n{}heads = [{{ pattern = "ltr" }}, {{ pattern = "causal.toml" }}]'
    model = load_model(write(tmp_path, "two.toml", two.format("")))
    with pytest.raises(
        PatternError,
        match=r"layer 1: the steps of ltr \(esa\) and causal \(rowmajor\) number the cells"
        r" in different orders",
    ):
        model.on("4x4")
    same = load_model(write(tmp_path, "same.toml", two.format('order = "esa"\n')))
    assert same.on("4x4")[0].order == "esa"
    near = load_model('[[layers]]\nheads = [{ pattern = "na" }, { pattern = "ltr" }]')
    assert near.on("4x4")[0].order == "esa"  # na reads no q, k: its order is moot


@pytest.mark.parametrize("layer", ['pattern = "{}"', 'heads = [{{ pattern = "{}" }}]'])
def test_pattern_paths_the_system_cannot_open_are_one_line(layer: str) -> None:
    text = "[[layers]]\n" + layer.format("a" * 300 + ".toml")
    with pytest.raises(PatternError, match="layer 1(, head 1)?: cannot read pattern file 'aaa"):
        load_model(text)
    with pytest.raises(
        PatternError, match=r"layer 1(, head 1)?: no pattern file 'dir/a\\x00b"
    ) as info:
        load_model("[[layers]]\n" + layer.format("dir/a\\u0000b.toml"))
    assert "\x00" not in str(info.value)


def test_a_model_name_is_one_line() -> None:
    with pytest.raises(PatternError, match="a model's name is one line of text"):
        load_model('name = "a\\nb"\n[[layers]]\npattern = "na"')


def test_a_head_that_leaves_a_query_with_nothing_is_refused_though_others_fill_it() -> None:
    """Each head is a softmax of its own: a query of one head with no key is no head,
    whatever the other heads give that query."""
    model = load_model(
        '[[layers]]\nheads = [{ pattern = "axial" }, { pattern = "na", params = { win_i = -3 } }]'
    )
    with pytest.raises(PatternError, match=r"layer 1: head 2: pattern 'na', step 1 leaves query 0"):
        model.on("4x4")


def test_a_layer_of_heads_reads_its_queries_own_tokens_as_verify_model_does(
    tmp_path: Path,
) -> None:
    """``k != q`` on heads side by side: each query weighs several keys, so its output
    reads its own token too; the model file and the PyTorch layer agree."""
    from torch import nn

    from ylg.attention import SparseSelfAttention, verify_model
    from ylg.ifg.stack import verify_stack

    write(tmp_path, "others.toml", 'name = "others"\nsteps = ["k != q"]')
    model = load_model(
        write(tmp_path, "m.toml", '[[layers]]\nheads = [{ pattern = "others.toml" }]')
    )
    (masks,) = model.on("5")
    assert masks.pattern.name == "others + itself" and masks.dense(0).all()
    layer = SparseSelfAttention(4, load_pattern(str(tmp_path / "others.toml")), grid="5",
                                num_heads=2, verify=False)  # fmt: skip
    assert verify_stack([masks]).holds and verify_model(nn.Sequential(layer)).holds
    shift = write(tmp_path, "shift.toml", 'name = "shift"\nsteps = ["k == (q + 1) % n"]')
    one_key = load_model(
        write(tmp_path, "s.toml", f'[[layers]]\nheads = [{{ pattern = "{shift}" }}]')
    )
    assert one_key.on("5")[0].pattern.name == "shift"  # one key: nothing more is read
