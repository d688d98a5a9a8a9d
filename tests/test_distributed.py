"""Scale-out goes through torch.distributed: a Conv1x1 network trained under
DistributedDataParallel (gloo, 2 processes, each with half the batch) ends with exactly the
parameters and gradients of one process trained on the whole batch."""
import os
import socket
import time
from datetime import timedelta

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from onebyone.blocks import SelfAttention2d, SqueezeExcitation
from onebyone.nn import Conv1x1

WORLD, STEPS, LR = 2, 3, 0.1
TIMEOUT_S = 60  # a hung process group fails the test instead of hanging CI


def _model():
    torch.manual_seed(0)
    # No BatchNorm: its batch statistics would differ between a half batch and the whole.
    return nn.Sequential(Conv1x1(3, 16), nn.ReLU(), SqueezeExcitation(16, 4),
                         Conv1x1(16, 16), nn.ReLU(), SelfAttention2d(16), Conv1x1(16, 4)).double()


def _data():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(8, 3, 6, 6, generator=g, dtype=torch.float64)
    return x, torch.randn(8, 4, 6, 6, generator=g, dtype=torch.float64)


def _train(model, x, y):
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    for _ in range(STEPS):
        opt.zero_grad()
        # mean over this process's samples; DDP averages the ranks' gradients, and the mean of
        # two equal halves' means is the whole batch's mean.
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()


def _worker(rank, port, out_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)  # two processes on a shared 2-core machine
    dist.init_process_group("gloo", rank=rank, world_size=WORLD,
                            timeout=timedelta(seconds=TIMEOUT_S))
    try:
        model = nn.parallel.DistributedDataParallel(_model())
        x, y = _data()
        half = x.shape[0] // WORLD
        _train(model, x[rank * half:(rank + 1) * half], y[rank * half:(rank + 1) * half])
        result = {n: (p.detach(), p.grad) for n, p in model.module.named_parameters()}
        torch.save(result, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_ddp(out_dir):
    ctx = mp.start_processes(_worker, args=(_free_port(), str(out_dir)), nprocs=WORLD,
                             join=False, start_method="spawn")
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while not ctx.join(timeout=1):  # join() raises if a worker failed
            if time.monotonic() > deadline:
                pytest.fail(f"DDP workers did not finish within {TIMEOUT_S} s")
    finally:
        for p in ctx.processes:
            if p.is_alive():
                p.kill()


@pytest.mark.skipif(not dist.is_available(), reason="torch built without torch.distributed")
def test_ddp_two_processes_equal_one_process(tmp_path):
    _run_ddp(tmp_path)
    single = _model()
    _train(single, *_data())
    for rank in range(WORLD):
        ddp = torch.load(tmp_path / f"rank{rank}.pt")
        assert set(ddp) == {n for n, _ in single.named_parameters()}
        for name, p in single.named_parameters():
            value, grad = ddp[name]
            # float64: the ranks' gradients are summed in another order than one process sums
            # the batch, so results agree to rounding (~1e-15), far inside rtol=atol=1e-10.
            torch.testing.assert_close(grad, p.grad, rtol=1e-10, atol=1e-10, msg=name)
            torch.testing.assert_close(value, p.detach(), rtol=1e-10, atol=1e-10, msg=name)
    # And training did something: the parameters moved from their starting values.
    start = dict(_model().named_parameters())
    assert any(not torch.equal(start[n], p) for n, p in single.named_parameters())
