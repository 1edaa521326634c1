"""Data-parallel training with accelerate: the gathering logic, and two real processes.

The unit tests simulate two processes with two threads that meet at every collective
(an in-process stand-in for the all-reduce); the last test launches the example with
``torchrun --nproc_per_node 2`` (gloo, on CPU) and compares it with one process.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from sknoisy import NoisyNetClassifier
from sknoisy._core._distributed import (DataParallel, check_accelerator, merge_rows,
                                        shard_positions)
from sknoisy._core._data import IndexedBatch
from sknoisy.callbacks import PerSampleRecord

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "accelerate_o2u.py"


class _Exchange:
    """``world`` threads meet here at each collective, as processes at an all-reduce."""

    def __init__(self, world: int) -> None:
        self.world = world
        self.barrier = threading.Barrier(world, timeout=60)
        self.slots = [None] * world

    def all_sum(self, rank: int, tensor: torch.Tensor) -> torch.Tensor:
        self.slots[rank] = tensor.clone()
        self.barrier.wait()
        total = sum(self.slots[1:], self.slots[0].clone())
        self.barrier.wait()  # nobody overwrites a slot before everyone has summed
        return total

    def from_first(self, rank: int, obj):
        self.slots[rank] = obj
        self.barrier.wait()
        value = self.slots[0]
        self.barrier.wait()
        return value


class _ThreadParallel(DataParallel):
    """:class:`DataParallel` whose collectives go through an :class:`_Exchange`."""

    def __init__(self, exchange: _Exchange, rank: int) -> None:
        super().__init__(SimpleNamespace(process_index=rank, num_processes=exchange.world))
        self.exchange = exchange

    def reduce_sum(self, tensor):
        return self.exchange.all_sum(self.rank, tensor)

    def broadcast(self, obj):
        return self.exchange.from_first(self.rank, obj)


def _in_threads(exchange: _Exchange, work) -> list:
    """``work(rank)`` in one thread per rank of ``exchange``; their results by rank."""
    results, errors = [None] * exchange.world, []

    def target(rank):
        try:
            results[rank] = work(rank)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
            exchange.barrier.abort()

    threads = [threading.Thread(target=target, args=(rank,)) for rank in range(exchange.world)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def _run_ranks(world: int, work) -> list:
    """``work(parallel)`` in ``world`` threads; their results by rank."""
    exchange = _Exchange(world)
    return _in_threads(exchange, lambda rank: work(_ThreadParallel(exchange, rank)))


# -- cutting batches --------------------------------------------------------------------------
@pytest.mark.parametrize("world", [1, 2, 3])
@pytest.mark.parametrize("n", range(0, 10))
def test_shard_positions_cut_a_batch_into_balanced_parts(n, world):
    parts = [shard_positions(n, rank, world).tolist() for rank in range(world)]
    if n >= world:
        # Disjoint, contiguous, in order, covering the batch, sizes within one.
        assert sum(parts, []) == list(range(n))
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
    elif n:
        # Too few rows: every process still gets one (a repeated row).
        assert all(len(part) == 1 for part in parts)
        assert set(sum(parts, [])) == set(range(n))
    else:
        assert parts == [[]] * world


def test_sharded_batches_give_each_process_its_part_of_the_same_shuffled_batches():
    from sknoisy._core._data import TensorBatchIterator, TensorDataset

    X = torch.arange(22, dtype=torch.float32).reshape(11, 2)
    dataset = TensorDataset(X, np.arange(11) % 2)

    def work(parallel):
        # Different generator states: the shuffle must still be process 0's.
        generator = torch.Generator().manual_seed(100 + parallel.rank)
        iterator = parallel.shard(TensorBatchIterator(dataset, batch_size=4, shuffle=True,
                                                      generator=generator), len(dataset))
        batches = [batch.indices.tolist() for batch in iterator]
        return len(iterator), batches, parallel.trained_rows.tolist()

    (n0, rows0, trained0), (n1, rows1, trained1) = _run_ranks(2, work)
    expected = torch.randperm(11, generator=torch.Generator().manual_seed(100)).tolist()
    assert n0 == n1 == 3
    assert [a + b for a, b in zip(rows0, rows1)] == [expected[i:i + 4] for i in (0, 4, 8)]
    assert [len(r) for r in rows0] == [2, 2, 2] and [len(r) for r in rows1] == [2, 2, 1]
    assert not np.any(np.logical_and(trained0, trained1))
    assert np.all(np.logical_or(trained0, trained1))


# -- merging per-sample state ----------------------------------------------------------------
def test_merge_rows_gives_every_process_every_row():
    rng = np.random.default_rng(0)
    n = 12
    loss = torch.as_tensor(rng.random(n), dtype=torch.float32)
    pred = torch.as_tensor(rng.integers(0, 3, n))
    proba = torch.as_tensor(rng.random((n, 3)), dtype=torch.float32)
    owner = np.array([0, 1] * 5 + [-1, 2])  # row 10: nobody; row 11: both processes
    stale = (torch.full((n,), 7.0), torch.full((n,), 2), torch.full((n, 3), 0.5))

    def work(parallel):
        seen = torch.as_tensor((owner == parallel.rank) | (owner == 2))
        # Rows of the other process hold stale values, as a record's buffers do.
        mine = [torch.where(seen.reshape(-1, *[1] * (t.ndim - 1)), t, s)
                for t, s in zip((loss, pred, proba), stale)]
        return parallel.merge(mine, seen)

    for merged, seen_any in _run_ranks(2, work):
        assert seen_any.tolist() == [True] * 10 + [False, True]
        assert merged[1].dtype == torch.int64
        for value, full, old in zip(merged, (loss, pred, proba), stale):
            torch.testing.assert_close(value[seen_any], full[seen_any])
            # A row nobody saw keeps its (everywhere equal) earlier value.
            torch.testing.assert_close(value[10], old[10])


def test_merge_rows_averages_a_row_two_processes_saw():
    merged, _ = merge_rows([torch.tensor([1.0, 3.0])], torch.tensor([True, True]),
                           lambda packed: packed + torch.tensor([[0.0, 0.0], [1.0, 5.0]]))
    assert merged[0].tolist() == [1.0, 4.0]


def test_record_merged_over_two_processes_equals_one_process():
    """PerSampleRecord with each process recording its half of every batch."""
    rng = np.random.default_rng(1)
    n, n_classes, epochs = 10, 3, 3
    y = rng.integers(0, n_classes, n)
    logits = [torch.as_tensor(rng.normal(size=(n, n_classes)), dtype=torch.float32)
              for _ in range(epochs)]
    orders = [rng.permutation(n) for _ in range(epochs)]

    def fit(parallel, world):
        net = SimpleNamespace(device="cpu", classes_=np.arange(n_classes), history=[],
                              _fit_state=SimpleNamespace(data_parallel=parallel))
        record = PerSampleRecord(proba=True, trajectories=True)
        record.initialize()
        record.on_train_begin(net, X=np.zeros((n, 1)), y=y)
        for epoch in range(epochs):
            net.history.append({})
            for start in range(0, n, 4):
                batch = orders[epoch][start:start + 4]
                part = batch[shard_positions(len(batch), parallel.rank, world).numpy()] \
                    if parallel is not None else batch
                rows = torch.as_tensor(part)
                z = logits[epoch][rows]
                losses = torch.nn.functional.cross_entropy(z, torch.as_tensor(y[part]),
                                                           reduction="none")
                record.on_batch_end(net, batch=IndexedBatch(z, torch.as_tensor(y[part]), rows),
                                    training=True, y_pred=z, losses=losses)
            record.on_epoch_end(net)
        record.on_train_end(net)
        return record

    single = fit(None, 1)
    for record in _run_ranks(2, lambda parallel: fit(parallel, 2)):
        assert record.n_recorded_ == single.n_recorded_ == epochs
        for name in ("loss_mean_", "loss_var_", "last_loss_", "last_proba_",
                     "loss_trajectories_"):
            np.testing.assert_allclose(getattr(record, name), getattr(single, name),
                                       rtol=1e-6, atol=1e-7, err_msg=name)
        np.testing.assert_array_equal(record.last_pred_, single.last_pred_)


# -- gradients and batches -------------------------------------------------------------------
def test_average_gradients_averages_gradients_and_running_statistics():
    torch.manual_seed(0)
    X, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    template = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(5),
                                   torch.nn.Linear(5, 3))
    halves = (slice(0, 4), slice(4, 8))

    def local_step(rank):
        model = copy.deepcopy(template)
        extra = torch.nn.Parameter(torch.ones(2))  # only process 1 has a gradient for it
        loss = torch.nn.functional.cross_entropy(model(X[halves[rank]]), y[halves[rank]])
        if rank == 1:
            loss = loss + extra.sum()
        loss.backward()
        return model, extra

    alone = [local_step(rank)[0] for rank in (0, 1)]

    def work(parallel):
        model, extra = local_step(parallel.rank)
        parallel.average_gradients([*model.parameters(), extra], list(model.buffers()))
        return model, extra

    (m0, e0), (m1, e1) = _run_ranks(2, work)
    for p0, p1, a0, a1 in zip(m0.parameters(), m1.parameters(), alone[0].parameters(),
                              alone[1].parameters()):
        torch.testing.assert_close(p0.grad, p1.grad, rtol=0, atol=0)
        torch.testing.assert_close(p0.grad, (a0.grad + a1.grad) / 2)
    # A parameter with a gradient on one process only: half of it, on every process.
    torch.testing.assert_close(e0.grad, torch.full((2,), 0.5))
    torch.testing.assert_close(e1.grad, torch.full((2,), 0.5))
    # Running statistics: the mean of the two processes', identical afterwards.
    for name in ("running_mean", "running_var"):
        expected = (getattr(alone[0][1], name) + getattr(alone[1][1], name)) / 2
        torch.testing.assert_close(getattr(m0[1], name), expected)
        torch.testing.assert_close(getattr(m1[1], name), expected)


def test_average_gradients_of_a_linear_model_equal_the_whole_batch():
    torch.manual_seed(1)
    X, y = torch.randn(10, 3), torch.randint(0, 2, (10,))
    template = torch.nn.Linear(3, 2)
    whole = copy.deepcopy(template)
    torch.nn.functional.cross_entropy(whole(X), y).backward()

    def work(parallel):
        model = copy.deepcopy(template)
        rows = shard_positions(10, parallel.rank, 2)
        torch.nn.functional.cross_entropy(model(X[rows]), y[rows]).backward()
        parallel.average_gradients(model.parameters())
        return [p.grad for p in model.parameters()]

    for grads in _run_ranks(2, work):
        for grad, expected in zip(grads, (p.grad for p in whole.parameters())):
            torch.testing.assert_close(grad, expected, rtol=1e-5, atol=1e-6)


def test_gather_batch_and_broadcast_tensors():
    def work(parallel):
        parallel.batch_positions = shard_positions(5, parallel.rank, 2)
        parallel.batch_rows = 5
        mine = parallel.batch_positions.to(torch.float32) * 10
        gathered, own = parallel.gather_batch(mine)
        weights = torch.full((3,), float(parallel.rank + 1))
        parallel.broadcast_tensors([weights])
        return gathered.tolist(), own.tolist(), weights.tolist()

    (g0, own0, w0), (g1, own1, w1) = _run_ranks(2, work)
    assert g0 == g1 == [0.0, 10.0, 20.0, 30.0, 40.0]
    assert own0 == [0, 1, 2] and own1 == [3, 4]
    assert w0 == w1 == [1.0, 1.0, 1.0]


# -- the accelerator parameter ---------------------------------------------------------------
def _fake_accelerator(**changes):
    attrs = dict(process_index=0, num_processes=1, device=torch.device("cpu"),
                 reduce=lambda tensor, reduction="sum": tensor, mixed_precision="no",
                 gradient_accumulation_steps=1, distributed_type="DistributedType.NO",
                 is_main_process=True)
    attrs.update(changes)
    return SimpleNamespace(**attrs)


@pytest.mark.parametrize("changes, error, match", [
    ({"mixed_precision": "fp16"}, ValueError, "mixed_precision='fp16'.*full precision"),
    ({"gradient_accumulation_steps": 4}, ValueError, "gradient_accumulation_steps=4"),
    ({"device": torch.device("cuda", 1)}, ValueError, "device=accelerator.device"),
    ({"distributed_type": "DistributedType.DEEPSPEED"}, ValueError, "DEEPSPEED"),
])
def test_unsupported_accelerators_are_refused_by_name(changes, error, match):
    net = NoisyNetClassifier(accelerator=_fake_accelerator(**changes))
    with pytest.raises(error, match=match):
        check_accelerator(net)


def test_an_object_that_is_not_an_accelerator_is_refused():
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    with pytest.raises(TypeError, match="accelerate.Accelerator"):
        NoisyNetClassifier(accelerator="cuda", max_epochs=1).fit(X, y)


def test_one_process_accelerator_trains_as_without_one():
    accelerate = pytest.importorskip("accelerate")
    X, y = np.random.default_rng(0).normal(size=(60, 4)), np.arange(60) % 3
    plain = NoisyNetClassifier(max_epochs=3, random_state=0).fit(X, y)
    accelerated = NoisyNetClassifier(max_epochs=3, random_state=0,
                                     accelerator=accelerate.Accelerator(cpu=True)).fit(X, y)
    np.testing.assert_array_equal(accelerated.predict_proba(X), plain.predict_proba(X))


# -- whole fits, two threads as two processes ------------------------------------------------
def _two_thread_fits(monkeypatch, make):
    """Fit ``make(accelerator)`` in two threads that share one simulated process group."""
    import sknoisy._core._base as base

    exchange = _Exchange(2)
    monkeypatch.setattr(base, "DataParallel",
                        lambda accelerator: _ThreadParallel(exchange, accelerator.process_index))
    # Threads, unlike processes, share torch's global generator, which each fit seeds and
    # then draws the initial weights from: once both have seeded it, one thread at a time
    # seeds it afresh and draws.
    lock, initialize = threading.Lock(), NoisyNetClassifier.initialize
    seeded = threading.Barrier(2, timeout=60)

    def initialize_alone(net):
        seeded.wait()
        with lock:
            torch.manual_seed(net._fit_state.seed)
            return initialize(net)

    monkeypatch.setattr(NoisyNetClassifier, "initialize", initialize_alone)

    def fit(rank):
        return make(_fake_accelerator(process_index=rank, num_processes=2,
                                      is_main_process=rank == 0))

    return _in_threads(exchange, fit)


@pytest.fixture(scope="module")
def small():
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=150, n_features=8, n_informative=5, n_classes=3,
                               random_state=0)
    y = y.copy()
    y[:20] = (y[:20] + 1) % 3  # some wrong labels
    return X.astype(np.float32), y


@pytest.mark.parametrize("method", ["elr", "coteaching"])
def test_two_simulated_processes_fit_like_one(monkeypatch, small, method):
    from sknoisy.classifiers import CoTeachingClassifier
    from sknoisy.losses import ELRLoss

    X, y = small
    params = dict(max_epochs=6, batch_size=32, lr=1e-2, random_state=0,
                  module__hidden_sizes=(16,))
    if method == "elr":
        def make(accelerator=None):
            return NoisyNetClassifier(criterion=ELRLoss, accelerator=accelerator, **params)
    else:
        def make(accelerator=None):
            return CoTeachingClassifier(forget_rate="auto", num_gradual=3,
                                        accelerator=accelerator, **params)
    single = make().fit(X, y)
    pair = _two_thread_fits(monkeypatch, lambda acc: make(acc).fit(X, y))
    for net in pair:
        np.testing.assert_allclose(net.predict_proba(X), single.predict_proba(X),
                                   rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(net.history[:, "train_loss"],
                                   single.history[:, "train_loss"], rtol=1e-4)
    if method == "elr":
        # The running targets: every row's, merged from the process that trained it.
        for net in pair:
            torch.testing.assert_close(net.criterion_.running_targets,
                                       single.criterion_.running_targets,
                                       rtol=1e-4, atol=1e-5)
    else:
        assert pair[0].forget_rate_ == pair[1].forget_rate_
        assert pair[0].forget_rate_ == pytest.approx(single.forget_rate_, abs=1e-6)


def test_detectors_hand_their_accelerator_to_the_network(small):
    accelerate = pytest.importorskip("accelerate")
    from sknoisy.detectors import O2UNoiseDetector

    X, y = small
    accelerator = accelerate.Accelerator(cpu=True)
    detector = O2UNoiseDetector(noise_rate=0.1, warmup_epochs=1, n_cycles=1, cycle_length=2,
                                random_state=0, accelerator=accelerator).fit(X, y)
    assert detector.estimator_.accelerator is accelerator
    assert detector.get_params()["accelerator"] is accelerator


# -- two real processes ------------------------------------------------------------------------
EXAMPLE_ARGS = ["--n-samples", "700", "--o2u-warmup-epochs", "4", "--coteaching-epochs", "12"]


def test_torchrun_two_processes_match_one_process(tmp_path):
    pytest.importorskip("accelerate")
    out = tmp_path / "parallel.npz"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(EXAMPLE.parents[1])}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", "2", str(EXAMPLE), *EXAMPLE_ARGS, "--out", str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    parallel = dict(np.load(out))
    # The same script in this process: one process, no launcher.
    spec = importlib.util.spec_from_file_location("accelerate_o2u", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    single = example.main(EXAMPLE_ARGS)

    assert int(parallel["n_processes"]) == 2 and single["n_processes"] == 1
    rho = spearmanr(parallel["noise_scores"], single["noise_scores"]).statistic
    assert rho >= 0.95, rho
    gap = abs(float(parallel["coteaching_accuracy"]) - single["coteaching_accuracy"])
    assert gap <= 0.01, (parallel["coteaching_accuracy"], single["coteaching_accuracy"])
    assert float(parallel["coteaching_forget_rate"]) == pytest.approx(
        single["coteaching_forget_rate"], abs=0.01)
