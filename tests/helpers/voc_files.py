"""Tiny Pascal VOC folders written on the fly (XML text, small flat images)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def voc_object(name: str, box: tuple, difficult: int | None = 0) -> str:
    """One ``<object>`` element; ``box`` is (xmin, ymin, xmax, ymax) as VOC writes it."""
    diff = '' if difficult is None else f'<difficult>{difficult}</difficult>'
    corners = ''.join(f'<{t}>{v}</{t}>' for t, v in zip(('xmin', 'ymin', 'xmax', 'ymax'), box))
    return f'<object><name>{name}</name>{diff}<bndbox>{corners}</bndbox></object>'


def voc_xml(objects: list[str], size: tuple[int, int] | None) -> str:
    size_xml = '' if size is None else (f'<size><width>{size[0]}</width>'
                                        f'<height>{size[1]}</height><depth>3</depth></size>')
    return f'<annotation>{size_xml}{"".join(objects)}</annotation>'


def write_voc_image(year_dir: Path, img_id: str, objects: list[str], size: tuple[int, int],
                    with_size: bool = True, with_image: bool = True) -> None:
    """``JPEGImages/<id>.jpg`` of ``size`` = (w, h) and ``Annotations/<id>.xml``."""
    for sub in ('JPEGImages', 'Annotations', 'ImageSets/Main'):
        (year_dir / sub).mkdir(parents=True, exist_ok=True)
    if with_image:
        cv2.imwrite(str(year_dir / 'JPEGImages' / f'{img_id}.jpg'),
                    np.full((size[1], size[0], 3), 90, np.uint8))
    (year_dir / 'Annotations' / f'{img_id}.xml').write_text(
        voc_xml(objects, size if with_size else None))


def write_split(year_dir: Path, split: str, ids: list[str]) -> Path:
    path = year_dir / 'ImageSets' / 'Main' / f'{split}.txt'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(f'{i}\n' for i in ids))
    return path


def write_voc(root: Path) -> Path:
    """``root/VOC2007`` with 5 images (classes cat, dog, bird; horse is not a class).

    - 000001 (64x48): dog, difficult cat, horse, horse
    - 000002 (40x60, no <size> in the XML): bird 3 px wide, cat
    - 000003 (50x50): no object
    - 000004 (50x40): only a difficult cat
    - 005000 (70x36): a horse and a person (no object of the classes)
    """
    year = root / 'VOC2007'
    write_voc_image(year, '000001', [voc_object('dog', (11, 6, 31, 26)),
                                     voc_object('cat', (2, 3, 20, 40), difficult=1),
                                     voc_object('horse', (1, 1, 9, 9)),
                                     voc_object('horse', (5, 5, 30, 30))], (64, 48))
    write_voc_image(year, '000002', [voc_object('bird', (5, 5, 8, 30), difficult=None),
                                     voc_object('cat', (10.7, 20, 39, 55))], (40, 60),
                    with_size=False)
    write_voc_image(year, '000003', [], (50, 50))
    write_voc_image(year, '000004', [voc_object('cat', (3, 3, 20, 20), difficult=1)], (50, 40))
    write_voc_image(year, '005000', [voc_object('horse', (3, 3, 20, 20)),
                                     voc_object('person', (4, 4, 30, 30))], (70, 36))
    write_split(year, 'trainval', ['000001', '000002', '000003', '000004', '005000'])
    return year
