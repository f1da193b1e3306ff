"""Data parallelism for the Trainer: ``torchrun`` processes, global batches split across ranks.

Under ``torchrun --nproc_per_node N`` (environment ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``,
``MASTER_ADDR``, ``MASTER_PORT``) :func:`init_distributed` joins the process group (gloo on CPU,
NCCL with CUDA, one GPU per local rank). ``optim.batch_size`` stays the *global* batch: every step
all ranks draw the same permutation (a ``torch.Generator`` seeded from ``(seed, epoch)``), take the
same global batch and each rank takes every N-th sample of it. After ``backward`` the gradients
are averaged over all samples of the global batch (:func:`average_gradients` weights each rank by
its sample count), so one step equals a single-process step on the global batch up to float
summation order (and batch-norm statistics, which stay per rank). Buffers (batch-norm running
statistics) are broadcast from rank 0 after each step so every rank holds the same model.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import Sampler  # noqa: E402

__all__ = [
    "DistContext",
    "GlobalBatchSampler",
    "average_gradients",
    "broadcast_buffers",
    "close_distributed",
    "init_distributed",
    "reduce_weighted",
]


@dataclass(frozen=True)
class DistContext:
    """Where this process sits: rank, world size and local rank (1 process: 0, 1, 0).

    ``owns_group`` is True when :func:`init_distributed` created the process group (then
    :func:`close_distributed` destroys it).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def active(self) -> bool:
        """True with more than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on rank 0 (the only rank that writes files or reports progress)."""
        return self.rank == 0


def init_distributed(device: torch.device) -> tuple[DistContext, torch.device]:
    """Join the ``torchrun`` process group when ``WORLD_SIZE`` > 1 (else a 1-process context).

    Args:
        device: the requested device; with CUDA each process takes ``cuda:LOCAL_RANK``.

    Returns:
        The context and the device this process trains on.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext(), device
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistContext(rank, world, local, owns), device


def close_distributed(context: DistContext) -> None:
    """Destroy the process group if :func:`init_distributed` created it."""
    if context.owns_group and dist.is_initialized():
        dist.destroy_process_group()


class GlobalBatchSampler(Sampler[list[int]]):
    """The share of this rank in shuffled global batches.

    The permutation is ``torch.randperm(n, generator=generator)`` drawn lazily when iteration
    starts (the draw of ``RandomSampler``), cut into global batches of ``batch_size`` (the last,
    partial one dropped when ``drop_last``); rank r takes samples r, r + N, ... of each batch. A
    partial batch that leaves a rank empty is dropped.

    Args:
        num_samples: dataset length.
        batch_size: global batch size.
        generator: the shuffling generator (None: no shuffling).
        context: rank and world size.
        drop_last: drop the last partial global batch.
    """

    def __init__(
        self,
        num_samples: int,
        batch_size: int,
        generator: torch.Generator | None,
        context: DistContext = DistContext(),  # noqa: B008 - frozen, immutable
        drop_last: bool = False,
    ) -> None:
        if num_samples < 1 or batch_size < 1:
            raise ValueError(f"need num_samples >= 1 and batch_size >= 1, got {num_samples}, {batch_size}")
        if batch_size < context.world_size:
            raise ValueError(
                f"global batch size {batch_size} is smaller than the {context.world_size} processes"
            )
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.generator = generator
        self.context = context
        self.drop_last = drop_last

    def _global_sizes(self) -> list[int]:
        full, rest = divmod(self.num_samples, self.batch_size)
        sizes = [self.batch_size] * full
        if rest and not self.drop_last and rest >= self.context.world_size:
            sizes.append(rest)
        return sizes

    def __len__(self) -> int:
        return len(self._global_sizes())

    def __iter__(self) -> Iterator[list[int]]:
        if self.generator is None:
            order: Sequence[int] = range(self.num_samples)
        else:
            order = torch.randperm(self.num_samples, generator=self.generator).tolist()
        start = 0
        for size in self._global_sizes():
            batch = order[start : start + size]
            start += size
            yield list(batch[self.context.rank :: self.context.world_size])


def average_gradients(model: nn.Module, local_count: int, context: DistContext) -> None:
    """Make every rank's gradients the sample-weighted mean over the global batch (in place).

    Each rank's loss is a mean over its ``local_count`` samples; the result is
    ``sum_r count_r * grad_r / sum_r count_r``, the gradient of the mean over the global batch.
    """
    if not context.active:
        return
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    device = grads[0].device if grads else next(model.parameters()).device
    total = torch.tensor([float(local_count)], device=device)
    dist.all_reduce(total)
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads]) * float(local_count)
    dist.all_reduce(flat)
    flat /= total
    offset = 0
    for grad in grads:
        grad.copy_(flat[offset : offset + grad.numel()].view_as(grad))
        offset += grad.numel()


def broadcast_buffers(model: nn.Module, context: DistContext) -> None:
    """Copy rank 0's floating buffers (batch-norm statistics) to every rank."""
    if not context.active:
        return
    for buffer in model.buffers():
        dist.broadcast(buffer, src=0)


def reduce_weighted(
    values: Sequence[float], count: int, context: DistContext, device: torch.device
) -> list[float]:
    """Sample-weighted means of per-rank means ``values`` over all ranks (identity for 1 process)."""
    if not context.active:
        return [float(v) for v in values]
    packed = torch.tensor([*(float(v) * count for v in values), float(count)], dtype=torch.float64)
    packed = packed.to(device)
    dist.all_reduce(packed)
    total = float(packed[-1])
    return [float(v) / total if total > 0 else math.nan for v in packed[:-1].tolist()]
