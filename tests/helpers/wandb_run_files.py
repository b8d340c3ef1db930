"""Read back what an offline W&B run wrote: the records of its ``run-<id>.wandb`` file.

The file is wandb's header (``:W&B``, a 2-byte magic, a version byte) and then LevelDB's
log format: 32 KiB blocks of chunks, each ``crc32c (4) | length (2, LE) | type (1)``
(1 full, 2 first, 3 middle, 4 last) followed by its bytes; each record is one
``wandb_internal_pb2.Record`` protobuf.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wandb.proto import wandb_internal_pb2

BLOCK = 32 * 1024
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def read_records(path: Path) -> list[wandb_internal_pb2.Record]:
    """Every record of a ``.wandb`` file, in order."""
    data = path.read_bytes()
    if not data.startswith(b':W&B'):
        raise ValueError(f'{path} is not a W&B run file')
    records, pending, pos = [], b'', HEADER
    while pos + HEADER <= len(data):
        left_in_block = BLOCK - pos % BLOCK
        if left_in_block < HEADER:  # zero padding at the end of a block
            pos += left_in_block
            continue
        length = int.from_bytes(data[pos + 4:pos + 6], 'little')
        kind = data[pos + 6]
        chunk = data[pos + HEADER:pos + HEADER + length]
        pos += HEADER + length
        if kind in (FULL, FIRST):
            pending = chunk
        elif kind in (MIDDLE, LAST):
            pending += chunk
        else:
            break  # zeros after the last record
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
    return records


def item_value(item: Any) -> Any:
    """The value of a history / config item (json-encoded or typed)."""
    if item.value_json:
        return json.loads(item.value_json)
    field = item.WhichOneof('value') if 'value' in item.DESCRIPTOR.oneofs_by_name else None
    return getattr(item, field) if field else None


def history(records: list) -> list[dict[str, Any]]:
    """The logged rows (``wandb.log`` calls), key -> value."""
    rows = []
    for record in records:
        if record.WhichOneof('record_type') == 'history':
            rows.append({'/'.join(i.nested_key) or i.key: item_value(i)
                         for i in record.history.item})
    return rows


def config(records: list) -> dict[str, Any]:
    """The run's config (``wandb.config`` updates merged)."""
    out: dict[str, Any] = {}
    for record in records:
        if record.WhichOneof('record_type') == 'config':
            for item in record.config.update:
                out['/'.join(item.nested_key) or item.key] = item_value(item)
    return out


def artifacts(records: list) -> list[Any]:
    """The artifact records (``run.log_artifact``)."""
    return [r.artifact for r in records if r.WhichOneof('record_type') == 'artifact']
