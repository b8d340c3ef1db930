"""Parser of Pascal VOC annotation XML files (``Annotations/<id>.xml``).

The one XML parser of mmssd: :class:`~mmssd.datasets.XMLDataset` and
``tools/dataset_converters/pascal_voc.py`` both read VOC files through it. It reports
what the file says (box corners exactly as written, 1-based VOC pixel coordinates);
conversion to training coordinates happens in the dataset.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from PIL import Image

BOX_TAGS = ('xmin', 'ymin', 'xmax', 'ymax')


@dataclass
class VOCObject:
    """One ``<object>``: class name, ``(xmin, ymin, xmax, ymax)`` as written, difficult flag."""

    name: str
    bbox: tuple[float, float, float, float]
    difficult: bool = False


@dataclass
class VOCAnnotation:
    """One XML file: ``size`` is ``(width, height)`` from ``<size>``, None when absent;
    ``filename`` the ``<filename>`` text (None when absent)."""

    size: tuple[int, int] | None
    objects: list[VOCObject] = field(default_factory=list)
    filename: str | None = None


def _text(elem: ET.Element, tag: str) -> str | None:
    child = elem.find(tag)
    if child is None or child.text is None:
        return None
    return child.text.strip()


def _parse_size(root: ET.Element) -> tuple[int, int] | None:
    """``(width, height)`` of ``<size>``; None if missing, empty or not positive."""
    size = root.find('size')
    if size is None:
        return None
    try:
        width, height = int(float(_text(size, 'width'))), int(float(_text(size, 'height')))
    except (TypeError, ValueError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def _parse_object(obj: ET.Element, index: int, xml_path: str) -> VOCObject:
    where = f'{xml_path}: <object> #{index}'
    name = _text(obj, 'name')
    if not name:
        raise ValueError(f'{where} has no <name>')
    bndbox = obj.find('bndbox')
    if bndbox is None:
        raise ValueError(f"{where} ('{name}') has no <bndbox>")
    coords = []
    for tag in BOX_TAGS:
        text = _text(bndbox, tag)
        try:
            coords.append(float(text))
        except (TypeError, ValueError):
            raise ValueError(f"{where} ('{name}'): <bndbox><{tag}> is {text!r}; expected a "
                             'number') from None
    difficult_text = _text(obj, 'difficult')
    try:
        difficult = bool(int(difficult_text)) if difficult_text else False
    except ValueError:
        raise ValueError(f"{where} ('{name}'): <difficult> is {difficult_text!r}; expected "
                         '0 or 1') from None
    return VOCObject(name=name, bbox=tuple(coords), difficult=difficult)


def parse_voc_xml(xml_path: str) -> VOCAnnotation:
    """The size and objects of one VOC annotation file.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: malformed XML (with the parser's message) or an object without a
            name, box or numeric coordinates; the message names the file.
    """
    try:
        root = ET.parse(xml_path).getroot()
    except FileNotFoundError:
        raise FileNotFoundError(f'VOC annotation file not found: {xml_path}') from None
    except ET.ParseError as e:
        raise ValueError(f'malformed XML in VOC annotation file {xml_path}: {e}') from e
    objects = [_parse_object(obj, i, xml_path) for i, obj in enumerate(root.findall('object'))]
    return VOCAnnotation(size=_parse_size(root), objects=objects,
                         filename=_text(root, 'filename') or None)


def read_image_size(img_path: str, xml_path: str) -> tuple[int, int]:
    """``(width, height)`` from the image file's header (no pixel decoding).

    Used when ``xml_path`` has no usable ``<size>``.

    Raises:
        FileNotFoundError: the image is missing too; names both files.
    """
    try:
        with Image.open(img_path) as img:
            return img.size
    except FileNotFoundError:
        raise FileNotFoundError(f'{xml_path} has no <size> and its image {img_path} does not '
                                'exist, so the image size is unknown') from None
    except OSError as e:
        raise OSError(f'{xml_path} has no <size> and its image {img_path} cannot be read: '
                      f'{e}') from e
