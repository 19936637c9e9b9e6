"""The zip format, read defensively: entries from the central directory or, failing that, local headers.

Only structure lives here (offsets, sizes, names, flags); decompression and limits belong to the
archive expander. Nothing here trusts a size or an offset without checking it against the data.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(slots=True)
class ZipEntry:
    """One zip member, from the central directory or recovered from its local header."""

    name: str
    method: int
    flags: int
    compressed: int
    size: int | None
    crc: int | None
    offset: int  # where its data starts
    mode: int  # unix mode bits, 0 when the archive did not record them
    is_dir: bool


def data_start(data: bytes, header: int) -> int:
    """Where the data of the member whose local header is at `header` starts; -1 if there is no header."""
    if header < 0 or header + 30 > len(data) or data[header : header + 4] != b"PK\x03\x04":
        return -1
    name_length, extra_length = struct.unpack("<HH", data[header + 26 : header + 30])
    return header + 30 + name_length + extra_length


def central_directory_count(data: bytes) -> int | None:
    """How many entries the end-of-central-directory record lists, or None when there is none."""
    position = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    if position < 0 or position + 22 > len(data):
        return None
    total = int.from_bytes(data[position + 10 : position + 12], "little")
    if total == 0xFFFF and position >= 20 and data[position - 20 : position - 16] == b"PK\x06\x07":
        record = int.from_bytes(data[position - 12 : position - 4], "little")
        if data[record : record + 4] == b"PK\x06\x06":
            total = int.from_bytes(data[record + 32 : record + 40], "little")
    return total


def entry_of(info: zipfile.ZipInfo) -> ZipEntry:
    mode = info.external_attr >> 16 if info.create_system == 3 else 0
    return ZipEntry(
        name=info.filename,
        method=info.compress_type,
        flags=info.flag_bits,
        compressed=info.compress_size,
        size=info.file_size,
        crc=info.CRC,
        offset=-1 - info.header_offset,  # resolved from the local header when read
        mode=mode,
        is_dir=info.is_dir(),
    )


class LocalHeaders:
    """Zip entries recovered by walking local file headers from the start of the data."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.stopped = ""

    def __iter__(self) -> Iterator[ZipEntry]:
        data = self.data
        position = 0
        while position + 30 <= len(data):
            signature = data[position : position + 4]
            if signature in (b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06"):
                return  # the central directory: every member has been seen
            if signature == b"PK\x07\x08":  # a spanned-archive marker before the first header
                position += 4
                continue
            if signature != b"PK\x03\x04":
                self.stopped = f"no member header where one should be, at byte {position}"
                return
            flags, method, _time, _date, crc, compressed, size, name_length, extra_length = struct.unpack(
                "<HHHHIIIHH", data[position + 6 : position + 30]
            )
            name_end = position + 30 + name_length
            name = data[position + 30 : name_end].decode("utf-8" if flags & 0x800 else "cp437", "replace")
            start = name_end + extra_length
            if compressed == 0xFFFFFFFF or size == 0xFFFFFFFF:
                compressed, size = _zip64_sizes(data[name_end:start], compressed, size)
            known_crc: int | None = crc
            known_size: int | None = size
            if flags & 0x08:  # sizes follow the data: find the next header
                following = _next_signature(data, start)
                compressed = following - start
                known_crc = None
                known_size = None
                if method == 0:
                    descriptor = 16 if data[following - 16 : following - 12] == b"PK\x07\x08" else 12
                    compressed = max(0, compressed - descriptor)
                    known_size = compressed
            yield ZipEntry(
                name, method, flags, compressed, known_size, known_crc, start, 0, name.endswith("/")
            )
            position = start + compressed
            if flags & 0x08:
                position = _next_signature(data, start)


def _next_signature(data: bytes, start: int) -> int:
    found = [p for p in (data.find(b"PK\x03\x04", start), data.find(b"PK\x01\x02", start)) if p >= 0]
    return min(found) if found else len(data)


def _zip64_sizes(extra: bytes, compressed: int, size: int) -> tuple[int, int]:
    position = 0
    while position + 4 <= len(extra):
        header, length = struct.unpack("<HH", extra[position : position + 4])
        if header == 0x0001:
            field = extra[position + 4 : position + 4 + length]
            values = [int.from_bytes(field[i : i + 8], "little") for i in range(0, len(field) - 7, 8)]
            if size == 0xFFFFFFFF and values:
                size = values.pop(0)
            if compressed == 0xFFFFFFFF and values:
                compressed = values.pop(0)
            break
        position += 4 + length
    return compressed, size
