"""Archives and compressed files, recognised by their magic bytes and opened as bounded streams.

zip (jar, war, apk, whl, docx, xlsx...), tar (ustar and old v7), gzip, bzip2, xz and lzma; a compressed
stream holding a tar (`.tar.gz`) is one archive whose members sit right under it
(`outer.tar.gz!inner.zip!config.env`), any other compressed stream holds one member named after the
file without its suffix (`logs.gz!logs`). Members are expanded again, down to `max_archive_depth`.

Nothing is ever written to disk, so member names are only names: absolute and `..` names are scanned
and shown as given (control characters escaped, so that a name cannot rewrite a terminal or a report
line). Links, devices, encrypted members and unsupported compression methods are Skipped with the
reason. zip members are decompressed here, from the central directory's offsets, rather than through
`zipfile.ZipExtFile`, whose bzip2 and lzma reads have no output bound; when the central directory is
missing (a truncated zip, or the first chunk of a large one) or too large, members are
recovered by walking the local headers.
"""

from __future__ import annotations

import io
import lzma
import re
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Generator, Iterator

from scanner.decode.streams import (
    LZMA_MEMORY_LIMIT,
    Budget,
    CountingReader,
    DecodeProblem,
    DecompressingReader,
    MemReader,
    Peekable,
    Reader,
    chunks,
    human,
    read_all,
)
from scanner.decode.text import TextDecoder
from scanner.decode.zipformat import (
    LocalHeaders,
    ZipEntry,
    central_directory_count,
    data_start,
    entry_of,
)
from scanner.model import Blob, Location, Skipped, SkipReason
from scanner.sources.interface import Limits

SNIFF_BYTES = 512
_SUFFIXES = (
    (".tar.gz", ".tar"),
    (".tgz", ".tar"),
    (".gz", ""),
    (".gzip", ""),
    (".tbz2", ".tar"),
    (".tbz", ".tar"),
    (".bz2", ""),
    (".txz", ".tar"),
    (".xz", ""),
    (".tlz", ".tar"),
    (".lzma", ""),
)
_ZIP_METHODS = {0: "stored", 8: "deflate", 12: "bzip2", 14: "lzma"}
_ZIP_METHOD_NAMES = {
    9: "deflate64",
    93: "zstandard",
    95: "xz",
    96: "jpeg",
    97: "wavpack",
    98: "ppmd",
    99: "aes",
}
_SPECIAL = {
    tarfile.CHRTYPE: "character device",
    tarfile.BLKTYPE: "block device",
    tarfile.FIFOTYPE: "named pipe",
}
_BROKEN = (tarfile.TarError, zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, struct.error)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def shown(name: str) -> str:
    """A member name as given, with control characters escaped (a name must not rewrite a terminal)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", name)


_MAGIC_FIRST = frozenset(b"P\x1fB\xfd\x5d")


def sniff(head: bytes) -> str | None:
    """The archive or compression format of data starting with `head`, or None for anything else."""
    if not head or head[0] not in _MAGIC_FIRST:
        return "tar" if len(head) >= 512 and _is_tar(head) else None
    if head[:2] == b"PK" and head[2:4] in (b"\x03\x04", b"\x05\x06", b"\x07\x08"):
        return "zip"
    if head[:3] == b"\x1f\x8b\x08":
        return "gzip"
    if head[:3] == b"BZh" and head[3:4] in b"123456789" and head[4:10] == b"1AY&SY":
        return "bzip2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if _is_lzma_alone(head):
        return "lzma"
    if _is_tar(head):
        return "tar"
    return None


def _is_lzma_alone(head: bytes) -> bool:
    if len(head) < 13 or head[0] != 0x5D:
        return False
    dictionary = int.from_bytes(head[1:5], "little")
    size = int.from_bytes(head[5:13], "little")
    third = dictionary // 3
    usual = dictionary & (dictionary - 1) == 0 or (dictionary % 3 == 0 and third & (third - 1) == 0)
    return dictionary >= 4096 and usual and (size == 2**64 - 1 or size < 2**40)


def _is_tar(head: bytes) -> bool:
    if len(head) < 512:
        return False
    if head[257:262] == b"ustar":
        return True
    field = head[148:156]
    digits = field.strip(b" \x00")
    if not digits or digits.strip(b"01234567") or not head[0]:
        return False
    checksum = sum(head[:148]) + 8 * 32 + sum(head[156:512])
    return checksum == int(digits, 8)


def stream_member_name(path: str, kind: str, head: bytes) -> str:
    """`logs.gz` -> `logs`; the gzip header's original name, or the file's own name, when no suffix says."""
    name = path.rsplit("!", 1)[-1].rsplit("/", 1)[-1]
    lowered = name.lower()
    for suffix, replacement in _SUFFIXES:
        if lowered.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)] + replacement
    if kind == "gzip" and len(head) > 10 and head[3] & 0x08:
        start = 10
        if head[3] & 0x04 and len(head) > 12:
            start += 2 + int.from_bytes(head[10:12], "little")
        end = head.find(b"\x00", start)
        if end > start:
            return head[start:end].decode("latin-1").rsplit("/", 1)[-1] or name
    return name


class Archives:
    """Expands one top-level blob's archives; all levels share one expanded-bytes budget."""

    def __init__(self, limits: Limits, text: TextDecoder, budget: Budget) -> None:
        self.limits = limits
        self.text = text
        self.budget = budget

    def expand(self, blob: Blob, kind: str) -> Iterator[Blob | Skipped]:
        reader = Peekable(MemReader(blob.data))
        yield from self._archive(kind, blob.location, blob.encoding, reader, blob.data, 0)

    # -- dispatch -------------------------------------------------------------------------------

    def _archive(
        self,
        kind: str,
        where: Location,
        encoding: tuple[str, ...],
        reader: Peekable,
        data: bytes | None,
        depth: int,
    ) -> Iterator[Blob | Skipped]:
        """The archive at `where` (itself at `depth`); its members are at depth + 1."""
        if depth + 1 > self.limits.max_archive_depth:
            yield Skipped(
                where,
                SkipReason.ARCHIVE_LIMIT,
                f"this {kind} archive is nested {depth} levels deep; opening it would go past the "
                f"nesting limit of {self.limits.max_archive_depth} (max_archive_depth), so its content "
                "was not scanned.",
            )
            return
        if kind == "zip":
            problem: Exception | None = None
            if data is None:
                data, problem = read_all(reader)
            yield from self._zip(where, (*encoding, "zip"), data, depth)
            if problem is not None:
                yield from self._report(where, problem)
            return
        if kind == "tar":
            yield from self._tar(where, (*encoding, "tar"), reader, depth)
            return
        head = reader.peek(SNIFF_BYTES)
        stream = Peekable(
            DecompressingReader(
                reader,
                kind,
                self.budget,
                self.limits.max_expansion_ratio,
                f"the {kind} stream of {where.path}",
                multistream=kind != "lzma",
            )
        )
        if _is_tar(stream.peek(SNIFF_BYTES)):
            yield from self._tar(where, (*encoding, kind, "tar"), stream, depth)
        else:
            member = where.member(shown(stream_member_name(where.path, kind, head)))
            yield from self._member(member, (*encoding, kind), stream, depth + 1)

    def _member(
        self, where: Location, encoding: tuple[str, ...], reader: Peekable, depth: int
    ) -> Generator[Blob | Skipped, None, bool]:
        """Scan one member (at `depth`); False when reading it failed."""
        try:
            kind = sniff(reader.peek(SNIFF_BYTES))
            if kind is not None:
                yield from self._archive(kind, where, encoding, reader, None, depth)
                return True
            for first_line, first_column, chunk in chunks(reader):
                yield from self.text.derive(
                    Blob(where, chunk, encoding, first_line, first_column=first_column)
                )
        except Exception as exc:
            yield from self._report(where, exc)
            return False
        return True

    def _report(self, where: Location, exc: Exception) -> Iterator[Skipped]:
        """One Skipped for a failure (a problem shared by stacked readers is reported once)."""
        if isinstance(exc, DecodeProblem):
            if not exc.reported:
                exc.reported = True
                yield Skipped(where, exc.reason, exc.detail)
        elif isinstance(exc, _BROKEN):
            yield Skipped(where, SkipReason.BROKEN_ARCHIVE, f"{where.path} is damaged or truncated: {exc}.")
        else:
            yield Skipped(
                where, SkipReason.ERROR, f"decoding {where.path} failed: {type(exc).__name__}: {exc}."
            )

    def _too_many(self, where: Location, known: str) -> Skipped:
        limit = self.limits.max_archive_members
        return Skipped(
            where,
            SkipReason.ARCHIVE_LIMIT,
            f"this archive has {known} members, over the limit of {limit} (max_archive_members); "
            f"only the first {limit} were scanned.",
        )

    # -- tar ------------------------------------------------------------------------------------

    def _tar(
        self, where: Location, encoding: tuple[str, ...], reader: Reader, depth: int
    ) -> Iterator[Blob | Skipped]:
        count = 0
        try:
            with tarfile.open(fileobj=reader, mode="r|") as archive:  # type: ignore[call-overload]
                for info in archive:
                    if info.isdir():
                        continue
                    count += 1
                    if count > self.limits.max_archive_members:
                        yield self._too_many(where, f"more than {self.limits.max_archive_members}")
                        return
                    member = where.member(shown(info.name))
                    if info.issym():
                        yield Skipped(
                            member,
                            SkipReason.NOT_REGULAR,
                            f"a symbolic link to {info.linkname!r}; links are not followed.",
                        )
                        continue
                    if info.islnk():
                        continue  # a hard link: its content is scanned under the name it links to
                    if info.type in _SPECIAL:
                        yield Skipped(
                            member,
                            SkipReason.NOT_REGULAR,
                            f"a {_SPECIAL[info.type]} in the archive; it has no content to scan.",
                        )
                        continue
                    if not info.isreg():
                        continue
                    content = archive.extractfile(info)
                    if content is None:  # pragma: no cover - isreg() members always have content
                        continue
                    ok = yield from self._member(member, encoding, Peekable(content), depth + 1)
                    if not ok:
                        return  # the stream under the tar failed: nothing after this member can be read
        except Exception as exc:
            yield from self._report(where, exc)

    # -- zip ------------------------------------------------------------------------------------

    def _zip(
        self, where: Location, encoding: tuple[str, ...], data: bytes, depth: int
    ) -> Iterator[Blob | Skipped]:
        limit = self.limits.max_archive_members
        listed = central_directory_count(data)
        entries: Iterator[ZipEntry] | None = None
        damage = ""
        if listed is not None and listed <= 4 * limit:
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    entries = iter([entry_of(info) for info in archive.infolist()])
            except Exception as exc:  # a damaged central directory: fall back to the local headers
                damage = f"its central directory is damaged ({exc})"
        elif listed is None:
            damage = "it has no central directory (the file is truncated or not a complete zip)"
        walker: LocalHeaders | None = None
        if entries is None:
            walker = LocalHeaders(data)
            entries = iter(walker)
        count = 0
        for entry in entries:
            if entry.is_dir:
                continue
            count += 1
            if count > limit:
                yield self._too_many(where, str(listed) if listed is not None else f"more than {limit}")
                return
            member = where.member(shown(entry.name))
            refusal = self._refusal(entry)
            if refusal is not None:
                yield Skipped(member, *refusal)
                continue
            try:
                reader = self._entry_reader(data, entry, member.path)
            except Exception as exc:
                yield from self._report(member, exc)
                continue
            yield from self._member(member, encoding, Peekable(reader), depth + 1)
            if self.budget.problem is not None:
                return
        if walker is not None and (damage or walker.stopped):
            reason = damage or f"a member header is damaged ({walker.stopped})"
            if damage and walker.stopped:
                reason += f", and {walker.stopped}"
            yield Skipped(
                where,
                SkipReason.BROKEN_ARCHIVE,
                f"this zip cannot be read completely: {reason}; {count} member(s) were recovered from their "
                "local headers and scanned.",
            )

    def _refusal(self, entry: ZipEntry) -> tuple[SkipReason, str] | None:
        kind = stat.S_IFMT(entry.mode)
        if kind == stat.S_IFLNK:
            return SkipReason.NOT_REGULAR, "a symbolic link stored in the zip; links are not followed."
        if kind in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
            return SkipReason.NOT_REGULAR, "a device, pipe or socket entry; it has no content to scan."
        if entry.flags & 0x1 or entry.method == 99:
            return (
                SkipReason.ENCRYPTED,
                "this member is encrypted (password-protected); its content cannot be scanned.",
            )
        if entry.method not in _ZIP_METHODS:
            name = _ZIP_METHOD_NAMES.get(entry.method, "unknown")
            return (
                SkipReason.UNREADABLE,
                f"this member uses compression method {entry.method} ({name}), which keysweep cannot "
                "decompress.",
            )
        return None

    def _entry_reader(self, data: bytes, entry: ZipEntry, what: str) -> Reader:
        if entry.offset < 0:  # listed in the central directory: its data follows its local header
            entry.offset = data_start(data, -1 - entry.offset)
            if entry.offset < 0:
                raise DecodeProblem(
                    SkipReason.BROKEN_ARCHIVE, f"{what} has no valid local header (damaged zip)."
                )
        view = memoryview(data)[entry.offset : entry.offset + entry.compressed]
        ratio = self.limits.max_expansion_ratio
        if entry.method == 0:
            size = entry.size if entry.size is not None else len(view)
            return CountingReader(MemReader(view[:size]), self.budget, entry.crc, what, expected=size)
        if entry.method == 14:
            return self._lzma_reader(view, entry, what)
        kind = "deflate" if entry.method == 8 else "bzip2"
        return DecompressingReader(
            MemReader(view), kind, self.budget, ratio, what, size=entry.size, crc=entry.crc
        )

    def _lzma_reader(self, view: memoryview, entry: ZipEntry, what: str) -> Reader:
        """zip's lzma: a 4-byte header (version, properties size), 5 bytes of properties, raw LZMA1."""
        if len(view) < 9:
            raise DecodeProblem(
                SkipReason.BROKEN_ARCHIVE, f"{what} is too short to hold lzma data (truncated)."
            )
        properties_size = int.from_bytes(view[2:4], "little")
        properties = bytes(view[4 : 4 + properties_size])
        if properties_size != 5 or properties[0] >= 9 * 5 * 5:
            raise DecodeProblem(SkipReason.BROKEN_ARCHIVE, f"{what} has invalid lzma properties (damaged).")
        dictionary = int.from_bytes(properties[1:5], "little")
        if dictionary > LZMA_MEMORY_LIMIT:
            raise DecodeProblem(
                SkipReason.ARCHIVE_LIMIT,
                f"{what} asks for a {human(dictionary)} lzma dictionary, over the {human(LZMA_MEMORY_LIMIT)} "
                "memory limit for decompression.",
            )
        lc, rest = properties[0] % 9, properties[0] // 9
        lp, pb = rest % 5, rest // 5
        filters = [{"id": lzma.FILTER_LZMA1, "lc": lc, "lp": lp, "pb": pb, "dict_size": dictionary}]

        def make() -> object:
            return lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=filters)

        return DecompressingReader(
            MemReader(view[4 + properties_size :]),
            "lzma-raw",
            self.budget,
            self.limits.max_expansion_ratio,
            what,
            make=make,
            size=entry.size,
            crc=entry.crc,
        )
