"""No import cycles between ylg's modules, counting the imports inside functions (only
``if TYPE_CHECKING:`` blocks are left out: they never run)."""

from __future__ import annotations

import ast
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
    assert graph.has_edge("ylg.gan.trainer", "ylg.gan.presets")


def test_no_module_imports_itself_back():
    graph = import_graph()
    modules = graph.subgraph(n for n in graph if not n.endswith("__init__"))
    cycles = list(nx.simple_cycles(modules, length_bound=6))
    assert not cycles, f"{len(cycles)} import cycles, e.g. {sorted(cycles, key=len)[:3]}"


def test_layers_never_import_upwards():
    order = ["ylg.patterns", "ylg.ifg", "ylg.attention", "ylg.figures", "ylg.gan", "ylg.cli"]
    rank = {layer: i for i, layer in enumerate(order)}

    def layer(module: str) -> str | None:
        return next((lay for lay in order if module == lay or module.startswith(lay + ".")), None)

    upward = [
        (a, b)
        for a, b in import_graph().edges
        if layer(a) and layer(b) and rank[layer(b)] > rank[layer(a)]
    ]
    assert not upward, upward


def test_no_command_module_imports_another():
    """A verb is one module; what verbs share lives in ylg.cli, not in another verb."""
    commands = [
        (a, b)
        for a, b in import_graph().edges
        if a.startswith("ylg.cli.commands.") and b.startswith("ylg.cli.commands.")
    ]
    assert not commands, commands
