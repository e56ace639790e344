"""No import cycles between ylg's modules, counting the imports inside functions (only
``if TYPE_CHECKING:`` blocks are left out: they never run)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent / "ylg"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST, package: str) -> set[str]:
    """Every ``ylg`` module imported anywhere in ``tree`` outside TYPE_CHECKING blocks."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "ylg")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            if base.split(".")[0] == "ylg":
                for alias in node.names:
                    found.add(f"{base}.{alias.name}")
                    found.add(base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> nx.DiGraph:
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph = nx.DiGraph()
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        graph.add_node(name)
        for target in _imports(ast.parse(path.read_text()), package):
            if target in files and target != name:
                # A package's own submodules import each other through it; that edge
                # is the package's __init__ running first, not a dependency.
                if name.startswith(target + ".") and files[target].name == "__init__.py":
                    continue
                graph.add_edge(name, target)
    return graph


def test_the_import_graph_is_real():
    graph = import_graph()
    assert graph.has_edge("ylg.attention.flex", "ylg.patterns.tiles")
    assert graph.has_edge("ylg.gan.training.resume", "ylg.gan.run.presets")


def test_no_module_imports_itself_back():
    graph = import_graph()
    modules = graph.subgraph(n for n in graph if not n.endswith("__init__"))
    cycles = list(nx.simple_cycles(modules, length_bound=6))
    assert not cycles, f"{len(cycles)} import cycles, e.g. {sorted(cycles, key=len)[:3]}"


def test_layers_never_import_upwards():
    order = [
        "ylg.patterns",
        "ylg.ifg",
        "ylg.attention",
        "ylg.figures",
        "ylg.metrics",
        "ylg.gan",
        "ylg.cli",
    ]
    assert not _upward(order), _upward(order)


def _upward(order: list[str | tuple[str, ...]]) -> list[tuple[str, str]]:
    """The imports that run from a part of ``order`` to a later part (parts in a tuple
    share a rank: neither may import the other)."""
    rank = {}
    for i, part in enumerate(order):
        for name in part if isinstance(part, tuple) else (part,):
            rank[name] = i

    def part(module: str) -> str | None:
        return next((p for p in rank if module == p or module.startswith(p + ".")), None)

    found = []
    for a, b in import_graph().edges:
        pa, pb = part(a), part(b)
        if pa and pb and pa != pb and rank[pb] >= rank[pa]:
            found.append((a, b))
    return found


def test_the_parts_of_ylg_gan_never_import_upwards():
    """runs (config, checkpoints) <- models <- sampling <- training, invert."""
    order: list[str | tuple[str, ...]] = [
        "ylg.gan.run",
        "ylg.gan.models",
        "ylg.gan.sampling",
        ("ylg.gan.training", "ylg.gan.invert"),
    ]
    assert not _upward(order), _upward(order)


def test_shared_utilities_import_no_layer():
    """ylg.errors, ylg.fileio, ylg.progress, ylg.devices, ylg.pixels serve every layer."""
    utilities = {f"ylg.{p.stem}" for p in ROOT.glob("*.py") if not p.stem.startswith("_")}
    assert {"ylg.devices", "ylg.pixels", "ylg.errors"} <= utilities
    graph = import_graph()
    found = [(a, b) for a in utilities for b in graph.successors(a) if b not in utilities]
    assert not found, found


def test_no_command_module_imports_another():
    """A verb is one module; what verbs share lives in ylg.cli, not in another verb."""
    commands = [
        (a, b)
        for a, b in import_graph().edges
        if a.startswith("ylg.cli.commands.") and b.startswith("ylg.cli.commands.")
    ]
    assert not commands, commands


def test_the_names_ylg_gan_re_exports_resolve_where_the_docs_say():
    import ylg.gan
    import ylg.gan.invert

    for package in (ylg.gan, ylg.gan.invert):
        for module, names in package.EXPORTS.items():
            for name in names:
                value = getattr(package, name)
                assert getattr(value, "__module__", module) == module, (package, name)
        assert set(package.__all__) <= set(dir(package))
    assert ylg.gan.Generator is importlib.import_module("ylg.gan.models").Generator
    # a submodule of the same name, once imported, would shadow a re-exported name
    for package in (ylg.gan, ylg.gan.invert):
        submodules = {p.stem for p in Path(package.__file__).parent.iterdir()}
        exported = {name for names in package.EXPORTS.values() for name in names}
        assert not submodules & exported, (package, submodules & exported)
