"""AllReduceSyncBatchNorm over two gloo processes equals BatchNorm over the joined batch
(outputs, input and parameter gradients, running statistics), and DDP with ``sync_bn``
gives the detector the gradient of one process holding the whole batch."""
from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from mmssd.apis import load_config
from mmssd.datasets import make_demo_dataset
from mmssd.datasets.collate import detection_collate
from mmssd.engine import (
    AllReduceSyncBatchNorm,
    DeviceAwareDistributedDataParallel,
    convert_to_all_reduce_sync_bn,
)
from mmssd.registry import DATASETS, MODELS
from mmssd.utils import register_all_modules

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def joined_batch() -> torch.Tensor:
    """(5 + 3, 4, 3, 2): rank 0 holds 5 images, rank 1 holds 3 (uneven on purpose)."""
    return torch.randn(8, 4, 3, 2, generator=torch.Generator().manual_seed(0)) * 3 + 1


def reference(x: torch.Tensor) -> dict[str, torch.Tensor]:
    bn = nn.BatchNorm2d(4, momentum=0.2)
    x = x.clone().requires_grad_()
    out = bn(x)
    (out * torch.arange(out.numel()).view_as(out).float().sin()).sum().backward()
    return dict(out=out.detach(), x_grad=x.grad, weight_grad=bn.weight.grad,
                bias_grad=bn.bias.grad, running_mean=bn.running_mean,
                running_var=bn.running_var)


def worker(rank: int, port: int, results: dict) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    try:
        full = joined_batch()
        part = slice(0, 5) if rank == 0 else slice(5, 8)
        bn = convert_to_all_reduce_sync_bn(nn.Sequential(nn.BatchNorm2d(4, momentum=0.2)))[0]
        assert isinstance(bn, AllReduceSyncBatchNorm)
        x = full[part].clone().requires_grad_()
        out = bn(x)
        weights = torch.arange(full.numel()).view_as(full).float().sin()[part]
        (out * weights).sum().backward()
        # parameter gradients are per-process sums; DDP would add them up
        grads = [bn.weight.grad.clone(), bn.bias.grad.clone()]
        for g in grads:
            dist.all_reduce(g)
        results[rank] = dict(out=out.detach(), x_grad=x.grad, weight_grad=grads[0],
                             bias_grad=grads[1], running_mean=bn.running_mean.clone(),
                             running_var=bn.running_var.clone())
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_processes_match_one_batch_norm_over_the_joined_batch():
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(worker, args=(free_port(), results), nprocs=2)
        results = dict(results)
    expected = reference(joined_batch())
    torch.testing.assert_close(torch.cat([results[0]['out'], results[1]['out']]),
                               expected['out'], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(torch.cat([results[0]['x_grad'], results[1]['x_grad']]),
                               expected['x_grad'], rtol=1e-5, atol=1e-5)
    for rank in (0, 1):
        for key in ('weight_grad', 'bias_grad', 'running_mean', 'running_var'):
            torch.testing.assert_close(results[rank][key], expected[key], rtol=1e-5,
                                       atol=1e-5)


def test_single_process_and_eval_are_plain_batch_norm():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.ReLU())
    plain = nn.BatchNorm2d(4)
    plain.load_state_dict(model[1].state_dict())
    converted = convert_to_all_reduce_sync_bn(model)
    assert isinstance(converted[1], AllReduceSyncBatchNorm)
    x = torch.randn(2, 4, 5, 5)
    torch.testing.assert_close(converted[1](x), plain(x))
    converted.eval()
    plain.eval()
    torch.testing.assert_close(converted[1](x), plain(x))


def detector_and_batch():
    """The demo detector (fixed init) and 8 training samples of a deterministic pipeline."""
    register_all_modules()
    cfg = load_config(str(REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py'))
    pipeline = [dict(p, flip_ratio=0.0) if p['type'] == 'RandomFlip' else p
                for p in cfg.train_pipeline if p['type'] != 'MinIoURandomCrop']
    cfg.data.train.update(ann_file=os.environ['MMSSD_TEST_ANN'],
                          img_prefix=os.environ['MMSSD_TEST_IMGS'], pipeline=pipeline)
    dataset = DATASETS.build(cfg.data.train)
    batch = detection_collate([dataset[i] for i in range(8)])
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.train(), batch


def gradients(model: nn.Module, batch: dict, images: list[int]) -> dict[str, torch.Tensor]:
    part = {k: v[images] if isinstance(v, torch.Tensor) else [v[i] for i in images]
            for k, v in batch.items()}
    sum(model(**part, mode='loss').values()).backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def ddp_worker(rank: int, port: int, sync_bn: bool, results: dict) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    try:
        model, batch = detector_and_batch()
        ddp = DeviceAwareDistributedDataParallel(model, sync_bn=sync_bn,
                                                 broadcast_buffers=False)
        grads = gradients(ddp, batch, list(range(rank, 8, 2)))  # DDP averages them
        if rank == 0:
            results[sync_bn] = {n.removeprefix('module.'): g for n, g in grads.items()}
    finally:
        dist.destroy_process_group()


def relative_difference(a: dict, b: dict) -> float:
    difference = sum(((a[n] - b[n]) ** 2).sum() for n in a).sqrt()
    return float(difference / sum((a[n] ** 2).sum() for n in a).sqrt())


@pytest.mark.slow
def test_two_processes_with_sync_bn_give_the_gradient_of_the_whole_batch(
        tmp_path, monkeypatch):
    """Two DDP processes with 4 images each, sync_bn on: the gradient of one process
    holding all 8 (the SSD loss is normalised by the positives of the whole batch).
    Without sync_bn the BatchNorm statistics of 4 images change it completely."""
    make_demo_dataset(tmp_path, num_train=8, num_val=1, seed=1)
    monkeypatch.setenv('MMSSD_TEST_ANN', str(tmp_path / 'annotations/instances_train.json'))
    monkeypatch.setenv('MMSSD_TEST_IMGS', str(tmp_path / 'train'))
    model, batch = detector_and_batch()
    whole = gradients(model, batch, list(range(8)))
    # the float32 rounding noise of this gradient: the same computation in float64
    model64, batch64 = detector_and_batch()
    batch64.update(img=batch64['img'].double(),
                   gt_bboxes=[b.double() for b in batch64['gt_bboxes']])
    noise = relative_difference(whole, gradients(model64.double(), batch64, list(range(8))))
    with mp.Manager() as manager:
        results = manager.dict()
        for sync_bn in (True, False):
            mp.spawn(ddp_worker, args=(free_port(), sync_bn, results), nprocs=2)
        results = dict(results)
    assert whole.keys() == results[True].keys()
    assert relative_difference(whole, results[True]) < 3 * noise + 1e-3, noise
    assert relative_difference(whole, results[False]) > 0.3
    # the head's final 1x1 convolutions come after the last BatchNorm: little rounding noise
    head = [n for n in whole if re.match(r'bbox_head\.(cls|reg)_convs\.\d+\.1\.', n)]
    assert len(head) == 24
    for name in head:
        scale = float(whole[name].abs().max())
        torch.testing.assert_close(results[True][name], whole[name], rtol=1e-3,
                                   atol=1e-4 * scale)
