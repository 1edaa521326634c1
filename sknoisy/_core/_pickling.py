"""What a fitted net leaves out of its pickle, so that it loads in any process."""

from __future__ import annotations

import copy

from skorch.callbacks import LRScheduler

__all__ = ["without_torch_schedulers"]


def _stripped(callback, copies: dict):
    if not isinstance(callback, LRScheduler) or getattr(callback, "lr_scheduler_",
                                                         None) is None:
        return callback
    # One copy per callback, so that an object listed both in ``callbacks`` and in
    # ``callbacks_`` is still one object after unpickling.
    if id(callback) not in copies:
        stripped = copy.copy(callback)
        stripped.lr_scheduler_ = None
        copies[id(callback)] = stripped
    return copies[id(callback)]


def without_torch_schedulers(state: dict) -> dict:
    """Return a net's pickled ``state`` with its LRScheduler callbacks' torch schedulers out.

    skorch pickles a net's networks, criteria and optimizers apart and loads them onto
    an available device, so a net trained on a GPU loads where there is none. A skorch
    ``LRScheduler`` callback keeps its torch scheduler in ``lr_scheduler_``, and the
    scheduler references the optimizer: pickled with the callbacks, it drags a second
    copy of the optimizer (and its tensors, on the training device) into the ordinary
    pickle, and a GPU-trained net then fails to load on a CPU-only machine, such as the
    driver of a GPU cluster (skorch issue #1096, fixed after skorch 1.4). The callback
    rebuilds the scheduler from ``net.optimizer_`` and the history at the start of every
    fit, so the copy in the pickle is never used; the live net keeps its own.

    Parameters
    ----------
    state : dict
        What skorch's ``__getstate__`` returned; ``callbacks`` and ``callbacks_`` may be
        lists of callbacks or of ``(name, callback)`` pairs.

    Returns
    -------
    state : dict
        The same dict, with those lists replaced by lists whose LRScheduler callbacks
        are copies without ``lr_scheduler_``.
    """
    copies: dict = {}
    for key in ("callbacks", "callbacks_"):
        items = state.get(key)
        if not isinstance(items, (list, tuple)):
            continue
        state[key] = type(items)(
            (item[0], _stripped(item[1], copies))
            if isinstance(item, tuple) and len(item) == 2 else _stripped(item, copies)
            for item in items)
    return state
