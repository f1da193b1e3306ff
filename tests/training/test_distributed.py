"""Data parallelism: global batches split across ranks, and torchrun with 2 processes vs 1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader  # noqa: E402

from grasplab.training.distributed import DistContext, GlobalBatchSampler, reduce_weighted  # noqa: E402

HERE = Path(__file__).resolve().parent
#: loss of each step, 2 processes vs 1 with the same global batch (float32, summation order differs)
DDP_TOLERANCE = 1e-5


def test_one_process_draws_what_a_shuffled_dataloader_draws() -> None:
    data = list(range(11))
    old = DataLoader(
        data, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(7), drop_last=True
    )
    generator = torch.Generator().manual_seed(7)
    new = DataLoader(
        data, batch_sampler=GlobalBatchSampler(11, 4, generator, drop_last=True), generator=generator
    )
    assert [b.tolist() for b in old] == [b.tolist() for b in new]


def test_ranks_share_each_global_batch() -> None:
    whole = list(GlobalBatchSampler(10, 4, torch.Generator().manual_seed(3)))
    parts = [
        list(GlobalBatchSampler(10, 4, torch.Generator().manual_seed(3), DistContext(r, 2))) for r in (0, 1)
    ]
    assert [len(b) for b in whole] == [4, 4, 2] and len(parts[0]) == len(parts[1]) == 3
    for batch, a, b in zip(whole, *parts, strict=True):
        assert sorted(a + b) == sorted(batch) and not set(a) & set(b)
    # a last batch smaller than the world is dropped; unshuffled order without a generator
    assert len(GlobalBatchSampler(9, 4, None, DistContext(0, 2))) == 2
    assert list(GlobalBatchSampler(3, 2, None)) == [[0, 1], [2]]
    with pytest.raises(ValueError, match="smaller than"):
        GlobalBatchSampler(10, 2, None, DistContext(0, 4))
    assert reduce_weighted([1.0, 2.0], 3, DistContext(), torch.device("cpu")) == [1.0, 2.0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(cmd: list[str], timeout: float) -> None:
    env = dict(os.environ, PYTHONPATH=str(HERE), OMP_NUM_THREADS="1")
    for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.slow
def test_two_processes_match_one_with_the_same_global_batch(tmp_path: Path) -> None:
    script = str(HERE / "tiny_task.py")
    _run([sys.executable, script, str(tmp_path / "one"), "2"], timeout=120)
    torchrun = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        "1",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
    ]
    _run([*torchrun, script, str(tmp_path / "two"), "2"], timeout=180)
    one = json.loads((tmp_path / "one" / "steps.json").read_text())
    two = json.loads((tmp_path / "two" / "steps.json").read_text())
    assert len(one) == len(two) == 8  # 32 samples, global batch 8, 2 epochs
    for a, b in zip(one, two, strict=True):
        assert set(a) == set(b) == {"loss", "mse", "mae"}
        assert b["loss"] == pytest.approx(a["loss"], rel=DDP_TOLERANCE, abs=DDP_TOLERANCE)
    assert sum(s["loss"] for s in one[4:]) < sum(s["loss"] for s in one[:4])  # epoch 2 below epoch 1
    assert json.loads((tmp_path / "two" / "meta.json").read_text())["world_size"] == 2
    assert not list((tmp_path / "two").glob("**/.*.tmp"))
