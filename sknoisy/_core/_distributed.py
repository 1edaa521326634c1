"""Data-parallel training with a Hugging Face ``accelerate.Accelerator``.

Every process of a launch (``torchrun --nproc_per_node 2 script.py``, ``accelerate
launch --multi_gpu script.py``) runs the same script and the same ``fit`` on the same
data. The core turns that into data-parallel training of one model:

- the fit's seed and, at the start of each epoch, the state of the generator that
  shuffles the rows come from process 0, so every process draws the same permutation;
- each batch of ``batch_size`` rows is cut into one contiguous part per process
  (:func:`shard_positions`), and every process trains on its part only;
- after the backward pass the gradients of every learnable parameter (all networks
  of a method, a criterion's parameters) and the floating-point buffers of the
  networks (batch-norm statistics) are averaged over the processes in one
  all-reduce, so each optimizer step is the step of the whole batch and the weights
  stay identical on every process;
- per-sample state written during the epoch (a
  :class:`~sknoisy.callbacks.PerSampleRecord`'s buffers, a criterion's per-row
  state such as ELR's running targets) is merged at the end of the epoch
  (:func:`merge_rows`): every process then holds every row's values, and whatever is
  computed from them (a mixture, Co-teaching's forget rate, O2U's scores) is the same
  on every process.

Validation, evaluation passes and prediction run on each process over all of their
rows, with no communication, so calling ``predict`` on one process alone is safe.
Modules are not wrapped in ``DistributedDataParallel``: sknoisy's methods run several
networks, several forward passes per step and networks that a step does not train,
which DDP's one-forward-one-backward contract does not allow; one all-reduce of the
gradients per step gives the same update.
"""

from __future__ import annotations

import torch

__all__ = ["DataParallel", "check_accelerator", "data_parallel", "merge_rows",
           "shard_positions"]

# Distributed types whose process group accelerate sets up with torch.distributed and
# whose model sharding or compilation sknoisy's one-all-reduce design does not cover.
_UNSUPPORTED_TYPES = {"DEEPSPEED", "FSDP", "XLA", "MEGATRON_LM"}


def check_accelerator(net) -> None:
    """Raise a clear error when ``net.accelerator`` cannot drive sknoisy's training.

    ``None`` passes. The accelerator must be an ``accelerate.Accelerator`` (anything
    with its ``process_index``, ``num_processes``, ``device`` and ``reduce``), in full
    precision, without gradient accumulation, on the net's ``device``.
    """
    accelerator = getattr(net, "accelerator", None)
    if accelerator is None:
        return
    name = type(net).__name__
    missing = [attr for attr in ("process_index", "num_processes", "device", "reduce")
               if not hasattr(accelerator, attr)]
    if missing:
        raise TypeError(
            f"{name}: accelerator must be an accelerate.Accelerator (pip install "
            f"accelerate; accelerator=Accelerator()); got {type(accelerator).__name__}, "
            f"which has no {', '.join(missing)}.")
    kind = str(getattr(accelerator, "distributed_type", "NO")).rsplit(".", 1)[-1]
    if kind in _UNSUPPORTED_TYPES:
        raise ValueError(
            f"{name}: the accelerator runs {kind}, which sknoisy does not support; it "
            "trains data-parallel on plain processes (torchrun, accelerate launch "
            "--multi_gpu). Launch without DeepSpeed, FSDP, Megatron or XLA.")
    precision = str(getattr(accelerator, "mixed_precision", "no"))
    if precision != "no":
        raise ValueError(
            f"{name}: accelerator has mixed_precision={precision!r}; sknoisy's methods "
            "call backward themselves, outside accelerate's gradient scaling, so only "
            "full precision is supported. Use Accelerator(mixed_precision='no').")
    steps = getattr(accelerator, "gradient_accumulation_steps", 1)
    if steps != 1:
        raise ValueError(
            f"{name}: accelerator has gradient_accumulation_steps={steps}; sknoisy "
            "steps the optimizer after every batch. Use a larger batch_size instead "
            "(it is the batch of all processes together).")
    wanted = torch.device(accelerator.device)
    have = None if net.device is None else torch.device(net.device)
    if have is None or wanted.type != have.type or (
            have.index is not None and wanted.index is not None and have.index != wanted.index):
        raise ValueError(
            f"{name}: device={net.device!r} but the accelerator trains this process on "
            f"{str(wanted)!r}; pass device=accelerator.device.")


def data_parallel(net) -> DataParallel | None:
    """The :class:`DataParallel` of the fit ``net`` is running, or ``None``.

    ``None`` outside ``fit`` and when the fit runs in a single process.
    """
    return getattr(getattr(net, "_fit_state", None), "data_parallel", None)


def shard_positions(n: int, rank: int, world: int) -> torch.Tensor:
    """Positions, in a batch of ``n`` rows, of the part process ``rank`` trains on.

    The batch is cut into ``world`` contiguous parts whose sizes differ by at most
    one, the larger parts first. When ``n < world`` a process that would get no row
    takes row ``rank % n`` again, so that every process has a batch (its value is
    then counted twice in the merged per-sample state: the mean of equal weights).

    Parameters
    ----------
    n : int
        Rows in the batch.
    rank : int
        The process, from 0 to ``world - 1``.
    world : int
        Number of processes.

    Returns
    -------
    torch.Tensor of int64

    Examples
    --------
    >>> [shard_positions(5, r, 2).tolist() for r in range(2)]
    [[0, 1, 2], [3, 4]]
    >>> [shard_positions(1, r, 2).tolist() for r in range(2)]
    [[0], [0]]
    """
    if n < world:
        return torch.tensor([rank % n], dtype=torch.long) if n else \
            torch.zeros(0, dtype=torch.long)
    base, extra = divmod(n, world)
    start = rank * base + min(rank, extra)
    return torch.arange(start, start + base + (rank < extra), dtype=torch.long)


def merge_rows(tensors: list, seen: torch.Tensor, reduce_sum) -> tuple[list, torch.Tensor]:
    """Merge per-row values that each process wrote for the rows it saw.

    Each process passes the same-shaped tensors (first dimension: the rows) and a
    mask of the rows it wrote. One ``reduce_sum`` (a sum over processes) adds up,
    for every row, the values of the processes that saw it and how many did; a
    row's merged value is their mean (the value itself when one process saw it). A
    row no process saw keeps this process's value (which earlier merges made the
    same everywhere). Integer tensors are rounded back.

    Parameters
    ----------
    tensors : list of torch.Tensor of shape (n_rows, ...)
        The per-row values of this process.
    seen : torch.Tensor of bool, shape (n_rows,)
        Rows this process wrote.
    reduce_sum : callable
        ``reduce_sum(tensor) -> tensor``: the element-wise sum over all processes.

    Returns
    -------
    merged : list of torch.Tensor
        Same shapes and dtypes as ``tensors``.
    seen_any : torch.Tensor of bool, shape (n_rows,)
        Rows some process saw.

    Examples
    --------
    Two processes that each saw one of three rows (simulated: the sum over processes
    is this process's values plus the other's):

    >>> import torch
    >>> mine, seen = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([True, False, False])
    >>> other = torch.tensor([[0.0, 0.0], [1.0, 5.0], [0.0, 0.0]])
    >>> merged, seen_any = merge_rows([mine], seen, lambda packed: packed + other)
    >>> merged[0].tolist(), seen_any.tolist()
    ([1.0, 5.0, 0.0], [True, True, False])
    """
    n = len(seen)
    flat = [t.reshape(n, -1) for t in tensors]
    mask = seen.reshape(n, 1)
    packed = torch.cat([seen.to(torch.float32).reshape(n, 1)]
                       + [torch.where(mask, f.to(torch.float32), 0.0) for f in flat], dim=1)
    total = reduce_sum(packed)
    count = total[:, :1]
    seen_any = count[:, 0] > 0
    merged, start = [], 1
    for tensor, values in zip(tensors, flat):
        width = values.shape[1]
        mean = total[:, start:start + width] / count.clamp(min=1.0)
        start += width
        value = torch.where(seen_any.reshape(n, 1), mean, values.to(torch.float32))
        if not (tensor.is_floating_point() or tensor.is_complex()):
            value = value.round()
        merged.append(value.to(tensor.dtype).reshape(tensor.shape))
    return merged, seen_any


class ShardedBatches:
    """An iterator over this process's part of every batch of ``iterator``.

    ``len`` is the number of batches of the whole data (every process runs the same
    number of steps). Before each pass the shuffling generator takes process 0's
    state, so every process cuts the same batches; the rows this process trained on
    are marked in ``parallel.trained_rows``.
    """

    def __init__(self, iterator, parallel: DataParallel) -> None:
        self.iterator = iterator
        self.parallel = parallel

    def __len__(self) -> int:
        return len(self.iterator)

    def __iter__(self):
        parallel = self.parallel
        generator = getattr(self.iterator, "generator", None)
        if isinstance(generator, torch.Generator):
            generator.set_state(parallel.broadcast(generator.get_state()))
        parallel.trained_rows = None
        for batch in self.iterator:
            Xi, yi = batch[0], batch[1]
            part = shard_positions(len(Xi), parallel.rank, parallel.world)
            parallel.batch_positions, parallel.batch_rows = part, len(Xi)
            indices = getattr(batch, "indices", None)
            if indices is None:
                yield _take(Xi, part), _take(yi, part)
                continue
            indices = indices[part.to(indices.device)]
            parallel.mark_trained(indices)
            yield type(batch)(_take(Xi, part), _take(yi, part), indices)


def _take(values, part: torch.Tensor):
    if values is None:
        return None
    if isinstance(values, torch.Tensor):
        return values[part.to(values.device)]
    return values[part.numpy()]


class DataParallel:
    """The processes of one data-parallel fit, reached through an ``Accelerator``.

    Parameters
    ----------
    accelerator : accelerate.Accelerator
        Launched with more than one process.

    Attributes
    ----------
    rank, world : int
        This process and the number of processes.
    trained_rows : torch.Tensor of bool or None
        Rows of the training set this process trained on in the current epoch.
    """

    def __init__(self, accelerator) -> None:
        self.accelerator = accelerator
        self.rank = int(accelerator.process_index)
        self.world = int(accelerator.num_processes)
        self.trained_rows = None
        self.n_rows = None
        self.batch_positions, self.batch_rows = None, 0

    # -- communication (the two primitives; tests replace them) ------------------------
    def reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Element-wise sum of ``tensor`` over all processes (a new tensor)."""
        return self.accelerator.reduce(tensor, reduction="sum")

    def broadcast(self, obj):
        """Process 0's ``obj`` (any picklable value), on every process."""
        from accelerate.utils import broadcast_object_list

        box = [obj]
        broadcast_object_list(box, from_process=0)
        return box[0]

    # -- what the core calls ----------------------------------------------------------------
    def shard(self, iterator, n_rows: int) -> ShardedBatches:
        """This process's part of every batch of ``iterator`` (over ``n_rows`` rows)."""
        self.n_rows = int(n_rows)
        return ShardedBatches(iterator, self)

    def mark_trained(self, indices: torch.Tensor) -> None:
        if self.trained_rows is None:
            self.trained_rows = torch.zeros(self.n_rows, dtype=torch.bool,
                                            device=indices.device)
        self.trained_rows[indices] = True

    def gather_batch(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The values of every process's part of the current batch, in batch order.

        For a decision a method makes on a whole batch (Co-teaching's small-loss
        selection): ``values`` has one row per row of this process's part; the result
        has one per row of the batch, the same on every process, with the positions
        of this process's rows in it.

        Returns
        -------
        batch_values : torch.Tensor of shape (batch rows, ...)
        own : torch.Tensor of int64
            Positions of this process's rows in ``batch_values``.
        """
        own = self.batch_positions.to(values.device)
        flat = values.reshape(len(values), -1).to(torch.float32)
        packed = torch.zeros((self.batch_rows, 1 + flat.shape[1]), device=values.device)
        packed[own, 0] = 1.0
        packed[own, 1:] = flat
        total = self.reduce_sum(packed)
        # A row two processes hold (a batch smaller than the number of processes): mean.
        batch_values = total[:, 1:] / total[:, :1].clamp(min=1.0)
        return batch_values.reshape(self.batch_rows, *values.shape[1:]).to(values.dtype), own

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """Mean of a tensor over the processes (a training step's loss)."""
        return self.reduce_sum(value.detach().reshape(-1).to(torch.float32)).reshape(
            value.shape).to(value.dtype) / self.world

    def average_gradients(self, parameters, buffers=()) -> None:
        """Average the gradients of ``parameters`` and the values of ``buffers``.

        One all-reduce per dtype. A parameter without a gradient on this process
        counts as zero; it gets the average when any process has a gradient for it,
        so the optimizer updates the same parameters everywhere.
        """
        params = [p for p in parameters]
        for p in params:
            if p.grad is not None and p.grad.is_sparse:
                raise ValueError("Data-parallel training averages dense gradients; a "
                                 "module with sparse gradients (sparse embeddings) is not "
                                 "supported.")
        buffers = [b for b in buffers if b.is_floating_point()]
        groups: dict = {}
        for p in params:
            groups.setdefault(p.dtype, ([], []))[0].append(p)
        for b in buffers:
            groups.setdefault(b.dtype, ([], []))[1].append(b)
        for dtype, (group_params, group_buffers) in groups.items():
            pieces = [torch.zeros(p.numel(), dtype=dtype, device=p.device) if p.grad is None
                      else p.grad.reshape(-1) for p in group_params]
            pieces += [b.reshape(-1) for b in group_buffers]
            flags = [float(p.grad is not None) for p in group_params]
            device = (group_params or group_buffers)[0].device
            packed = torch.cat(pieces + [torch.tensor(flags, dtype=dtype, device=device)])
            total = self.reduce_sum(packed)
            start = 0
            for p in group_params:
                grad = (total[start:start + p.numel()] / self.world).view_as(p)
                start += p.numel()
                if p.grad is not None:
                    p.grad.copy_(grad)
                else:
                    p.grad = grad.clone()
            for b in group_buffers:
                b.copy_((total[start:start + b.numel()] / self.world).view_as(b))
                start += b.numel()
            has_grad = total[start:] > 0
            for p, keep in zip(group_params, has_grad.tolist()):
                if not keep:
                    p.grad = None

    def broadcast_tensors(self, tensors) -> None:
        """Overwrite ``tensors`` in place with process 0's values.

        One all-reduce per dtype in which the other processes contribute zeros (so
        it runs wherever ``reduce_sum`` does, on the training device).
        """
        groups: dict = {}
        for tensor in tensors:
            if tensor.dtype != torch.bool and tensor.numel():
                groups.setdefault(tensor.dtype, []).append(tensor)
        for group in groups.values():
            packed = torch.cat([t.detach().reshape(-1) for t in group])
            if self.rank != 0:
                packed = torch.zeros_like(packed)
            total, start = self.reduce_sum(packed), 0
            with torch.no_grad():
                for tensor in group:
                    tensor.copy_(total[start:start + tensor.numel()].view_as(tensor))
                    start += tensor.numel()

    def merge(self, tensors: list, seen: torch.Tensor) -> tuple[list, torch.Tensor]:
        """:func:`merge_rows` over the processes."""
        return merge_rows(tensors, seen, self.reduce_sum)
