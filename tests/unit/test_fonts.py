"""model/training/fonts.py: the training and held-out font families, and the packages that carry them."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.training import fonts

INSTALL_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install-system-deps.sh"


def test_held_out_families_never_meet_training():
    assert set(fonts.HELD_OUT) <= set(fonts.FAMILIES)
    assert not set(fonts.HELD_OUT) & set(fonts.TRAINING)
    assert len(fonts.TRAINING) >= 25, "many hands to learn from"
    assert len(fonts.HELD_OUT) >= 5, "enough unseen hands to score"
    assert not set(fonts.training_files()) & set(fonts.held_out_files()), "no file in both"


def test_every_font_file_is_installed():
    for path in fonts.training_files() + fonts.held_out_files():
        assert Path(path).is_file(), path


def test_the_install_script_installs_every_font_package():
    script = INSTALL_SCRIPT.read_text()
    for package in fonts.packages():
        assert package in script, f"{package} is not in {INSTALL_SCRIPT.name}"


def test_a_missing_font_names_its_package(monkeypatch):
    monkeypatch.setitem(fonts.FAMILIES, "ghost", ("fonts-ghost", (Path("/nonexistent/ghost.ttf"),)))
    with pytest.raises(fonts.MissingFonts, match="fonts-ghost"):
        fonts.files(("ghost",))
