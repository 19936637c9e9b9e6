"""The file source: walking trees, special files, limits, chunked reads of huge files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scanner.detect import Detector
from scanner.engine import Engine
from scanner.model import Blob, Skipped, SkipReason
from scanner.rules import load_builtin_rules
from scanner.sources.files import FileSource
from scanner.sources.interface import CHUNK_SIZE, Limits

KEY_ID = "AKIAZ2X7QK4MNB5RT6UV"
SECRET = "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"


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(Engine(load_builtin_rules()))


def read_everything(source: FileSource, limits: Limits) -> tuple[list[Blob], list[Skipped]]:
    blobs: list[Blob] = []
    skipped: list[Skipped] = []
    for item in source.plan(limits):
        if isinstance(item, Skipped):
            skipped.append(item)
            continue
        for read in item.read(limits):
            (skipped if isinstance(read, Skipped) else blobs).append(read)  # type: ignore[arg-type]
    return blobs, skipped


def test_walks_nested_directories_and_leaves_dot_git_to_the_history_source(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "deep.env").write_text("x=1\n")
    (tmp_path / "top.txt").write_text("hello\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("[core]\n")
    blobs, skipped = read_everything(FileSource(tmp_path), Limits())
    assert sorted(b.location.path for b in blobs) == ["a/b/deep.env", "top.txt"]
    assert skipped == []


def test_special_files_are_reported_not_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")  # opening a FIFO for reading would block forever
    (tmp_path / "real.txt").write_text("data\n")
    (tmp_path / "link.txt").symlink_to(tmp_path / "real.txt")
    blobs, skipped = read_everything(FileSource(tmp_path), Limits())
    assert [b.location.path for b in blobs] == ["real.txt"]
    reasons = {s.location.path: (s.reason, s.detail) for s in skipped}
    assert reasons["pipe"][0] is SkipReason.NOT_REGULAR and "named pipe" in reasons["pipe"][1]
    assert reasons["link.txt"][0] is SkipReason.NOT_REGULAR and "symbolic link" in reasons["link.txt"][1]


def test_a_file_that_vanishes_between_planning_and_reading_is_reported(tmp_path: Path) -> None:
    victim = tmp_path / "gone.txt"
    victim.write_text("x\n")
    units = [u for u in FileSource(tmp_path).plan(Limits()) if not isinstance(u, Skipped)]
    victim.unlink()
    results = [r for unit in units for r in unit.read(Limits())]
    assert len(results) == 1 and isinstance(results[0], Skipped)
    assert results[0].reason is SkipReason.UNREADABLE and "No such file" in results[0].detail


def test_over_the_size_limit_is_skipped_with_the_numbers(tmp_path: Path) -> None:
    (tmp_path / "big.bin").write_bytes(b"a" * 5000)
    _, skipped = read_everything(FileSource(tmp_path), Limits(max_file_size=4096))
    assert len(skipped) == 1
    assert skipped[0].reason is SkipReason.TOO_LARGE
    assert "4.9 KB" in skipped[0].detail and "4.0 KB" in skipped[0].detail


def test_a_key_across_a_chunk_boundary_of_a_huge_minified_file_is_found_once(
    tmp_path: Path, detector: Detector
) -> None:
    pair = f"{KEY_ID}:{SECRET}".encode()
    prefix = b"var a=1;" * ((CHUNK_SIZE - 10) // 8)  # the key id starts 10 bytes before the boundary
    prefix = prefix + b"x" * (CHUNK_SIZE - 10 - len(prefix))
    prefix = prefix[:-1] + b";"
    content = prefix + pair + b";" + b"var b=2;" * 200_000 + b"\nlast line\n"
    (tmp_path / "app.min.js").write_bytes(content)
    blobs, skipped = read_everything(FileSource(tmp_path), Limits())
    assert skipped == [] and len(blobs) >= 2
    findings = {(f.fingerprint, f.line, f.column) for b in blobs for f in detector.findings(b)}
    assert len(findings) == 1
    _, line, column = findings.pop()
    assert (line, column) == (1, CHUNK_SIZE - 10 + 1)


def test_line_numbers_stay_right_in_later_chunks(tmp_path: Path, detector: Detector) -> None:
    line = b"some ordinary log line with nothing in it at all\n"
    count = (CHUNK_SIZE * 2) // len(line)
    content = line * count + f"aws_access_key_id={KEY_ID}\n".encode()
    (tmp_path / "app.log").write_bytes(content)
    blobs, _ = read_everything(FileSource(tmp_path), Limits())
    found = {(f.line, f.column) for b in blobs for f in detector.findings(b) if not f.suppressed_by}
    assert found == {(count + 1, len("aws_access_key_id=") + 1)}


def test_option_like_paths_are_refused(tmp_path: Path) -> None:
    from scanner.sources.interface import SourceError

    with pytest.raises(SourceError, match="looks like an option"):
        FileSource(Path("--upload-pack=evil"))


def test_an_archive_larger_than_a_chunk_reaches_the_decoder_whole(tmp_path: Path, detector: Detector) -> None:
    import zipfile

    from scanner.decode import expand

    archive = tmp_path / "big.jar"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as jar:
        jar.writestr("blob.bin", os.urandom(CHUNK_SIZE + 1024 * 1024))
        jar.writestr("config/app.env", f"AWS_ACCESS_KEY_ID={KEY_ID}\nAWS_SECRET_ACCESS_KEY={SECRET}\n")
    blobs, skipped = read_everything(FileSource(tmp_path), Limits())
    assert len(blobs) == 1 and skipped == []
    expanded = [b for b in expand(blobs[0], Limits()) if isinstance(b, Blob)]
    found = [f for b in expanded for f in detector.findings(b) if not f.suppressed_by]
    assert [(f.location.path, f.key_id, f.secret_found) for f in found] == [
        ("big.jar!config/app.env", KEY_ID, True)
    ]
