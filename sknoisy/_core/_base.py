"""The shared training core: ``NoisyNetClassifier``, a skorch classifier for noisy labels.

Every sknoisy method subclasses this class and adds its loss or selection rule through
skorch's documented hooks (``get_loss``, ``train_step_single``, ``initialize_module``);
there is one training loop, skorch's.
"""

from __future__ import annotations

import copy
import difflib
import functools
import inspect
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import EpochScoring, EpochTimer, PassthroughScoring
from skorch.utils import to_numpy
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..modules import MLP, ConvNet
from ._checks import (check_labels, check_partial_labels, check_sample_weight, check_X,
                      encode_labels)
from ._data import TensorBatchIterator, TensorDataset, take_rows
from ._distributed import DataParallel, check_accelerator, data_parallel
from ._early_stopping import EARLY_STOPPING_NAME, BestEpochStopping
from ._lazy import LazyArrayDataset, is_lazy, mean_and_std
from ._logging import BatchProgressBar, EpochLog
from ._mixup import MixupDraw, draw_mixup
from ._pickling import without_torch_schedulers
from ._record import (RECORD_NAME, PerSampleRecord, per_sample_cross_entropy,
                      prediction_logits)
from ._state import FitState
from ._unlabeled import fill_unlabeled
from ._validation import Interval, Options, StrOptions, check_params

__all__ = ["NoisyNetClassifier"]


def _encoded_accuracy(net, X, y):
    """Validation accuracy on encoded labels; reuses skorch's cached forward pass."""
    y_pred = to_numpy(prediction_logits(net.forward(X))).argmax(axis=1)
    return float(np.mean(y_pred == to_numpy(y)))


# early_stopping='auto' holds out a validation split from this many training rows on:
# 10% of them (100 rows) is the smallest held-out set whose accuracy still ranks epochs.
AUTO_EARLY_STOPPING_MIN_SAMPLES = 1000

# Names users bring from scikit-learn, Keras or plain PyTorch, and what they mean here.
_FAMILIAR_NAMES = {
    "learning_rate": "lr", "learning_rate_init": "lr", "n_epochs": "max_epochs",
    "epochs": "max_epochs", "max_iter": "max_epochs", "seed": "random_state",
    "hidden_layer_sizes": "module__hidden_sizes", "hidden_sizes": "module__hidden_sizes",
    "dropout": "module__dropout", "weight_decay": "optimizer__weight_decay",
    "momentum": "optimizer__momentum", "shuffle": "iterator_train__shuffle",
}


def _suggestion(key: str, valid: set) -> str:
    """'did you mean ...?' for an unknown parameter, or '' when nothing is close."""
    if key in _FAMILIAR_NAMES:
        return f"{key!r}: did you mean {_FAMILIAR_NAMES[key]}?"
    close = difflib.get_close_matches(key, sorted(valid), n=1, cutoff=0.6)
    return f"{key!r}: did you mean {close[0]}?" if close else ""


def _accepts(factory, name: str) -> bool:
    try:
        return name in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False


@functools.lru_cache(maxsize=None)
def _takes_indices(criterion_type: type) -> bool:
    """Whether a criterion's ``forward`` takes the rows' ``indices`` (per-sample state)."""
    return _accepts(getattr(criterion_type, "forward", criterion_type), "indices")


class NoisyNetClassifier(NeuralNetClassifier):
    """Neural-net classifier built for noisy labels; the base of every sknoisy method.

    A :class:`skorch.NeuralNetClassifier` with scikit-learn behaviour: labels of any
    type, a module inferred from the shape of X, per-sample losses, ``sample_weight``,
    a reproducible ``random_state`` and a fast tensor data path. With a robust
    ``criterion`` (see :mod:`sknoisy.losses`) it is the robust-loss classifier.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        The network. ``None`` picks :class:`sknoisy.modules.MLP` for 2-D X and
        :class:`sknoisy.modules.ConvNet` for images ((N, H, W) or (N, C, H, W)); their
        input and output sizes are inferred at fit. ``module__<name>`` parameters
        (``module__hidden_sizes=(64,)``) are passed to it. A user class whose
        constructor takes ``n_features``, ``n_classes`` or ``in_channels`` gets those
        filled in unless given. A module may return a tuple (skorch's convention): the
        criterion gets the whole tuple and predictions use its first element, the
        ``(N, C)`` logits (:class:`sknoisy.modules.DropMaxNet` does this).
    criterion : torch.nn.Module class or instance, default=torch.nn.CrossEntropyLoss
        Loss on (logits, integer targets). It is built with ``reduction='none'`` when
        it accepts that argument, so the core sees one loss per sample.
    optimizer : torch.optim.Optimizer class, default=torch.optim.Adam
        Adam is robust to the learning rate on the tabular and image data we benchmark.
    lr : float, default=1e-3
        Learning rate.
    max_epochs : int, default=30
        Training epochs. Noisy labels are memorised late in training, so methods are
        compared at a fixed budget long enough for plain training to overfit.
    batch_size : int, default=128
        Mini-batch size (``-1``: the whole training set).
    train_split : callable or None, default=None
        skorch's validation split. ``None`` trains on every sample: no silent 20%
        hold-out, as scikit-learn users expect.
    callbacks : list of (name, callback) or None, default=None
        Extra skorch callbacks.
    warm_start : bool, default=False
        Continue training from the current weights on the next ``fit``.
    warmup_epochs : int, default=0
        Epochs trained with plain cross-entropy before ``criterion`` takes over.
        Losses that cannot learn from a random start (``DMILoss``) or that need a
        reasonable model first (peer loss) use it.
    early_stopping : bool or 'auto', default='auto'
        Hold out ``validation_fraction`` of the training rows (stratified by the given,
        noisy labels), score the accuracy on them after every epoch, stop when it has
        not improved for ``n_iter_no_change`` epochs and end with the weights of the
        best epoch. Noisy labels are memorised late, so the best epoch on held-out
        noisy labels is usually far better than the last one (see "Early stopping" in
        the user guide for the measurements). ``'auto'`` turns it on when ``fit``
        gets at least 1000 rows, so that 10% is enough to rank epochs. ``partial_fit``
        never holds rows out. For the methods that learn from unlabeled rows, only
        labeled rows are held out (and counted towards the 1000); unlabeled rows
        always train.
    validation_fraction : float in (0, 1), default=0.1
        Share of the training rows held out when early stopping is on.
    n_iter_no_change : int, default=10
        Epochs without a better held-out accuracy before training stops.
    mixup_alpha : float, default=0.0
        Mixup (Zhang et al. 2018): when > 0, every training batch is replaced by
        ``l * x + (1 - l) * x[perm]``, with ``l ~ Beta(mixup_alpha, mixup_alpha)`` and a
        permutation of the batch drawn from the fit's seeded generator, and each row's
        loss is ``l * L(y_i) + (1 - l) * L(y_perm(i))`` for the method's own per-sample
        loss ``L`` (so it mixes any criterion). 0 turns it off; the mixup paper uses
        0.2 to 1 on CIFAR-10 and larger values against heavier label noise. Validation
        and prediction never mix. Methods with their own training step (Co-teaching)
        cannot mix and reject a value > 0 in ``fit``.
    standardize : bool, default=True
        Standardise tabular (2-D) X feature by feature, with the mean and standard
        deviation learned in ``fit`` (``input_mean_``, ``input_scale_``) and applied to
        every input the network sees afterwards (``predict``, ``predict_proba``,
        ``score``, ``forward``). A network trained on raw features of very different
        scales (counts in the thousands next to ratios) learns little, and noisy labels
        make it worse: on scikit-learn's breast cancer data, unscaled, cross-entropy
        scored 0.49 where standardised data gave 0.92. Constant features are centred
        and left unscaled. Images ((N, H, W) or (N, C, H, W)) are never standardised:
        their pixels share one scale. Set ``False`` when X is already scaled the way
        you want, or for a ``Pipeline`` with its own scaler (standardising twice does
        no harm).
    verbose : int, default=0
        0 is silent. 1 prints one line per epoch (losses, method-specific values such
        as a forget rate, duration) under a header; best values are coloured only on
        a terminal, so a log file gets plain text. 2 adds skorch's progress bar over
        each epoch's batches, drawn on a terminal or in a notebook and omitted when
        standard error is a file or a pipe.
    device : str, default='cpu'
        Torch device, for example ``'cuda'``.
    classes : array-like or None, default=None
        The full label set, when ``y`` may not contain every class.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and shuffling. The global torch RNG is
        left untouched. The same seed gives identical predictions on CPU.
    accelerator : accelerate.Accelerator or None, default=None
        Train data-parallel over the processes of a launch (``torchrun
        --nproc_per_node 2 script.py`` on CPUs with ``Accelerator(cpu=True)``,
        ``accelerate launch --multi_gpu script.py`` on GPUs); every process runs the
        same ``fit`` on the same data. ``batch_size`` is the batch of all processes
        together: each trains on its part, gradients are averaged after every step,
        and per-sample state (the losses a
        :class:`~sknoisy.callbacks.PerSampleRecord` keeps, a criterion's per-row
        state) is merged across processes at the end of every epoch, so every
        process ends with the same weights and fitted attributes. ``device`` must be
        the accelerator's (``device=accelerator.device``); full precision only, no
        gradient accumulation. Prediction needs no communication: call it on any
        process. See "Scaling out" in the user guide. ``None`` trains in this
        process alone.
    **kwargs
        Any other skorch parameter (``optimizer__weight_decay``, ``module__dropout``,
        ``iterator_train__shuffle``, ...).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The sorted labels seen in fit.
    n_features_in_ : int
        Number of input features (pixels for images).
    feature_names_in_ : ndarray of str
        Column names, when X is a DataFrame with string column names.
    input_shape_ : tuple of int
        Shape of one sample.
    n_samples_fit_ : int
        Number of training rows of the last fit (without the held-out rows).
    input_mean_, input_scale_ : ndarray of shape (n_features,) or None
        The per-feature mean and scale subtracted from and dividing X before the
        network (``standardize=True`` and 2-D X); ``None`` otherwise.
    best_epoch_ : int
        With early stopping: the epoch whose weights the network ends with.
    best_validation_score_ : float
        With early stopping: the held-out (noisy-label) accuracy of that epoch.
    module_, criterion_, optimizer_, history_
        skorch's initialised components and training history.
    callbacks_, classes_inferred_, cuda_dependent_attributes_, init_context_, initialized_, prefixes_, virtual_params_
        skorch's own bookkeeping (initialised callbacks, the stored labels behind
        ``classes_``, parameter routing).

    See Also
    --------
    sknoisy.losses : robust criteria to pass as ``criterion``.

    Notes
    -----
    Batches are sliced from tensors on ``device`` and carry the positions of their rows
    (``batch.indices``). Each training step returns the batch's per-sample losses
    (``losses``) beside skorch's ``loss`` and ``y_pred``; a
    :class:`~sknoisy.callbacks.PerSampleRecord` callback turns them into per-sample
    state, the one facility every method uses. What a single fit needs (the caller's
    raw inputs, sample weights, a seeded generator, derived seeds) lives in a private
    fit state that is removed when ``fit`` returns, failed or not.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sknoisy import NoisyNetClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NoisyNetClassifier(max_epochs=50, lr=1e-2, random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    """

    _parameter_constraints: dict = {
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1})],
        "random_state": ["random_state"],
        "verbose": [Interval(Integral, 0, None, closed="left"), "boolean"],
        "warm_start": ["boolean"],
        "warmup_epochs": [Interval(Integral, 0, None, closed="left")],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "mixup_alpha": [Interval(Real, 0, None, closed="left")],
        "standardize": ["boolean"],
    }

    # skorch keeps these on the instance and creates them in __init__; as class-level
    # defaults they let __init__ only store its arguments (scikit-learn's rule).
    initialized_ = False
    history_ = None
    virtual_params_: dict = {}

    def __init__(
        self,
        module=None,
        *,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=30,
        batch_size=128,
        iterator_train=TensorBatchIterator,
        iterator_valid=TensorBatchIterator,
        dataset=TensorDataset,
        train_split=None,
        callbacks=None,
        predict_nonlinearity="auto",
        warm_start=False,
        verbose=0,
        device="cpu",
        compile=False,
        use_caching="auto",
        torch_load_kwargs=None,
        classes=None,
        random_state=None,
        warmup_epochs=0,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=10,
        mixup_alpha=0.0,
        standardize=True,
        accelerator=None,
        iterator_train__shuffle=True,
        **kwargs,
    ):
        params = dict(locals())
        for name in ("self", "__class__", "kwargs"):
            params.pop(name, None)
        # vars().update bypasses skorch's __setattr__, which would try to register a
        # module instance passed as an argument as a trained component.
        vars(self).update(params, **kwargs)

    # -- skorch plumbing --------------------------------------------------------------
    @property
    def _params_to_validate(self):
        # Every keyword stored without a named constructor argument: skorch's routed
        # parameters (module__hidden_sizes) and typos (n_epochs) alike.
        named = self._named_parameters()
        return {key for key in vars(self)
                if key not in named and not key.startswith("_") and not key.endswith("_")}

    @classmethod
    def _named_parameters(cls) -> set:
        """The named arguments of this class's constructor and its sknoisy bases'."""
        names = set()
        for klass in cls.__mro__:
            if "__init__" in vars(klass) and issubclass(klass, NoisyNetClassifier):
                names |= {name for name, p in inspect.signature(klass.__init__).parameters.items()
                          if p.kind is not p.VAR_KEYWORD and name != "self"}
        return names

    def _validate_params(self):
        """Reject unknown parameters with a TypeError that suggests the closest name.

        Routed parameters (``module__*``, ``optimizer__*``, ``callbacks__*``, ...) pass;
        skorch's own check then catches a missing double underscore.
        """
        prefixes = {*self.prefixes_, "module", "criterion", "optimizer"}
        unknown = sorted(key for key in self._params_to_validate
                         if not any(key.startswith(prefix) for prefix in prefixes))
        if unknown:
            hints = [_suggestion(key, self._named_parameters()) for key in unknown]
            raise TypeError(
                f"{type(self).__name__} got unknown parameter(s) "
                f"{', '.join(repr(k) for k in unknown)}; "
                + "; ".join(hint for hint in hints if hint)
                + ("; " if any(hints) else "")
                + "valid parameters are the constructor's arguments and routed ones such "
                "as module__hidden_sizes or optimizer__weight_decay.")
        super()._validate_params()

    @property
    def classes_(self):
        try:
            return self.classes_inferred_
        except AttributeError as exc:
            raise AttributeError(
                f"{type(self).__name__} has no attribute 'classes_': call fit first.") from exc

    @property
    def _default_callbacks(self):
        callbacks = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("valid_acc", EpochScoring(_encoded_accuracy, name="valid_acc",
                                       lower_is_better=False)),
            (EARLY_STOPPING_NAME, BestEpochStopping()),
            ("print_log", EpochLog()),
        ]
        # verbose=1 is the per-epoch table, 2 adds the per-batch bar. The type check
        # leaves an invalid value to fit's parameter check, which names it.
        if isinstance(self.verbose, Integral) and self.verbose >= 2:
            callbacks.append(("progress_bar", BatchProgressBar()))
        return callbacks

    def check_data(self, X, y):
        # Labels are validated and encoded in fit; skorch's own inference is not needed.
        return None

    def __sklearn_is_fitted__(self) -> bool:
        return bool(self.initialized_) and hasattr(self, "classes_inferred_") \
            and hasattr(self, "module_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = self.random_state is None
        return tags

    def __getstate__(self):
        # An LRScheduler callback's torch scheduler would pickle a second optimizer outside
        # skorch's device mapping: a GPU-trained net would not load without a GPU.
        return without_torch_schedulers(super().__getstate__())

    # -- components -----------------------------------------------------------------------
    def _inferred_module_kwargs(self, factory) -> dict:
        """Sizes the default modules (or a user class asking for them) need."""
        if not hasattr(self, "input_shape_"):
            raise ValueError(
                f"{type(self).__name__}: the module's sizes are inferred from X; call fit "
                "before initialize(), or pass a module instance.")
        shape = tuple(self.input_shape_)
        sizes = {
            "n_features": int(np.prod(shape)),
            "n_classes": len(self.classes_),
            "in_channels": 1 if len(shape) < 3 else shape[0],
        }
        return {name: value for name, value in sizes.items() if _accepts(factory, name)}

    def build_module(self, module, kwargs: dict) -> torch.nn.Module:
        """Instantiate ``module`` (``None``: the default for X's shape) with ``kwargs``.

        Methods that train several networks (Co-teaching) call this once per network.
        """
        if isinstance(module, torch.nn.Module):
            return type(module)(**kwargs) if kwargs else module
        module = self.module_class(module)
        return module(**{**self._inferred_module_kwargs(module), **kwargs})

    def module_class(self, module=None):
        """The class ``build_module`` instantiates: ``module``, or the default for X's shape."""
        if module is None:
            return MLP if len(self.input_shape_) == 1 else ConvNet
        return type(module) if isinstance(module, torch.nn.Module) else module

    def initialize_module(self):
        self.module_ = self.build_module(self.module, self.get_params_for("module"))
        return self

    def initialize_criterion(self):
        kwargs = self.get_params_for("criterion")
        criterion = self.criterion
        if isinstance(criterion, torch.nn.Module):
            # Never alter the user's instance: per-sample reduction goes on a copy.
            criterion = type(criterion)(**kwargs) if kwargs else copy.deepcopy(criterion)
            if getattr(criterion, "reduction", "none") != "none" and "reduction" not in kwargs:
                criterion.reduction = "none"
        else:
            if "reduction" not in kwargs and _accepts(criterion, "reduction"):
                kwargs["reduction"] = "none"
            criterion = criterion(**kwargs)
        prepare = getattr(criterion, "prepare_classes", None)
        if callable(prepare) and hasattr(self, "classes_inferred_"):
            # A criterion with learnable per-class parameters (Knowledge Refinery's
            # relation matrix) needs them now: skorch builds the optimizer right after,
            # from get_all_learnable_params, which includes the criterion's parameters.
            prepare(len(self.classes_))
        self.criterion_ = criterion
        return self

    def get_dataset(self, X, y=None):
        if isinstance(X, torch.utils.data.Dataset):
            return X
        # Every array on its way to the network passes here (fit, the held-out split,
        # predict_proba, skorch's forward), so this is the one place to standardise.
        if is_lazy(X) and self.dataset is TensorDataset:
            # A memory-mapped X is read, cast and standardised batch by batch.
            return LazyArrayDataset(X, y, device=self.device,
                                    mean=getattr(self, "input_mean_", None),
                                    scale=getattr(self, "input_scale_", None))
        return self.dataset(self._standardized(X), y, device=self.device,
                            **self.get_params_for("dataset"))

    def _fit_standardization(self, X: np.ndarray) -> None:
        if not self.standardize or X.ndim != 2:
            self.input_mean_ = self.input_scale_ = None
            return
        # Chunk by chunk (a memory-mapped X is never copied), bitwise numpy's values.
        mean, scale = mean_and_std(X)
        # A (near-)constant feature would be blown up by its tiny spread: centre it only.
        constant = scale <= 10 * np.finfo(np.float32).eps * np.maximum(np.abs(mean), 1.0)
        scale[constant] = 1.0
        self.input_mean_ = mean.astype(np.float32)
        self.input_scale_ = scale.astype(np.float32)

    def _standardized(self, X):
        """X standardised with the statistics of the last fit, on a new array."""
        mean = getattr(self, "input_mean_", None)
        if mean is None:
            return X
        scale = self.input_scale_
        if isinstance(X, torch.Tensor):
            return (X - torch.as_tensor(mean, device=X.device)) \
                / torch.as_tensor(scale, device=X.device)
        return (np.asarray(X, dtype=np.float32) - mean) / scale

    def get_iterator(self, dataset, training=False):
        prefix = "iterator_train" if training else "iterator_valid"
        iterator = getattr(self, prefix)
        kwargs = self.get_params_for(prefix)
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        tensor_path = isinstance(iterator, type) and issubclass(iterator, TensorBatchIterator)
        if tensor_path:
            state = getattr(self, "_fit_state", None)
            kwargs.setdefault("generator", None if state is None else state.generator)
        parallel = data_parallel(self) if training else None
        if parallel is None:
            return iterator(dataset, **kwargs)
        if not tensor_path:
            raise ValueError(
                f"{type(self).__name__}: data-parallel training (accelerator=...) cuts "
                f"sknoisy's batches between the processes; iterator_train={iterator!r} is "
                "not sknoisy's TensorBatchIterator. Keep the default iterator_train.")
        # Every process iterates the same batches; each trains on its own part.
        return parallel.shard(iterator(dataset, **kwargs), len(dataset))

    def _get_predict_nonlinearity(self):
        if self.predict_nonlinearity == "auto":
            # Every sknoisy module returns logits, whatever the criterion.
            return lambda logits: torch.softmax(logits, dim=-1)
        return super()._get_predict_nonlinearity()

    # -- loss ---------------------------------------------------------------------------------
    def get_per_sample_loss(self, y_pred, y_true, X=None, training=False, indices=None):
        """One loss per sample: the criterion's, or cross-entropy during warm-up.

        Subclasses that change the loss override this (or ``get_loss``); the training
        step passes the result to :class:`~sknoisy.callbacks.PerSampleRecord`.
        ``indices`` are the rows' positions in the training set (``None`` outside the
        tensor data path). A criterion whose ``forward`` takes an ``indices`` argument
        keeps per-sample state (:class:`~sknoisy.losses.ELRLoss`) and receives them,
        also for the validation loss (positions in the validation set, with the
        criterion in evaluation mode: it must not touch its state then); if it has
        ``prepare_sample_state(n_samples, n_classes, device, keep)``, the core calls
        it when training begins, ``keep=True`` on a warm start.
        """
        if training and self.in_warmup():
            return per_sample_cross_entropy(y_pred, y_true)
        if _takes_indices(type(self.criterion_)):
            return self.criterion_(y_pred, y_true, indices=indices)
        return self.criterion_(y_pred, y_true)

    def get_loss(self, y_pred, y_true, X=None, training=False, indices=None):
        """Mean of the per-sample losses, weighted by ``sample_weight``."""
        return self.reduce_loss(
            self.get_per_sample_loss(y_pred, y_true, X=X, training=training, indices=indices),
            indices)

    def per_sample_record(self) -> PerSampleRecord:
        """The :class:`~sknoisy.callbacks.PerSampleRecord` a method installed.

        Methods that keep per-sample state add one to ``_default_callbacks`` under
        the name ``'per_sample_record'``; this finds it.
        """
        try:
            return dict(self.callbacks_)[RECORD_NAME]
        except (AttributeError, KeyError) as exc:
            raise RuntimeError(
                f"{type(self).__name__} has no per-sample record: add "
                f"('{RECORD_NAME}', PerSampleRecord(...)) to its callbacks.") from exc

    def current_epoch(self) -> int:
        """The epoch being trained, counted from 1; the one epoch counter of every method.

        skorch opens the history row of an epoch before its first batch, so this is
        ``len(history_)`` (0 before any training).
        """
        return len(self.history_ or ())

    def in_warmup(self) -> bool:
        """Whether the current training epoch is one of the ``warmup_epochs``."""
        return self.current_epoch() <= self.warmup_epochs

    def reduce_loss(self, losses: torch.Tensor, indices=None,
                    mix: MixupDraw | None = None) -> torch.Tensor:
        """Average per-sample ``losses``, applying the fit's sample weights.

        With a mixup draw ``mix``, row ``i`` weighs ``l * w_i + (1 - l) * w_perm(i)``.
        """
        state = getattr(self, "_fit_state", None)
        weights = None if state is None else state.weights
        if losses.ndim == 0:
            if weights is not None:
                raise ValueError(
                    f"{type(self).__name__}: criterion {type(self.criterion_).__name__} returns "
                    "one loss per batch, so sample_weight cannot be applied; drop sample_weight.")
            return losses
        if weights is not None and indices is not None:
            row_weights = weights[indices]
            return (losses * (row_weights if mix is None else mix.mix(row_weights))).mean()
        return losses.mean()

    def train_step_single(self, batch, **fit_params):
        """One training step on ``batch``; returns ``loss``, ``y_pred`` and ``losses``.

        ``losses`` are the batch's per-sample losses (``None`` when a subclass overrides
        ``get_loss``, or the criterion returns one loss per batch). With
        ``mixup_alpha > 0`` the network sees the mixed batch, ``y_pred`` are its logits
        and entry ``i`` of ``losses`` is the mixed loss of the batch's row ``i``,
        ``l * L(y_i) + (1 - l) * L(y_perm(i))``: what a per-sample record then holds.
        """
        self._set_training(True)
        Xi, yi = batch
        indices = getattr(batch, "indices", None)
        mix = self._draw_mixup(Xi, len(yi)) if self.mixup_alpha > 0 else None
        y_pred = self.infer(Xi if mix is None else mix.mix(Xi), **fit_params)
        # A subclass that overrides skorch's get_loss hook keeps its loss; it then has
        # no per-sample losses to report.
        own_loss = type(self).get_loss is not NoisyNetClassifier.get_loss
        loss_of = self.get_loss if own_loss else self.get_per_sample_loss

        def score(y, X, rows):
            return loss_of(y_pred, y, X=X, training=True, indices=rows)

        value = score(yi, Xi, indices)
        if mix is not None:
            # The mixed batch is scored against both rows' labels with the method's own
            # loss, each term given its row's unmixed inputs and position: so any
            # criterion, and any per-sample state keyed on the rows, is mixed.
            value = mix.lam * value + (1.0 - mix.lam) * score(
                yi[mix.perm], Xi[mix.perm], mix.partners(indices))
        losses = None if own_loss else value
        loss = value if own_loss else self.reduce_loss(losses, indices, mix=mix)
        penalty = self.get_batch_penalty(y_pred)
        if penalty is not None:
            loss = loss + penalty
        loss.backward()
        return {"loss": loss, "y_pred": y_pred,
                "losses": losses.detach() if losses is not None and losses.ndim == 1 else None}

    def get_batch_penalty(self, y_pred: torch.Tensor) -> torch.Tensor | None:
        """A term added once to each training batch's mean loss; ``None`` for none.

        For terms of the whole batch rather than of each sample, such as the class-prior
        penalty (:func:`sknoisy.losses.prior_penalty`) of methods for very heavy noise.
        ``y_pred`` are the logits the network produced for the (possibly mixed) batch.
        """
        return None

    def _draw_mixup(self, Xi, n: int) -> MixupDraw:
        if not (isinstance(Xi, torch.Tensor) and Xi.is_floating_point()):
            raise TypeError(
                f"{type(self).__name__}: mixup_alpha={self.mixup_alpha!r} mixes the inputs, "
                f"which must be a floating-point tensor; got {type(Xi).__name__}"
                f"{'' if not isinstance(Xi, torch.Tensor) else ' of dtype ' + str(Xi.dtype)}. "
                "Set mixup_alpha=0 for this data.")
        state = getattr(self, "_fit_state", None)
        if state is not None:
            state.mixed_step = True
        return draw_mixup(float(self.mixup_alpha), n,
                          generator=None if state is None else state.generator,
                          device=Xi.device)

    def train_step(self, batch, **fit_params):
        step = super().train_step(batch, **fit_params)
        parallel = data_parallel(self)
        if parallel is not None:
            # The history's train_loss is that of the whole batch, on every process.
            step["loss"] = parallel.mean(step["loss"])
        return step

    def on_grad_computed(self, net, named_parameters, batch=None, training=False, **kwargs):
        parallel = data_parallel(self) if training else None
        if parallel is not None:
            # Before the optimizer steps (and before any callback clips them): the
            # gradients of the whole batch, identical on every process, and the
            # networks' running statistics (batch norm) averaged alike.
            parallel.average_gradients(
                (p for _, p in self.get_all_learnable_params()),
                [b for name in self._modules if hasattr(self, name + "_")
                 for b in getattr(self, name + "_").buffers()])
        super().on_grad_computed(net, named_parameters, batch=batch, training=training,
                                 **kwargs)
        state = getattr(self, "_fit_state", None)
        if not (training and state is not None and self.mixup_alpha > 0):
            return
        # Raised before the optimizer steps: a method whose own train_step_single never
        # reaches the core's step (Co-teaching) cannot mix, whatever its class says;
        # one that wraps the core's step (the noisy student's input noise) mixes.
        if not getattr(state, "mixed_step", False):
            raise ValueError(
                f"{type(self).__name__} trains with its own train_step_single, which does "
                f"not mix batches, so it cannot use mixup; got "
                f"mixup_alpha={self.mixup_alpha!r}. Use mixup_alpha=0.")
        state.mixed_step = False

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        prepare = getattr(self.criterion_, "prepare_sample_state", None)
        if callable(prepare) and X is not None:
            # A criterion keeping per-sample state (ELR's running targets) sizes it for
            # this fit's rows; a warm start (history already there) keeps it.
            prepare(n_samples=len(X), n_classes=len(self.classes_), device=self.device,
                    keep=self.current_epoch() > 0)
        parallel = data_parallel(self)
        if parallel is not None and self.current_epoch() == 0:
            # The seed is process 0's, so the weights already agree unless a module
            # draws from another generator; as DDP does, start from process 0's.
            parallel.broadcast_tensors(
                [t for name in [*self._modules, *self._criteria] if hasattr(self, name + "_")
                 for t in [*getattr(self, name + "_").parameters(),
                           *getattr(self, name + "_").buffers()]
                 if isinstance(getattr(self, name + "_"), torch.nn.Module)])

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_end(net, dataset_train=dataset_train, dataset_valid=dataset_valid,
                             **kwargs)
        parallel = data_parallel(self)
        if parallel is not None:
            self._merge_criterion_rows(parallel)

    def _merge_criterion_rows(self, parallel: DataParallel) -> None:
        """Merge a criterion's per-row state (ELR's running targets) across processes.

        A criterion with ``prepare_sample_state`` keeps buffers of one entry per
        training row; each process updated the rows it trained on this epoch.
        """
        for name in self._criteria:
            criterion = getattr(self, name + "_", None)
            if not callable(getattr(criterion, "prepare_sample_state", None)):
                continue
            rows = [(key, buffer) for key, buffer in criterion.named_buffers()
                    if buffer is not None and buffer.ndim >= 1
                    and len(buffer) == parallel.n_rows]
            if not rows:
                continue
            trained = parallel.trained_rows
            if trained is None:
                trained = torch.zeros(parallel.n_rows, dtype=torch.bool,
                                      device=rows[0][1].device)
            merged, _ = parallel.merge([buffer for _, buffer in rows],
                                       trained.to(rows[0][1].device))
            with torch.no_grad():
                for (_, buffer), value in zip(rows, merged):
                    buffer.copy_(value)

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, yi = batch
        with torch.no_grad():
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=False,
                                 indices=getattr(batch, "indices", None))
        return {"loss": loss, "y_pred": y_pred}

    # -- fitting ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        """Validate this estimator's parameters; subclasses extend it."""
        check_params(self)
        check_accelerator(self)
        if isinstance(self.mixup_alpha, (bool, np.bool_)):
            raise TypeError(f"{type(self).__name__}: mixup_alpha is the Beta parameter of "
                            f"mixup, a number >= 0 (0.2 to 1 is usual), not the bool "
                            f"{self.mixup_alpha!r}.")

    def _validate_training_data(self, X, y, sample_weight, *, reset: bool, classes=None):
        X = check_X(self, X, reset=reset)
        labeled = None
        if getattr(self, "_accepts_unlabeled_rows", False):
            # Methods that learn from unlabeled rows (SemiSupervisedMixin): classes_ and
            # the checks below see the labeled rows; the others are encoded UNLABELED.
            y, labeled = check_partial_labels(self, y, n_samples=len(X),
                                              unlabeled_label=getattr(self, "unlabeled_label",
                                                                      None))
        else:
            y = check_labels(self, y, n_samples=len(X))
        if reset:
            label_set = classes if classes is not None else self.classes
            try:
                labels = np.unique(y if label_set is None else np.asarray(label_set))
            except TypeError as exc:
                raise TypeError(f"{type(self).__name__}: labels cannot be sorted ({exc}); "
                                "use labels of a single type.") from exc
            if len(np.unique(y)) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in the data; "
                    f"got 1 class: {list(np.unique(y))}.")
            self.classes_inferred_ = labels
            self._fit_standardization(X)
        y_encoded = encode_labels(self, y, self.classes_)
        if labeled is not None:
            y_encoded = fill_unlabeled(y_encoded, labeled)
        weights = check_sample_weight(self, sample_weight, len(X))
        return X, y_encoded, weights

    def _training_seed(self, reset: bool) -> int:
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        if reset:
            return seed
        # A warm-started fit continues with fresh (still reproducible) shuffles.
        return (seed + len(self.history_ or ())) % np.iinfo(np.int32).max

    @contextmanager
    def _training_context(self, state: FitState):
        """Install ``state`` and seed torch locally for the length of one fit."""
        device = torch.device(self.device)
        devices = [device.index or 0] if device.type == "cuda" else []
        # fork_rng restores the caller's global RNG state on exit, so seeding inside it
        # makes initialisation and dropout reproducible without side effects.
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(state.seed)
            self._fit_state = state
            try:
                yield state
            finally:
                vars(self).pop("_fit_state", None)

    def fit(self, X, y, sample_weight=None):
        """Initialise the network and train it on (X, y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Training inputs: numpy, pandas or lists; float64 is cast to float32 on a copy.
            A ``numpy.memmap`` or a torch ``Dataset`` is read batch by batch, never
            copied whole ("Data larger than memory" in the user guide).
        y : array-like of shape (n_samples,)
            Labels of any hashable type. A missing label (``None``, NaN or pandas
            ``NA``) marks an unlabeled row for the methods that learn from them
            (:class:`~sknoisy.classifiers.DivideMixClassifier`,
            :class:`~sknoisy.classifiers.DistilledStudentClassifier`,
            :class:`~sknoisy.classifiers.MutualLearningClassifier`, whose
            ``unlabeled_label`` can add a value such as ``-1``) and is a ``ValueError``
            naming the rows for every other estimator.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, rescaled to mean 1 (over all rows, unlabeled ones
            included).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._check_params()
        reset = not (self.warm_start and self.__sklearn_is_fitted__())
        return self._train(X, y, sample_weight, reset=reset, hold_out=True)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for ``max_epochs`` more epochs, initialising on the first call.

        Parameters
        ----------
        X : array-like
            Training inputs.
        y : array-like of shape (n_samples,)
            Labels.
        classes : array-like, default=None
            All labels that later calls may contain; used on the first call only.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : object
            The estimator.
        """
        self._check_params()
        return self._train(X, y, sample_weight, reset=not self.__sklearn_is_fitted__(),
                           classes=classes)

    def _train(self, X, y, sample_weight, *, reset: bool, classes=None, hold_out=False,
               **context):
        """Validate, (re)initialise when ``reset``, and run skorch's training loop.

        With ``hold_out`` and early stopping on, a stratified ``validation_fraction``
        of the rows is set aside first; the fit state then describes the training part
        only. ``context`` entries become attributes of the fit's :class:`FitState` (a
        method fitting a sub-model of its own class hands it values this way, never
        through attributes left on the estimator).
        """
        X_valid, y_encoded, weights = self._validate_training_data(
            X, y, sample_weight, reset=reset, classes=classes)
        parallel = None
        accelerator = getattr(self, "accelerator", None)
        if accelerator is not None and int(accelerator.num_processes) > 1:
            check_accelerator(self)
            parallel = DataParallel(accelerator)
        seed = self._training_seed(reset)
        if parallel is not None:
            # Process 0's seed everywhere: the same weights, shuffles and splits.
            seed = parallel.broadcast(seed)
        state = FitState(X, y, sample_weight, weights=None, seed=seed)
        state.data_parallel = parallel
        if self.train_split is not None and np.any(y_encoded < 0):
            # skorch's split would put unlabeled rows into the validation set, whose
            # loss and accuracy need labels.
            raise ValueError(
                f"{type(self).__name__}: train_split={self.train_split!r} cannot score "
                "unlabeled rows; use train_split=None with early_stopping=True, which "
                "holds out labeled rows only.")
        # Early stopping scores labeled rows only (encoded labels < 0 are unlabeled rows).
        if hold_out and self.uses_early_stopping(int(np.sum(y_encoded >= 0))):
            train, held = self._validation_split(y_encoded, state.child_seed(0, 1))
            # Positions of the training rows among the rows given to fit, for methods
            # whose fitted per-row attributes cover every row given.
            state.train_rows, state.n_rows_given = train, len(X_valid)
            state.validation = (take_rows(X_valid, held), y_encoded[held])
            state.X, state.y = take_rows(X, train), take_rows(y, train)
            if sample_weight is not None:
                state.sample_weight = take_rows(sample_weight, train)
            X_valid, y_encoded = take_rows(X_valid, train), y_encoded[train]
            weights = None if weights is None else weights[train]
        if weights is not None:
            state.weights = torch.as_tensor(weights, device=self.device)
        vars(state).update(context)
        with self._training_context(state):
            if reset:
                self.initialize()
            self.n_samples_fit_ = len(X_valid)
            super(NeuralNetClassifier, self).partial_fit(X_valid, y_encoded)
        return self

    # -- early stopping -------------------------------------------------------------------------
    def uses_early_stopping(self, n_samples: int) -> bool:
        """Whether ``fit`` on ``n_samples`` rows holds some out for early stopping.

        Parameters
        ----------
        n_samples : int
            Number of training rows given to ``fit``.

        Returns
        -------
        bool
            ``early_stopping`` itself, or for ``'auto'``: at least 1000 rows and no
            ``train_split`` of the user's.
        """
        if isinstance(self.early_stopping, str):
            return self.train_split is None and n_samples >= AUTO_EARLY_STOPPING_MIN_SAMPLES
        if self.early_stopping and self.train_split is not None:
            raise ValueError(
                f"{type(self).__name__}: early_stopping=True holds out its own validation "
                f"split, and train_split={self.train_split!r} asks for another; set one of "
                "them (early_stopping=False, or train_split=None).")
        return bool(self.early_stopping)

    def _validation_split(self, y_encoded: np.ndarray, seed: int):
        """Positions of the training and held-out rows, stratified when every class can be."""
        # Only labeled rows can be scored: unlabeled ones (code < 0) always train.
        positions = np.flatnonzero(y_encoded >= 0)
        unlabeled = np.flatnonzero(y_encoded < 0)
        y_labeled = y_encoded[positions]
        counts = np.bincount(y_labeled)
        n_held = int(np.ceil(self.validation_fraction * len(y_labeled)))
        if n_held < 1 or n_held >= len(y_labeled):
            raise ValueError(
                f"{type(self).__name__}: validation_fraction={self.validation_fraction} of "
                f"{len(y_labeled)} labeled rows leaves no rows to hold out or to train on; "
                "use more data, another validation_fraction or early_stopping=False.")
        present = counts[counts > 0]
        stratify = y_labeled if present.min() >= 2 and n_held >= len(present) \
            and len(y_labeled) - n_held >= len(present) else None
        train, held = train_test_split(positions, test_size=n_held, stratify=stratify,
                                       random_state=seed)
        return np.sort(np.concatenate([train, unlabeled])), np.sort(held)

    def get_split_datasets(self, X, y=None, **fit_params):
        held = getattr(getattr(self, "_fit_state", None), "validation", None)
        if held is None:
            return super().get_split_datasets(X, y, **fit_params)
        return self.get_dataset(X, y), self.get_dataset(*held)

    # -- prediction -----------------------------------------------------------------------------
    def predict_proba(self, X):
        """Class probabilities, columns ordered as ``classes_``.

        Parameters
        ----------
        X : array-like
            Inputs of the shape seen in fit.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = check_X(self, X, reset=False)
        nonlin = self._get_predict_nonlinearity()
        # A module with several outputs predicts with the first (skorch's convention).
        proba = to_numpy(nonlin(prediction_logits(self.forward(X)))).astype(np.float64)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Most probable label for each sample, as the original label values.

        Parameters
        ----------
        X : array-like
            Inputs of the shape seen in fit.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
