"""Pretrained weights by name or URL: torch.hub's cache, downloads, offline errors,
weights-only loading and mmdetection's key mapping, and the configs that name them."""
from __future__ import annotations

import http.server
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import (
    get_deprecated_model_names,
    get_external_models,
    get_mmcls_models,
    get_torchvision_models,
)

import mmssd.models  # noqa: F401  (registers the modules)
from mmssd.engine.checkpoint import UnsafeCheckpointError, install_checkpointing, pretrained_weights
from mmssd.engine.checkpoint.pretrained_weights import (
    PretrainedWeightsNotFoundError,
    cached_checkpoint_path,
    checkpoint_url,
    fetch_checkpoint,
)
from mmssd.registry import MODELS

REPO = Path(__file__).resolve().parents[3]
RESNET_BACKBONES = ('ResNet', 'SSDVGG')


@pytest.fixture(autouse=True)
def checkpointing() -> None:
    """mmssd's loaders, as the entry points (mmssd.apis, tools/) install them."""
    install_checkpointing()


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``TORCH_HOME``; local test servers are reached without any proxy."""
    home = tmp_path / 'torch_home'
    monkeypatch.setenv('TORCH_HOME', str(home))
    monkeypatch.setattr(torch.hub, '_hub_dir', None)  # in case someone called set_dir
    monkeypatch.setenv('no_proxy', '*')
    return home


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """No network: every ``urlopen`` fails as an unreachable host does; the list records
    the URLs that were tried."""
    tried: list[str] = []

    def unreachable(url, *args, **kwargs):
        tried.append(url if isinstance(url, str) else url.full_url)
        raise urllib.error.URLError(OSError(101, 'Network is unreachable'))

    monkeypatch.setattr(urllib.request, 'urlopen', unreachable)
    return tried


def random_torchvision_resnet18() -> dict[str, torch.Tensor]:
    """torchvision's ResNet-18 state dict with random weights and BN statistics."""
    source = torchvision.models.resnet18(weights=None)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, value in source.state_dict().items():
            if value.is_floating_point():
                value.copy_(torch.rand(value.shape, generator=generator) + 0.5)
            elif name.endswith('num_batches_tracked'):
                value.fill_(7)
    return source.state_dict()


def assert_loaded(module: torch.nn.Module, source: dict[str, torch.Tensor]) -> None:
    """Every parameter and buffer of ``module`` equals ``source``'s entry of that name."""
    state = module.state_dict()
    assert set(state) <= set(source)
    for name, value in state.items():
        torch.testing.assert_close(value, source[name], rtol=0, atol=0, msg=name)


def test_names_resolve_through_mmengines_tables():
    torchvision_urls = get_torchvision_models()
    assert checkpoint_url('torchvision://resnet50') == torchvision_urls['resnet50']
    assert checkpoint_url('modelzoo://resnet101') == torchvision_urls['resnet101']
    assert checkpoint_url('torchvision://resnet50.imagenet1k_v2') == (
        torchvision.models.ResNet50_Weights.IMAGENET1K_V2.url)
    openmmlab = get_external_models()
    assert checkpoint_url('open-mmlab://vgg16_caffe') == openmmlab['vgg16_caffe']
    assert checkpoint_url('openmmlab://vgg16_caffe') == openmmlab['vgg16_caffe']
    # deprecated names are redirected as mmengine does
    new_name = get_deprecated_model_names()['resnet50_caffe']
    assert checkpoint_url('open-mmlab://resnet50_caffe') == openmmlab[new_name]
    url = 'https://example.com/weights/backbone-0123abcd.pth'
    assert checkpoint_url(url) == url
    with pytest.raises(KeyError, match="torchvision://resnet05.*resnet50"):
        checkpoint_url('torchvision://resnet05')
    with pytest.raises(ValueError, match='ftp'):
        checkpoint_url('ftp://example.com/a.pth')


def test_cache_path_is_torch_hubs(torch_home: Path):
    url = checkpoint_url('torchvision://resnet50')
    expected = torch_home / 'hub' / 'checkpoints' / url.rsplit('/', 1)[1]
    assert cached_checkpoint_path(url) == expected
    assert cached_checkpoint_path('https://host/a/b/name.pth?x=1') == expected.with_name(
        'name.pth')


def test_missing_file_offline_stops_with_url_and_path(torch_home: Path, offline: list[str]):
    url = checkpoint_url('torchvision://resnet50')
    path = cached_checkpoint_path(url)
    model = MODELS.build({'type': 'ResNet', 'depth': 50, 'init_cfg': {
        'type': 'Pretrained', 'checkpoint': 'torchvision://resnet50'}})
    start = time.perf_counter()
    with pytest.raises(PretrainedWeightsNotFoundError) as error:
        model.init_weights()
    assert time.perf_counter() - start < 30
    message = str(error.value)
    assert url in message and str(path) in message and 'Network is unreachable' in message
    assert offline == [url]
    assert (error.value.url, error.value.path) == (url, path)
    assert not any(path.parent.iterdir())  # nothing half-written


def test_real_network_path_fails_fast_here(torch_home: Path):
    """The real download path, no stubs: on a machine without access to
    download.pytorch.org it must fail with the URL error in well under 30 s."""
    try:
        socket.create_connection(('download.pytorch.org', 443), timeout=5).close()
    except OSError:
        pass
    else:
        pytest.skip('download.pytorch.org is reachable; this checks the offline path')
    start = time.perf_counter()
    with pytest.raises(PretrainedWeightsNotFoundError, match='resnet50'):
        fetch_checkpoint('torchvision://resnet50', progress=False)
    assert time.perf_counter() - start < 30


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A local address that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(('127.0.0.1', 0))
        server.listen(4)
        yield f'http://127.0.0.1:{server.getsockname()[1]}/weights/silent-00000000.pth'


def test_unanswered_download_gives_up_after_the_timeout(torch_home: Path, silent_server: str,
                                                         monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(pretrained_weights, 'CONNECT_TIMEOUT_S', 0.5)
    start = time.perf_counter()
    with pytest.raises(PretrainedWeightsNotFoundError, match='silent-00000000.pth') as error:
        fetch_checkpoint(silent_server, progress=False)
    assert time.perf_counter() - start < 5
    assert 'timed out' in str(error.value) or 'TimeoutError' in str(error.value)
    assert not error.value.path.exists()


class _Served:
    """What the local HTTP server answers: ``body``, announced as ``length`` bytes."""

    body = b''
    length = 0
    requests: list[str] = []


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        _Served.requests.append(self.path)
        self.send_response(200)
        self.send_header('Content-Length', str(_Served.length))
        self.end_headers()
        self.wfile.write(_Served.body)

    def log_message(self, *args) -> None:
        """Quiet."""


@pytest.fixture
def http_server() -> Iterator[str]:
    """A local HTTP server answering every GET with :class:`_Served`'s body."""
    _Served.requests = []
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    server.server_close()


def test_download_to_cache_then_reuse(torch_home: Path, http_server: str, tmp_path: Path):
    source = random_torchvision_resnet18()
    saved = tmp_path / 'saved.pth'
    torch.save(source, saved)
    _Served.body = saved.read_bytes()
    _Served.length = len(_Served.body)
    url = f'{http_server}/models/resnet18-test.pth'
    model = MODELS.build({'type': 'ResNet', 'depth': 18,
                          'init_cfg': {'type': 'Pretrained', 'checkpoint': url}})
    model.init_weights()
    assert_loaded(model, source)
    path = cached_checkpoint_path(url)
    assert path.read_bytes() == _Served.body and _Served.requests == ['/models/resnet18-test.pth']
    assert sorted(p.name for p in path.parent.iterdir()) == ['resnet18-test.pth']
    model.init_weights()  # from the cache: no second request
    assert len(_Served.requests) == 1


def test_truncated_download_leaves_no_file(torch_home: Path, http_server: str):
    _Served.body = b'x' * 1000
    _Served.length = 5000  # the connection closes before the announced length
    url = f'{http_server}/models/cut-00000000.pth'
    with pytest.raises(PretrainedWeightsNotFoundError, match='cut-00000000.pth'):
        fetch_checkpoint(url, progress=False)
    path = cached_checkpoint_path(url)
    assert not path.exists() and not any(path.parent.iterdir())


def test_cached_torchvision_file_initialises_the_resnet(torch_home: Path, offline: list[str]):
    source = random_torchvision_resnet18()
    path = cached_checkpoint_path(checkpoint_url('torchvision://resnet18'))
    path.parent.mkdir(parents=True)
    torch.save(source, path)
    model = MODELS.build({'type': 'ResNet', 'depth': 18, 'init_cfg': {
        'type': 'Pretrained', 'checkpoint': 'torchvision://resnet18'}})
    model.init_weights()
    assert_loaded(model, source)  # weights and BN buffers (running stats, counts)
    assert 'fc.weight' in source and 'fc.weight' not in model.state_dict()
    assert offline == []  # the cached file was used as it is


def test_url_checkpoint_with_wrapper_and_module_prefix(torch_home: Path, offline: list[str]):
    source = random_torchvision_resnet18()
    url = 'https://example.com/some/folder/resnet18_ddp-0000aaaa.pth'
    path = cached_checkpoint_path(url)
    assert path.parent == torch_home / 'hub' / 'checkpoints'
    path.parent.mkdir(parents=True)
    torch.save({'state_dict': {f'module.{k}': v for k, v in source.items()},
                'meta': {'epoch': 3}}, path)
    model = MODELS.build({'type': 'ResNet', 'depth': 18,
                          'init_cfg': {'type': 'Pretrained', 'checkpoint': url}})
    model.init_weights()
    assert_loaded(model, source)
    assert offline == []


def test_local_open_mmlab_entry_resolves_under_mmengine_home(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch):
    """A user's ``$MMENGINE_HOME/open_mmlab.json`` entry that is a relative path resolves
    under mmengine's home, found by mmengine's private ``_get_mmengine_home``."""
    home = tmp_path / 'mmengine_home'
    home.mkdir()
    (home / 'open_mmlab.json').write_text('{"my_backbone": "weights/my_backbone.pth"}')
    monkeypatch.setenv('MMENGINE_HOME', str(home))
    local = home / 'weights' / 'my_backbone.pth'
    assert checkpoint_url('open-mmlab://my_backbone') == str(local)
    with pytest.raises(FileNotFoundError, match=f'names the local file {local}, which does'):
        fetch_checkpoint('open-mmlab://my_backbone')


def test_mmcls_backbone_loads_through_mmssds_loader(torch_home: Path, offline: list[str],
                                                    monkeypatch: pytest.MonkeyPatch):
    """mmengine's ``load_checkpoint`` hands ``mmcls://`` names to mmssd's loader, which
    drops the classifier and the ``backbone.`` prefix with mmengine's private
    ``_process_mmcls_checkpoint``."""
    name = next(iter(get_mmcls_models()))
    path = cached_checkpoint_path(checkpoint_url(f'mmcls://{name}'))
    path.parent.mkdir(parents=True)
    source = torch.nn.Linear(2, 3).state_dict()
    torch.save({'state_dict': {**{f'backbone.{k}': v for k, v in source.items()},
                               'head.fc.weight': torch.zeros(5, 3)}}, path)
    processed = []
    unwrap = pretrained_weights._process_mmcls_checkpoint

    def spy(checkpoint: dict) -> dict:
        processed.append(sorted(checkpoint['state_dict']))
        return unwrap(checkpoint)

    monkeypatch.setattr(pretrained_weights, '_process_mmcls_checkpoint', spy)
    module = torch.nn.Linear(2, 3)
    load_checkpoint(module, f'mmcls://{name}', map_location='cpu', strict=True)
    assert processed == [['backbone.bias', 'backbone.weight', 'head.fc.weight']]
    assert_loaded(module, source)
    assert offline == []


class _Payload:
    """An arbitrary class: weights-only loading must refuse to unpickle it."""


def test_url_checkpoint_that_is_not_weights_only_is_refused(torch_home: Path,
                                                             offline: list[str]):
    url = 'https://example.com/models/unsafe-0000bbbb.pth'
    path = cached_checkpoint_path(url)
    path.parent.mkdir(parents=True)
    torch.save({'state_dict': {}, 'payload': _Payload()}, path)
    model = MODELS.build({'type': 'ResNet', 'depth': 18,
                          'init_cfg': {'type': 'Pretrained', 'checkpoint': url}})
    with pytest.raises(UnsafeCheckpointError, match='unsafe-0000bbbb.pth'):
        model.init_weights()


def test_ssd_vgg_loads_mmdetections_vgg16_caffe_layout(torch_home: Path, offline: list[str]):
    """mmdetection's SSD300 names open-mmlab://vgg16_caffe: VGG16's ``features`` (indices as
    in torchvision / mmcv's VGG) plus fc6 / fc7 at ``features.31`` / ``features.33``."""
    features = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs['D'])
    source = {f'features.{k}': v for k, v in features.state_dict().items()}
    generator = torch.Generator().manual_seed(1)
    source.update({'features.31.weight': torch.randn(1024, 512, 3, 3, generator=generator),
                   'features.31.bias': torch.randn(1024, generator=generator),
                   'features.33.weight': torch.randn(1024, 1024, 1, 1, generator=generator),
                   'features.33.bias': torch.randn(1024, generator=generator)})
    path = cached_checkpoint_path(checkpoint_url('open-mmlab://vgg16_caffe'))
    path.parent.mkdir(parents=True)
    torch.save(source, path)
    backbone_cfg = Config.fromfile(str(REPO / 'configs/_base_/models/ssd300.py')).model.backbone
    assert backbone_cfg.init_cfg.checkpoint == 'open-mmlab://vgg16_caffe'
    model = MODELS.build(backbone_cfg)
    model.init_weights()
    assert set(model.state_dict()) == set(source)
    assert_loaded(model, source)


def test_deprecated_detector_level_pretrained(torch_home: Path, offline: list[str]):
    source = random_torchvision_resnet18()
    path = cached_checkpoint_path(checkpoint_url('torchvision://resnet18'))
    path.parent.mkdir(parents=True)
    torch.save(source, path)
    cfg = Config.fromfile(str(REPO / 'configs/_base_/models/retinanet_r50_fpn.py')).model
    cfg.backbone.update(depth=18, init_cfg=None)
    cfg.neck.in_channels = [64, 128, 256, 512]
    model = MODELS.build(dict(cfg, pretrained='torchvision://resnet18'))
    model.init_weights()
    assert_loaded(model.backbone, source)
    # with the base's init_cfg still there, both are named: a clear error, as in mmdetection
    cfg.backbone.init_cfg = {'type': 'Pretrained', 'checkpoint': 'torchvision://resnet50'}
    with pytest.raises(ValueError, match=r"pretrained='torchvision://resnet18'.*not both"):
        MODELS.build(dict(cfg, pretrained='torchvision://resnet18'))


def model_configs() -> list[Path]:
    return sorted((REPO / 'configs/_base_/models').glob('*.py'))


@pytest.mark.parametrize('path', model_configs(), ids=lambda p: p.name)
def test_base_models_name_their_pretrained_weights(path: Path):
    """As in mmdetection: a ResNet or VGG backbone starts from ImageNet weights."""
    backbone = Config.fromfile(str(path)).model.get('backbone', {})
    if backbone.get('type') in RESNET_BACKBONES:
        init_cfg = backbone.get('init_cfg')
        assert isinstance(init_cfg, dict) and init_cfg['type'] == 'Pretrained', path
        assert checkpoint_url(init_cfg['checkpoint']).startswith('https://')


@pytest.mark.parametrize('path', sorted(REPO.glob('configs/**/*demo*.py')),
                         ids=lambda p: p.relative_to(REPO / 'configs').as_posix())
def test_demo_configs_train_from_scratch(path: Path):
    backbone = Config.fromfile(str(path)).get('model', {}).get('backbone', {})
    if backbone.get('type') in RESNET_BACKBONES:
        assert backbone.get('init_cfg') is None, path


@pytest.mark.parametrize('base, lr', [('retinanet/retinanet_r50_fpn_1x_coco.py', 0.01),
                                      ('faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py', 0.02)])
def test_resnet101_override_of_an_r50_config(base: str, lr: float, tmp_path: Path,
                                             torch_home: Path, offline: list[str]):
    """The everyday experiment config: a deeper backbone with its own pretrained weights."""
    experiment = tmp_path / base.split('/')[1].replace('r50', 'r101')
    experiment.write_text(
        f"_base_ = ['{REPO}/configs/{base}']\n"
        "model = dict(backbone=dict(depth=101, init_cfg=dict(type='Pretrained', "
        "checkpoint='torchvision://resnet101')))\n")
    cfg = Config.fromfile(str(experiment))
    assert cfg.model.backbone.init_cfg == {'type': 'Pretrained',
                                           'checkpoint': 'torchvision://resnet101'}
    assert cfg.model.backbone.frozen_stages == 1 and cfg.optimizer.lr == lr  # inherited
    model = MODELS.build(cfg.model)
    assert [len(getattr(model.backbone, f'layer{i}')) for i in range(1, 5)] == [3, 4, 23, 3]
    reference = torchvision.models.resnet101(weights=None).state_dict()
    assert {k: v.shape for k, v in model.backbone.state_dict().items()} == {
        k: v.shape for k, v in reference.items() if not k.startswith('fc.')}
    url = checkpoint_url('torchvision://resnet101')
    with pytest.raises(PretrainedWeightsNotFoundError) as error:
        model.init_weights()
    assert url in str(error.value) and str(cached_checkpoint_path(url)) in str(error.value)
    assert offline == [url]
