"""A memory-mapped X is read batch by batch: never copied whole, same results as in memory."""

import tracemalloc

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from sknoisy import NoisyNetClassifier
from sknoisy._core._checks import check_X
from sknoisy._core._lazy import LazyRows, is_lazy, mean_and_std
from sknoisy.detectors import BMMLabelCleaner, ConfidentLearningDetector, O2UNoiseDetector

NET = dict(batch_size=256, module__hidden_sizes=(8,), lr=1e-2, random_state=0)


def _memmap(path, X, dtype=np.float32):
    mm = np.memmap(path, dtype=dtype, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    del mm
    return np.memmap(path, dtype=dtype, mode="r", shape=X.shape)


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """4000 rows x 2500 float32 features: a 40 MB memory map, few rows (fast training)."""
    X, y = make_classification(n_samples=4000, n_features=2500, n_informative=10,
                               n_redundant=0, flip_y=0.1, random_state=0)
    X = (X * 3.0 + 5.0).astype(np.float32)  # not standardised, so standardisation matters
    return X, _memmap(tmp_path_factory.mktemp("memmap") / "X.f32", X), y


def _peak_bytes(fn):
    """Peak memory that Python and numpy allocated while ``fn`` ran (tracemalloc)."""
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memmap_fit_and_predict_match_in_memory_without_copying_x(wide):
    X, mm, y = wide
    # Early stopping holds out 10%: the split must be positions, not a copy.
    params = dict(max_epochs=2, early_stopping=True, **NET)
    in_memory = NoisyNetClassifier(**params).fit(X, y)
    on_disk, fit_peak = _peak_bytes(lambda: NoisyNetClassifier(**params).fit(mm, y))
    proba, predict_peak = _peak_bytes(lambda: on_disk.predict_proba(mm))
    # A full copy (or its float32 cast, or the standardised array) would be X.nbytes.
    assert fit_peak < X.nbytes / 4 and predict_peak < X.nbytes / 4
    np.testing.assert_array_equal(on_disk.input_mean_, in_memory.input_mean_)
    np.testing.assert_array_equal(on_disk.input_scale_, in_memory.input_scale_)
    np.testing.assert_array_equal(proba, in_memory.predict_proba(X))
    assert on_disk.best_epoch_ == in_memory.best_epoch_
    assert on_disk.n_samples_fit_ == in_memory.n_samples_fit_ == 3600


@pytest.mark.parametrize("detector", [
    O2UNoiseDetector(NoisyNetClassifier(**NET), warmup_epochs=1, n_cycles=1, cycle_length=2,
                     random_state=0),
    BMMLabelCleaner(NoisyNetClassifier(**NET), warmup_epochs=2, random_state=0),
    ConfidentLearningDetector(NoisyNetClassifier(max_epochs=2, **NET), cv=3, random_state=0),
], ids=["o2u", "bmm", "confident"])
def test_detector_fit_on_memmap_matches_in_memory_without_copying_x(detector, wide):
    X, mm, y = wide
    expected = detector.fit(X, y).noise_scores_.copy()
    fitted, peak = _peak_bytes(lambda: detector.fit(mm, y))
    assert peak < X.nbytes / 4
    np.testing.assert_array_equal(fitted.noise_scores_, expected)


def test_fit_resample_on_memmap_returns_kept_rows_in_memory_or_x_itself(tmp_path):
    X, y = make_classification(n_samples=300, n_features=6, random_state=0)
    mm = _memmap(tmp_path / "X.f32", X)
    det = BMMLabelCleaner(NoisyNetClassifier(**NET), warmup_epochs=2, random_state=0)
    X_res, y_res = det.fit_resample(mm, y)
    assert type(X_res) is np.ndarray and not is_lazy(X_res)
    np.testing.assert_array_equal(X_res, np.asarray(mm)[det.sample_indices_])
    np.testing.assert_array_equal(y_res, y[det.sample_indices_])
    relabel = BMMLabelCleaner(NoisyNetClassifier(**NET), warmup_epochs=2, action="relabel",
                              random_state=0)
    X_rel, _ = relabel.fit_resample(mm, y)
    assert X_rel is mm  # every row kept: the memory map itself, nothing read


def test_float64_memmap_is_cast_per_batch_like_an_in_memory_array(tmp_path):
    X, y = make_classification(n_samples=600, n_features=8, n_informative=4, random_state=1)
    mm = _memmap(tmp_path / "X.f64", X, dtype=np.float64)
    params = dict(max_epochs=20, **NET)
    expected = NoisyNetClassifier(**params).fit(X, y).predict_proba(X)
    net = NoisyNetClassifier(**params).fit(mm, y)
    np.testing.assert_array_equal(net.predict_proba(mm), expected)
    assert net.score(mm, y) > 0.8


def test_image_memmap_and_sample_weight(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.normal(size=(200, 1, 8, 8)).astype(np.float32)
    y = (images[:, 0, :4].mean(axis=(1, 2)) > 0).astype(int)
    mm = _memmap(tmp_path / "images.f32", images)
    weights = rng.uniform(0.5, 1.5, size=len(y))
    params = dict(max_epochs=3, batch_size=32, lr=1e-2, random_state=0)
    expected = NoisyNetClassifier(**params).fit(images, y, sample_weight=weights)
    net = NoisyNetClassifier(**params).fit(mm, y, sample_weight=weights)
    assert net.input_mean_ is None  # images are never standardised
    np.testing.assert_array_equal(net.predict_proba(mm), expected.predict_proba(images))


def test_check_x_leaves_a_memmap_on_disk_and_finds_nan_in_any_chunk(tmp_path):
    X = np.ones((2000, 100), dtype=np.float32)  # 3 chunks of 2**16 values and a bit
    mm = _memmap(tmp_path / "X.f32", X)
    net = NoisyNetClassifier()
    assert check_X(net, mm, reset=True) is mm
    assert net.input_shape_ == (100,) and net.n_features_in_ == 100
    X[1990, 3] = np.nan  # in the last chunk
    with pytest.raises(ValueError, match="Input X contains NaN"):
        check_X(net, _memmap(tmp_path / "nan.f32", X), reset=True)
    with pytest.raises(ValueError, match="0 sample"):
        check_X(net, _memmap(tmp_path / "one.f32", X[:1])[:0], reset=True)


def test_mean_and_std_are_bitwise_numpy_s():
    # Standardisation of in-memory X uses the chunked statistics too: they must not
    # change a single bit of what numpy gave (same models, same recorded results).
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(70_000, 7)) * [1e-3, 1, 10, 1e3, 1e5, 3, 7] + 1e3).astype(np.float32)
    mean, std = mean_and_std(X)
    np.testing.assert_array_equal(mean, X.mean(axis=0, dtype=np.float64))
    np.testing.assert_array_equal(std, X.std(axis=0, dtype=np.float64))


def test_lazy_rows_index_like_the_rows_they_name():
    X = np.arange(20.0).reshape(10, 2)
    view = LazyRows(LazyRows(X, [9, 7, 5, 3]), [3, 0])
    assert view.shape == (2, 2) and len(view) == 2 and view.dtype == X.dtype
    np.testing.assert_array_equal(np.asarray(view), X[[3, 9]])
    np.testing.assert_array_equal(view[[1]], X[[9]])
    np.testing.assert_array_equal(view[:, 1], X[[3, 9], 1])


class _Files(torch.utils.data.Dataset):
    """Images read one by one, as from files on disk; counts the reads."""

    def __init__(self, images):
        self.images = images
        self.reads = 0

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        self.reads += 1
        return torch.from_numpy(self.images[i]), -1  # the item's own label is ignored


def test_torch_dataset_is_read_item_by_item_like_the_array(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.normal(size=(240, 1, 8, 8)).astype(np.float32)
    y = np.where(images[:, 0, :4].mean(axis=(1, 2)) > 0, "up", "down")
    params = dict(max_epochs=2, batch_size=32, lr=1e-2, random_state=0, early_stopping=True)
    expected = NoisyNetClassifier(**params).fit(images, y)
    files = _Files(images)
    net = NoisyNetClassifier(**params).fit(files, y)
    # Two epochs over the 216 training rows and the 24 held out, and the first item
    # for its shape (a few times).
    assert 2 * 240 < files.reads <= 2 * 240 + 4
    assert net.input_shape_ == (1, 8, 8)
    np.testing.assert_array_equal(net.predict_proba(_Files(images)),
                                  expected.predict_proba(images))
    det = BMMLabelCleaner(NoisyNetClassifier(batch_size=32), warmup_epochs=2, random_state=0)
    X_res, y_res = det.fit_resample(files, y)
    # The kept items, as a Subset of the Dataset: nothing read into memory.
    assert isinstance(X_res, torch.utils.data.Subset) and X_res.dataset is files
    np.testing.assert_array_equal(X_res.indices, det.sample_indices_)
    assert len(y_res) == len(X_res)
