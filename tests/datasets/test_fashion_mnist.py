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
    train = load_fashion_mnist(data_home=tmp_path, verify=False)
    test = load_fashion_mnist(subset="test", data_home=tmp_path, verify=False)
    assert train.data.shape == (20, 16) and test.data.shape == (10, 16)
    assert train.data.dtype == np.float32 and test.data.dtype == np.float32
    np.testing.assert_allclose(train.data, arrays["train_images"].reshape(20, 16) / 255.0,
                               rtol=1e-6)
    np.testing.assert_array_equal(train.target, arrays["train_labels"])
    np.testing.assert_array_equal(test.target, arrays["test_labels"])
    assert train.target.dtype == np.int64
    assert list(train.target_names) == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    assert "Fashion-MNIST" in train.DESCR
    np.testing.assert_array_equal(train.images.reshape(20, 16), train.data)


def test_load_fashion_mnist_extreme_pixels_map_to_0_and_1(tmp_path):
    arrays = fake_arrays()
    arrays["train_images"][0] = 0
    arrays["train_images"][1] = 255
    write_fake(tmp_path, arrays)
    X = load_fashion_mnist(data_home=tmp_path, verify=False).data
    assert X[0].max() == 0.0 and X[1].min() == 1.0


def test_load_fashion_mnist_return_X_y_gives_two_arrays_like_sklearn(tmp_path):
    # The scikit-learn idiom: one (X, y) pair, the training split by default.
    arrays = fake_arrays(side=5)
    write_fake(tmp_path, arrays)
    X, y = load_fashion_mnist(data_home=tmp_path, verify=False, return_X_y=True)
    assert X.shape == (20, 25)
    np.testing.assert_array_equal(y, arrays["train_labels"])
    X_test, y_test = load_fashion_mnist(subset="test", data_home=tmp_path, verify=False,
                                        as_images=True, return_X_y=True)
    assert X_test.shape == (10, 5, 5) and y_test.shape == (10,)
    np.testing.assert_allclose(X_test * 255.0, arrays["test_images"], atol=1e-4)


def test_load_fashion_mnist_subset_all_is_train_then_test(tmp_path):
    arrays = fake_arrays()
    write_fake(tmp_path, arrays)
    data = load_fashion_mnist(subset="all", data_home=tmp_path, verify=False)
    np.testing.assert_array_equal(
        data.target, np.concatenate([arrays["train_labels"], arrays["test_labels"]]))
    expected = np.concatenate([arrays["train_images"], arrays["test_images"]])
    np.testing.assert_allclose(data.images * 255.0, expected, atol=1e-4)


@pytest.mark.parametrize("subset", ["training", "TRAIN", None, ["train"]])
def test_load_fashion_mnist_bad_subset(tmp_path, subset):
    write_fake(tmp_path, fake_arrays())
    with pytest.raises(ValueError, match="subset must be 'train', 'test' or 'all'"):
        load_fashion_mnist(subset=subset, data_home=tmp_path, verify=False)


@pytest.mark.parametrize("call", [
    lambda path: load_fashion_mnist(data_home=path, n_train=10),
    lambda path: load_fashion_mnist(path),
])
def test_load_fashion_mnist_former_call_style_is_rejected(tmp_path, call):
    # The former signature (n_train/n_test, data_home first and positional) must fail
    # loudly rather than be half understood.
    write_fake(tmp_path, fake_arrays())
    with pytest.raises(TypeError):
        call(tmp_path)


def test_load_fashion_mnist_sha_mismatch_raises_naming_file(tmp_path):
    write_fake(tmp_path, fake_arrays())
    with pytest.raises(ValueError, match="sha256 mismatch.*train-images-idx3-ubyte.gz"):
        load_fashion_mnist(data_home=tmp_path, verify=True)


def test_load_fashion_mnist_sha_checked_on_unpacked_bytes(tmp_path, monkeypatch):
    arrays = fake_arrays()
    write_fake(tmp_path, arrays, gz=True)
    unpacked = {STEMS[k]: hashlib.sha256(idx_bytes(a)).hexdigest() for k, a in arrays.items()}
    monkeypatch.setattr(_fashion_mnist, "_SHA256", unpacked)
    data = load_fashion_mnist(subset="all", data_home=tmp_path, verify=True)
    assert data.data.shape == (30, 16)
    # The hash of the gzip container must not be accepted in place of the content's.
    gz_hash = hashlib.sha256((tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes()).hexdigest()
    monkeypatch.setitem(unpacked, "t10k-labels-idx1-ubyte", gz_hash)
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte"):
        load_fashion_mnist(subset="test", data_home=tmp_path, verify=True)


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
        load_fashion_mnist(data_home=tmp_path / "empty", verify=False)
    assert str(tmp_path / "env") not in str(info.value)


def test_load_fashion_mnist_needs_only_the_files_of_its_subset(tmp_path):
    write_fake(tmp_path, fake_arrays())
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    assert load_fashion_mnist(data_home=tmp_path, verify=False).data.shape == (20, 16)
    for subset in ("test", "all"):
        with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
            load_fashion_mnist(subset=subset, data_home=tmp_path, verify=False)


def test_load_fashion_mnist_env_var_honoured(tmp_path, monkeypatch):
    arrays = fake_arrays(n_train=30)
    write_fake(tmp_path / "data" / "fashion-mnist", arrays, gz=False)
    monkeypatch.setenv("SKNOISY_DATA", str(tmp_path / "data"))
    X, y = load_fashion_mnist(verify=False, return_X_y=True)
    assert X.shape == (30, 16)
    np.testing.assert_array_equal(y, arrays["train_labels"])


def test_load_fashion_mnist_bad_magic_raises_naming_file(tmp_path):
    arrays = fake_arrays()
    bad = idx_bytes(arrays["train_labels"], magic=bytes([0, 0, 0x0D, 1]))  # float type code
    write_fake(tmp_path, arrays, overrides={"train_labels": bad})
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte\.gz' has a bad magic number"):
        load_fashion_mnist(data_home=tmp_path, verify=False)


def test_load_fashion_mnist_non_idx_file_raises(tmp_path):
    arrays = fake_arrays()
    write_fake(tmp_path, arrays, gz=False,
               overrides={"train_images": b"<html>404 Not Found</html>"})
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte' has a bad magic number"):
        load_fashion_mnist(data_home=tmp_path, verify=False)


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
        load_fashion_mnist(subset="test", data_home=tmp_path, verify=False)


def test_load_fashion_mnist_train_and_test_image_sizes_must_agree(tmp_path):
    arrays = fake_arrays()
    arrays["test_images"] = np.zeros((10, 5, 5), dtype=np.uint8)
    write_fake(tmp_path, arrays)
    with pytest.raises(ValueError, match=r"\(4, 4\) but test images \(5, 5\)"):
        load_fashion_mnist(subset="all", data_home=tmp_path, verify=False)


def test_load_fashion_mnist_label_out_of_range_raises(tmp_path):
    arrays = fake_arrays()
    arrays["train_labels"][3] = 10
    write_fake(tmp_path, arrays)
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.*label 10"):
        load_fashion_mnist(data_home=tmp_path, verify=False)


def test_load_fashion_mnist_stratified_subset(tmp_path):
    arrays = fake_arrays(n_train=200, n_test=50)
    write_fake(tmp_path, arrays)
    options = {"data_home": tmp_path, "verify": False, "n_samples": 50}
    a = load_fashion_mnist(random_state=0, **options)
    b = load_fashion_mnist(random_state=0, **options)
    c = load_fashion_mnist(random_state=1, **options)
    assert a.data.shape == (50, 16)
    assert np.bincount(a.target, minlength=10).tolist() == [5] * 10
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(a.data, c.data)
    # Every kept row is a real row of the file, with its own label.
    full = arrays["train_images"].reshape(200, 16).astype(np.float32) / 255.0
    rows = [np.flatnonzero((full == x).all(axis=1)) for x in a.data]
    assert all(r.size == 1 for r in rows)
    idx = np.concatenate(rows)
    assert np.unique(idx).size == 50
    np.testing.assert_array_equal(arrays["train_labels"][idx], a.target)


def test_load_fashion_mnist_subset_all_draws_over_both_splits(tmp_path):
    arrays = fake_arrays(n_train=200, n_test=100)
    arrays["test_images"][:] = 0  # tells test rows from training rows
    arrays["train_images"] |= 1
    write_fake(tmp_path, arrays)
    data = load_fashion_mnist(subset="all", data_home=tmp_path, verify=False,
                              n_samples=60, random_state=0)
    assert np.bincount(data.target, minlength=10).tolist() == [6] * 10
    from_test = (data.data == 0).all(axis=1)
    assert 0 < from_test.sum() < 60


def test_load_fashion_mnist_one_random_state_draws_train_and_test(tmp_path):
    write_fake(tmp_path, fake_arrays(n_train=200, n_test=50))
    options = {"data_home": tmp_path, "verify": False}

    def pair(rng):
        train = load_fashion_mnist(n_samples=40, random_state=rng, **options)
        test = load_fashion_mnist(subset="test", n_samples=20, random_state=rng, **options)
        return train.data, test.data

    first, again = pair(np.random.RandomState(0)), pair(np.random.RandomState(0))
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)


def test_load_fashion_mnist_subset_sizes_not_multiple_of_classes(tmp_path):
    write_fake(tmp_path, fake_arrays(n_train=200, n_test=50))
    train = load_fashion_mnist(data_home=tmp_path, verify=False, n_samples=37, random_state=0)
    counts = np.bincount(train.target, minlength=10)
    assert counts.sum() == 37 and counts.max() - counts.min() <= 1
    test = load_fashion_mnist(subset="test", data_home=tmp_path, verify=False, n_samples=3,
                              random_state=0)
    assert test.target.size == 3 and np.unique(test.target).size == 3


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"n_samples": 0}, ValueError, r"n_samples must be between 1 and 20 .*'train'"),
        ({"n_samples": 11, "subset": "test"}, ValueError, "n_samples must be between 1 and 10"),
        ({"n_samples": 31, "subset": "all"}, ValueError, "n_samples must be between 1 and 30"),
        ({"n_samples": 2.5}, TypeError, "n_samples must be an int"),
        ({"n_samples": True}, TypeError, "n_samples must be an int"),
    ],
)
def test_load_fashion_mnist_bad_n_samples(tmp_path, kwargs, err, match):
    write_fake(tmp_path, fake_arrays())
    with pytest.raises(err, match=match):
        load_fashion_mnist(data_home=tmp_path, verify=False, **kwargs)


def test_load_fashion_mnist_bad_data_home_type():
    with pytest.raises(TypeError, match="data_home must be a path"):
        load_fashion_mnist(data_home=42)


@pytest.mark.skipif(not REAL_DIR.is_dir(),
                    reason="real Fashion-MNIST not installed (apt-get install "
                           "dataset-fashion-mnist)")
def test_load_fashion_mnist_real_files_verified(monkeypatch):
    monkeypatch.setattr(_fashion_mnist, "DEFAULT_DIR", REAL_DIR)
    X, y = load_fashion_mnist(verify=True, return_X_y=True)
    assert X.shape == (60000, 784) and X.dtype == np.float32
    assert 0.0 == X.min() and X.max() == 1.0
    assert np.bincount(y).tolist() == [6000] * 10
    test = load_fashion_mnist(subset="test", verify=True)
    assert test.data.shape == (10000, 784)
    assert np.bincount(test.target).tolist() == [1000] * 10
    assert len(test.target_names) == 10
