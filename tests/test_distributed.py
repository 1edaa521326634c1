"""Hyper-parameter searches on Dask and Ray clusters, and estimators that cross processes.

Each engine starts one local cluster for the module (two single-threaded worker
processes) and every search is compared with the same search run with ``n_jobs=1`` in this
process: same seeds and one torch thread on both sides, so the scores must be identical.
The packages come from the ``distributed`` extra (part of ``test``); without them those
tests are skipped, but a cluster that is installed and fails to start fails the test.
The last tests need no cluster: a fitted estimator must pickle its torch state only
through skorch's device mapping, so that one fitted on a GPU worker loads anywhere."""

import contextlib
import functools
import io
import os
import pickle

import numpy as np
import pytest
import torch
from joblib import Parallel, delayed, parallel_backend
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.datasets import load_digits, make_blobs
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from skorch.callbacks import LRScheduler

from sknoisy import CoTeachingClassifier, NoisyNetClassifier, O2UNoiseDetector, Pipeline
from sknoisy.losses import GCELoss
from sknoisy.modules import MLP
from sknoisy.noise import make_label_noise

from ._instances import ALL_ESTIMATORS

# A partial, not ``module__hidden_sizes``: it keeps the parameter grid free of the net size.
SMALL = functools.partial(MLP, hidden_sizes=(16,))
NET = dict(module=SMALL, batch_size=32, random_state=0)


def _worker_pid(estimator, X, y):
    # A scorer that reports where the fit ran: cv_results_ then says which process scored
    # each split, so the tests can tell that the work left this process.
    return float(os.getpid())


SCORING = {"accuracy": "accuracy", "pid": _worker_pid}


def _coteaching():
    return CoTeachingClassifier(max_epochs=3, lr=1e-2, forget_rate=0.1, num_gradual=2, **NET)


def _pipeline():
    detector = O2UNoiseDetector(NoisyNetClassifier(**NET), noise_rate=0.1, warmup_epochs=1,
                                n_cycles=1, cycle_length=2, random_state=0)
    return Pipeline([detector, _coteaching()])


# name -> (search factory); the same factory builds the serial reference and the
# distributed run, so the only difference between them is where the fits execute.
SEARCHES = {
    "grid-coteaching": lambda: GridSearchCV(
        _coteaching(), {"forget_rate": [0.1, 0.3], "lr": [1e-2, 5e-2]}, cv=2,
        scoring=SCORING, refit="accuracy", error_score="raise"),
    "grid-pipeline": lambda: GridSearchCV(
        _pipeline(), {"o2unoisedetector__noise_rate": [0.05, 0.1],
                      "coteachingclassifier__lr": [1e-2, 5e-2]}, cv=2,
        scoring=SCORING, refit="accuracy", error_score="raise"),
    "randomized-gce": lambda: RandomizedSearchCV(
        NoisyNetClassifier(criterion=GCELoss, max_epochs=3, **NET),
        {"lr": loguniform(1e-3, 1e-1), "criterion__q": [0.3, 0.7, 1.0]}, n_iter=3, cv=2,
        scoring=SCORING, refit="accuracy", random_state=0, error_score="raise"),
}


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    X, y = X[:200].astype(np.float32), y[:200]
    y_noisy, _ = make_label_noise(y, "symmetric", 0.1, random_state=0)
    return X, y_noisy


@pytest.fixture(scope="module")
def serial(data):
    """The searches run with n_jobs=1 in this process, each once for the module."""
    X, y = data
    cache = {}

    def run(name):
        if name not in cache:
            cache[name] = SEARCHES[name]().set_params(n_jobs=1).fit(X, y)
        return cache[name]
    return run


@contextlib.contextmanager
def _environment_restored():
    # Starting the engines changes this process's environment (LocalCluster leaves
    # OMP_NUM_THREADS=1, MKL_NUM_THREADS=1 and PYTHONHASHSEED set, Ray PYTHONBREAKPOINT
    # and others), which later tests' subprocesses would inherit.
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def dask_backend():
    """joblib's "dask" backend on a local cluster, started once for the module."""
    distributed = pytest.importorskip("distributed")
    # processes=True with one thread each: the layout of one worker per GPU on a real
    # cluster. No dashboard: its port may be taken on a shared machine.
    with _environment_restored(), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield "dask", {"client": client}


@pytest.fixture(scope="module")
def ray_backend():
    """joblib's "ray" backend on a local Ray instance, started once for the module."""
    ray = pytest.importorskip("ray")
    joblib_support = pytest.importorskip("ray.util.joblib")
    with _environment_restored():
        # address="local": always a fresh instance, never one that another user of the
        # machine started; a small object store, since the data sent here is tiny.
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                 object_store_memory=100 * 1024**2)
        joblib_support.register_ray()
        try:
            yield "ray", {}
        finally:
            ray.shutdown()


# Every search on Dask. Ray's joblib backend starts new worker processes for every search
# (each importing torch, a few seconds), so it runs one grid and one randomized search:
# the engine only transports the fits, whatever the search.
CASES = [("dask", name) for name in SEARCHES] + [("ray", "grid-pipeline"),
                                                  ("ray", "randomized-gce")]


@pytest.mark.parametrize(("engine", "name"), CASES)
def test_search_on_cluster_matches_serial_search(request, serial, data, engine, name):
    X, y = data
    reference = serial(name)
    backend_name, backend_kwargs = request.getfixturevalue(f"{engine}_backend")
    search = SEARCHES[name]()
    with parallel_backend(backend_name, **backend_kwargs):
        search.fit(X, y)

    pids = np.concatenate([search.cv_results_[f"split{i}_test_pid"] for i in range(2)])
    assert os.getpid() not in pids.astype(int)  # every split was fitted on a worker
    assert search.cv_results_["params"] == reference.cv_results_["params"]
    for key in ("split0_test_accuracy", "split1_test_accuracy", "mean_test_accuracy"):
        np.testing.assert_array_equal(search.cv_results_[key], reference.cv_results_[key])
    assert search.best_params_ == reference.best_params_
    # The scores differ between candidates, so the equality above is not vacuous.
    assert np.ptp(reference.cv_results_["mean_test_accuracy"]) > 0

    # The refitted best estimator is an ordinary picklable estimator.
    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(restored.predict_proba(X),
                                  reference.best_estimator_.predict_proba(X))


def _fit_and_predict_in_worker(unfitted, fitted, X, y):
    return (os.getpid(), torch.get_num_threads(), unfitted.fit(X, y),
            fitted.predict_proba(X))


@pytest.mark.parametrize("engine", ["dask", "ray"])
def test_fitted_pipeline_travels_between_processes(request, data, engine):
    X, y = data
    backend_name, backend_kwargs = request.getfixturevalue(f"{engine}_backend")
    local = _pipeline().fit(X, y)
    expected = local.predict_proba(X)
    with parallel_backend(backend_name, **backend_kwargs):
        # Each worker fits a pipeline and sends it back here, and predicts with the
        # pipeline fitted here.
        results = Parallel(n_jobs=2)(
            delayed(_fit_and_predict_in_worker)(_pipeline(), local, X, y) for _ in range(2))
    for pid, n_threads, pipe, proba in results:
        assert pid != os.getpid()
        # Both engines start workers with OMP_NUM_THREADS=1, so torch runs on one thread
        # as the serial reference does; the bit-identical scores above rely on it.
        assert n_threads == 1
        np.testing.assert_array_equal(proba, expected)
        np.testing.assert_array_equal(pipe.predict_proba(X), expected)
        np.testing.assert_array_equal(pipe.named_steps["o2unoisedetector"].noise_scores_,
                                      local.named_steps["o2unoisedetector"].noise_scores_)


class _TorchObjectFinder(pickle.Pickler):
    """A pickler that lists the torch objects pickled outside skorch's device mapping.

    skorch pickles a net's networks, criteria and optimizers in a separate inner pickle
    that is loaded onto an available device (a net trained on a GPU loads on a CPU-only
    machine). That inner pickle uses its own pickler, so this one sees only the torch
    objects left in the ordinary state, which a CPU-only process cannot load when they
    were on a GPU.
    """

    def __init__(self):
        super().__init__(io.BytesIO())
        self.found = []

    def reducer_override(self, obj):
        if isinstance(obj, (torch.Tensor, torch.nn.Module, torch.optim.Optimizer)):
            self.found.append(type(obj).__name__)
        return NotImplemented


@pytest.mark.parametrize("estimator", ALL_ESTIMATORS, ids=lambda e: type(e).__name__)
def test_fitted_estimator_pickles_torch_state_only_through_skorch(estimator):
    X, y = make_blobs(n_samples=120, centers=3, random_state=0)
    fitted = clone(estimator).fit(X.astype(np.float32), y)
    finder = _TorchObjectFinder()
    finder.dump(fitted)
    assert finder.found == []


def test_lr_scheduler_callback_is_rebuilt_after_unpickling(data):
    # A user's skorch LRScheduler: its torch scheduler holds the optimizer, so it is left
    # out of the pickle (skorch 1.4 pickles it, and with it a second optimizer copy).
    X, y = data
    schedule = LRScheduler(policy=torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5)
    net = NoisyNetClassifier(max_epochs=2, lr=0.1, callbacks=[("step", schedule)],
                             early_stopping=False, **NET).fit(X, y)
    finder = _TorchObjectFinder()
    finder.dump(net)
    assert finder.found == []
    assert dict(net.callbacks_)["step"].lr_scheduler_ is not None  # the live net keeps it
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(restored.predict_proba(X), net.predict_proba(X))
    # Training resumes as the live net's does: the scheduler is rebuilt from the restored
    # optimizer and the history at the start of the fit.
    restored.partial_fit(X, y)
    net.partial_fit(X, y)
    assert restored.history[:, "event_lr"] == net.history[:, "event_lr"]
    assert restored.history[-1, "event_lr"] < restored.history[1, "event_lr"]
    np.testing.assert_array_equal(restored.predict_proba(X), net.predict_proba(X))
