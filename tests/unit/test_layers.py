"""The folder tree is the architecture: each package imports only the layers its docstring names.

Read from the source (``ast``), not by importing, so a late import inside a function counts
as much as one at the top: no rule can be dodged, and no import cycle hidden, by moving an
import into a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("server", "model")

# What each package may import from the project (itself always). A prefix allows its subtree.
ALLOWED = {
    "model.runtime": {"model.runtime"},
    "model.training": {"model.runtime", "model.training", "server.storage", "server.config", "server.logs"},
    "server.access": {"server.access", "server.config", "server.errors", "server.logs", "server.storage"},
    "server.storage": {"server.storage", "server.logs", "server.errors", "server.concurrency", "model.runtime"},
    "server.versions": {"server.versions", "server.config", "server.logs", "server.extensions", "model.runtime"},
    "server.serving": {
        "server.serving",
        "server.concurrency",
        "server.access",
        "server.storage",
        "server.versions",
        "server.config",
        "server.errors",
        "server.extensions",
        "server.logs",
        "model.runtime",
    },
    "server.live": {
        "server.live",
        "server.access",
        "server.serving",
        "server.storage",
        "server.config",
        "server.errors",
        "server.extensions",
        "server.logs",
        "model.runtime",
    },
    "server.api": {
        "server.api",
        "server.access",
        "server.serving",
        "server.storage",
        "server.versions",
        "server.live.protocol",
        "server.config",
        "server.errors",
        "server.extensions",
        "server.logs",
        "model.runtime",
    },
}
# Third-party packages a layer must never load: serving runs LiteRT, never TensorFlow.
FORBIDDEN_THIRD_PARTY = {"model.runtime": {"tensorflow", "keras"}, "server": {"tensorflow", "keras"}}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for top in FIRST_PARTY for path in (ROOT / top).rglob("*.py")}


MODULES = modules()


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function: ``from a import b`` is ``a.b`` when b is one."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in MODULES else node.module)
    return found


def first_party_edges() -> dict[str, set[str]]:
    return {
        name: {target for target in imports(path) if target.split(".")[0] in FIRST_PARTY}
        for name, path in MODULES.items()
    }


def layer_of(name: str) -> str | None:
    return next((layer for layer in ALLOWED if name == layer or name.startswith(layer + ".")), None)


def within(target: str, allowed: set[str]) -> bool:
    return any(target == prefix or target.startswith(prefix + ".") for prefix in allowed)


def test_every_module_imports_only_the_layers_its_package_allows():
    breaches = [
        f"{name} imports {target}"
        for name, targets in first_party_edges().items()
        if (layer := layer_of(name)) is not None
        for target in targets
        if not within(target, ALLOWED[layer])
    ]
    assert breaches == []


@pytest.mark.parametrize("layer", sorted(FORBIDDEN_THIRD_PARTY))
def test_serving_never_imports_tensorflow(layer):
    loaded = {
        f"{name} imports {target}"
        for name, path in MODULES.items()
        if name == layer or name.startswith(layer + ".")
        if not name.startswith("model.training")
        for target in imports(path)
        if target.split(".")[0] in FORBIDDEN_THIRD_PARTY[layer]
    }
    assert loaded == set()


def test_no_import_cycles_not_even_through_late_imports():
    """A cycle found here would otherwise be papered over with an import moved into a function."""
    edges = first_party_edges()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(edges.get(name, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_every_package_says_what_it_owns_and_may_import():
    packages = [path for path in MODULES.values() if path.name == "__init__.py" and path.parent != ROOT / "server"]
    undocumented = [
        str(path.relative_to(ROOT))
        for path in packages
        if "May import" not in (ast.get_docstring(ast.parse(path.read_text())) or "")
        and path.parent.name not in FIRST_PARTY
    ]
    assert len(packages) >= 8
    assert undocumented == []


def test_the_checker_sees_a_breach():
    """The rules bite: a runtime module importing training is reported."""
    assert not within("model.training.train", ALLOWED["model.runtime"])
    assert "model.runtime.litert" in imports(MODULES["model.runtime.recognizer"])
