"""Models: a stack of attention layers, written as a small TOML file.

A model file lists its layers in order, each a pattern (a library name, or a pattern
file given as a path ending in ``.toml``, relative to the model file), how many times
it repeats, the pattern's parameters and, optionally, the layer's own order and stride:

.. code-block:: toml

    name = "video-dit-local"
    description = "a video transformer: local attention, dilated every other layer"
    grid = "16x32x32"               # optional: the grid the model runs on

    [[layers]]
    pattern = "window"              # a library pattern, or "patterns/mine.toml"
    repeat = 2                      # optional, 1 by default

    [[layers]]
    pattern = "axial"
    order = "rowmajor"              # optional: this layer's order and stride (an integer,
    stride = "divisor(n, isqrt(n))" #   or a rule over the grid's sizes)
    params = { }                    # optional: the pattern's parameters

    [[layers]]                      # heads side by side: the union of their steps
    heads = [
        { pattern = "na", params = { win_i = 3, win_j = 3 } },
        { pattern = "dilated-na", params = { dil_i = 4, dil_j = 4 }, steps = [1] },
    ]

A layer's ``pattern`` runs its steps in turn, as the paper reads a pattern. A layer of
``heads`` is what attention heads side by side do, each through one step: every query
reads the keys any of them reads, so the layer is one step, the union of the heads'
steps (``steps``: 1-based, all of the pattern's by default), from any patterns that
number the cells in one order (:func:`ylg.patterns.union.step_union`).

:meth:`Model.on` lays every layer on one layout, giving the list of
:class:`~ylg.patterns.Masks` that :mod:`ylg.ifg.stack` verifies. Every mistake in a
file is one :class:`~ylg.errors.PatternError` line that names the layer.

>>> m = load_model('''
... name = "two-step"
... [[layers]]
... pattern = "ltr"
... repeat = 2
... [[layers]]
... pattern = "rtl"
... ''')
>>> m.name, m.depth, [layer.pattern.name for layer in m.expanded()]
('two-step', 3, ['ltr', 'ltr', 'rtl'])
>>> [masks.describe() for masks in m.on("8x8")][0]
'8x8, esa, s=8'
"""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ylg.errors import PatternError
from ylg.patterns.enumerations import ORDERS
from ylg.patterns.grid import Grid
from ylg.patterns.layout import Layout, check_stride
from ylg.patterns.library import library, load_pattern
from ylg.patterns.masks import Masks
from ylg.patterns.pattern import Pattern
from ylg.patterns.union import heads_union

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

#: Most layers a model may have, repeats counted.
MAX_LAYERS = 1024
#: Largest model file read.
MAX_MODEL_FILE = 1 << 20
_KEYS = ("name", "description", "grid", "layers", "notes", "meta")
_LAYER_KEYS = ("pattern", "heads", "repeat", "params", "order", "stride")
_HEAD_KEYS = ("pattern", "params", "steps")


@dataclass(frozen=True)
class Head:
    """One head of a layer of heads side by side: a pattern (its parameters set) and the
    steps (0-based) it gives the layer; ``source`` is how the file named the pattern."""

    pattern: Pattern
    steps: tuple[int, ...]
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (steps 1-based, as the file writes them)."""
        return {
            "pattern": self.pattern.name,
            "source": self.source or self.pattern.name,
            "params": dict(self.pattern.params),
            "steps": [s + 1 for s in self.steps],
        }


@dataclass(frozen=True)
class ModelLayer:
    """One entry of a model: a pattern (its parameters set) whose steps run in turn, or
    ``heads`` side by side (the union of their steps; ``pattern`` is then ``None``),
    repeated ``repeat`` times, with the layer's own order and stride (``None``: the
    layout's, else the pattern's). ``source`` is how the file named the pattern.

    >>> from ylg.patterns import load_pattern
    >>> both = ModelLayer(None, heads=(Head(load_pattern("na"), (0,)),
    ...                                Head(load_pattern("axial"), (0, 1))))
    >>> both.name, both.on("4x4").counts()
    ('na + axial', [256])
    """

    pattern: Pattern | None
    repeat: int = 1
    order: str | None = None
    stride: int | str | None = None
    source: str = ""
    heads: tuple[Head, ...] = ()

    def __post_init__(self) -> None:
        if (self.pattern is None) == (not self.heads):
            raise PatternError("a model layer has a pattern or heads, one of the two")

    @property
    def name(self) -> str:
        """The pattern's name, or the heads' patterns joined by ``+``."""
        if self.pattern is not None:
            return self.pattern.name
        return " + ".join(dict.fromkeys(h.pattern.name for h in self.heads))

    def on(self, layout: "Layout | str | int | Grid | tuple[int, ...]") -> Masks:
        """The layer's masks on ``layout`` with its own order and stride: its pattern's,
        or one step, the union of its heads' steps on that layout."""
        lay = Layout.of(layout, order=self.order, stride=self.stride)
        if self.pattern is not None:
            return self.pattern.on(lay)
        parts = []
        for number, head in enumerate(self.heads, 1):
            masks = head.pattern.on(lay)
            for step in head.steps:
                counts = masks.keys_per_query(step)
                if counts.min() == 0:  # a query of this head would attend nothing
                    error = masks._empty_row_error(step, int(np.argmin(counts)))
                    raise PatternError(f"head {number}: {error}")
                parts.append((masks, step))
        return heads_union(parts, name=self.name).on(lay)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        common = {"repeat": self.repeat, "order": self.order, "stride": self.stride}
        if self.pattern is None:
            return {"heads": [h.to_dict() for h in self.heads], **common}
        return {
            "pattern": self.pattern.name,
            "source": self.source or self.pattern.name,
            "params": dict(self.pattern.params),
            **common,
        }


@dataclass(frozen=True)
class Model:
    """A stack of attention layers: a name, a description, the entries in order and,
    optionally, the grid it runs on. Read one with :func:`load_model`.

    >>> from ylg.patterns import load_pattern
    >>> m = Model("pair", "", (ModelLayer(load_pattern("axial"), repeat=2),))
    >>> [x.shape for x in m.on("4x4")]
    [(2, 16, 16), (2, 16, 16)]
    """

    name: str
    description: str
    layers: tuple[ModelLayer, ...]
    grid: Grid | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise PatternError("a model needs a non-empty name")
        if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in self.name):
            raise PatternError(f"a model's name is one line of text, not {self.name!r}")
        if not isinstance(self.layers, tuple) or not self.layers:
            raise PatternError(f"model {self.name!r}: a model needs at least one layer")
        if self.depth > MAX_LAYERS:
            raise PatternError(
                f"model {self.name!r} has {self.depth} layers (repeats counted);"
                f" at most {MAX_LAYERS}"
            )

    @property
    def depth(self) -> int:
        """Number of layers, repeats counted."""
        return sum(layer.repeat for layer in self.layers)

    def expanded(self) -> list[ModelLayer]:
        """One entry per layer, repeats written out (the same object for each repeat)."""
        return [layer for layer in self.layers for _ in range(layer.repeat)]

    def on(
        self,
        layout: "Layout | str | int | Grid | tuple[int, ...] | None" = None,
        *,
        order: str | None = None,
        stride: int | str | None = None,
    ) -> list[Masks]:
        """The masks of every layer, repeats written out, on ``layout`` (a layout or a
        grid; by default the model's own ``grid``). ``order`` and ``stride`` apply to the
        layers that set none of their own. Every layer but the last runs on the key
        grid; the last one takes the layout's query grid, if it has another.

        Layers with one pattern on one layout share one :class:`Masks`.

        >>> m = load_model('[[layers]]\\npattern = "ltr"\\nrepeat = 3')
        >>> stack = m.on("4x4", order="rowmajor")
        >>> len(stack), stack[0] is stack[2], stack[0].order
        (3, True, 'rowmajor')
        """
        if layout is None:
            if self.grid is None:
                raise PatternError(
                    f"model {self.name!r} names no grid; give one (like --grid 32x32)"
                )
            layout = self.grid
        base = Layout.of(layout, order=order, stride=stride)
        inner = base.square_on_keys()
        entries = self.expanded()
        built: dict[tuple[Any, ...], Masks] = {}
        out = []
        for index, layer in enumerate(entries):
            lay = base if index == len(entries) - 1 else inner
            key = (layer.pattern, layer.heads, layer.order, layer.stride, lay)
            if key not in built:
                try:
                    built[key] = layer.on(lay)
                except PatternError as exc:
                    raise PatternError(f"model {self.name!r}, layer {index + 1}: {exc}") from None
            out.append(built[key])
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "name": self.name,
            "description": self.description,
            "grid": None if self.grid is None else str(self.grid),
            "depth": self.depth,
            "layers": [layer.to_dict() for layer in self.layers],
        }

    # -- TOML ------------------------------------------------------------------------
    @classmethod
    def from_toml(
        cls, text: str, origin: str = "model", base: "str | os.PathLike[str] | None" = None
    ) -> "Model":
        """Read a model file's text; pattern files are found relative to ``base`` (a
        folder; default: the working folder). ``origin`` names the file in errors."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PatternError(f"{origin}: not valid TOML: {' '.join(str(exc).split())}") from None
        return cls.from_dict(data, origin, base)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        origin: str = "model",
        base: "str | os.PathLike[str] | None" = None,
    ) -> "Model":
        """Build from the keys of a model file (see the module's example)."""
        unknown = sorted(set(data) - set(_KEYS))
        if unknown:
            raise PatternError(
                f"{origin}: unknown key(s) {', '.join(unknown)} (known: {', '.join(_KEYS)})"
            )
        for key in ("name", "description", "notes"):
            if key in data and not isinstance(data[key], str):
                raise PatternError(f"{origin}: {key} must be a string")
        if "meta" in data and not isinstance(data["meta"], dict):
            raise PatternError(f"{origin}: meta must be a table")
        name = data.get("name", Path(origin).stem if origin != "model" else "model")
        grid = None
        if "grid" in data:
            try:
                grid = Grid.parse(data["grid"])
            except PatternError as exc:
                raise PatternError(f"{origin}: grid: {exc}") from None
        if "layers" not in data:
            raise PatternError(
                f"{origin}: missing required key 'layers' (one [[layers]] table per entry)"
            )
        raw = data["layers"]
        if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
            raise PatternError(f"{origin}: layers must be an array of tables ([[layers]] entries)")
        if not raw:
            raise PatternError(f"{origin}: a model needs at least one layer")
        folder = Path(base) if base is not None else None
        layers = []
        total = 0
        for index, entry in enumerate(raw, 1):
            layer = _layer(entry, f"{origin}, layer {index}", folder)
            total += layer.repeat
            if total > MAX_LAYERS:
                raise PatternError(
                    f"{origin}: more than {MAX_LAYERS} layers (repeats counted);"
                    " a model has at most that many"
                )
            layers.append(layer)
        return cls(
            name=name,
            description=data.get("description", ""),
            layers=tuple(layers),
            grid=grid,
            notes=data.get("notes", ""),
        )


def _positive(value: Any, what: str, where: str, most: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise PatternError(f"{where}: {what} must be a positive integer, got {value!r}")
    if most is not None and value > most:
        raise PatternError(f"{where}: {what} must be at most {most}, got {value}")
    return int(value)


def _layer(entry: Mapping[str, Any], where: str, folder: Path | None) -> ModelLayer:
    unknown = sorted(set(entry) - set(_LAYER_KEYS))
    if unknown:
        raise PatternError(
            f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(_LAYER_KEYS)})"
        )
    if ("pattern" in entry) == ("heads" in entry):
        raise PatternError(
            f"{where}: give 'pattern' (a library name or a .toml file; its steps in turn)"
            " or 'heads' (patterns side by side), one of the two"
        )
    repeat = _positive(entry.get("repeat", 1), "repeat", where, MAX_LAYERS)
    pattern: Pattern | None = None
    heads: tuple[Head, ...] = ()
    source = entry.get("pattern", "")
    if "heads" in entry:
        if "params" in entry:
            raise PatternError(f"{where}: with heads, each head sets its own params")
        heads = _heads(entry["heads"], where, folder)
    else:
        pattern = _with_params(_pattern(source, where, folder), entry.get("params", {}), where)
    order = entry.get("order")
    if order is not None and (not isinstance(order, str) or order not in ORDERS):
        raise PatternError(f"{where}: unknown order {order!r} (known: {', '.join(ORDERS)})")
    stride = entry.get("stride")
    if isinstance(stride, str):
        try:
            stride = check_stride(stride)
        except PatternError as exc:
            raise PatternError(f"{where}: {exc}") from None
    elif stride is not None:
        stride = _positive(stride, "stride", where)
    return ModelLayer(pattern, repeat, order, stride, source, heads)


def _with_params(pattern: Pattern, params: Any, where: str) -> Pattern:
    if not isinstance(params, dict):
        raise PatternError(f"{where}: params must be a table, like params = {{ r = 3 }}")
    try:
        return pattern.with_params(params) if params else pattern
    except PatternError as exc:
        raise PatternError(f"{where}: {exc}") from None


def _heads(raw: Any, where: str, folder: Path | None) -> tuple[Head, ...]:
    """The ``heads = [{ pattern = ..., params = {...}, steps = [1, 2] }, ...]`` of a layer."""
    if not isinstance(raw, list) or not raw or not all(isinstance(h, dict) for h in raw):
        raise PatternError(
            f"{where}: heads must be a non-empty list of tables, like"
            ' heads = [{ pattern = "na" }, { pattern = "dilated-na" }]'
        )
    if len(raw) > MAX_LAYERS:
        raise PatternError(f"{where}: more than {MAX_LAYERS} heads")
    out = []
    for number, entry in enumerate(raw, 1):
        at = f"{where}, head {number}"
        unknown = sorted(set(entry) - set(_HEAD_KEYS))
        if unknown:
            raise PatternError(
                f"{at}: unknown key(s) {', '.join(unknown)} (known: {', '.join(_HEAD_KEYS)})"
            )
        if "pattern" not in entry:
            raise PatternError(f"{at}: missing required key 'pattern'")
        pattern = _with_params(_pattern(entry["pattern"], at, folder), entry.get("params", {}), at)
        count = len(pattern.steps)
        steps = entry.get("steps", list(range(1, count + 1)))
        if (
            not isinstance(steps, list)
            or not steps
            or not all(
                isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= count for x in steps
            )
        ):
            raise PatternError(
                f"{at}: steps must be a non-empty list of {pattern.name!r}'s steps, 1 to"
                f" {count} (1-based), got {steps!r:.60}"
            )
        out.append(Head(pattern, tuple(sorted({x - 1 for x in steps})), entry["pattern"]))
    return tuple(out)


def _pattern(value: Any, where: str, folder: Path | None) -> Pattern:
    if not isinstance(value, str) or not value.strip():
        raise PatternError(
            f"{where}: pattern must be a library name or a .toml file, got {value!r}"
        )
    if value.endswith(".toml") or "/" in value or os.sep in value:
        path = Path(value)
        if folder is not None and not path.is_absolute():
            path = folder / path
        try:
            found = path.is_file()
            pattern = load_pattern(str(path)) if found else None
        except PatternError as exc:
            raise PatternError(f"{where}: {exc}") from None
        except (OSError, ValueError) as exc:  # a name too long, a NUL byte
            reason = getattr(exc, "strerror", None) or exc
            raise PatternError(
                f"{where}: cannot read pattern file {value!r:.200}: {reason}"
            ) from None
        if pattern is None:
            shown = str(path) if str(path).isprintable() else ascii(str(path))
            raise PatternError(f"{where}: no pattern file {shown:.200}")
        return pattern
    patterns = library()
    if value not in patterns:
        raise PatternError(
            f"{where}: unknown pattern {value!r} (library: {', '.join(patterns)};"
            " a pattern file is a path ending in .toml)"
        )
    return patterns[value]


def load_model(source: "str | os.PathLike[str]") -> Model:
    """A model from a file (a path) or from its TOML text (a string with a newline or
    ``=`` in it). Pattern files named in a model file are found next to it.

    >>> load_model('[[layers]]\\npattern = "nope"')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ylg.errors.PatternError: model, layer 1: unknown pattern 'nope' (library: ...)
    >>> load_model("missing.toml")
    Traceback (most recent call last):
    ...
    ylg.errors.PatternError: no model file missing.toml
    """
    if isinstance(source, str) and ("\n" in source or "=" in source):
        return Model.from_toml(source)
    if not isinstance(source, (str, os.PathLike)):
        raise PatternError(f"a model is a file or its TOML text, not {type(source).__name__}")
    path = Path(os.fspath(source))
    text = os.fspath(source)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_MODEL_FILE + 1)
    except FileNotFoundError:
        raise PatternError(f"no model file {text}") from None
    except OSError as exc:
        raise PatternError(f"cannot read model file {text}: {exc.strerror or exc}") from None
    if len(raw) > MAX_MODEL_FILE:
        raise PatternError(
            f"model file {text} is larger than {MAX_MODEL_FILE // 1024} KiB; a model is a"
            " list of layers"
        )
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PatternError(f"model file {text} is not UTF-8 text") from None
    return Model.from_toml(body, origin=text, base=path.parent)
