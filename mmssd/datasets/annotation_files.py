"""Reading annotation files and checking dataset paths, with errors that name the culprit."""
from __future__ import annotations

import json
import os.path as osp
from typing import Any

import mmengine


def is_local_path(path: str) -> bool:
    """Whether ``path`` is a local path (not ``s3://...``, ``http://...``, ...)."""
    return '://' not in path


def check_ann_file(ann_file: Any, given: Any, data_root: str | None) -> None:
    """Raise unless ``ann_file`` (``given`` joined to ``data_root``) is an existing file.

    Raises:
        TypeError: ``ann_file`` is a list (only :func:`mmssd.datasets.build_dataset`
            and the config translation turn lists into a ``ConcatDataset``).
        FileNotFoundError: the file does not exist.
    """
    if isinstance(ann_file, (list, tuple)):
        raise TypeError(f'config key `ann_file` is a list ({list(given)}); a dataset takes one '
                        'file. Build the config with mmssd.datasets.build_dataset (tools/train.py '
                        'and tools/test.py do) to get one dataset per file in a ConcatDataset')
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file not found: {ann_file} (config key `ann_file`='
                                f'{given!r}, data_root={data_root!r})')


def check_img_prefix(img_prefix: str | None, given: Any, data_root: str | None,
                     file_client_args: dict | None = None) -> None:
    """Raise when a non-empty local ``img_prefix`` is not an existing folder.

    Empty prefixes (file names in the annotations are full paths), remote paths and
    non-disk file clients are not checked.
    """
    if isinstance(img_prefix, (list, tuple)):
        raise TypeError(f'config key `img_prefix` is a list ({list(given)}) but `ann_file` is a '
                        'single file; give one image folder per annotation file, or one string')
    remote = (file_client_args or {}).get('backend', 'disk') not in ('disk', 'local')
    if not img_prefix or remote or not is_local_path(img_prefix):
        return
    if not osp.isdir(img_prefix):
        raise FileNotFoundError(f'image folder not found: {img_prefix} (config key `img_prefix`='
                                f'{given!r}, data_root={data_root!r}); expected the folder '
                                'that the image file names of the annotations are relative to')


def load_json(path: str) -> Any:
    """The parsed json of ``path``.

    Raises:
        ValueError: malformed json; the message names the file and the error position.
    """
    with open(path, encoding='utf-8') as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f'malformed JSON in annotation file {path}: {e.msg} at line '
                             f'{e.lineno} column {e.colno} (char {e.pos})') from e
        except UnicodeDecodeError as e:
            raise ValueError(f'annotation file {path} is not UTF-8 text: {e}') from e


def load_annotation_file(path: str) -> Any:
    """The content of a json or pickle annotation file (by extension; json by default).

    Raises:
        ValueError: the file cannot be parsed; the message names it.
    """
    if path.endswith(('.pkl', '.pickle')):
        try:
            return mmengine.load(path)
        except Exception as e:  # pickle raises many types
            raise ValueError(f'cannot read pickle annotation file {path}: '
                             f'{type(e).__name__}: {e}') from e
    return load_json(path)


def read_image_ids(path: str) -> list[str]:
    """Image ids of a split file (e.g. ``ImageSets/Main/trainval.txt``), one per line.

    Blank lines are skipped.

    Raises:
        ValueError: a line holds more than one token (e.g. ``'000005 -1'`` from a
            per-class split file), or the file lists no image at all.
    """
    ids = []
    with open(path, encoding='utf-8') as f:
        for line_no, line in enumerate(f, 1):
            tokens = line.split()
            if not tokens:
                continue
            if len(tokens) > 1:
                raise ValueError(f'{path} line {line_no}: expected one image id per line, got '
                                 f'{line.strip()!r} (per-class split files such as '
                                 'ImageSets/Main/dog_trainval.txt are not image lists)')
            ids.append(tokens[0])
    if not ids:
        raise ValueError(f'image list {path} (config key `ann_file`) names no image')
    return ids
