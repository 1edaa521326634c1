"""The training log: skorch's table and progress bar, readable in a terminal and in a file.

skorch's ``PrintLog`` colours the best value of each column with ANSI escape codes and
its ``ProgressBar`` redraws a tqdm bar with carriage returns, wherever the output goes.
In a log file or a CI job the codes show up as ``\\x1b[36m`` and the bar as debris stuck
at its first frame ("0/15"). The two callbacks here behave as skorch's on a terminal (and,
for the bar, in a notebook) and write plain lines anywhere else.
"""

from __future__ import annotations

import sys

import tqdm
from skorch.callbacks import PrintLog, ProgressBar

from ._distributed import data_parallel

__all__ = ["EpochLog", "BatchProgressBar"]


def _is_terminal(stream) -> bool:
    """Whether ``stream`` is an interactive terminal; False for files, pipes and captures."""
    isatty = getattr(stream, "isatty", None)
    if isatty is None:
        return False
    try:
        return bool(isatty())
    except ValueError:  # a closed stream
        return False


class EpochLog(PrintLog):
    """skorch's per-epoch table, coloured only on a terminal, every column headed.

    Parameters are those of :class:`skorch.callbacks.PrintLog`. Two differences:

    - the best values are coloured only when the table goes to ``print`` and standard
      output is a terminal; a custom ``sink`` (a logger) or a redirected output gets
      plain text;
    - when the set of columns changes between epochs (a method that records a value only
      after its warm-up, a scheduler's learning rate that appears later), the header is
      printed again, so that no column is left without a name.

    Examples
    --------
    >>> import numpy as np
    >>> from sknoisy import NoisyNetClassifier
    >>> from sknoisy._core._logging import EpochLog
    >>> lines = []
    >>> X = np.random.RandomState(0).rand(40, 3).astype(np.float32)
    >>> y = np.arange(40) % 2
    >>> clf = NoisyNetClassifier(max_epochs=2, random_state=0,
    ...                          callbacks__print_log__sink=lines.append).fit(X, y)
    >>> lines[0].split()
    ['epoch', 'train_loss', 'dur']
    >>> any("\\x1b[" in line for line in lines)
    False
    """

    def initialize(self):
        super().initialize()
        self.columns_ = None
        self.colour_ = False
        return self

    def format_row(self, row, key, color):
        """Format one cell; without colour, the best-so-far mark is left out."""
        best = f"{key}_best"
        if not self.colour_ and row.get(best):
            row = {**row, best: False}
        return super().format_row(row, key, color)

    def on_epoch_end(self, net, **kwargs):
        parallel = data_parallel(net)
        if parallel is not None and parallel.rank != 0:
            return  # data-parallel training: one table, from process 0
        # Decided at every epoch: the output may be redirected between two fits.
        self.colour_ = self.sink is print and _is_terminal(sys.stdout)
        columns = self._sorted_keys(net.history[-1].keys())
        if columns != self.columns_:
            self.first_iteration_ = True
            self.columns_ = columns
        super().on_epoch_end(net, **kwargs)


class BatchProgressBar(ProgressBar):
    """skorch's per-batch progress bar, drawn only where it can be redrawn in place.

    On a terminal it is skorch's tqdm bar, and in a Jupyter notebook skorch's widget; when
    standard error is a file, a pipe or captured, nothing is written (the per-epoch table
    still is), so that logs do not fill with half-drawn bars.

    Parameters are those of :class:`skorch.callbacks.ProgressBar`.

    Examples
    --------
    >>> import numpy as np
    >>> from sknoisy import NoisyNetClassifier
    >>> X = np.random.RandomState(0).rand(40, 3).astype(np.float32)
    >>> clf = NoisyNetClassifier(max_epochs=1, verbose=2, random_state=0)
    >>> _ = clf.fit(X, np.arange(40) % 2)  # not a terminal here: the table, no bar
      epoch    train_loss     dur
    -------  ------------  ------
          1        ...
    >>> "progress_bar" in dict(clf.callbacks_)
    True
    """

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        parallel = data_parallel(net)
        main = parallel is None or parallel.rank == 0  # one bar in data-parallel training
        if main and (self._use_notebook() or _is_terminal(sys.stderr)):
            super().on_epoch_begin(net, dataset_train=dataset_train,
                                   dataset_valid=dataset_valid, **kwargs)
            return
        # A disabled bar writes nothing, and the other hooks (update, close) still work.
        self.pbar_ = tqdm.tqdm(total=0, disable=True)
