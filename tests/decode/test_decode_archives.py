"""Archives and compressed files through `expand`, checked with the real detector on real archive bytes."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import stat
import struct
import tarfile
import time
import tracemalloc
import zipfile
import zlib

import pytest

from scanner.decode import expand
from scanner.detect import Detector
from scanner.engine import Engine
from scanner.model import Blob, Finding, Location, Skipped, SkipReason, SourceKind
from scanner.rules import load_builtin_rules
from scanner.sources.interface import Limits

KEY_ID = "AKIAZ2X7QK4MNB5RT6UV"
SECRET = "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"
OTHER_IDS = ("AKIA3NQ5RWE7TY2UIOPL", "AKIAQ4W5E6R7T2Y3U4I5", "AKIA7W3ERT2YUIOPAS5D")
ENV = f"# deploy settings\n\nAWS_ACCESS_KEY_ID={KEY_ID}\nAWS_SECRET_ACCESS_KEY={SECRET}\n"


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(Engine(load_builtin_rules()))


def scan(
    detector: Detector, name: str, data: bytes, limits: Limits | None = None
) -> tuple[list[Finding], list[Skipped]]:
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    for item in expand(Blob(Location(SourceKind.FILE, "/repo", name), data), limits or Limits()):
        if isinstance(item, Skipped):
            skipped.append(item)
        else:
            findings.extend(f for f in detector.findings(item) if aws(f))
    return findings, skipped


def aws(finding: Finding) -> bool:
    """The findings these tests are about (other rules may also fire on the made-up data)."""
    return finding.rule_id.startswith("aws-") and finding.suppressed_by is None


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def tar_of(members: dict[str, bytes], mode: str = "w") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def raw_zip(entries: list[tuple[str, int, int, bytes, int, int]]) -> bytes:
    """A zip built by hand: (name, method, flags, stored bytes, declared size, crc) per entry."""
    local = io.BytesIO()
    central = io.BytesIO()
    for name, method, flags, payload, size, crc in entries:
        offset = local.tell()
        encoded = name.encode()
        local.write(
            struct.pack(
                "<4sHHHHHIIIHH",
                b"PK\x03\x04",
                20,
                flags,
                method,
                0,
                0,
                crc,
                len(payload),
                size,
                len(encoded),
                0,
            )
        )
        local.write(encoded + payload)
        central.write(
            struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                20,
                20,
                flags,
                method,
                0,
                0,
                crc,
                len(payload),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    directory = central.getvalue()
    end = struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), local.tell(), 0
    )
    return local.getvalue() + directory + end


def deflated_zeros(gigabytes: int) -> bytes:
    """Raw deflate of `gigabytes` GiB of zeros, built from one repeated full-flush block (fast, ~1 MB/GiB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert again == block  # after a full flush the compressor starts afresh: identical blocks
    return block * (1024 * gigabytes) + compressor.flush()


def paired(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.key_id == KEY_ID and f.secret_found]


def test_a_key_in_a_zip_in_a_tar_gz_is_found_at_its_member_path_and_line(detector: Detector) -> None:
    inner = zip_of({"README.md": b"nothing here\n", "config.env": ENV.encode()})
    outer = tar_of({"docs/notes.txt": b"hello\n", "inner.zip": inner}, mode="w:gz")
    findings, skipped = scan(detector, "outer.tar.gz", outer)
    assert not skipped
    [finding] = paired(findings)
    assert len(findings) == 1
    assert finding.location.path == "outer.tar.gz!inner.zip!config.env"
    assert (finding.line, finding.column) == (3, 19)
    assert finding.encoding == ("gzip", "tar", "zip")


def test_archives_are_recognised_by_magic_bytes_not_names(detector: Detector) -> None:
    findings, _ = scan(detector, "payload.bin", zip_of({"a/b.env": ENV.encode()}))
    assert [f.location.path for f in paired(findings)] == ["payload.bin!a/b.env"]


@pytest.mark.parametrize(
    ("name", "compress", "member", "encoding"),
    [
        ("logs.gz", gzip.compress, "logs.gz!logs", ("gzip",)),
        ("dump.sql.bz2", bz2.compress, "dump.sql.bz2!dump.sql", ("bzip2",)),
        ("notes.xz", lzma.compress, "notes.xz!notes", ("xz",)),
        ("old.lzma", lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE), "old.lzma!old", ("lzma",)),
    ],
)
def test_single_compressed_streams_hold_one_member_named_without_the_suffix(
    detector: Detector, name: str, compress: object, member: str, encoding: tuple[str, ...]
) -> None:
    findings, skipped = scan(detector, name, compress(ENV.encode()))  # type: ignore[operator]
    assert not skipped
    [finding] = paired(findings)
    assert (finding.location.path, finding.line, finding.encoding) == (member, 3, encoding)


def test_gzip_concatenated_streams_are_all_read(detector: Detector) -> None:
    data = gzip.compress(b"first part\n") + gzip.compress(ENV.encode())
    findings, skipped = scan(detector, "joined.gz", data)
    assert not skipped
    assert paired(findings)[0].line == 4


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_zip_members_of_every_supported_method_are_read(detector: Detector, method: int) -> None:
    findings, skipped = scan(detector, "app.jar", zip_of({"META-INF/app.properties": ENV.encode()}, method))
    assert not skipped
    assert paired(findings)[0].location.path == "app.jar!META-INF/app.properties"


@pytest.mark.parametrize("mode", ["w:bz2", "w:xz"])
def test_compressed_tars_list_their_members_directly(detector: Detector, mode: str) -> None:
    findings, _ = scan(detector, "release.tbz", tar_of({"etc/app.env": ENV.encode()}, mode))
    assert paired(findings)[0].location.path == "release.tbz!etc/app.env"


def test_a_zip_bomb_member_is_stopped_quickly_in_bounded_memory_and_its_sibling_is_scanned(
    detector: Detector,
) -> None:
    bomb = deflated_zeros(1)
    archive = raw_zip(
        [
            ("bomb.bin", 8, 0, bomb, 1 << 30, 0),
            ("config.env", 0, 0, ENV.encode(), len(ENV), zlib.crc32(ENV.encode())),
        ]
    )
    assert len(archive) < 2 << 20
    tracemalloc.start()
    started = time.perf_counter()
    try:
        findings, skipped = scan(detector, "bomb.zip", archive)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 5
    assert peak < 64 << 20  # the member would be 1 GiB
    [limit] = skipped
    assert limit.reason is SkipReason.ARCHIVE_LIMIT
    assert limit.location.path == "bomb.zip!bomb.bin"
    assert "200 times" in limit.detail and "max_expansion_ratio" in limit.detail
    assert paired(findings)[0].location.path == "bomb.zip!config.env"


def test_a_gzip_bomb_is_stopped_by_the_ratio_with_its_first_bytes_scanned(detector: Detector) -> None:
    head = ENV.encode()
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream = deflated + deflated_zeros(1)
    gzip_bytes = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03" + stream + struct.pack("<II", 0, 0)
    started = time.perf_counter()
    findings, skipped = scan(detector, "huge.log.gz", gzip_bytes)
    assert time.perf_counter() - started < 5
    assert [s.reason for s in skipped] == [SkipReason.ARCHIVE_LIMIT]
    assert skipped[0].location.path == "huge.log.gz!huge.log"
    assert paired(findings)[0].location.path == "huge.log.gz!huge.log"


def test_the_total_expanded_bytes_limit_stops_the_rest_and_keeps_what_was_read(detector: Detector) -> None:
    filler = os.urandom(300_000).hex().encode()  # incompressible enough to stay under the ratio
    archive = zip_of({"a.env": ENV.encode(), "b.txt": filler, "c.env": f"id={OTHER_IDS[0]}\n".encode()})
    findings, skipped = scan(detector, "big.zip", archive, Limits(max_expanded_bytes=400_000))
    assert paired(findings)
    assert not [f for f in findings if f.key_id == OTHER_IDS[0]]
    [limit] = skipped
    assert limit.reason is SkipReason.ARCHIVE_LIMIT and "max_expanded_bytes" in limit.detail
    assert limit.location.path == "big.zip!b.txt"


def test_archives_nested_deeper_than_the_limit_are_skipped_naming_the_depth(detector: Detector) -> None:
    level3 = zip_of({"c.env": f"key={OTHER_IDS[2]}\n".encode()})
    level2 = zip_of({"b.env": f"key={OTHER_IDS[1]}\n".encode(), "level3.zip": level3})
    level1 = zip_of({"a.env": f"key={OTHER_IDS[0]}\n".encode(), "level2.zip": level2})
    findings, skipped = scan(detector, "level1.zip", level1, Limits(max_archive_depth=2))
    assert {f.key_id for f in findings} == {OTHER_IDS[0], OTHER_IDS[1]}
    [deep] = skipped
    assert deep.reason is SkipReason.ARCHIVE_LIMIT
    assert deep.location.path == "level1.zip!level2.zip!level3.zip"
    assert "nested 2 levels deep" in deep.detail and "limit of 2" in deep.detail


def test_members_past_the_limit_are_skipped_and_the_first_ones_scanned(detector: Detector) -> None:
    members = {f"file{i}.txt": b"plain text\n" for i in range(8)}
    members["file0.txt"] = f"key={OTHER_IDS[0]}\n".encode()
    members["file7.txt"] = f"key={OTHER_IDS[1]}\n".encode()
    for archive, name in ((zip_of(members), "many.zip"), (tar_of(members), "many.tar")):
        findings, skipped = scan(detector, name, archive, Limits(max_archive_members=5))
        assert [f.key_id for f in findings] == [OTHER_IDS[0]]
        [limit] = skipped
        assert limit.reason is SkipReason.ARCHIVE_LIMIT and limit.location.path == name
        assert "limit of 5" in limit.detail


def test_a_truncated_zip_still_gives_the_members_before_the_cut(detector: Detector) -> None:
    archive = zip_of({"config.env": ENV.encode(), "big.txt": os.urandom(50_000).hex().encode()})
    findings, skipped = scan(detector, "cut.zip", archive[: len(archive) // 2])
    assert paired(findings)[0].location.path == "cut.zip!config.env"
    reasons = {(s.location.path, s.reason) for s in skipped}
    assert ("cut.zip!big.txt", SkipReason.BROKEN_ARCHIVE) in reasons
    assert ("cut.zip", SkipReason.BROKEN_ARCHIVE) in reasons


def test_a_bad_crc_is_reported_after_the_content_is_scanned(detector: Detector) -> None:
    archive = bytearray(
        zip_of({"config.env": ENV.encode(), "other.env": f"id={OTHER_IDS[0]}\n".encode()}, zipfile.ZIP_STORED)
    )
    position = archive.index(b"# deploy")
    archive[position] = ord("!")
    findings, skipped = scan(detector, "crc.zip", bytes(archive))
    assert {f.key_id for f in findings} == {KEY_ID, OTHER_IDS[0]}
    [bad] = skipped
    assert (bad.location.path, bad.reason) == ("crc.zip!config.env", SkipReason.BROKEN_ARCHIVE)
    assert "CRC-32" in bad.detail


def test_damaged_gzip_data_is_skipped_and_the_rest_of_the_tar_before_it_scanned(detector: Detector) -> None:
    data = bytearray(tar_of({"a.env": ENV.encode(), "b.bin": os.urandom(200_000)}, mode="w:gz"))
    for i in range(len(data) // 2, len(data) // 2 + 64):
        data[i] ^= 0x55
    findings, skipped = scan(detector, "damaged.tar.gz", bytes(data))
    assert paired(findings)
    assert [s.reason for s in skipped] == [SkipReason.BROKEN_ARCHIVE]
    assert "damaged" in skipped[0].detail


def test_a_tar_with_a_truncated_member_keeps_the_members_before(detector: Detector) -> None:
    archive = tar_of({"a.env": ENV.encode(), "b.txt": b"x" * 20_000})
    findings, skipped = scan(detector, "cut.tar", archive[:3000])
    assert paired(findings)[0].location.path == "cut.tar!a.env"
    [cut] = skipped
    assert cut.reason is SkipReason.BROKEN_ARCHIVE and cut.location.path == "cut.tar!b.txt"


def test_encrypted_members_are_skipped_and_the_others_scanned(detector: Detector) -> None:
    archive = raw_zip(
        [
            ("secret.env", 0, 0x1, os.urandom(64), 52, 0),
            ("config.env", 0, 0, ENV.encode(), len(ENV), zlib.crc32(ENV.encode())),
        ]
    )
    findings, skipped = scan(detector, "locked.zip", archive)
    assert paired(findings)
    [locked] = skipped
    assert (locked.location.path, locked.reason) == ("locked.zip!secret.env", SkipReason.ENCRYPTED)


def test_unsupported_zip_methods_are_named(detector: Detector) -> None:
    archive = raw_zip([("x.env", 9, 0, b"\x00" * 10, 10, 0)])
    _, [skipped] = scan(detector, "d64.zip", archive)
    assert skipped.reason is SkipReason.UNREADABLE and "deflate64" in skipped.detail


def test_links_and_devices_are_skipped_and_odd_names_scanned_as_given(detector: Detector) -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, kind in (("link", tarfile.SYMTYPE), ("fifo", tarfile.FIFOTYPE), ("dev", tarfile.CHRTYPE)):
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = "/etc/passwd" if kind == tarfile.SYMTYPE else ""
            archive.addfile(info)
        for name in ("../../escape.env", "/abs/olute.env"):
            info = tarfile.TarInfo(name)
            info.size = len(ENV)
            archive.addfile(info, io.BytesIO(ENV.encode()))
    findings, skipped = scan(detector, "odd.tar", out.getvalue())
    assert sorted(f.location.path for f in paired(findings)) == [
        "odd.tar!../../escape.env",
        "odd.tar!/abs/olute.env",
    ]
    assert {(s.location.path, s.reason) for s in skipped} == {
        ("odd.tar!link", SkipReason.NOT_REGULAR),
        ("odd.tar!fifo", SkipReason.NOT_REGULAR),
        ("odd.tar!dev", SkipReason.NOT_REGULAR),
    }
    assert any("'/etc/passwd'" in s.detail for s in skipped)

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("link.env")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/home/me/.aws/credentials")
    _, [link] = scan(detector, "links.zip", buffer.getvalue())
    assert (link.location.path, link.reason) == ("links.zip!link.env", SkipReason.NOT_REGULAR)


@pytest.mark.parametrize(
    "prefix",
    [
        b"PK\x03\x04",
        b"PK\x05\x06",
        b"\x1f\x8b\x08",
        b"BZh91AY&SY",
        b"\xfd7zXZ\x00",
        b"\x5d\x00\x00\x80\x00" + b"\xff" * 8,
    ],
)
def test_junk_behind_archive_magic_never_raises(detector: Detector, prefix: bytes) -> None:
    for seed in range(20):
        junk = prefix + os.urandom(seed * 37 + 40)
        items = list(expand(Blob(Location(SourceKind.FILE, "/r", "junk"), junk), Limits()))
        assert all(isinstance(i, Blob | Skipped) for i in items)
        assert not [f for i in items if isinstance(i, Blob) for f in detector.findings(i)]


def test_a_tar_header_with_garbage_fields_never_raises(detector: Detector) -> None:
    header = bytearray(tar_of({"a.txt": b"hello\n"})[:512])
    header[124:136] = b"77777777777\x00"  # a member size far beyond the data
    header[148:156] = b"        "
    header[148:155] = f"{sum(header):06o}\x00".encode()
    items = list(expand(Blob(Location(SourceKind.FILE, "/r", "x.tar"), bytes(header) + b"a" * 600), Limits()))
    assert all(isinstance(i, Blob | Skipped) for i in items)
    assert any(isinstance(i, Skipped) and i.reason is SkipReason.BROKEN_ARCHIVE for i in items)


def test_a_later_chunk_that_starts_like_an_archive_is_scanned_as_text(detector: Detector) -> None:
    data = b"PK\x03\x04 then text " + f"id={OTHER_IDS[0]}".encode()
    blob = Blob(Location(SourceKind.FILE, "/r", "big.log"), data, first_line=1000)
    [item] = list(expand(blob, Limits()))
    assert item is blob


def test_a_bad_crc_of_a_nested_zip_is_reported_after_its_members_are_scanned(detector: Detector) -> None:
    inner = zip_of({"a.env": ENV.encode(), "b.txt": b"more text\n" * 100})
    outer = bytearray(zip_of({"inner.zip": inner}))
    outer[14] ^= 0xFF  # the CRC-32 in the local header...
    outer[outer.rindex(b"PK\x01\x02") + 16] ^= 0xFF  # ...and in the central directory
    findings, skipped = scan(detector, "outer.zip", bytes(outer))
    assert paired(findings)[0].location.path == "outer.zip!inner.zip!a.env"
    assert [(s.location.path, s.reason) for s in skipped] == [
        ("outer.zip!inner.zip", SkipReason.BROKEN_ARCHIVE)
    ]
    assert "CRC-32" in skipped[0].detail


class _Unseekable(io.RawIOBase):
    """A write-only stream: zipfile then writes data descriptors after each member (bit 3)."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.buffer += data
        return len(data)


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_a_truncated_streamed_zip_is_walked_through_its_data_descriptors(
    detector: Detector, method: int
) -> None:
    stream = _Unseekable()
    with zipfile.ZipFile(stream, "w", method) as archive:
        archive.writestr("first.txt", "nothing to see\n" * 20)
        archive.writestr("config.env", ENV)
        archive.writestr("last.txt", f"id={OTHER_IDS[0]}\n")
    data = bytes(stream.buffer)
    assert struct.unpack("<H", data[6:8])[0] & 0x08
    findings, skipped = scan(detector, "streamed.zip", data[: data.rindex(b"PK\x01\x02")])
    assert {f.key_id for f in findings} == {KEY_ID, OTHER_IDS[0]}
    assert [s.reason for s in skipped] == [SkipReason.BROKEN_ARCHIVE]
    assert "3 member(s) were recovered" in skipped[0].detail


def test_a_zip_listing_far_more_members_than_the_limit_is_walked_up_to_the_limit(detector: Detector) -> None:
    members = {f"file{i}.txt": f"key={OTHER_IDS[i % 3]}\n".encode() for i in range(8)}
    findings, [limit] = scan(detector, "huge.zip", zip_of(members), Limits(max_archive_members=1))
    assert [f.location.path for f in findings] == ["huge.zip!file0.txt"]
    assert "has 8 members, over the limit of 1" in limit.detail
