"""Packages that re-export names imported only when first used.

``ylg.gan`` and ``ylg.gan.invert`` offer their main names at the package level, but
importing the package must stay light: the command line reads their settings modules
while it lists the commands, before torch is needed.

>>> import types
>>> demo = types.ModuleType("demo")
>>> demo.__getattr__, demo.__dir__ = lazy_exports("demo", {"math": ("sqrt",)}, vars(demo))
>>> demo.sqrt(9.0), "sqrt" in dir(demo)
(3.0, True)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, Sequence[str]], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose ``exports`` (module -> the
    names it defines) are imported on first use and then kept in ``namespace`` (the
    package's globals)."""
    home = {name: module for module, names in exports.items() for name in names}

    def getattr_(name: str) -> Any:
        if name not in home:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home[name]), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(home))

    return getattr_, dir_
