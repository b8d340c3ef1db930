"""Loose Pascal VOC XML -> COCO (mmssd.datasets.converters.voc_xml and tools/
dataset_converters/voc_xml2coco.py): files written in labelImg's format convert to boxes
equal to the XML's under both pixel conventions, and pass check_dataset.py."""
from __future__ import annotations

import json
import runpy
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmssd.datasets import CocoDataset

REPO = Path(__file__).resolve().parents[3]


def tool(path: str):
    return runpy.run_path(str(REPO / path), run_name='tool')['main']


def labelimg_xml(folder: str, filename: str, size: tuple[int, int],
                 objects: list[tuple[str, tuple[int, int, int, int], int]]) -> str:
    """An annotation as labelImg 1.8 saves it."""
    parts = [f'<annotation>\n\t<folder>{folder}</folder>\n\t<filename>{filename}</filename>\n'
             f'\t<path>/home/user/{folder}/{filename}</path>\n'
             '\t<source>\n\t\t<database>Unknown</database>\n\t</source>\n'
             f'\t<size>\n\t\t<width>{size[0]}</width>\n\t\t<height>{size[1]}</height>\n'
             '\t\t<depth>3</depth>\n\t</size>\n\t<segmented>0</segmented>\n']
    for name, (x1, y1, x2, y2), difficult in objects:
        parts.append(f'\t<object>\n\t\t<name>{name}</name>\n\t\t<pose>Unspecified</pose>\n'
                     f'\t\t<truncated>0</truncated>\n\t\t<difficult>{difficult}</difficult>\n'
                     f'\t\t<bndbox>\n\t\t\t<xmin>{x1}</xmin>\n\t\t\t<ymin>{y1}</ymin>\n'
                     f'\t\t\t<xmax>{x2}</xmax>\n\t\t\t<ymax>{y2}</ymax>\n\t\t</bndbox>\n'
                     '\t</object>\n')
    parts.append('</annotation>\n')
    return ''.join(parts)


OBJECTS = {
    'scan_001': [('bottle', (12, 20, 40, 61), 0), ('can', (50, 5, 70, 30), 0),
                 ('bottle', (3, 40, 19, 58), 1)],
    'scan_002': [('paper', (1, 1, 30, 25), 0)],
    'scan_003': [],  # an image without objects
}


def write_export(root: Path) -> Path:
    """labelImg's export: images and XML files in one folder; scan_002's XML names a
    ``.tif`` while a ``.png`` is shipped."""
    root.mkdir(parents=True)
    for stem, objects in OBJECTS.items():
        cv2.imwrite(str(root / f'{stem}.png'), np.full((64, 80, 3), 90, np.uint8))
        written = f'{stem}.tif' if stem == 'scan_002' else f'{stem}.png'
        (root / f'{stem}.xml').write_text(labelimg_xml('export', written, (80, 64), objects))
    return root


@pytest.mark.parametrize('offset', [True, False], ids=['voc-offset', 'as-written'])
def test_boxes_equal_the_xml(tmp_path: Path, capsys, offset: bool):
    export = write_export(tmp_path / 'export')
    out = tmp_path / 'ann.json'
    tool('tools/dataset_converters/voc_xml2coco.py')(
        [str(export), '--img-dir', str(export), '--out', str(out)] +
        ([] if offset else ['--no-voc-offset']))
    printed = capsys.readouterr().out
    assert "warning: " in printed and "'scan_002.tif'" in printed and "'scan_002.png'" in printed
    assert "classes (found, sorted): ['bottle', 'can', 'paper']" in printed
    coco = json.loads(out.read_text())
    assert [img['file_name'] for img in coco['images']] == [
        'scan_001.png', 'scan_002.png', 'scan_003.png']
    assert all((img['width'], img['height']) == (80, 64) for img in coco['images'])
    names = {c['id']: c['name'] for c in coco['categories']}
    shift = 1 if offset else 0
    expected = [(i + 1, name, [x1 - shift, y1 - shift, x2 - x1, y2 - y1], difficult)
                for i, objects in enumerate(OBJECTS.values())
                for name, (x1, y1, x2, y2), difficult in objects]
    got = [(a['image_id'], names[a['category_id']], a['bbox'], a['iscrowd'])
           for a in coco['annotations']]
    assert got == expected
    # CocoDataset reads it back; the difficult box is ignored, as VOCDataset ignores it
    dataset = CocoDataset(ann_file=str(out), img_prefix=str(export), pipeline=[],
                          classes=('bottle', 'can', 'paper'))
    first = dataset.get_ann_info(0)
    assert first['bboxes'].tolist() == [[11.0, 19.0, 39.0, 60.0], [49.0, 4.0, 69.0, 29.0]] \
        if offset else [[12.0, 20.0, 40.0, 61.0], [50.0, 5.0, 70.0, 30.0]]
    assert len(first['bboxes_ignore']) == 1
    if offset:  # once: check_dataset.py draws a figure
        assert tool('tools/misc/check_dataset.py')(
            [str(out), '--img-prefix', str(export), '--out-dir', str(tmp_path / 'check')]) == 0


def test_given_classes_order_the_labels_and_unknown_names_fail(tmp_path: Path):
    export = write_export(tmp_path / 'export')
    convert = tool('tools/dataset_converters/voc_xml2coco.py')
    coco = convert([str(export), '--img-dir', str(export), '--out', str(tmp_path / 'a.json'),
                    '--classes', 'paper', 'can', 'bottle', 'glass'])
    assert [c['name'] for c in coco['categories']] == ['paper', 'can', 'bottle', 'glass']
    assert coco['annotations'][0]['category_id'] == 3
    with pytest.raises(SystemExit, match=r"scan_001.xml: <object> #1 is 'can', which is not"):
        convert([str(export), '--img-dir', str(export), '--out', str(tmp_path / 'b.json'),
                 '--classes', 'bottle', 'paper'])
    (export / 'scan_003.png').unlink()
    with pytest.raises(SystemExit, match=r"scan_003.xml: its image 'scan_003.png' is not in"):
        convert([str(export), '--img-dir', str(export), '--out', str(tmp_path / 'c.json')])
