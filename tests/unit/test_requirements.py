"""The three requirement files hold what their code imports: serving, training, then tests.

``requirements.txt`` is what serving installs (``make serve``, the container, a Procfile
platform); ``requirements-train.txt`` adds TensorFlow for ``model/training/``;
``requirements-dev.txt`` adds the tests' and benchmarks' tools. deptry checks every import
against all of them together, but cannot tell which folder may import which file: here the
runtime code (``server/``, ``model/runtime/``) is read (``ast``, every import, at the top or
inside a function) and each third-party module it imports must come from
``requirements.txt`` itself, and each package there must be one it imports or one that
pyproject.toml says is loaded by name (deptry's ``DEP002`` ignores). That TensorFlow and
Keras are never imported there is ``tests/unit/test_layers.py``'s rule.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_CODE = ("server", "model/runtime")
FIRST_PARTY = {"server", "model"}
DEPTRY = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["deptry"]
TRAINING_ONLY = {"tensorflow-cpu", "keras", "tqdm", "scipy"}
INSTALLED = packages_distributions()


def normalised(name: str) -> str:
    """A distribution's name as pip compares them (PEP 503): case and runs of ``-_.`` do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> tuple[dict[str, str], list[str]]:
    """``{package: version}`` pinned in a requirements file, and the files it includes (``-r``)."""
    packages, includes = {}, []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            includes.append(line[3:].strip())
        elif line:
            name, version = re.fullmatch(r"([A-Za-z0-9][\w.-]*)==(\S+)", line).groups()
            packages[normalised(name)] = version
    return packages, includes


SERVING, SERVING_INCLUDES = pins(ROOT / "requirements.txt")
TRAINING, TRAINING_INCLUDES = pins(ROOT / "requirements-train.txt")
DEV, DEV_INCLUDES = pins(ROOT / "requirements-dev.txt")


def third_party_imports(folder: Path) -> dict[str, set[str]]:
    """``{top-level module: files}`` for every module ``folder``'s code imports that is neither the standard
    library nor the project's own."""
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                    found.setdefault(top, set()).add(str(path.relative_to(folder.parent)))
    return found


def package_of(module: str) -> str:
    """The distribution that provides ``module``: pyproject.toml's map where the names differ, else the installed
    packages' metadata (as deptry reads it: ``engineio`` is python-engineio), else the module's own name."""
    by_module = {module_name: package for package, module_name in DEPTRY["package_module_name_map"].items()}
    if module in by_module:
        return normalised(by_module[module])
    installed = INSTALLED.get(module, [])
    return normalised(installed[0] if len(installed) == 1 else module)


def runtime_imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for folder in RUNTIME_CODE:
        for module, files in third_party_imports(ROOT / folder).items():
            found.setdefault(module, set()).update(files)
    return found


def test_the_files_stack_serving_then_training_then_dev():
    assert SERVING_INCLUDES == [], "serving includes no other file"
    assert TRAINING_INCLUDES == ["requirements.txt"]
    assert DEV_INCLUDES == ["requirements-train.txt"]
    assert not set(TRAINING) & set(SERVING), "each package is pinned once, in the first file that needs it"
    assert not set(DEV) & (set(SERVING) | set(TRAINING))


def test_runtime_code_imports_only_serving_requirements():
    missing = {
        f"{module} ({package_of(module)}, imported by {', '.join(sorted(files))})"
        for module, files in runtime_imports().items()
        if package_of(module) not in SERVING
    }
    assert missing == set(), "pin these in requirements.txt, or do not import them from server/ or model/runtime/"


def test_every_serving_requirement_is_imported_or_loaded_by_name():
    imported = {package_of(module) for module in runtime_imports()}
    loaded_by_name = {normalised(package) for package in DEPTRY["per_rule_ignores"]["DEP002"]}
    unused = set(SERVING) - imported - loaded_by_name
    assert unused == set(), "requirements.txt holds only what serving needs: move these to requirements-train.txt"


def test_training_packages_are_not_serving_packages():
    assert set(TRAINING) >= TRAINING_ONLY
    assert not TRAINING_ONLY & set(SERVING)


def test_the_check_reads_late_imports_and_mapped_names(tmp_path):
    """A late import inside a function counts; PIL is Pillow; the standard library and the project never count."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text(
        "import os, json\nfrom server import config\nfrom . import b\n"
        "def late():\n    import tensorflow as tf\n    from PIL import Image\n"
    )
    assert set(third_party_imports(tmp_path / "pkg")) == {"tensorflow", "PIL"}
    assert package_of("PIL") == "pillow"
    assert package_of("tensorflow") == "tensorflow-cpu"
    assert package_of("zlib_ng") == "zlib-ng"
    assert package_of("engineio") == "python-engineio"
