"""The README and docs/ name only what exists: every path, every ``make`` target, every ``python -m`` module.

Docs rot when files move; this test makes a move that forgets the docs fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOP_LEVEL = ("server/", "model/", "frontend/", "tests/", "bench/", "scripts/", "docs/", "deploy/", "notebooks/", ".ci/")
ROOT_FILES = {
    "Makefile",
    "Procfile",
    "Dockerfile",
    "docker-compose.yml",
    "gunicorn.conf.py",
    "pyproject.toml",
    "requirements.txt",
    "requirements-dev.txt",
}
README_MAX_LINES = 250


def code_spans(text: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", text)


def named_paths(text: str) -> set[str]:
    """Paths in code spans and relative links: ``server/live/handlers.py``, ``frontend/js/``, ``Makefile``."""
    found = set()
    for span in code_spans(text):
        for token in re.split(r"[\s,()]+", span):
            token = token.strip("'\".:;")
            token = re.sub(r"(:\d+)+$", "", token)  # file.py:12
            if token.startswith(TOP_LEVEL) or token in ROOT_FILES:
                found.add(token)
    for link in re.findall(r"\]\(([^)#\s]+)", text):
        if "://" not in link and not link.startswith("mailto:"):
            found.add(link)
    return found


def exists(path: str, base: Path) -> bool:
    candidates = [ROOT / path, base / path]
    if any(char in path for char in "*?["):
        return any(ROOT.glob(path))
    if "<" in path or "{" in path or "…" in path or "..." in path:  # a pattern, like data/models/<version>/
        prefix = re.split(r"[<{…]|\.\.\.", path)[0].rsplit("/", 1)[0]
        return (ROOT / prefix).exists() or prefix.startswith("data")
    return any(candidate.exists() for candidate in candidates)


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][\w-]*):", text, re.M))


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_path_named_exists(doc):
    missing = sorted(path for path in named_paths(doc.read_text()) if not exists(path, doc.parent))
    assert missing == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_make_target_named_exists(doc):
    named = set(re.findall(r"`make ([a-z][\w-]*)", doc.read_text()))
    assert named - make_targets() == set()


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_module_command_named_exists(doc):
    modules = set(re.findall(r"python -m ((?:server|model|bench|scripts)[\w.]*)", doc.read_text()))
    missing = {
        module
        for module in modules
        if not (ROOT / Path(*module.split("."))).with_suffix(".py").exists()
        and not (ROOT / Path(*module.split(".")) / "__main__.py").exists()
    }
    assert missing == set()


def test_the_readme_is_a_front_door():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES
    linked = set(re.findall(r"\]\((docs/[\w.-]+\.md)\)", "\n".join(lines)))
    assert linked == {str(path.relative_to(ROOT)) for path in DOCS if path.parent.name == "docs"}, (
        "every doc is linked from the README, and every link has its doc"
    )


def test_the_checker_finds_a_missing_path():
    assert named_paths("see `server/nowhere.py` and [it](docs/gone.md)") == {"server/nowhere.py", "docs/gone.md"}
    assert not exists("server/nowhere.py", ROOT)
