"""Hypothesis strategies shared by the tests: expressions, patterns and grids."""

from __future__ import annotations

from hypothesis import strategies as st

INT_VARS = ["q", "k", "n", "nq", "s", "qt", "qi", "qj", "kt", "ki", "kj", "t", "h", "w"]


def int_terms(max_leaves: int = 6) -> st.SearchStrategy[str]:
    """Well-typed integer expressions whose divisors can never be zero."""
    leaves = st.one_of(
        st.sampled_from(INT_VARS),
        st.integers(-3, 20).map(str),
        st.sampled_from(["40000", "70000"]),  # crosses the int16 and int32 type choices
    )

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        positive = st.one_of(
            st.sampled_from(["s", "w", "h", "n", "3", "7"]),
            inner.map(lambda a: f"(abs({a}) + 1)"),
        )
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            st.tuples(inner, st.sampled_from(["//", "%"]), positive).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            inner.map(lambda a: f"abs({a})"),
            inner.map(lambda a: f"-{a}"),
            st.tuples(st.sampled_from(["min", "max"]), inner, inner).map(
                lambda t: f"{t[0]}({t[1]}, {t[2]})"
            ),
        )

    return st.recursive(leaves, extend, max_leaves=max_leaves)


def bool_terms(max_leaves: int = 4) -> st.SearchStrategy[str]:
    """Well-typed boolean expressions (comparisons combined with and/or/not)."""
    cmp = st.tuples(int_terms(), st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), int_terms())
    leaves = cmp.map(lambda t: f"{t[0]} {t[1]} {t[2]}")

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            inner.map(lambda a: f"not ({a})"),
        )

    return st.recursive(leaves, extend, max_leaves=max_leaves)


def any_tokens() -> st.SearchStrategy[str]:
    """Token soup: well- and ill-typed, valid and invalid expressions alike."""
    tokens = st.sampled_from(
        [
            *INT_VARS,
            "x",
            "0",
            "1",
            "-1",
            "99999999999",
            "1.5",
            "True",
            "+",
            "-",
            "*",
            "/",
            "//",
            "%",
            "**",
            "<",
            "<=",
            "==",
            "!=",
            "and",
            "or",
            "not",
            "(",
            ")",
            ",",
            "abs",
            "min",
            "max",
            "isqrt",
            "__import__",
            "lambda",
            ":",
            "'a'",
            "[",
            "]",
            "if",
            "else",
            "@",
            "~",
            "&",
        ]
    )
    return st.lists(tokens, min_size=0, max_size=12).map(" ".join)


grids = st.tuples(st.integers(1, 6), st.integers(1, 6))
orders = st.sampled_from(["rowmajor", "esa", "hilbert", "zorder", "snake"])
