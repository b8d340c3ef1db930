"""Check a COCO-format dataset for defects before training, and gather its statistics.

:func:`check_coco_dataset` reads the json as written (not through ``CocoDataset``, which
drops or clips bad boxes at load) and, unless told not to, every image. Findings are
*errors* when they break training or silently bias it (missing or unreadable images,
sizes in the json that differ from the files, boxes that the loader would drop, dangling
ids, duplicate ids or file names, classes without a single box) and *warnings* otherwise
(boxes clipped to the image, boxes under 2 px, images with identical content, crowd
regions). ``tools/misc/check_dataset.py`` prints the report and draws the statistics.
"""
from __future__ import annotations

import hashlib
import json
import os.path as osp
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from tqdm import tqdm

from .box_sanity import INVERTED, NON_FINITE, OUTSIDE, ZERO_AREA, classify_boxes

ERROR, WARNING = 'error', 'warning'
#: Boxes with a side below this many pixels are reported (a warning).
TINY_SIDE = 2.0
#: Examples listed per finding.
MAX_EXAMPLES = 5


@dataclass
class Finding:
    """One kind of defect: its severity, what it is, how often, and a few examples."""

    severity: str
    what: str
    count: int
    examples: list[str]

    def line(self) -> str:
        shown = '; '.join(self.examples[:MAX_EXAMPLES])
        return f'[{self.severity.upper()}] {self.count} {self.what}' + (
            f' (e.g. {shown})' if shown else '')


@dataclass
class DatasetReport:
    """Findings and statistics of one annotation file.

    Attributes:
        class_names: the K checked categories.
        per_class: (K,) annotations per category (crowd regions excluded).
        box_sizes: (B,) ``sqrt(w * h)`` in px of the valid boxes.
        box_aspects: (B,) ``w / h`` of the valid boxes.
        image_sizes: (N, 2) ``[width, height]`` of the images (the files' when read).
        boxes_per_image: (N,) valid boxes per image.
        hashes: ``{md5 of the file: [file names]}`` (empty without reading images).
    """

    name: str
    ann_file: str
    img_prefix: str
    class_names: tuple[str, ...]
    per_class: np.ndarray
    box_sizes: np.ndarray
    box_aspects: np.ndarray
    image_sizes: np.ndarray
    boxes_per_image: np.ndarray
    findings: list[Finding] = field(default_factory=list)
    hashes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        return any(f.severity == ERROR for f in self.findings)

    def text(self) -> str:
        """The report: counts, per-class table, size summary and findings."""
        sizes = self.box_sizes
        lines = [f'== {self.name}: {self.ann_file} (images under {self.img_prefix or "."})',
                 f'{len(self.image_sizes)} images, {int(self.per_class.sum())} boxes, '
                 f'{len(self.class_names)} classes; '
                 f'{int((self.boxes_per_image == 0).sum())} images without boxes']
        width = max([len(n) for n in self.class_names] + [5])
        lines += [f'  {name:<{width}} {int(n):>7}'
                  for name, n in zip(self.class_names, self.per_class, strict=True)]
        if len(sizes):
            small, medium = (sizes < 32).mean(), ((sizes >= 32) & (sizes < 96)).mean()
            lines.append(f'box size sqrt(w*h): min {sizes.min():.1f}, median '
                         f'{np.median(sizes):.1f}, max {sizes.max():.1f} px; COCO small '
                         f'{small:.0%}, medium {medium:.0%}, large {1 - small - medium:.0%}')
        if len(self.image_sizes):
            w, h = self.image_sizes.T
            lines.append(f'image size: width {w.min()}-{w.max()}, height {h.min()}-{h.max()} '
                         f'px; {len({tuple(s) for s in self.image_sizes.tolist()})} '
                         'distinct sizes')
        lines += [f.line() for f in self.findings] or ['no defects found']
        return '\n'.join(lines)


class _Collector:
    """Counts findings by (severity, what) with their first examples."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.examples: dict[tuple[str, str], list[str]] = defaultdict(list)

    def add(self, severity: str, what: str, example: str, n: int = 1) -> None:
        if n <= 0:
            return
        self.counts[(severity, what)] += n
        if len(self.examples[(severity, what)]) < MAX_EXAMPLES:
            self.examples[(severity, what)].append(example)

    def findings(self) -> list[Finding]:
        order = sorted(self.counts, key=lambda k: (k[0] != ERROR, -self.counts[k]))
        return [Finding(sev, what, self.counts[(sev, what)], self.examples[(sev, what)])
                for sev, what in order]


def _read_image(path: str) -> tuple[tuple[int, int] | None, str | None]:
    """``((width, height), md5)`` of an image file; ``(None, md5)`` if it does not decode."""
    with open(path, 'rb') as f:
        data = f.read()
    digest = hashlib.md5(data).hexdigest()  # noqa: S324 - a content key, not security
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    return (None if img is None else (int(img.shape[1]), int(img.shape[0]))), digest


def check_coco_dataset(ann_file: str, img_prefix: str = '',
                       classes: Sequence[str] | None = None, read_images: bool = True,
                       name: str = 'dataset', progress: bool = True) -> DatasetReport:
    """Check one COCO json and its images (see the module docstring).

    Args:
        ann_file: the COCO json.
        img_prefix: folder the ``file_name`` entries are relative to.
        classes: category names to check (a config's ``classes``); default all of the json's.
        read_images: open every image (existence, decoding, size, content hash).
        name: names the dataset in the report (e.g. ``'train'``).
        progress: show a progress bar while reading images.

    Raises:
        FileNotFoundError: ``ann_file`` does not exist.
        ValueError: ``ann_file`` is not COCO json (no ``images``/``annotations``/
            ``categories`` lists), or ``classes`` names a category it lacks.
    """
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file not found: {ann_file}')
    with open(ann_file) as f:
        coco = json.load(f)
    missing = [k for k in ('images', 'annotations', 'categories')
               if not isinstance(coco.get(k) if isinstance(coco, dict) else None, list)]
    if missing:
        raise ValueError(f'{ann_file} is not COCO json: no {missing} list')
    found = _Collector()
    by_name = {c['name']: c['id'] for c in coco['categories']}
    names = tuple(classes) if classes else tuple(c['name'] for c in coco['categories'])
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f'classes {unknown} are not categories of {ann_file} '
                         f'(it has {sorted(by_name)})')
    label_of = {by_name[n]: i for i, n in enumerate(names)}
    all_cat_ids = {c['id'] for c in coco['categories']}

    images: dict[int, dict] = {}
    seen_files: dict[str, int] = {}
    for img in coco['images']:
        where = f"image id {img.get('id')} ({img.get('file_name')!r})"
        if img.get('id') in images:
            found.add(ERROR, 'duplicate image ids', where)
            continue
        if img.get('file_name') in seen_files:
            found.add(ERROR, 'images listed twice under the same file_name', where)
        seen_files.setdefault(img.get('file_name'), img.get('id'))
        images[img['id']] = img
    sizes = {i: (int(img.get('width', 0)), int(img.get('height', 0)))
             for i, img in images.items()}
    hashes: dict[str, list[str]] = defaultdict(list)
    if read_images:
        for img_id, img in tqdm(images.items(), desc=f'reading {name} images',
                                disable=not progress):
            path = osp.join(img_prefix, img['file_name'])
            where = f"{path} (image id {img_id})"
            if not osp.isfile(path):
                found.add(ERROR, 'missing image files', where)
                continue
            size, digest = _read_image(path)
            hashes[digest].append(img['file_name'])
            if size is None:
                found.add(ERROR, 'unreadable image files', where)
            elif size != sizes[img_id]:
                found.add(ERROR, 'images whose size differs from the json', f'{where}: json '
                          f'{sizes[img_id][0]}x{sizes[img_id][1]}, file {size[0]}x{size[1]}')
                sizes[img_id] = size
    for files in hashes.values():
        if len(files) > 1:
            found.add(WARNING, 'images with identical content', ' = '.join(files[:3]),
                      len(files) - 1)

    per_class = np.zeros(len(names), np.int64)
    boxes_per_image = Counter()
    valid_boxes = []
    for ann in coco['annotations']:
        where = f"annotation id {ann.get('id')} (image id {ann.get('image_id')})"
        if ann.get('image_id') not in images:
            found.add(ERROR, 'annotations of an image id not in images', where)
            continue
        if ann.get('category_id') not in all_cat_ids:
            found.add(ERROR, 'annotations of a category id not in categories', where)
            continue
        if ann.get('category_id') not in label_of:
            continue  # a category the config leaves out
        if ann.get('iscrowd', 0):
            found.add(WARNING, 'crowd regions (ignored in training and evaluation)', where)
            continue
        bbox = ann.get('bbox')
        if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
            found.add(ERROR, 'annotations without a 4-number bbox', f'{where}: {bbox!r}')
            continue
        x, y, w, h = (float(v) for v in bbox)
        box = np.array([[x, y, x + w, y + h]], np.float64)
        width, height = sizes[ann['image_id']]
        keep, reasons = classify_boxes(box, width, height)
        for reason in (NON_FINITE, INVERTED, ZERO_AREA, OUTSIDE):
            if reasons[reason][0]:
                found.add(ERROR, f'boxes the loader drops ({reason})', f'{where}: {bbox}')
        if not keep[0]:
            continue
        if x < 0 or y < 0 or x + w > width or y + h > height:
            found.add(WARNING, 'boxes partly outside their image (clipped at load)',
                      f'{where}: {bbox} in {width}x{height}')
        if min(w, h) < TINY_SIDE:
            found.add(WARNING, f'boxes with a side under {TINY_SIDE:g} px', f'{where}: {bbox}')
        per_class[label_of[ann['category_id']]] += 1
        boxes_per_image[ann['image_id']] += 1
        valid_boxes.append((w, h))
    for i, n in enumerate(per_class):
        if n == 0:
            found.add(ERROR, 'classes without a single box', repr(names[i]))
    wh = np.asarray(valid_boxes, np.float64).reshape(-1, 2)
    return DatasetReport(
        name=name, ann_file=ann_file, img_prefix=img_prefix, class_names=names,
        per_class=per_class, box_sizes=np.sqrt(wh[:, 0] * wh[:, 1]),
        box_aspects=wh[:, 0] / np.maximum(wh[:, 1], 1e-6),
        image_sizes=np.asarray([sizes[i] for i in images], np.int64).reshape(-1, 2),
        boxes_per_image=np.asarray([boxes_per_image[i] for i in images], np.int64),
        findings=found.findings(), hashes=dict(hashes))


def shared_images(first: DatasetReport, second: DatasetReport) -> list[tuple[str, str]]:
    """``(file in first, file in second)`` pairs with identical content (split leakage)."""
    return [(first.hashes[d][0], second.hashes[d][0])
            for d in first.hashes.keys() & second.hashes.keys()]
