"""Read blobs straight from git pack files: zlib and delta resolution in this process, no pipe.

`git cat-file --batch` spends its time where this module does (inflating objects, applying deltas),
but every byte then crosses a pipe and is parsed again in Python: about as much CPU as git's own.
Reading the pack here removes that second copy. Only the plain, well-defined parts of the format are
handled (pack version 2 or 3, index version 2, OFS_DELTA and REF_DELTA within one pack, SHA-1 or
SHA-256 object names); anything else (loose objects, alternates, a base in another pack, a damaged
entry) is left to the `cat-file` reader, which stays the reference implementation.

Nothing is executed and nothing is written: the pack and its index are mapped read-only.

Formats (git's Documentation/gitformat-pack.txt):
- index v2: magic `\\377tOc`, version 2, 256 fan-out counts, N names (sorted), N CRC32s, N 4-byte
  offsets (high bit set: an index into the table of 8-byte offsets that follows);
- pack entry: a type-and-size varint (type in bits 4-6 of the first byte), then for OFS_DELTA a
  negative offset in git's own varint (each continuation adds one), for REF_DELTA the base's name,
  then the zlib stream;
- delta: source size and target size varints, then instructions: copy (high bit set; offset and size
  bytes present by flag, size 0 meaning 0x10000) or insert (1-127 literal bytes).
"""

from __future__ import annotations

import os
import struct
import zlib
from collections import OrderedDict
from pathlib import Path

OBJ_COMMIT, OBJ_TREE, OBJ_BLOB, OBJ_TAG, OBJ_OFS_DELTA, OBJ_REF_DELTA = 1, 2, 3, 4, 6, 7
_INDEX_MAGIC = b"\xfftOc"
_LARGE_OFFSET = 0x80000000
# Inflated bases kept for the deltas that follow them; a version of a big file, re-inflated from its
# chain start, costs more than keeping it a while.
CACHE_BYTES = 96 * 1024 * 1024
_HEADER_MAX = 64
_MAX_CHAIN = 10_000  # git writes chains of depth 50 by default (--depth); 4095 at most


class PackError(Exception):
    """The pack or its index is not what this reader handles; the caller falls back to cat-file."""


def read_index(path: Path, hash_size: int) -> dict[str, int]:
    """Object name (hex) -> pack offset, from a version 2 `.idx`."""
    data = path.read_bytes()
    if data[:4] != _INDEX_MAGIC or struct.unpack(">I", data[4:8])[0] != 2:
        raise PackError(f"{path.name}: not a version 2 pack index")
    count = struct.unpack(">I", data[8 + 255 * 4 : 8 + 256 * 4])[0]
    names_at = 8 + 256 * 4
    crc_at = names_at + count * hash_size
    offsets_at = crc_at + count * 4
    large_at = offsets_at + count * 4
    if len(data) < large_at:
        raise PackError(f"{path.name}: index is truncated")
    hex_names = data[names_at:crc_at].hex()
    width = hash_size * 2
    offsets = list(struct.unpack(f">{count}I", data[offsets_at:large_at]))
    for position, offset in enumerate(offsets):
        if offset & _LARGE_OFFSET:
            slot = large_at + (offset & ~_LARGE_OFFSET) * 8
            if len(data) < slot + 8:
                raise PackError(f"{path.name}: index is truncated")
            offsets[position] = struct.unpack(">Q", data[slot : slot + 8])[0]
    return {hex_names[i * width : (i + 1) * width]: offsets[i] for i in range(count)}


def pack_files(objects_dir: Path) -> list[Path]:
    """The packs of an object directory that have an index, newest first (as git looks them up)."""
    try:
        packs = [path for path in (objects_dir / "pack").glob("*.pack") if path.with_suffix(".idx").is_file()]
    except OSError:
        return []
    return sorted(packs, key=lambda path: path.stat().st_mtime, reverse=True)


class PackReader:
    """Objects of one `.pack`, by offset, resolved in this process (deltas applied, bases cached).

    `max_size` bounds every object and delta it inflates (a hostile pack cannot make it allocate more).
    """

    def __init__(self, pack_path: Path, hash_size: int, max_size: int) -> None:
        self.path = pack_path
        self.hash_size = hash_size
        self.max_size = max_size
        self._index: dict[str, int] | None = None
        # pread, not mmap: pages of a mapped pack would count in every worker's resident size
        self._fd = os.open(pack_path, os.O_RDONLY)
        self._end = os.fstat(self._fd).st_size - hash_size  # the pack's checksum follows the entries
        head = os.pread(self._fd, 8, 0)
        if self._end < 12 or head[:4] != b"PACK" or struct.unpack(">I", head[4:8])[0] not in (2, 3):
            self.close()
            raise PackError(f"{pack_path.name}: not a version 2 or 3 pack")
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._cached_bytes = 0

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> PackReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def read(self, offset: int, *, keep: bool = False) -> tuple[int, bytes]:
        """The object at `offset`: its type and content. `keep`: cache it for deltas to come."""
        kind, data, _ = self.read_delta(offset, keep=keep, copies=False)
        return kind, data

    def read_delta(
        self, offset: int, *, keep: bool = False, copies: bool = True
    ) -> tuple[int, bytes, tuple[int, tuple[tuple[int, int, int], ...]] | None]:
        """`read`, and for an object rebuilt by one delta from a kept base: the base's offset and the
        stretches the delta copied from it ((offset here, offset in the base, length), ascending)."""
        cached = self._cache.get(offset)
        if cached is not None:
            self._cache.move_to_end(offset)
            return OBJ_BLOB, cached, None
        chain: list[bytes] = []  # deltas, last first
        kept_base: int | None = None
        at = offset
        for _ in range(_MAX_CHAIN):
            kind, payload, base = self._raw(at)
            if base is None:
                data = payload
                break
            chain.append(payload)
            base_data = self._cache.get(base)
            if base_data is not None:
                self._cache.move_to_end(base)
                kind, data = OBJ_BLOB, base_data
                kept_base = base
                break
            at = base
        else:
            raise PackError(f"delta chain at {offset} is longer than {_MAX_CHAIN}")
        if chain and kind != OBJ_BLOB:
            raise PackError(f"object at {offset} is a delta of a non-blob")
        origin = None
        if copies and len(chain) == 1 and kept_base is not None:
            copied: list[tuple[int, int, int]] = []
            data = apply_delta(data, chain[0], self.max_size, copied)
            origin = (kept_base, tuple(copied))
        else:
            for delta in reversed(chain):
                data = apply_delta(data, delta, self.max_size)
        if keep:
            self._keep(offset, data)
        return kind, data, origin

    def forget(self, offset: int) -> None:
        """Drop a kept object: nothing that follows needs it."""
        dropped = self._cache.pop(offset, None)
        if dropped is not None:
            self._cached_bytes -= len(dropped)

    def _keep(self, offset: int, data: bytes) -> None:
        if offset in self._cache:
            return
        self._cache[offset] = data
        self._cached_bytes += len(data)
        while self._cached_bytes > CACHE_BYTES and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached_bytes -= len(old)

    def _base_by_name(self, name: bytes) -> int:
        if self._index is None:
            self._index = read_index(self.path.with_suffix(".idx"), self.hash_size)
        offset = self._index.get(name.hex())
        if offset is None:
            raise PackError(f"a delta's base {name.hex()} is not in {self.path.name}")
        return offset

    def _raw(self, offset: int) -> tuple[int, bytes, int | None]:
        """Type, inflated payload (content, or delta instructions) and, for a delta, its base's offset."""
        try:
            return self._entry(offset)
        except IndexError:  # a header cut short by the end of the pack
            raise PackError(f"entry at {offset} is cut short") from None

    def _entry(self, offset: int) -> tuple[int, bytes, int | None]:
        end = self._end
        if not 12 <= offset < end:
            raise PackError(f"offset {offset} is outside the pack")
        # the header: type and size (up to 10 bytes), then a base offset (10) or a base name (32)
        pack = os.pread(self._fd, min(_HEADER_MAX, end - offset), offset)
        at = 0
        byte = pack[at]
        at += 1
        kind = (byte >> 4) & 7
        size = byte & 15
        shift = 4
        while byte & 0x80:
            byte = pack[at]
            at += 1
            size |= (byte & 0x7F) << shift
            shift += 7
        if size > self.max_size:
            raise PackError(f"entry at {offset} is {size} bytes, over the {self.max_size}-byte limit")
        base: int | None = None
        if kind == OBJ_OFS_DELTA:
            byte = pack[at]
            at += 1
            distance = byte & 0x7F
            while byte & 0x80:
                byte = pack[at]
                at += 1
                distance = ((distance + 1) << 7) | (byte & 0x7F)
            base = offset - distance
            if base < 12 or distance == 0:
                raise PackError(f"delta at {offset} points before the start of the pack")
        elif kind == OBJ_REF_DELTA:
            base = self._base_by_name(bytes(pack[at : at + self.hash_size]))
            at += self.hash_size
        elif kind not in (OBJ_COMMIT, OBJ_TREE, OBJ_BLOB, OBJ_TAG):
            raise PackError(f"entry at {offset} has unknown type {kind}")
        # deflate never grows data by more than a few bytes per 16 KiB block
        start = offset + at
        compressed = os.pread(self._fd, min(end, start + size + size // 1000 + 1024) - start, start)
        inflater = zlib.decompressobj()
        try:  # one byte of room past `size`: the stream's end and its checksum are read too
            payload = inflater.decompress(compressed, size + 1)
        except zlib.error as exc:
            raise PackError(f"entry at {offset} does not inflate: {exc}") from None
        if not inflater.eof:
            raise PackError(f"entry at {offset} is corrupt (its zlib stream does not end)")
        if len(payload) != size:
            raise PackError(f"entry at {offset} inflates to {len(payload)} bytes, not {size}")
        return kind, payload, base


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = 0
    shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def apply_delta(
    base: bytes, delta: bytes, max_size: int, copies: list[tuple[int, int, int]] | None = None
) -> bytes:
    """The object `delta` describes as copies from `base` and inserted bytes. `copies`: filled with
    the copied stretches, (offset in the result, offset in the base, length), adjacent ones joined."""
    try:
        return _apply_delta(base, delta, max_size, copies)
    except IndexError:
        raise PackError("delta instructions end part-way") from None


def _apply_delta(
    base: bytes, delta: bytes, max_size: int, copies: list[tuple[int, int, int]] | None
) -> bytes:
    source_size, at = _varint(delta, 0)
    target_size, at = _varint(delta, at)
    if target_size > max_size:
        raise PackError(f"a delta builds {target_size} bytes, over the {max_size}-byte limit")
    if source_size != len(base):
        raise PackError(f"delta expects a {source_size}-byte base, got {len(base)} bytes")
    view = memoryview(base)
    parts: list[bytes | memoryview] = []
    written = 0
    end = len(delta)
    while at < end:
        op = delta[at]
        at += 1
        if op & 0x80:  # copy: offset and size bytes present as the low 7 bits say (unrolled: hot loop)
            offset = 0
            if op & 0x01:
                offset = delta[at]
                at += 1
            if op & 0x02:
                offset |= delta[at] << 8
                at += 1
            if op & 0x04:
                offset |= delta[at] << 16
                at += 1
            if op & 0x08:
                offset |= delta[at] << 24
                at += 1
            size = 0
            if op & 0x10:
                size = delta[at]
                at += 1
            if op & 0x20:
                size |= delta[at] << 8
                at += 1
            if op & 0x40:
                size |= delta[at] << 16
                at += 1
            if size == 0:
                size = 0x10000
            if offset + size > source_size:
                raise PackError("delta copies past the end of its base")
            parts.append(view[offset : offset + size])
            if copies is not None:
                if (
                    copies
                    and copies[-1][0] + copies[-1][2] == written
                    and copies[-1][1] + copies[-1][2] == offset
                ):
                    copies[-1] = (copies[-1][0], copies[-1][1], copies[-1][2] + size)
                else:
                    copies.append((written, offset, size))
            written += size
        elif op:
            parts.append(delta[at : at + op])
            at += op
            written += op
        else:
            raise PackError("delta holds the reserved instruction 0")
    result = b"".join(parts)
    if len(result) != target_size:
        raise PackError(f"delta builds {len(result)} bytes, expected {target_size}")
    return result
