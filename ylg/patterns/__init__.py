"""Design sparse attention patterns: the expression language, enumerations, masks.

>>> from ylg.patterns import load_pattern
>>> masks = load_pattern("ltr").on("4x4")          # ESA order, s = 4
>>> masks.counts()
[40, 76]
>>> masks.dense().shape
(2, 16, 16)
"""

from ylg.errors import PatternError
from ylg.patterns.enumerations import ORDERS, enumeration, ranks
from ylg.patterns.exported import Exported, load_npz
from ylg.patterns.expr import STEP_VARIABLES, STRIDE_VARIABLES, Expr, parse_expr
from ylg.patterns.grid import NONSQUARE_RULES, Grid
from ylg.patterns.layout import Layout
from ylg.patterns.library import library, load_pattern
from ylg.patterns.masks import Masks, masks_sha256
from ylg.patterns.pattern import Pattern

__all__ = [
    "ORDERS",
    "NONSQUARE_RULES",
    "STEP_VARIABLES",
    "STRIDE_VARIABLES",
    "Expr",
    "Exported",
    "Grid",
    "Layout",
    "Masks",
    "Pattern",
    "PatternError",
    "enumeration",
    "library",
    "load_npz",
    "load_pattern",
    "masks_sha256",
    "parse_expr",
    "ranks",
]
