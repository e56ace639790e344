"""The expression language of pattern steps: parsing, type checking and evaluation.

A step is a boolean expression over integer variables (``q``, ``k``, ``n``, ...).
Source text is parsed with Python's :mod:`ast` and then checked against a strict
whitelist: only integer literals, the known variables, ``+ - * // %``, unary minus,
comparisons (chained too), ``and``/``or``/``not``, parentheses and the functions
``abs``, ``min`` and ``max`` are accepted. Nothing is ever executed as Python code:
the checked tree is walked by :meth:`Expr.evaluate`, on numpy arrays or on torch
tensors, so one parsed step serves both the mask builder and FlexAttention.

>>> import numpy as np
>>> e = parse_expr("q // s == k // s and k <= q", STEP_VARIABLES)
>>> q = np.arange(4).reshape(-1, 1); k = np.arange(4).reshape(1, -1)
>>> e.evaluate({"q": q, "k": k, "s": 2}).astype(int)
array([[1, 0, 0, 0],
       [1, 1, 0, 0],
       [0, 0, 1, 0],
       [0, 0, 1, 1]])
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ylg.errors import PatternError

INT = "int"
BOOL = "bool"

#: Variables a step expression may use, with their meaning. Grid axes are named from
#: the last back: ``j`` (column), ``i`` (row), ``t`` (frame); an axis a grid does not
#: have has side 1 and coordinate 0, so image patterns run on videos and back.
STEP_VARIABLES: dict[str, str] = {
    "q": "query position in the pattern's enumeration",
    "k": "key position in the pattern's enumeration",
    "n": "number of key positions",
    "nq": "number of query positions",
    "s": "the stride (default floor(sqrt(n)))",
    "qt": "frame of the query cell (3-D grids; 0 otherwise)",
    "qi": "grid row of the query cell",
    "qj": "grid column of the query cell",
    "kt": "frame of the key cell (3-D grids; 0 otherwise)",
    "ki": "grid row of the key cell",
    "kj": "grid column of the key cell",
    "t": "frames of the key grid (1 on 1-D and 2-D grids)",
    "h": "height of the key grid (1 on 1-D grids)",
    "w": "width of the key grid",
    "tq": "frames of the query grid",
    "hq": "height of the query grid",
    "wq": "width of the query grid",
}

#: The query grid's sizes: on a layout's square version (queries on the key grid) they
#: take the key grid's values.
QUERY_SIZE_VARIABLES = frozenset(("nq", "tq", "hq", "wq"))
#: Variables a stride rule may use.
STRIDE_VARIABLES: dict[str, str] = {
    k: STEP_VARIABLES[k] for k in ("n", "nq", "t", "h", "w", "tq", "hq", "wq")
}

#: Longest expression read: far above a hand-written step, room for generated unions.
MAX_SOURCE_LENGTH = 20_000
#: Deepest nesting of operators an expression may have (``not not ... k == q`` included):
#: far more than any pattern needs, and few enough that evaluation never recurses deeply.
MAX_DEPTH = 100
MAX_LITERAL = 2**31
MAX_INTERMEDIATE = 2**62

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//", ast.Mod: "%"}
_CMPOPS = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
}
_CMP_NAMES = frozenset(_CMPOPS.values())
_FUNCS = {"abs": (1, 1), "min": (2, None), "max": (2, None), "isqrt": (1, 1), "divisor": (2, 2)}
#: Functions step expressions may call; stride rules may also call ``isqrt`` and
#: ``divisor(n, m)`` (the largest divisor of ``n`` that is at most ``m``).
STEP_FUNCTIONS = ("abs", "min", "max")
STRIDE_FUNCTIONS = ("abs", "min", "max", "isqrt", "divisor")


@dataclass(frozen=True)
class Node:
    """One checked node of an expression tree: an operator, its operands, its type."""

    op: str
    args: tuple[Any, ...]
    type: str
    col: int


class Expr:
    """A parsed, type-checked expression. Build it with :func:`parse_expr`.

    >>> e = parse_expr("abs(qi - ki) <= 1", STEP_VARIABLES)
    >>> sorted(e.variables)
    ['ki', 'qi']
    """

    def __init__(self, source: str, root: Node, variables: frozenset[str]) -> None:
        self.source = source
        self.root = root
        self.variables = variables
        self._plain: dict[str, Callable[[Mapping[str, Any]], Any]] = {}

    @property
    def type(self) -> str:
        """``"bool"`` or ``"int"``."""
        return self.root.type

    def __repr__(self) -> str:
        return f"Expr({self.source!r})"

    def substitute(self, values: Mapping[str, int]) -> str:
        """The expression's text with the variables in ``values`` written as integers
        (a pattern's parameters, or its stride on one layout): the same predicate where
        those variables take those values.

        >>> parse_expr("abs(qj - kj) <= r and k % s == s - 1", {**STEP_VARIABLES, "r": ""}
        ...            ).substitute({"r": 2, "s": 4})
        'abs(qj - kj) <= 2 and k % 4 == 4 - 1'
        >>> parse_expr("(q - k) * -(s + 1) > 0", STEP_VARIABLES).substitute({"s": -3})
        '(q - k) * -(-3 + 1) > 0'
        """
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise PatternError(f"{name} must be an integer to substitute, not {value!r}")
        return _render(self.root, values)

    # -- static analysis ---------------------------------------------------------
    def bounds(self, ranges: Mapping[str, tuple[int, int]]) -> tuple[int, int]:
        """Interval of values the expression can take when each variable lies in its range.

        Raises :class:`PatternError` when an intermediate value could leave the range
        of 64-bit integers, so evaluation can never overflow silently.

        >>> parse_expr("q * 2 - k", STEP_VARIABLES, want=INT).bounds({"q": (0, 9), "k": (0, 9)})
        (-9, 18)
        """
        return _bounds(self.root, ranges, self.source, [0])

    def magnitude(self, ranges: Mapping[str, tuple[int, int]]) -> int:
        """Largest absolute value any integer sub-expression can take (checks overflow too).

        The mask builder uses it to pick the narrowest integer type that is exact.

        >>> parse_expr("abs(q - k) % s == 0", STEP_VARIABLES).magnitude(
        ...     {"q": (0, 99), "k": (0, 99), "s": (10, 10)})
        99
        """
        seen = [0]
        _bounds(self.root, ranges, self.source, seen)
        return seen[0]

    # -- evaluation --------------------------------------------------------------
    def evaluate(self, env: Mapping[str, Any], backend: str = "numpy") -> Any:
        """Evaluate on numpy arrays (``backend="numpy"``) or torch tensors (``"torch"``).

        Variables may be Python ints or arrays/tensors that broadcast together.
        ``and`` and ``or`` short-circuit as in Python, pair by pair: the right operand
        matters only for the (query, key) pairs the left one does not decide, so a
        division by zero there is no error. With numpy, a division or modulo by zero
        in a pair that is evaluated raises :class:`PatternError`.

        >>> parse_expr("k % s == s - 1", STEP_VARIABLES).evaluate({"k": 5, "s": 3})
        True
        >>> e = parse_expr("k > 0 and q // k >= 1 or k == q", STEP_VARIABLES)
        >>> e.evaluate({"q": np.arange(3)[:, None], "k": np.arange(3)[None, :]}).astype(int)
        array([[1, 0, 0],
               [0, 1, 0],
               [0, 1, 1]])
        """
        missing = [name for name in self.variables if name not in env]
        if missing:
            raise PatternError(f"no value given for {', '.join(sorted(missing))} in {self.source}")
        fn = self._plain.get(backend)
        if fn is None:
            fn = self._plain[backend] = self.compile(backend=backend)
        return fn(env)

    def compile(
        self,
        ranges: Mapping[str, tuple[int, int]] | None = None,
        constants: Mapping[str, Any] | None = None,
        backend: str = "numpy",
    ) -> Callable[[Mapping[str, Any]], Any]:
        """The expression as a function of ``env`` giving what :meth:`evaluate` gives.

        Made once for many evaluations (the blocks of a mask): where ``ranges`` (the
        interval of each variable's values) prove that a divisor is never zero, that
        division is not guarded, and an ``and``/``or`` operand holding only such
        divisions is computed for every pair with no mask of the pairs it decides.
        Sub-expressions of the ``constants`` alone (variables with the same value in
        every call, like the key tables of a layout) that cannot raise are computed
        here, once. Every ``env`` given must lie in ``ranges`` and agree with
        ``constants``.

        >>> e = parse_expr("k % s == s - 1 or q // k > 1", STEP_VARIABLES)
        >>> f = e.compile({"q": (0, 3), "k": (0, 3), "s": (2, 2)}, {"s": 2})
        >>> f({"q": np.arange(4)[:, None], "k": np.arange(1, 4)[None, :]}).astype(int)
        array([[1, 0, 1],
               [1, 0, 1],
               [1, 0, 1],
               [1, 0, 1]])
        """
        ops = _NUMPY if backend == "numpy" else _TORCH
        compiler = _Compiler(ops, self.source, ranges, constants or {})
        fn = compiler.part(self.root).fn
        shared = compiler.arrays
        if not shared:
            return lambda env: fn(env, None)

        def run(env: Mapping[str, Any]) -> Any:
            out = fn(env, None)
            if isinstance(out, np.ndarray) and any(out is a for a in shared):
                return out.copy()  # each call gets its own array, as before
            return out

        return run

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_plain": {}}  # compiled functions are remade on use


# -- parsing ---------------------------------------------------------------------


def integer_literal(text: str) -> int | None:
    """``text`` as an integer when it is one written plainly (ASCII digits, at most one
    sign, spaces around), else None: ``"+-5"``, ``"²"`` and ``"٣"`` are not integers.

    >>> integer_literal(" -12 "), integer_literal("+-5"), integer_literal("²")
    (-12, None, None)
    """
    body = text.strip()
    digits = body[1:] if body[:1] in ("+", "-") else body
    if digits.isascii() and digits.isdigit():
        return int(body)
    return None


def parse_expr(
    source: str,
    variables: Mapping[str, str],
    *,
    want: str | None = BOOL,
    functions: tuple[str, ...] = STEP_FUNCTIONS,
) -> Expr:
    """Parse and type-check ``source``; ``want`` is the type the whole must have.

    Every problem raises :class:`PatternError` naming the column (1-based).

    >>> parse_expr("k <= q", STEP_VARIABLES).type
    'bool'
    >>> parse_expr("k + ", STEP_VARIABLES)
    Traceback (most recent call last):
    ...
    ylg.errors.PatternError: syntax error (unexpected end) at column 4: k +
    """
    if not isinstance(source, str):
        raise PatternError(f"an expression must be a string, not {type(source).__name__}")
    text = source.strip()
    if not text:
        raise PatternError("empty expression")
    if len(text) > MAX_SOURCE_LENGTH:
        raise PatternError(f"expression longer than {MAX_SOURCE_LENGTH} characters")
    if "\n" in text or "\r" in text:
        raise PatternError(f"an expression must be one line: {text!r}")
    for col, char in enumerate(text, 1):
        if ord(char) < 32 and char != "\t":
            raise PatternError(f"control character {char!r} at column {col}: {text!r}")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        # Python reports offset 0 when the text ends too early.
        col = exc.offset if exc.offset else len(text) + 1
        reason = "unexpected end" if not exc.offset else (exc.msg or "invalid syntax")
        raise PatternError(f"syntax error ({reason}) at column {col}: {text}") from None
    except (ValueError, RecursionError, MemoryError, OverflowError):
        raise PatternError(f"cannot parse expression: {text!r}") from None
    used: set[str] = set()
    too_deep = PatternError(f"expression nested more than {MAX_DEPTH} levels deep: {text[:40]}...")
    try:
        if _depth(tree.body) > MAX_DEPTH:
            raise too_deep
        root = _check(tree.body, variables, functions, used, text)
    except RecursionError:
        raise too_deep from None
    if want is not None and root.type != want:
        raise PatternError(
            f"expression must be {'boolean (a comparison)' if want == BOOL else 'an integer'},"
            f" got {'an integer' if root.type == INT else 'a boolean'}: {text}"
        )
    return Expr(text, root, frozenset(used))


def _depth(tree: ast.AST) -> int:
    """Nesting depth of a syntax tree, found without recursion (so any depth is safe)."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        stack.extend(
            (child, depth + 1)
            for child in ast.iter_child_nodes(node)
            if isinstance(child, ast.expr)
        )
    return deepest


def _column(node: ast.AST, text: str) -> int:
    offset = getattr(node, "col_offset", 0)
    return len(text.encode("utf-8")[:offset].decode("utf-8", errors="ignore")) + 1


def _fail(node: ast.AST, text: str, message: str, hint: str = "") -> PatternError:
    return PatternError(f"{message} at column {_column(node, text)}: {text}{hint}")


def _check(
    node: ast.AST,
    variables: Mapping[str, str],
    functions: tuple[str, ...],
    used: set[str],
    text: str,
) -> Node:
    col = _column(node, text)
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(node, text, f"only integer literals are allowed, not {value!r}")
        if abs(value) > MAX_LITERAL:
            raise _fail(node, text, f"integer literal {value} is too large")
        return Node("const", (int(value),), INT, col)
    if isinstance(node, ast.Name):
        if node.id not in variables:
            known = ", ".join(variables)
            raise _fail(node, text, f"unknown variable {node.id!r}", f" (known: {known})")
        used.add(node.id)
        return Node("var", (node.id,), INT, col)
    if isinstance(node, ast.UnaryOp):
        operand = _check(node.operand, variables, functions, used, text)
        if isinstance(node.op, ast.Not):
            _expect(operand, BOOL, node, text, "'not'")
            return Node("not", (operand,), BOOL, col)
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            _expect(operand, INT, node, text, "unary minus")
            return operand if isinstance(node.op, ast.UAdd) else Node("neg", (operand,), INT, col)
        raise _fail(node, text, "operator '~' is not allowed")
    if isinstance(node, ast.BinOp):
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise _fail(node, text, f"operator {type(node.op).__name__} is not allowed")
        left = _check(node.left, variables, functions, used, text)
        right = _check(node.right, variables, functions, used, text)
        _expect(left, INT, node.left, text, f"'{op}'")
        _expect(right, INT, node.right, text, f"'{op}'")
        return Node(op, (left, right), INT, col)
    if isinstance(node, ast.BoolOp):
        op = "and" if isinstance(node.op, ast.And) else "or"
        values = tuple(_check(v, variables, functions, used, text) for v in node.values)
        for child, v in zip(values, node.values):
            _expect(child, BOOL, v, text, f"'{op}'")
        return Node(op, values, BOOL, col)
    if isinstance(node, ast.Compare):
        operands = [_check(node.left, variables, functions, used, text)]
        operands += [_check(c, variables, functions, used, text) for c in node.comparators]
        for child, src in zip(operands, [node.left, *node.comparators]):
            _expect(child, INT, src, text, "a comparison")
        parts = []
        for i, cmp in enumerate(node.ops):
            op = _CMPOPS.get(type(cmp))
            if op is None:
                raise _fail(node, text, f"comparison {type(cmp).__name__} is not allowed")
            parts.append(Node(op, (operands[i], operands[i + 1]), BOOL, col))
        return parts[0] if len(parts) == 1 else Node("and", tuple(parts), BOOL, col)
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in functions:
            allowed = ", ".join(functions)
            raise _fail(node, text, f"only these functions may be called: {allowed}")
        if node.keywords:
            raise _fail(node, text, f"{name}() takes no keyword arguments")
        lo, hi = _FUNCS[name]
        if len(node.args) < lo or (hi is not None and len(node.args) > hi):
            want = f"exactly {lo}" if lo == hi else f"at least {lo}"
            raise _fail(node, text, f"{name}() takes {want} argument(s)")
        args = tuple(_check(a, variables, functions, used, text) for a in node.args)
        for child, src in zip(args, node.args):
            _expect(child, INT, src, text, f"{name}()")
        return Node(name, args, INT, col)
    what = type(node).__name__
    raise _fail(node, text, f"{what} is not allowed in a pattern expression")


def _expect(child: Node, want: str, node: ast.AST, text: str, where: str) -> None:
    if child.type != want:
        kind = "a boolean" if want == BOOL else "an integer"
        raise _fail(node, text, f"{where} needs {kind} operand")


# -- interval bounds -------------------------------------------------------------


def _bounds(
    node: Node, ranges: Mapping[str, tuple[int, int]], text: str, seen: list[int]
) -> tuple[int, int]:
    op = node.op
    if node.type == BOOL:
        for a in node.args:
            _bounds(a, ranges, text, seen)
        return (0, 1)
    if op == "const":
        lo = hi = node.args[0]
    elif op == "var":
        lo, hi = ranges[node.args[0]]
    else:
        b = [_bounds(a, ranges, text, seen) for a in node.args]
        if op == "neg":
            lo, hi = -b[0][1], -b[0][0]
        elif op == "isqrt":
            lo, hi = isqrt(max(b[0][0], 0)), isqrt(max(b[0][1], 0))
        elif op == "divisor":
            lo, hi = 1, max(1, min(b[0][1], b[1][1]))
        elif op == "abs":
            (a0, a1) = b[0]
            lo = 0 if a0 <= 0 <= a1 else min(abs(a0), abs(a1))
            hi = max(abs(a0), abs(a1))
        elif op == "min":
            lo, hi = min(x[0] for x in b), min(x[1] for x in b)
        elif op == "max":
            lo, hi = max(x[0] for x in b), max(x[1] for x in b)
        elif op in "+-*":
            (a0, a1), (b0, b1) = b
            if op == "+":
                lo, hi = a0 + b0, a1 + b1
            elif op == "-":
                lo, hi = a0 - b1, a1 - b0
            else:
                products = (a0 * b0, a0 * b1, a1 * b0, a1 * b1)
                lo, hi = min(products), max(products)
        elif op == "//":
            m = max(abs(b[0][0]), abs(b[0][1]))
            lo, hi = -m, m
        else:  # %
            m = max(abs(b[1][0]), abs(b[1][1]))
            lo, hi = -m, m
    if max(abs(lo), abs(hi)) > MAX_INTERMEDIATE:
        raise PatternError(
            f"values of '{_render(node)}' may overflow 64-bit integers at column {node.col}: {text}"
        )
    seen[0] = max(seen[0], abs(lo), abs(hi))
    return lo, hi


def _is_chain(args: tuple[Any, ...]) -> bool:
    """Whether the operands of an ``and`` are one chained comparison as parsed: each
    comparison's right operand is the next one's left (the same node)."""
    return all(a.op in _CMP_NAMES for a in args) and all(
        a.args[1] is b.args[0] for a, b in zip(args, args[1:])
    )


#: How tightly each operator binds, as in Python: an operand that binds less tightly
#: than its place needs is written in parentheses.
_PRECEDENCE = {
    "or": 1,
    "and": 2,
    "not": 3,
    **{op: 4 for op in _CMPOPS.values()},
    "+": 5,
    "-": 5,
    "*": 6,
    "//": 6,
    "%": 6,
    "neg": 7,
}
_ATOM = 8


def _render(node: Node, values: Mapping[str, int] | None = None) -> str:
    """The expression as text, with the variables in ``values`` written as their
    integers; parentheses wherever Python's precedence needs them, so the text parses
    back to the same tree (the same meaning)."""
    return _text(node, values or {})[0]


def _text(node: Node, values: Mapping[str, int]) -> tuple[str, int]:
    """``(text, precedence)`` of a node."""
    op, args = node.op, node.args
    if op in ("const", "var"):
        value = args[0] if op == "const" else values.get(args[0], args[0])
        if isinstance(value, str):
            return value, _ATOM
        return str(int(value)), _ATOM if value >= 0 else _PRECEDENCE["neg"]
    if op in _FUNCS:
        return f"{op}({', '.join(_text(a, values)[0] for a in args)})", _ATOM
    level = _PRECEDENCE[op]

    def operand(child: Node, at_least: int) -> str:
        text, binds = _text(child, values)
        return text if binds >= at_least else f"({text})"

    if op == "neg":
        return f"-{operand(args[0], level)}", level
    if op == "not":
        return f"not {operand(args[0], level)}", level
    if op == "and" and _is_chain(args):  # 0 <= x < 7, parsed as two comparisons
        cmp = _PRECEDENCE["<"]
        text = operand(args[0].args[0], cmp + 1)
        for part in args:
            text += f" {part.op} {operand(part.args[1], cmp + 1)}"
        return text, cmp
    if op in ("and", "or"):
        return f" {op} ".join(operand(a, level + 1) for a in args), level
    # Binary: the left operand may bind as tightly (a - b - c), the right one must bind
    # more tightly (a - (b - c)); comparisons do not chain here (a chain is an 'and').
    left_needs = level + 1 if level == _PRECEDENCE["<"] else level
    return f"{operand(args[0], left_needs)} {op} {operand(args[1], level + 1)}", level


# -- evaluation ------------------------------------------------------------------


class _Ops:
    """The handful of array operations evaluation needs, for one array library."""

    def __init__(
        self,
        name: str,
        logical_not: Callable[[Any], Any],
        minimum: Callable[[Any, Any], Any],
        maximum: Callable[[Any, Any], Any],
        absolute: Callable[[Any], Any],
        any_zero: Callable[[Any], bool] | None,
    ) -> None:
        self.name = name
        self.logical_not = logical_not
        self.minimum = minimum
        self.maximum = maximum
        self.absolute = absolute
        self.any_zero = any_zero


def _torch_pair(fn_name: str) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        import torch

        fn = getattr(torch, fn_name)
        if not isinstance(a, torch.Tensor):
            a = torch.as_tensor(a, device=b.device)
        if not isinstance(b, torch.Tensor):
            b = torch.as_tensor(b, device=a.device)
        return fn(a, b)

    return apply


def _torch_abs(a: Any) -> Any:
    import torch

    return torch.abs(a)


_NUMPY = _Ops(
    "numpy",
    np.logical_not,
    np.minimum,
    np.maximum,
    np.abs,
    lambda a: bool(np.any(a == 0)),
)
_TORCH = _Ops(
    "torch",
    lambda a: ~a,
    _torch_pair("minimum"),
    _torch_pair("maximum"),
    _torch_abs,
    None,
)


def _is_scalar(x: Any) -> bool:
    return isinstance(x, (int, bool, np.integer, np.bool_))


def _none_alive(live: Any) -> bool:
    return live is not None and not _is_scalar(live) and not bool(np.any(live))


def _divide(op: str, a: Any, d: Any, ops: _Ops, text: str, col: int, live: Any) -> Any:
    """``a // d`` or ``a % d``; a zero divisor is an error only in a pair that matters."""
    if _is_scalar(d):
        if d == 0 and ops.name != "numpy" and live is not None:
            d = 1  # as for a tensor divisor below: in a branch only some pairs take
        if d == 0:
            if live is None or (_is_scalar(live) and live) or np.any(live):
                raise _by_zero(op, text, col)
            return a * 0  # no pair needs this value
        return a // d if op == "//" else a % d
    if ops.name == "numpy":
        zero = d == 0
        if zero.any():
            hit = zero if live is None else (zero & live)
            if np.any(hit):
                raise _by_zero(op, text, col)
            d = np.where(zero, 1, d)
    else:
        import torch

        # Pairs with a zero divisor are never used (the numpy masks check that), so any
        # divisor serves; no branch on data, so FlexAttention can still trace it.
        d = torch.where(d == 0, torch.ones_like(d), d)
    return a // d if op == "//" else a % d


def _by_zero(op: str, text: str, col: int) -> PatternError:
    what = "division" if op == "//" else "modulo"
    return PatternError(f"{what} by zero at column {col}: {text}")


# -- compilation -------------------------------------------------------------------
#
# An expression is turned once into nested closures ``fn(env, live)``; ``live`` marks
# the pairs whose value matters (``None``: all of them). What can be known before any
# block of pairs is seen is settled here rather than in every block: which divisions
# may meet a zero divisor (only those are guarded, and only operands holding one are
# short-circuited pair by pair), and the values of sub-expressions that depend on
# constant variables alone and cannot raise (computed once).

_UNSET = object()
_Fn = Callable[[Mapping[str, Any], Any], Any]
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_SAFE_DIVIDE = {"//": operator.floordiv, "%": operator.mod}
_COMPARE = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class _Part:
    """One compiled node: ``fn(env, live)`` is its value."""

    fn: _Fn
    #: The value, where it was computed once (see :meth:`Expr.compile`); else ``_UNSET``.
    value: Any = _UNSET
    #: Whether its value depends on the constant variables alone.
    fixed: bool = True
    #: Whether it may divide by zero (so an ``and``/``or`` guards it pair by pair).
    divides: bool = False
    #: Whether it may raise at all (a division by zero, ``isqrt`` of a negative).
    raises: bool = False

    @property
    def folded(self) -> bool:
        return self.value is not _UNSET


def _apply1(f: Callable[[Any], Any], a: _Part) -> _Fn:
    fa = a.fn
    return lambda env, live: f(fa(env, live))


def _apply2(f: Callable[[Any, Any], Any], a: _Part, b: _Part) -> _Fn:
    fa, fb = a.fn, b.fn
    if b.folded:
        vb = b.value
        return lambda env, live: f(fa(env, live), vb)
    if a.folded:
        va = a.value
        return lambda env, live: f(va, fb(env, live))
    return lambda env, live: f(fa(env, live), fb(env, live))


class _Compiler:
    def __init__(
        self,
        ops: _Ops,
        text: str,
        ranges: Mapping[str, tuple[int, int]] | None,
        constants: Mapping[str, Any],
    ) -> None:
        self.ops = ops
        self.text = text
        self.ranges = ranges
        self.constants = constants
        #: Arrays computed once and shared by every call (never to be handed out).
        self.arrays: list[np.ndarray] = []

    def constant(self, value: Any) -> _Part:
        if isinstance(value, np.ndarray):
            self.arrays.append(value)
        return _Part(lambda env, live: value, value=value)

    def part(self, node: Node) -> _Part:
        op = node.op
        if op == "const":
            return self.constant(node.args[0])
        if op == "var":
            name = node.args[0]
            if name in self.constants:
                return self.constant(self.constants[name])
            return _Part(lambda env, live: env[name], fixed=False)
        args = [self.part(a) for a in node.args]
        fixed = all(a.fixed for a in args)
        divides = any(a.divides for a in args)
        raises = any(a.raises for a in args)
        if op in ("and", "or"):
            fn = self._short_circuit(op == "and", args)
        elif op in ("//", "%"):
            if self._never_zero(node.args[1], args[1]):
                fn = self._divide_by_constant(op, node.args[0], args[0], args[1])
                fn = fn or _apply2(_SAFE_DIVIDE[op], args[0], args[1])
            else:
                fn = self._guarded_divide(op, node.col, args[0], args[1])
                divides = raises = True
        elif op == "isqrt":
            fn = self._isqrt(node.col, args[0])
            raises = True
        elif op == "divisor":
            fn = self._divisor(node.col, args[0], args[1])
            raises = True
        elif op in _ARITH:
            fn = _apply2(_ARITH[op], args[0], args[1])
        elif op in _COMPARE:
            fn = _apply2(_COMPARE[op], args[0], args[1])
        elif op == "neg":
            fn = _apply1(operator.neg, args[0])
        elif op == "abs":
            # Python's abs() is numpy's and torch's absolute value on arrays and tensors.
            fn = _apply1(abs, args[0])
        elif op == "not":
            logical_not = self.ops.logical_not
            fn = _apply1(lambda x: (not x) if _is_scalar(x) else logical_not(x), args[0])
        elif op in ("min", "max"):
            fn = self._min_max(op, args)
        else:  # pragma: no cover - _check admits no other operator
            raise AssertionError(op)
        if fixed and not raises:
            return self.constant(fn(self.constants, None))
        return _Part(fn, fixed=fixed, divides=divides, raises=raises)

    def _never_zero(self, node: Node, part: _Part) -> bool:
        """Whether a divisor is non-zero in every pair: known from its value or its range."""
        if part.folded:
            value = part.value
            return bool(value != 0) if _is_scalar(value) else not bool((value == 0).any())
        if self.ranges is None:
            return False
        try:
            lo, hi = _bounds(node, self.ranges, self.text, [0])
        except (KeyError, PatternError):
            return False
        return lo > 0 or hi < 0

    def _divide_by_constant(self, op: str, node: Node, a: _Part, d: _Part) -> _Fn | None:
        """Numpy's ``%`` takes several times as long as ``//``: with a positive constant
        divisor, the same values come from a shift or a mask (a power of two, exact for
        any sign in two's complement) or from ``a - (a // d) * d`` (a dividend that is
        never negative, so no intermediate value leaves ``0..a``). Only where ``ranges``
        are given: the variables are then integers (a layout's tables)."""
        if self.ops.name != "numpy" or self.ranges is None:
            return None
        if not d.folded or not _is_scalar(d.value):
            return None
        divisor = int(d.value)
        if divisor <= 0:
            return None
        fa = a.fn
        if divisor & (divisor - 1) == 0:
            if op == "//":
                shift = divisor.bit_length() - 1
                return lambda env, live: fa(env, live) >> shift
            low_bits = divisor - 1
            return lambda env, live: fa(env, live) & low_bits
        if op == "//":
            return None
        try:
            lo, _ = _bounds(node, self.ranges, self.text, [0])
        except (KeyError, PatternError):
            return None
        if lo < 0:
            return None

        def remainder(env: Mapping[str, Any], live: Any) -> Any:
            x = fa(env, live)
            return x - (x // divisor) * divisor

        return remainder

    def _guarded_divide(self, op: str, col: int, a: _Part, d: _Part) -> _Fn:
        fa, fd, ops, text = a.fn, d.fn, self.ops, self.text
        return lambda env, live: _divide(op, fa(env, live), fd(env, live), ops, text, col, live)

    def _isqrt(self, col: int, a: _Part) -> _Fn:
        fa, text = a.fn, self.text

        def fn(env: Mapping[str, Any], live: Any) -> Any:
            x = fa(env, live)
            if not _is_scalar(x) or x < 0:
                raise PatternError(f"isqrt needs a non-negative scalar at column {col}: {text}")
            return isqrt(int(x))

        return fn

    def _divisor(self, col: int, a: _Part, b: _Part) -> _Fn:
        fa, fb, text = a.fn, b.fn, self.text

        def fn(env: Mapping[str, Any], live: Any) -> Any:
            n, m = fa(env, live), fb(env, live)
            if not (_is_scalar(n) and _is_scalar(m)) or n < 1:
                raise PatternError(
                    f"divisor needs a positive scalar and a scalar at column {col}: {text}"
                )
            return divisor(int(n), int(m))

        return fn

    def _min_max(self, op: str, args: list[_Part]) -> _Fn:
        fns = [a.fn for a in args]
        pick = min if op == "min" else max
        pair = self.ops.minimum if op == "min" else self.ops.maximum

        def fn(env: Mapping[str, Any], live: Any) -> Any:
            values = [f(env, live) for f in fns]
            if all(_is_scalar(v) for v in values):
                return pick(values)
            out = values[0]
            for v in values[1:]:
                out = pair(out, v)
            return out

        return fn

    def _short_circuit(self, is_and: bool, args: list[_Part]) -> _Fn:
        """``and`` / ``or`` with Python's short-circuit, pair by pair.

        An operand is evaluated for the pairs the operands before it leave undecided;
        where it may divide by zero, those pairs are passed on so that only they are
        checked. An operand that cannot divide by zero is computed for every pair (the
        same values where they matter), with no mask of the undecided pairs.
        """
        first = args[0].fn
        rest = [(a.fn, a.divides) for a in args[1:]]
        logical_not = self.ops.logical_not
        numpy = self.ops.name == "numpy"

        def fn(env: Mapping[str, Any], live: Any) -> Any:
            out = first(env, live)
            for operand, guarded in rest:
                if _is_scalar(out):
                    if (not out) if is_and else bool(out):
                        return out  # decided for every pair, as Python's scalar short-circuit
                    out = operand(env, live)  # the result is the next operand
                    continue
                if guarded:
                    undecided = out if is_and else logical_not(out)
                    sub = undecided if live is None else (live & undecided)
                    if numpy and _none_alive(sub):  # torch: no branch on data (tracing)
                        return out
                    value = operand(env, sub)
                else:
                    value = operand(env, live)
                out = (out & value) if is_and else (out | value)
            return out

        return fn


def divisor(n: int, m: int) -> int:
    """The largest divisor of ``n`` (positive) that is at most ``m`` (1 when ``m < 1``):
    a block size that tiles ``n`` exactly, as close to ``m`` from below as ``n`` allows.

    >>> divisor(500, isqrt(500)), divisor(768, 27), divisor(256, 16), divisor(499, 22)
    (20, 24, 16, 1)
    """
    if m >= n:
        return n
    small = [d for d in range(1, isqrt(n) + 1) if n % d == 0]
    return max(d for d in small + [n // d for d in small] if d <= max(m, 1))


def isqrt(n: int) -> int:
    """``floor(sqrt(n))`` for a non-negative integer, exactly.

    >>> isqrt(16384), isqrt(15)
    (128, 3)
    """
    return math.isqrt(n)
