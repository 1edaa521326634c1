"""Early stopping on a held-out noisy split, restoring the best epoch's weights.

The core holds out ``validation_fraction`` of the training rows (stratified) when early
stopping is on; skorch then scores ``valid_acc`` on them every epoch. This callback
watches that score, stops training after ``n_iter_no_change`` epochs without
improvement and puts back the weights of the best epoch, for every network the method
trains (Co-teaching's two, for example), not only ``module_``.
"""

from __future__ import annotations

import copy

from skorch.callbacks import Callback

from ._distributed import data_parallel

__all__ = ["EARLY_STOPPING_NAME", "BestEpochStopping"]

# Not "early_stopping": users add skorch's EarlyStopping under that name, and skorch refuses
# two callbacks of one name.
EARLY_STOPPING_NAME = "best_epoch_stopping"


def _networks(net) -> dict:
    """Every torch module the net registered (``module_``, a method's ``module2_``, ...)."""
    return {name: getattr(net, name + "_") for name in getattr(net, "_modules", ["module"])
            if hasattr(net, name + "_")}


class BestEpochStopping(Callback):
    """Stop when the held-out accuracy stalls and restore the best epoch's weights.

    Reads ``n_iter_no_change`` from the net, so ``set_params`` takes effect without
    re-initialising callbacks. Acts only in a fit where the core held rows out
    (``early_stopping``); a validation split of the user's own ``train_split`` is
    left to the user's callbacks.

    Parameters
    ----------
    monitor : str, default='valid_acc'
        History key to maximise.

    Attributes
    ----------
    best_epoch_ : int or None
        Epoch (counted from 1) whose weights the net ends with; None without a
        validation split.
    best_score_ : float or None
        The monitored score of that epoch.
    """

    def __init__(self, monitor: str = "valid_acc") -> None:
        self.monitor = monitor

    def initialize(self):
        self.best_epoch_, self.best_score_ = None, None
        self.snapshot_, self.misses_, self.active_ = None, 0, False
        return self

    def on_train_begin(self, net, **kwargs):
        self.initialize()
        state = getattr(net, "_fit_state", None)
        self.active_ = getattr(state, "validation", None) is not None

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        if not self.active_ or self.monitor not in row:
            return
        score = row[self.monitor]
        parallel = data_parallel(net)
        if parallel is not None:
            # Every process must stop at the same epoch (or the others wait for it
            # forever): all follow process 0's score.
            score = parallel.broadcast(score)
        if self.best_score_ is None or score > self.best_score_:
            self.best_score_, self.best_epoch_, self.misses_ = score, row["epoch"], 0
            self.snapshot_ = {name: copy.deepcopy(module.state_dict())
                              for name, module in _networks(net).items()}
            return
        self.misses_ += 1
        if self.misses_ >= net.n_iter_no_change:
            # skorch's own way out of its training loop: on_train_end still runs.
            raise KeyboardInterrupt

    def on_train_end(self, net, **kwargs):
        if self.snapshot_ is not None and self.best_epoch_ != net.history[-1, "epoch"]:
            networks = _networks(net)
            for name, state in self.snapshot_.items():
                networks[name].load_state_dict(state)
        # The weights are the net's now; only the epoch and its score are kept.
        self.snapshot_ = None
        if self.best_epoch_ is None:
            for name in ("best_epoch_", "best_validation_score_"):
                vars(net).pop(name, None)
        else:
            net.best_epoch_ = int(self.best_epoch_)
            net.best_validation_score_ = float(self.best_score_)
