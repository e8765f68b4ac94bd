"""The stem cache in a folder (``FileStemCache``): entries written whole, read back, damage unused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipeline.stem_cache import MANIFEST, FileStemCache, song_key
from pipeline.types import STEM_NAMES, SeparatorInfo, Stems

SR = 44100


def _stems(frames: int = SR, seed: int = 0) -> Stems:
    rng = np.random.default_rng(seed)
    arrays = {n: (rng.standard_normal((2, frames)) * 0.3).astype(np.float32) for n in STEM_NAMES}
    return Stems(**arrays, separator=SeparatorInfo("test", "made by the test"))


def test_an_entry_reads_back_what_was_put_and_says_it_is_cached(tmp_path: Path) -> None:
    stems = _stems()
    FileStemCache(tmp_path).put("k", stems)
    back = FileStemCache(tmp_path).get("k")
    assert back is not None and back.frames == SR and back.analysis is None
    assert back.separator == SeparatorInfo("test", "made by the test", cached=True)
    for name in STEM_NAMES:
        np.testing.assert_allclose(back.stems[name], stems.as_dict()[name], atol=1e-6)  # 24-bit FLAC


def test_stems_louder_than_full_scale_come_back_unclipped(tmp_path: Path) -> None:
    stems = _stems()
    stems.drums *= 10.0  # peaks well above 1.0
    FileStemCache(tmp_path / "cache").put("k", stems)
    back = FileStemCache(tmp_path / "cache").get("k", ("drums",))
    assert back is not None and set(back.stems) == {"drums"}
    np.testing.assert_allclose(back.stems["drums"], stems.drums, atol=1e-4)
    assert json.loads((tmp_path / "cache" / "k" / MANIFEST).read_text())["separator"] == "test"
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["k"]  # no leftover temporary folder


def test_a_damaged_entry_reads_as_absent(tmp_path: Path) -> None:
    FileStemCache(tmp_path).put("k", _stems())
    (tmp_path / "k" / "vocals.flac").write_bytes(b"not flac")
    assert FileStemCache(tmp_path).get("k") is None


def test_an_entry_without_its_manifest_is_incomplete_and_unused(tmp_path: Path) -> None:
    FileStemCache(tmp_path).put("k", _stems())
    (tmp_path / "k" / MANIFEST).unlink()
    assert FileStemCache(tmp_path).get("k") is None


def test_the_key_depends_on_the_file_bytes_and_the_separator(tmp_path: Path) -> None:
    song = tmp_path / "song.wav"
    song.write_bytes(b"RIFF" + bytes(range(256)) * 100)
    key = song_key(song, "dsp:hpss-centre:v1")
    assert key == song_key(song, "dsp:hpss-centre:v1")
    assert key != song_key(song, "demucs:955717e8-8726e21a")
    song.write_bytes(song.read_bytes() + b"\0")
    assert key != song_key(song, "dsp:hpss-centre:v1")


def test_stems_encoded_on_two_threads_give_the_files_one_thread_gives(tmp_path: Path) -> None:
    """The same bytes in the same upload order (the manifest last), louder-than-full-scale stems included."""
    from pipeline.stem_cache import write_entry

    stems = _stems(frames=3 * SR + 17, seed=4)
    stems.bass *= np.float32(5.0)  # a gain other than 1 in the manifest
    one = write_entry(tmp_path / "one", stems, threads=1)
    two = write_entry(tmp_path / "two", stems, threads=2)
    assert [p.name for p in one] == [p.name for p in two] == [*(f"{n}.flac" for n in STEM_NAMES), MANIFEST]
    for a, b in zip(one, two, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_the_stems_are_written_while_the_analysis_is_made_and_the_entry_completed_once_it_comes(
    tmp_path: Path,
) -> None:
    from concurrent.futures import Future

    from pipeline.stem_cache import ANALYSIS, entry_files_as_written
    from pipeline.testing.synth import make_song
    from pipeline.tests.play_helpers import analysis_from_song

    analysis = analysis_from_song(make_song(tempo=120.0, bars=2, seed=1))
    pending: Future = Future()
    files = entry_files_as_written(tmp_path / "entry", _stems(), pending)
    stems_written = [next(files) for _ in STEM_NAMES]  # before the analysis exists
    assert [p.name for p in stems_written] == [f"{n}.flac" for n in STEM_NAMES]
    assert all(p.stat().st_size > 0 for p in stems_written)
    assert not (tmp_path / "entry" / MANIFEST).exists()
    pending.set_result(analysis)
    assert [p.name for p in files] == [ANALYSIS, MANIFEST]
    FileStemCache(tmp_path).put("whole", _stems(), pending)
    back = FileStemCache(tmp_path).get("whole")
    assert back is not None and back.analysis is not None
    assert back.analysis.to_dict() == analysis.to_dict()


def test_an_analysis_that_never_comes_leaves_no_entry(tmp_path: Path) -> None:
    from concurrent.futures import CancelledError, Future

    import pytest

    never: Future = Future()
    never.cancel()  # the song was not analysed (an error, a stop)
    with pytest.raises(CancelledError):
        FileStemCache(tmp_path / "cache").put("k", _stems(), never)
    assert FileStemCache(tmp_path / "cache").get("k") is None
    assert list((tmp_path / "cache").iterdir()) == []  # the half-written entry went with it


def test_stems_decoded_side_by_side_are_those_decoded_one_by_one(tmp_path: Path) -> None:
    from pipeline.stem_cache import _read_stem, read_entry, read_manifest, stem_file

    stems = _stems(frames=2 * SR + 5, seed=6)
    stems.other *= np.float32(3.0)  # a gain other than 1
    FileStemCache(tmp_path).put("k", stems)
    manifest = read_manifest(tmp_path / "k")
    assert manifest is not None
    back = read_entry(tmp_path / "k", ("vocals", "other", "drums"))
    assert back is not None and list(back.stems) == ["vocals", "other", "drums"]
    for name, stem in back.stems.items():
        alone = _read_stem(tmp_path / "k" / stem_file(name), manifest["frames"], manifest["gains"][name])
        assert stem.tobytes() == alone.tobytes(), name
