"""The training log at each verbosity, on a terminal and redirected to a file."""

import io
import sys

import numpy as np
import pytest
from skorch.callbacks import Callback

from sknoisy import NoisyNetClassifier
from sknoisy.detectors import O2UNoiseDetector

FAST = {"max_epochs": 3, "batch_size": 16, "module__hidden_sizes": (8,), "random_state": 0}
ESCAPE = "\x1b["


class _Terminal(io.StringIO):
    """A captured stream that claims to be an interactive terminal."""

    def isatty(self):
        return True


class _LateColumn(Callback):
    """Records a value from the second epoch on, as a method ending its warm-up does."""

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) >= 2:
            net.history.record("late_value", 0.5)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((64, 4)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(int)


def _table(text):
    """(header fields, rows of fields) blocks of a printed table, in order."""
    lines = text.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if i + 1 < len(lines) and set(lines[i + 1].replace(" ", "")) == {"-"}:
            blocks.append((line.split(), []))
        elif blocks and line.strip() and set(line.replace(" ", "")) != {"-"}:
            blocks[-1][1].append(line.split())
    return blocks


def test_verbose_0_prints_nothing(data, capfd):
    NoisyNetClassifier(**FAST).fit(*data)
    assert capfd.readouterr() == ("", "")


def test_verbose_1_to_a_file_is_a_plain_table_without_bar(data, capfd):
    # capfd's streams are not terminals, like a log file or a CI job.
    NoisyNetClassifier(verbose=1, **FAST).fit(*data)
    out, err = capfd.readouterr()
    assert ESCAPE not in out and "\r" not in out
    assert err == ""
    [(header, rows)] = _table(out)
    assert header == ["epoch", "train_loss", "dur"]
    assert [row[0] for row in rows] == ["1", "2", "3"]


def test_verbose_2_adds_a_bar_only_on_a_terminal(data, capfd, monkeypatch):
    clf = NoisyNetClassifier(verbose=2, **FAST).fit(*data)
    assert "progress_bar" in dict(clf.callbacks_)
    out, err = capfd.readouterr()
    assert err == "" and "\r" not in out
    assert len(_table(out)[0][1]) == 3

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    NoisyNetClassifier(verbose=2, **FAST).fit(*data)
    assert "0/4 [" in terminal.getvalue()  # the bar over 64 rows in batches of 16

    assert "progress_bar" not in dict(NoisyNetClassifier(verbose=1, **FAST).fit(*data)
                                      .callbacks_)


def test_best_values_coloured_only_on_a_terminal(data, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    NoisyNetClassifier(verbose=1, **FAST).fit(*data)
    assert ESCAPE in terminal.getvalue()

    lines = []
    NoisyNetClassifier(callbacks__print_log__sink=lines.append, **FAST).fit(*data)
    assert lines and not any(ESCAPE in line for line in lines)


def test_a_column_appearing_later_gets_a_header(data, capfd):
    NoisyNetClassifier(verbose=1, callbacks=[("late", _LateColumn())], **FAST).fit(*data)
    blocks = _table(capfd.readouterr().out)
    assert [header for header, _ in blocks] == [["epoch", "train_loss", "dur"],
                                                ["epoch", "late_value", "train_loss", "dur"]]
    for header, rows in blocks:
        assert all(len(row) == len(header) for row in rows)


def test_o2u_learning_rate_column_has_a_header(data, capfd):
    net = NoisyNetClassifier(verbose=1, batch_size=16, module__hidden_sizes=(8,))
    O2UNoiseDetector(net, warmup_epochs=1, cycle_length=2, n_cycles=1,
                     random_state=0).fit(*data)
    blocks = _table(capfd.readouterr().out)
    assert blocks and all("lr" in header for header, _ in blocks)
    for header, rows in blocks:
        assert all(len(row) == len(header) for row in rows)
