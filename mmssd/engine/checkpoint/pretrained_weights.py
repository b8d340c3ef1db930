"""Pretrained weights named by URL: torch.hub's cache, offline-safe, loaded weights-only.

mmdetection 2.x configs name their backbone weights
``init_cfg=dict(type='Pretrained', checkpoint=NAME)`` (or the deprecated ``pretrained=NAME``)
with ``NAME`` one of

* ``torchvision://resnet50`` (``modelzoo://`` is its old spelling): torchvision's weights,
  through mmengine's table (:func:`mmengine.runner.checkpoint.get_torchvision_models`);
* ``open-mmlab://vgg16_caffe`` (or ``openmmlab://``): OpenMMLab's, through the json tables
  mmengine ships in ``mmengine/hub/`` (deprecated names redirected as mmengine does);
* ``mmcls://NAME``: an mmclassification model's backbone (its ``backbone.`` prefix removed);
* ``https://...`` / ``http://...``: any URL.

Each resolves to a URL whose file lives at ``$TORCH_HOME/hub/checkpoints/<file name of the
URL>`` (:func:`cached_checkpoint_path`, torch.hub's cache). A file that is there is used as
it is; otherwise it is downloaded there (progress bar, connection timeout
:data:`CONNECT_TIMEOUT_S`, written to a temporary file and renamed, so an interrupted
download leaves no partial file). Without network the load stops at once with
:class:`PretrainedWeightsNotFoundError`, which names the URL and the path where the file
should be put. Every file is read with :func:`~mmssd.engine.checkpoint.load_weights_only`
(``torch.load(weights_only=True)``, never anything less safe).

The keys are then mapped as in mmdetection, by mmengine's ``load_checkpoint``: a
``state_dict`` wrapper and ``module.`` prefixes are stripped, and keys the module lacks
(torchvision's ``fc.*`` for a backbone) are reported, not loaded.
"""
from __future__ import annotations

import difflib
import os
import os.path as osp
import tempfile
import threading
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from mmengine.dist import barrier, get_dist_info, get_local_rank
from mmengine.logging import print_log
from mmengine.runner.checkpoint import (
    _get_mmengine_home,
    _process_mmcls_checkpoint,
    get_deprecated_model_names,
    get_external_models,
    get_mmcls_models,
    get_torchvision_models,
)

from .weights_only import load_weights_only

#: Seconds to wait for the server's answer (and for each read of the body) before giving up.
CONNECT_TIMEOUT_S = 10.0
#: Bytes per read while downloading.
CHUNK_BYTES = 1 << 20


class PretrainedWeightsNotFoundError(FileNotFoundError):
    """Pretrained weights that are neither in torch.hub's cache nor downloadable.

    Attributes:
        name: the checkpoint as the config names it (``torchvision://resnet50``).
        url: the URL it resolves to.
        path: where the file should be put (``$TORCH_HOME/hub/checkpoints/<file name>``).
    """

    def __init__(self, name: str, url: str, path: Path, reason: str) -> None:
        self.name, self.url, self.path = name, url, path
        shown = name if name == url else f'{name} ({url})'
        super().__init__(
            f'pretrained weights {shown} are not in torch.hub\'s cache and could not be '
            f'downloaded: {reason}. Download {url} on a machine with internet access and put '
            f'the file at {path} (the cache is $TORCH_HOME/hub/checkpoints, '
            'torch.hub.get_dir()/checkpoints), point the config\'s checkpoint at a local '
            'copy, or set the backbone\'s init_cfg=None to start from random weights.')


def _table_entry(table: dict[str, str], name: str, spelled: str) -> str:
    """``table[name]``, or a KeyError naming the checkpoint and the closest known names."""
    if name not in table:
        close = difflib.get_close_matches(name, list(table), n=3)
        hint = f'; did you mean {", ".join(close)}?' if close else ''
        raise KeyError(f'unknown pretrained checkpoint {spelled!r}{hint}')
    return table[name]


def checkpoint_url(name: str) -> str:
    """The URL (or, for a local ``open-mmlab://`` entry, the path) that ``name`` stands for.

    Args:
        name: ``torchvision://NAME``, ``modelzoo://NAME``, ``open-mmlab://NAME``,
            ``openmmlab://NAME``, ``mmcls://NAME``, or an ``http(s)://`` URL (returned as is).

    Raises:
        KeyError: an unknown model name (the message names it and the closest known ones).
        ValueError: any other kind of name.
    """
    scheme, sep, model = name.partition('://')
    if not sep:
        raise ValueError(f'{name!r} is not a URL nor a torchvision://, open-mmlab:// or '
                         'mmcls:// name')
    if scheme in ('http', 'https'):
        return name
    if scheme in ('torchvision', 'modelzoo'):
        return _table_entry(get_torchvision_models(), model, name)
    if scheme in ('open-mmlab', 'openmmlab'):
        model = get_deprecated_model_names().get(model, model)
        url = _table_entry(get_external_models(), model, name)
        return url if url.startswith(('http://', 'https://')) else osp.join(
            _get_mmengine_home(), url)
    if scheme == 'mmcls':
        return _table_entry(get_mmcls_models(), model, name)
    raise ValueError(f'unknown checkpoint scheme {scheme!r} in {name!r}; expected '
                     'torchvision, modelzoo, open-mmlab, openmmlab, mmcls, http or https')


def cached_checkpoint_path(url: str) -> Path:
    """``$TORCH_HOME/hub/checkpoints/<file name of url>``, where torch.hub caches ``url``."""
    return Path(torch.hub.get_dir()) / 'checkpoints' / osp.basename(urlparse(url).path)


def _open_url(url: str, timeout: float) -> Any:
    """``urlopen(url)``, giving up after ``timeout`` seconds in all (name lookup included,
    which the socket timeout alone does not bound)."""
    outcome: dict[str, Any] = {}

    def connect() -> None:
        try:
            outcome['response'] = urllib.request.urlopen(url, timeout=timeout)
        except BaseException as error:  # noqa: BLE001 (handed to the caller)
            outcome['error'] = error

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f'no answer within {timeout:g} s')
    if 'error' in outcome:
        raise outcome['error']
    return outcome['response']


def download_checkpoint(url: str, path: Path, progress: bool = True,
                        timeout: float | None = None) -> None:
    """Download ``url`` to ``path`` atomically (a temporary file in the same folder, renamed
    when complete), with a tqdm progress bar when ``progress``.

    Raises:
        OSError: no connection, an HTTP error, a timeout, or a body shorter than announced
            (``urllib.error.URLError`` and ``TimeoutError`` are ``OSError`` s).
    """
    from tqdm import tqdm

    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
    path.parent.mkdir(parents=True, exist_ok=True)
    with _open_url(url, timeout) as response:
        total = int(response.headers.get('Content-Length') or 0) or None
        handle, partial = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.partial',
                                           dir=path.parent)
        try:
            size = 0
            with os.fdopen(handle, 'wb') as out, tqdm(
                    total=total, disable=not progress, unit='B', unit_scale=True,
                    unit_divisor=1024, desc=path.name) as bar:
                while chunk := response.read(CHUNK_BYTES):
                    out.write(chunk)
                    size += len(chunk)
                    bar.update(len(chunk))
            if total is not None and size != total:
                raise OSError(f'download of {url} ended after {size} of {total} bytes')
            os.replace(partial, path)
        finally:
            if osp.exists(partial):
                os.remove(partial)


def fetch_checkpoint(name: str, progress: bool = True) -> Path:
    """The local file of pretrained weights ``name`` (see :func:`checkpoint_url`): the cached
    file, downloaded first when it is missing (by local rank 0 only, the other processes
    wait for it).

    Raises:
        PretrainedWeightsNotFoundError: the file is missing and could not be downloaded.
        KeyError, ValueError: see :func:`checkpoint_url`.
    """
    url = checkpoint_url(name)
    if not url.startswith(('http://', 'https://')):  # a local open-mmlab:// entry
        if not osp.isfile(url):
            raise FileNotFoundError(f'{name} names the local file {url}, which does not exist')
        return Path(url)
    path = cached_checkpoint_path(url)
    reason = 'local rank 0 could not download it'
    if get_local_rank() == 0 and not path.is_file():
        try:
            download_checkpoint(url, path, progress=progress)
        except OSError as error:
            reason = f'{type(error).__name__}: {error}'
    if get_dist_info()[1] > 1:
        barrier()
    if not path.is_file():
        raise PretrainedWeightsNotFoundError(name, url, path, reason)
    print_log(f'pretrained weights {name}: {path}', logger='current')
    return path


def load_from_url(filename: str, map_location: Any = None) -> Any:
    """mmengine checkpoint loader for every URL-like scheme: :func:`fetch_checkpoint`, then
    :func:`~mmssd.engine.checkpoint.load_weights_only` (``mmcls://`` backbones unwrapped)."""
    checkpoint = load_weights_only(str(fetch_checkpoint(filename)), map_location=map_location)
    if filename.startswith('mmcls://'):
        checkpoint = _process_mmcls_checkpoint(checkpoint)
    return checkpoint


#: Schemes served by :func:`load_from_url` (once
#: :func:`mmssd.engine.checkpoint.install_checkpointing` has run).
URL_SCHEMES = ('http://', 'https://', 'torchvision://', 'modelzoo://', 'open-mmlab://',
               'openmmlab://', 'mmcls://')
