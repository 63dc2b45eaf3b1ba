"""Model versions on disk: the active pointer, promotion checks, rollback, discard, the retrain lock."""

import json

import pytest

from model.runtime import card as model_card
from model.runtime.versions import ModelVersions, RetrainRunning, UnknownVersion, VersionError
from tests.support.versions import make_version


@pytest.fixture
def versions(tmp_path) -> ModelVersions:
    return ModelVersions(tmp_path / "models")


def test_without_a_pointer_the_committed_model_is_active(versions):
    assert versions.active().builtin
    assert versions.active().version == model_card.read_card()["version"]
    assert [files.version for files in versions.all()] == [versions.builtin.version]


def test_activate_and_rollback(versions):
    make_version(versions.folder, "20990101-000000-a")
    make_version(versions.folder, "20990102-000000-b")
    versions.activate("20990101-000000-a")
    versions.activate("20990102-000000-b")
    assert versions.active().version == "20990102-000000-b"
    assert versions.rollback().version == "20990101-000000-a"
    assert versions.rollback().version == versions.builtin.version
    with pytest.raises(VersionError, match="no earlier version"):
        versions.rollback()
    assert versions.active().builtin


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda folder: (folder / "digits.tflite").write_bytes(b"not a flatbuffer"), "not a usable model"),
        (lambda folder: (folder / "digits.tflite").write_bytes(b"TFL3" + bytes(400)), "not a usable model"),
        (lambda folder: (folder / "digits.json").write_text("{broken"), "card is missing or unreadable"),
        (lambda folder: (folder / "digits.tflite").unlink(), "not a usable model"),
    ],
)
def test_a_corrupt_model_is_refused_and_nothing_changes(versions, spoil, message):
    spoil(make_version(versions.folder, "20990101-000000-bad"))
    with pytest.raises(VersionError, match=message):
        versions.activate("20990101-000000-bad")
    assert versions.active().builtin
    assert not (versions.folder / "active").exists()


def test_a_foreign_model_or_a_rejected_candidate_is_refused(versions):
    make_version(versions.folder, "foreign", preprocessing={"input_shape": [32, 32, 3]})
    make_version(versions.folder, "rejected", gate={"accepted": False, "reasons": ["worse"]})
    make_version(versions.folder, "misnamed", version="something-else")
    with pytest.raises(VersionError, match="preprocessing contract"):
        versions.activate("foreign")
    with pytest.raises(VersionError, match="did not pass its gate"):
        versions.activate("rejected")
    with pytest.raises(VersionError, match="card names version"):
        versions.activate("misnamed")
    with pytest.raises(UnknownVersion):
        versions.activate("no-such-version")
    with pytest.raises(UnknownVersion):
        versions.activate("../escape")
    assert versions.active().builtin


def test_a_pointer_to_a_vanished_version_serves_the_builtin_model(versions):
    make_version(versions.folder, "gone")
    versions.activate("gone")
    (versions.folder / "gone" / "digits.tflite").unlink()
    assert versions.active().builtin
    (versions.folder / "active").write_text("{half a wri")
    assert versions.active().builtin


def test_discard_only_never_active_candidates(versions):
    make_version(versions.folder, "kept")
    make_version(versions.folder, "dropped")
    versions.activate("kept")
    with pytest.raises(VersionError, match="is or was active"):
        versions.discard("kept")
    with pytest.raises(VersionError):
        versions.discard(versions.builtin.version)
    versions.discard("dropped")
    assert [files.version for files in versions.all()] == [versions.builtin.version, "kept"]


def test_one_retrain_at_a_time(versions):
    with versions.retrain_lock(), pytest.raises(RetrainRunning), versions.retrain_lock():
        pass
    with versions.retrain_lock():  # released
        pass


def test_staged_candidates_are_listed_only_once_complete(versions):
    with versions.staged("20990101-000000-new") as staging:
        assert [files.version for files in versions.all()] == [versions.builtin.version]
        for name in ("digits.tflite", "digits.keras"):
            (staging / name).write_bytes((model_card.MODEL_DIR / name).read_bytes())
        model_card.write_card({**model_card.read_card(), "version": "20990101-000000-new"}, staging / "digits.json")
    assert versions.all()[-1].version == "20990101-000000-new"
    versions.activate("20990101-000000-new")
    assert json.loads((versions.folder / "active").read_text())["version"] == "20990101-000000-new"


def test_a_failed_candidate_leaves_nothing(versions):
    def half_written() -> None:
        with versions.staged("20990101-000000-failed") as staging:
            (staging / "digits.keras").write_bytes(b"half")
            raise RuntimeError("the conversion failed")

    with pytest.raises(RuntimeError):
        half_written()
    assert [path.name for path in versions.folder.iterdir()] == []
