"""The in-process pack reader: every blob byte-identical to what git itself returns, deltas of either
kind, SHA-256 repositories, and a clear failure (then git's reader) for what it does not handle."""

from __future__ import annotations

import subprocess
import zlib
from pathlib import Path

import pytest
from test_git_support import AWS_TEXT, KEY_ID, Repo, findings_in, git, read_everything

from scanner.sources.git import GitHistorySource, packed
from scanner.sources.git.pack import PackError, PackReader, apply_delta, pack_files, read_index
from scanner.sources.git.packed import GitBlobBatch, PackedBlobBatch
from scanner.sources.interface import Limits


def versions_of_a_file(repo: Repo, count: int) -> list[str]:
    """`count` commits each changing a few lines of one 20 KB file (git stores them as delta chains)."""
    lines = [f"setting_{number} = value {number * 7919 % 10007}\n" for number in range(600)]
    contents = []
    for version in range(count):
        lines[(version * 37) % len(lines)] = f"setting_{version} = changed in version {version}\n"
        if version == count // 2:
            lines.insert(300, AWS_TEXT)
        content = "".join(lines)
        contents.append(content)
        repo.commit(f"v{version}", **{"config.ini": content})
    return contents


def cat_file(repo: Path, oid: str) -> bytes:
    return subprocess.run(
        ["git", "-C", str(repo), "cat-file", "blob", oid], capture_output=True, check=True
    ).stdout


def every_blob(repo: Path) -> list[str]:
    listing = git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)")
    return [line.split()[0] for line in listing.splitlines() if line.endswith(" blob")]


def read_with_pack_reader(repo: Repo) -> dict[str, bytes]:
    objects = repo.path / ".git" / "objects"
    [pack] = pack_files(objects)
    hash_size = len(every_blob(repo.path)[0]) // 2
    index = read_index(pack.with_suffix(".idx"), hash_size)
    contents = {}
    with PackReader(pack, hash_size, max_size=1 << 30) as reader:
        for oid in every_blob(repo.path):
            _kind, data = reader.read(index[oid], keep=True)
            contents[oid] = data
    return contents


@pytest.mark.parametrize("ofs_delta", [True, False], ids=["ofs-delta", "ref-delta"])
def test_every_delta_version_reads_back_exactly_as_git_stores_it(tmp_path: Path, ofs_delta: bool) -> None:
    repo = Repo(tmp_path / "r")
    contents = versions_of_a_file(repo, 40)
    repo.git("-c", f"repack.useDeltaBaseOffset={str(ofs_delta).lower()}", "repack", "-adfq", "--depth=10")
    deltas = git(repo.path, "cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(deltabase)")
    assert sum(1 for line in deltas.splitlines() if line.startswith("blob") and set(line[5:]) != {"0"}) > 30

    read = read_with_pack_reader(repo)
    assert {data.decode() for data in read.values()} == set(contents)
    for oid, data in read.items():
        assert data == cat_file(repo.path, oid)


@pytest.fixture
def pack_reader_always(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(packed, "PACK_READER_MIN_BLOBS", 0)  # small test repositories use it too


def test_a_few_blobs_are_left_to_git_without_loading_the_pack_index(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    versions_of_a_file(repo, 4)
    repo.git("gc", "-q")
    units = [unit for unit in GitHistorySource(repo.path).plan(Limits()) if not hasattr(unit, "reason")]
    assert units and all(isinstance(unit, GitBlobBatch) for unit in units)


@pytest.mark.usefixtures("pack_reader_always")
def test_the_history_source_reads_packed_blobs_itself_and_finds_the_key_in_every_version(
    tmp_path: Path,
) -> None:
    repo = Repo(tmp_path / "r")
    contents = versions_of_a_file(repo, 20)
    repo.git("gc", "-q")
    source = GitHistorySource(repo.path)
    units = [unit for unit in source.plan(Limits()) if not hasattr(unit, "reason")]
    assert units and all(isinstance(unit, PackedBlobBatch) for unit in units)

    blobs, skipped = read_everything(GitHistorySource(repo.path))
    assert skipped == []
    assert sorted(blob.data.decode() for blob in blobs) == sorted(contents)
    with_key = [content for content in contents if KEY_ID in content]
    assert len({f.location.blob_id for f in findings_in(blobs)}) == len(with_key) == 10


def test_a_sha256_repository_is_read_from_its_pack(tmp_path: Path) -> None:
    path = tmp_path / "r"
    path.mkdir()
    git(path, "init", "-q", "--object-format=sha256")
    repo = Repo.__new__(Repo)
    repo.path, repo.clock = path, 1_700_000_000
    contents = versions_of_a_file(repo, 12)
    repo.git("gc", "-q")
    read = read_with_pack_reader(repo)
    assert all(len(oid) == 64 for oid in read)
    assert {data.decode() for data in read.values()} == set(contents)


@pytest.mark.usefixtures("pack_reader_always")
def test_loose_objects_and_a_damaged_entry_fall_back_to_git_and_nothing_is_lost(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    contents = versions_of_a_file(repo, 6)
    repo.git("gc", "-q")
    repo.commit("loose", **{"later.ini": AWS_TEXT + "# after the gc\n"})  # stays a loose object
    blobs, skipped = read_everything(GitHistorySource(repo.path))
    assert skipped == []
    assert sorted(blob.data.decode() for blob in blobs) == sorted([*contents, AWS_TEXT + "# after the gc\n"])


def test_deltas_that_do_not_add_up_are_refused_with_a_reason() -> None:
    base = b"0123456789" * 10
    copy_all = bytes([100, 100, 0x80 | 0x10, 100])  # sizes 100 -> 100, copy offset 0 size 100
    assert apply_delta(base, copy_all, max_size=1000) == base
    with pytest.raises(PackError, match="base"):
        apply_delta(base[:50], copy_all, max_size=1000)  # the base is not the size the delta expects
    with pytest.raises(PackError, match="past the end"):
        apply_delta(base, bytes([100, 100, 0x80 | 0x01 | 0x10, 50, 100]), max_size=1000)
    with pytest.raises(PackError, match="part-way"):
        apply_delta(base, copy_all[:-1], max_size=1000)
    with pytest.raises(PackError, match="limit"):  # a hostile target size is refused before any work
        apply_delta(base, bytes([100, 0xFF, 0xFF, 0xFF, 0x7F, 0x80 | 0x10, 100]), max_size=1000)
    with pytest.raises(PackError, match="reserved"):
        apply_delta(base, bytes([100, 1, 0]), max_size=1000)


def test_an_entry_bigger_than_the_limit_is_not_inflated(tmp_path: Path) -> None:
    pack = tmp_path / "p.pack"
    body = b"x" * 1000
    header = bytes([0x80 | (3 << 4) | (len(body) & 15), len(body) >> 4])  # a 1000-byte blob
    pack.write_bytes(
        b"PACK" + (2).to_bytes(4, "big") + (1).to_bytes(4, "big") + header + zlib.compress(body) + b"\0" * 20
    )
    with PackReader(pack, 20, max_size=100_000) as reader:
        assert reader.read(12) == (3, body)
    with PackReader(pack, 20, max_size=100) as reader, pytest.raises(PackError, match="limit"):
        reader.read(12)
    pack.write_bytes(b"NOPE" + pack.read_bytes()[4:])
    with pytest.raises(PackError, match="not a version 2 or 3 pack"):
        PackReader(pack, 20, max_size=1000)


@pytest.mark.usefixtures("pack_reader_always")
def test_versions_of_a_big_file_are_rebuilt_from_the_pack_and_scanned_in_chunks(tmp_path: Path) -> None:
    from scanner.sources.interface import CHUNK_SIZE

    repo = Repo(tmp_path / "r")
    filler = b"".join(b"line %07d of a big generated file\n" % n for n in range(300_000))  # ~10 MB
    assert CHUNK_SIZE < len(filler) < packed.PACKED_BLOB_MAX
    cut = CHUNK_SIZE - 20  # the key id straddles the first chunk's end
    key = f"aws_access_key_id = {KEY_ID}\naws_secret_access_key = 9fJ2kLmN4pQrS7tUvWxYz0A1bC3dE5fG6hI8jK/+\n"
    first = filler[:cut] + key.encode() + filler[cut:]
    repo.commit("v1", **{"big.txt": first})
    repo.commit("v2", **{"big.txt": first + b"one more line\n"})
    repo.git("gc", "-q")
    source = GitHistorySource(repo.path)
    units = [unit for unit in source.plan(Limits()) if not hasattr(unit, "reason")]
    assert units and all(isinstance(unit, PackedBlobBatch) for unit in units)  # not left to cat-file

    blobs, skipped = read_everything(GitHistorySource(repo.path))
    assert skipped == []
    chunks = [blob for blob in blobs if blob.location.path == "big.txt"]
    assert len(chunks) == 4 and all(len(chunk.data) <= CHUNK_SIZE + 8192 for chunk in chunks)
    found = findings_in(chunks)
    assert len({f.location.blob_id for f in found}) == 2 and all(f.secret_found for f in found)
    assert {f.line for f in found} == {first[:cut].count(b"\n") + 1}
