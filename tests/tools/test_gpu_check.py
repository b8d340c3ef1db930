"""``tools/misc/gpu_check.sh`` on a machine without a GPU: its syntax, its stop without
CUDA, the options its runs use (read and translated here), its report, and (slow) a dry
run of its steps on CPU."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from mmengine.config import Config

from tests.helpers.tools import REPO, load_tool, python_shim

SCRIPT = REPO / 'tools/misc/gpu_check.sh'
helper = load_tool('tools/misc/gpu_check_report.py')
train_tool = load_tool('tools/train.py')


def test_script_parses():
    subprocess.run(['bash', '-n', str(SCRIPT)], check=True)


def test_without_cuda_it_stops_at_once_saying_why(tmp_path):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='')  # no GPU, even on a machine with one
    result = subprocess.run(['bash', str(SCRIPT), str(tmp_path / 'out')], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stdout == ''
    assert result.stderr.startswith('gpu_check.sh needs a CUDA GPU: '
                                    'torch.cuda.is_available() is False here')
    assert 'CUDA_VISIBLE_DEVICES=)' in result.stderr
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('run', helper.RUNS)
def test_each_run_config_loads_and_translates(run, tmp_path):
    """The options as ``tools/train.py`` parses them; translated for this machine (on CPU:
    fp16 as bf16 autocast, nccl as gloo)."""
    from mmssd.apis import load_config
    from mmssd.engine import translate_train_config
    from mmssd.utils import register_all_modules
    model, variant = run.rsplit('_', 1)
    options = helper.short_options(tmp_path / 'data', epochs=5, workers=4)
    args = train_tool.parse_args([helper.CONFIGS[model], '--cfg-options', *options,
                                  *helper.VARIANTS[variant]])
    cfg = load_config(str(REPO / args.config), args.cfg_options, str(tmp_path / 'work'))
    assert cfg.runner.max_epochs == 5 and cfg.data.samples_per_gpu == helper.BATCH
    assert cfg.data.test.ann_file == f'{tmp_path}/data/annotations/instances_val.json'
    if variant == 'fp16':
        assert cfg.fp16 == {'loss_scale': 'dynamic'}
    if variant == 'dist':
        assert cfg.dist_params.backend == 'nccl'
    register_all_modules()
    runner_args = translate_train_config(Config(cfg.to_dict()), validate=True).runner_args
    assert runner_args['train_cfg']['max_epochs'] == 5


def write_run(out: Path, run: str, times: list[float]) -> None:
    work = out / run
    (work / '20261206_000000/vis_data').mkdir(parents=True)
    (work / 'train.txt').write_text('Runtime environment:\n    World size: 1\n'
                                    '    Device: cuda\n    GPU number: 1\n')
    records = [dict(loss=1.0, time=t, step=10 * i) for i, t in enumerate(times)]
    records.append(dict(bbox_mAP=0.5, step=1))
    (work / '20261206_000000/vis_data/20261206_000000.json').write_text(
        ''.join(json.dumps(r) + '\n' for r in records))
    (work / 'test.txt').write_text('bbox_mAP: 0.612\nbbox_mAP_50: 0.934\nbbox_mAP_75: 0.7\n')
    (work / 'inference.txt').write_text('run 1: 812.50 img/s (1.2 ms/img over 160 images, '
                                        'batch size 16)\n')


def test_report_reads_rates_and_maps(tmp_path):
    write_run(tmp_path, 'ssdlite_fp32', [2.0, 1.0, 0.1, 0.1, 0.2])  # first two left out
    assert helper.train_rate(tmp_path / 'ssdlite_fp32') == pytest.approx(160.0)
    table = helper.report(tmp_path, ['ssdlite_fp32', 'faster_rcnn_fp16'])
    rows = table.splitlines()
    assert rows[2] == '| ssdlite_fp32 | cuda | 160.0 | 812.50 | 0.934 | 0.612 |'
    assert rows[3] == '| faster_rcnn_fp16 | not run | - | - | - | - |'
    assert '| ssdlite | 58 (16 / 0.276 s/iter) |' in table
    assert 'docs/benchmarks.md, "Two-stage demo"' in table


@pytest.mark.slow
def test_dry_run_on_cpu(tmp_path):
    """Every step of one run through the script itself (data, train, test, inference,
    report), on CPU with 16 training images: the plumbing, not the figures."""
    # the script's `python` is the fork server's (tests/helpers/fork_server.py)
    env = dict(os.environ, DEVICE='cpu', EPOCHS='1', NUM_TRAIN='16', NUM_VAL='48',
               WORKERS='0', RUNS='ssdlite_fp32', OMP_NUM_THREADS='1',
               PATH=f'{python_shim().parent}{os.pathsep}{os.environ["PATH"]}')
    result = subprocess.run(['bash', str(SCRIPT), str(tmp_path / 'out')], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for step in ('train', 'test', 'inference'):
        assert f'ssdlite_fp32: {step} ok' in result.stdout
    row = next(line for line in result.stdout.splitlines()
               if line.startswith('| ssdlite_fp32 |'))
    device, train, inference, map50, map_ = [c.strip() for c in row.split('|')[2:7]]
    assert device == 'cpu'
    assert float(train) > 0 and float(inference) > 0
    assert 0 <= float(map50) <= 1 and 0 <= float(map_) <= 1
