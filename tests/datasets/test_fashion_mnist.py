"""Tests for sknoisy.datasets.load_fashion_mnist on tiny fake IDX files and the real ones."""

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from sknoisy.datasets import _fashion_mnist, load_fashion_mnist

STEMS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
REAL_DIR = Path("/usr/share/datasets/fashion-mnist")


def idx_bytes(array, *, magic=None):
    """Serialise a uint8 array as IDX: 0x0000, type 0x08, ndim, big-endian dims, values."""
    array = np.asarray(array, dtype=np.uint8)
    header = magic if magic is not None else bytes([0, 0, 0x08, array.ndim])
    return header + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def fake_arrays(n_train=20, n_test=10, side=4, seed=0):
    rng = np.random.RandomState(seed)
    return {
        "train_images": rng.randint(0, 256, size=(n_train, side, side)).astype(np.uint8),
        "train_labels": (np.arange(n_train) % 10).astype(np.uint8),
        "test_images": rng.randint(0, 256, size=(n_test, side, side)).astype(np.uint8),
        "test_labels": (np.arange(n_test) % 10).astype(np.uint8),
    }


def write_fake(folder, arrays, *, gz=True, overrides=None):
    """Write the four files; ``overrides`` maps a key to raw bytes to write instead."""
    folder.mkdir(parents=True, exist_ok=True)
    overrides = overrides or {}
    for key, stem in STEMS.items():
        raw = overrides.get(key, idx_bytes(arrays[key]) if key in arrays else None)
        if gz:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / stem).write_bytes(raw)
    return folder


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    # No test may pick up a developer's SKNOISY_DATA or the system-wide files by accident.
    monkeypatch.delenv("SKNOISY_DATA", raising=False)
    monkeypatch.setattr(_fashion_mnist, "DEFAULT_DIR", tmp_path / "no-system-dir")


@pytest.mark.parametrize("gz", [True, False])
def test_load_fashion_mnist_fake_files_shape_dtype_scaling(tmp_path, gz):
    arrays = fake_arrays()
    write_fake(tmp_path, arrays, gz=gz)
    data = load_fashion_mnist(tmp_path, verify=False)
    assert data.X_train.shape == (20, 16) and data.X_test.shape == (10, 16)
    assert data.X_train.dtype == np.float32 and data.X_test.dtype == np.float32
    np.testing.assert_allclose(data.X_train, arrays["train_images"].reshape(20, 16) / 255.0,
                               rtol=1e-6)
    np.testing.assert_array_equal(data.y_test, arrays["test_labels"])
    assert data.y_train.dtype.kind == "i"
    assert list(data.target_names) == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                       "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    assert "Fashion-MNIST" in data.DESCR


def test_load_fashion_mnist_extreme_pixels_map_to_0_and_1(tmp_path):
    arrays = fake_arrays()
    arrays["train_images"][0] = 0
    arrays["train_images"][1] = 255
    write_fake(tmp_path, arrays)
    X = load_fashion_mnist(tmp_path, verify=False).X_train
    assert X[0].max() == 0.0 and X[1].min() == 1.0


def test_load_fashion_mnist_as_images_and_return_X_y(tmp_path):
    arrays = fake_arrays(side=5)
    write_fake(tmp_path, arrays)
    X_train, y_train, X_test, y_test = load_fashion_mnist(
        tmp_path, verify=False, as_images=True, return_X_y=True)
    assert X_train.shape == (20, 5, 5) and X_test.shape == (10, 5, 5)
    np.testing.assert_allclose(X_test * 255.0, arrays["test_images"], atol=1e-4)
    assert y_train.shape == (20,) and y_test.shape == (10,)


def test_load_fashion_mnist_sha_mismatch_raises_naming_file(tmp_path):
    write_fake(tmp_path, fake_arrays())
    with pytest.raises(ValueError, match="sha256 mismatch.*train-images-idx3-ubyte.gz"):
        load_fashion_mnist(tmp_path, verify=True)


def test_load_fashion_mnist_sha_checked_on_unpacked_bytes(tmp_path, monkeypatch):
    arrays = fake_arrays()
    write_fake(tmp_path, arrays, gz=True)
    unpacked = {STEMS[k]: hashlib.sha256(idx_bytes(a)).hexdigest() for k, a in arrays.items()}
    monkeypatch.setattr(_fashion_mnist, "_SHA256", unpacked)
    data = load_fashion_mnist(tmp_path, verify=True)
    assert data.X_train.shape == (20, 16)
    # The hash of the gzip container must not be accepted in place of the content's.
    gz_hash = hashlib.sha256((tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes()).hexdigest()
    monkeypatch.setitem(unpacked, "t10k-labels-idx1-ubyte", gz_hash)
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte"):
        load_fashion_mnist(tmp_path, verify=True)


def test_load_fashion_mnist_missing_files_lists_searched_dirs(tmp_path, monkeypatch):
    env_dir = tmp_path / "from-env"
    env_dir.mkdir()
    monkeypatch.setenv("SKNOISY_DATA", str(env_dir))
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist()
    msg = str(info.value)
    for folder in (env_dir, env_dir / "fashion-mnist", _fashion_mnist.DEFAULT_DIR):
        assert str(folder) in msg
    assert "apt-get install dataset-fashion-mnist" in msg
    assert "data_home" in msg and "SKNOISY_DATA" in msg


def test_load_fashion_mnist_data_home_is_not_silently_replaced(tmp_path, monkeypatch):
    # Complete files reachable through the env variable must not be used when the
    # caller named another folder explicitly.
    write_fake(tmp_path / "env", fake_arrays())
    monkeypatch.setenv("SKNOISY_DATA", str(tmp_path / "env"))
    with pytest.raises(FileNotFoundError, match="empty") as info:
        load_fashion_mnist(tmp_path / "empty", verify=False)
    assert str(tmp_path / "env") not in str(info.value)


def test_load_fashion_mnist_incomplete_dir_is_missing(tmp_path):
    write_fake(tmp_path, fake_arrays())
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_fashion_mnist(tmp_path, verify=False)


def test_load_fashion_mnist_env_var_honoured(tmp_path, monkeypatch):
    arrays = fake_arrays(n_train=30)
    write_fake(tmp_path / "data" / "fashion-mnist", arrays, gz=False)
    monkeypatch.setenv("SKNOISY_DATA", str(tmp_path / "data"))
    X_train, y_train, _, _ = load_fashion_mnist(verify=False, return_X_y=True)
    assert X_train.shape == (30, 16)
    np.testing.assert_array_equal(y_train, arrays["train_labels"])


def test_load_fashion_mnist_bad_magic_raises_naming_file(tmp_path):
    arrays = fake_arrays()
    bad = idx_bytes(arrays["train_labels"], magic=bytes([0, 0, 0x0D, 1]))  # float type code
    write_fake(tmp_path, arrays, overrides={"train_labels": bad})
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte\.gz' has a bad magic number"):
        load_fashion_mnist(tmp_path, verify=False)


def test_load_fashion_mnist_non_idx_file_raises(tmp_path):
    arrays = fake_arrays()
    write_fake(tmp_path, arrays, gz=False,
               overrides={"train_images": b"<html>404 Not Found</html>"})
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte' has a bad magic number"):
        load_fashion_mnist(tmp_path, verify=False)


@pytest.mark.parametrize("damage", ["truncated", "trailing", "swapped", "count", "not_gzip"])
def test_load_fashion_mnist_corrupt_file_raises_naming_file(tmp_path, damage):
    arrays = fake_arrays()
    good = idx_bytes(arrays["test_images"])
    raw = {
        "truncated": good[:-7],
        "trailing": good + b"\x00",
        "swapped": idx_bytes(arrays["test_labels"]),  # 1-D where 3-D is expected
        "count": idx_bytes(arrays["test_images"][:-1]),  # one image fewer than labels
    }
    if damage == "not_gzip":
        write_fake(tmp_path, arrays)
        (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(good)  # raw bytes, .gz name
    else:
        write_fake(tmp_path, arrays, overrides={"test_images": raw[damage]})
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte"):
        load_fashion_mnist(tmp_path, verify=False)


def test_load_fashion_mnist_label_out_of_range_raises(tmp_path):
    arrays = fake_arrays()
    arrays["train_labels"][3] = 10
    write_fake(tmp_path, arrays)
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.*label 10"):
        load_fashion_mnist(tmp_path, verify=False)


def test_load_fashion_mnist_stratified_subset(tmp_path):
    arrays = fake_arrays(n_train=200, n_test=50)
    write_fake(tmp_path, arrays)
    a = load_fashion_mnist(tmp_path, verify=False, n_train=50, n_test=20, random_state=0)
    b = load_fashion_mnist(tmp_path, verify=False, n_train=50, n_test=20, random_state=0)
    c = load_fashion_mnist(tmp_path, verify=False, n_train=50, n_test=20, random_state=1)
    assert a.X_train.shape == (50, 16) and a.X_test.shape == (20, 16)
    assert np.bincount(a.y_train, minlength=10).tolist() == [5] * 10
    assert np.bincount(a.y_test, minlength=10).tolist() == [2] * 10
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, c.X_train)
    # Every kept row is a real row of the file, with its own label.
    full = arrays["train_images"].reshape(200, 16).astype(np.float32) / 255.0
    rows = [np.flatnonzero((full == x).all(axis=1)) for x in a.X_train]
    assert all(r.size == 1 for r in rows)
    idx = np.concatenate(rows)
    assert np.unique(idx).size == 50
    np.testing.assert_array_equal(arrays["train_labels"][idx], a.y_train)


def test_load_fashion_mnist_subset_sizes_not_multiple_of_classes(tmp_path):
    write_fake(tmp_path, fake_arrays(n_train=200, n_test=50))
    data = load_fashion_mnist(tmp_path, verify=False, n_train=37, n_test=3, random_state=0)
    counts = np.bincount(data.y_train, minlength=10)
    assert counts.sum() == 37 and counts.max() - counts.min() <= 1
    assert data.y_test.size == 3 and np.unique(data.y_test).size == 3


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"n_train": 0}, ValueError, "n_train must be between 1 and 20"),
        ({"n_test": 11}, ValueError, "n_test must be between 1 and 10"),
        ({"n_train": 2.5}, TypeError, "n_train must be an int"),
        ({"n_train": True}, TypeError, "n_train must be an int"),
    ],
)
def test_load_fashion_mnist_bad_subset_size(tmp_path, kwargs, err, match):
    write_fake(tmp_path, fake_arrays())
    with pytest.raises(err, match=match):
        load_fashion_mnist(tmp_path, verify=False, **kwargs)


def test_load_fashion_mnist_bad_data_home_type():
    with pytest.raises(TypeError, match="data_home must be a path"):
        load_fashion_mnist(42)


@pytest.mark.skipif(not REAL_DIR.is_dir(),
                    reason="real Fashion-MNIST not installed (apt-get install "
                           "dataset-fashion-mnist)")
def test_load_fashion_mnist_real_files_verified(monkeypatch):
    monkeypatch.setattr(_fashion_mnist, "DEFAULT_DIR", REAL_DIR)
    data = load_fashion_mnist(verify=True)
    assert data.X_train.shape == (60000, 784) and data.X_test.shape == (10000, 784)
    assert data.X_train.dtype == np.float32
    assert 0.0 == data.X_train.min() and data.X_train.max() == 1.0
    assert np.bincount(data.y_train).tolist() == [6000] * 10
    assert np.bincount(data.y_test).tolist() == [1000] * 10
    assert len(data.target_names) == 10
