"""play() hands back the mastered mix first; the stems follow on a thread, the MIDI files and pictures
once the caller has written the mix and calls ``Performance.finish``.

``finish`` makes and waits for them (and raises what they raised), ``abandon`` stops them; the files and
the mix are the bytes the same play makes when everything is waited for at once.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline.picture import draw_song
from pipeline.play import Performance, play
from pipeline.replay import replay
from pipeline.testing.synth import make_song
from pipeline.tests.play_helpers import analysis_from_song, stems_from_song
from pipeline.types import Analysis, RemixOptions, SeparatorInfo

ASSETS = Path(__file__).resolve().parents[2] / "assets"
STEMS = {"vocals", "other", "drums", "guitars", "bass"}
PICTURES = {"song": "song.png", "song_svg": "song.svg", "song_phone": "song_phone.png"}


@pytest.fixture(scope="module")
def song():  # type: ignore[no-untyped-def]
    return make_song(tempo=110.0, key="E", bars=8, sections=2, with_vocals=True, seed=7)


@pytest.fixture(scope="module")
def analysis(song) -> Analysis:  # type: ignore[no-untyped-def]
    found = analysis_from_song(song)
    found.has_vocals = False  # an instrumental: a lead guitar tracks the tune, so every MIDI part is written
    return found


def _play(song, analysis: Analysis, out_dir: Path) -> Performance:  # type: ignore[no-untyped-def]
    return play(
        *stems_from_song(song),
        analysis,
        RemixOptions(style="power", seed=2),
        assets_dir=ASSETS,
        out_dir=out_dir,
    )


def _digests(out_dir: Path) -> dict[str, str]:
    """sha256 of every file under ``out_dir`` by its relative path (the SVG's random ids masked)."""
    found = {}
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix == ".svg":  # matplotlib salts the SVG's ids anew in each process
            data = re.sub(rb"url\(#[^)]*\)", b"", re.sub(rb'(id|href|clip-path)="[^"]*"', b"", data))
        found[str(path.relative_to(out_dir))] = hashlib.sha256(data).hexdigest()
    return found


def _writers_alive(perf: Performance) -> list[threading.Thread]:
    return [t for pool in (perf._after.writer, perf._after.after) for t in pool._threads if t.is_alive()]


@pytest.fixture(scope="module")
def waited(song, analysis, tmp_path_factory):  # type: ignore[no-untyped-def]
    """A play finished at once: its mix and the digests of its files."""
    out = tmp_path_factory.mktemp("waited")
    perf = _play(song, analysis, out).finish()
    return perf.mix.copy(), _digests(out)


def test_the_mix_play_returns_is_the_finished_one_and_every_file_the_same_bytes(
    song, analysis, waited, tmp_path
):
    mix, digests = waited
    perf = _play(song, analysis, tmp_path)
    returned = perf.mix.copy()
    assert np.array_equal(returned, mix)
    # the GIL-bound rest waits for finish(), so it never slows the caller writing the mix
    assert not (tmp_path / "midi").exists() and not list(tmp_path.glob("song*"))
    time.sleep(0.2)  # the caller writing its mix meanwhile
    assert perf.finish() is perf
    assert np.array_equal(perf.mix, returned)  # nothing changed the mix behind the caller's back
    assert _digests(tmp_path) == digests
    assert set(perf.stems) == STEMS
    assert {name: path.name for name, path in perf.pictures.items()} == PICTURES
    assert {"drums", "guitar_left", "guitar_right", "bass", "lead"} <= set(perf.midi)
    written = [*perf.stems.values(), *perf.midi.values(), *perf.pictures.values()]
    assert sorted(str(p.relative_to(tmp_path)) for p in written) == sorted(digests)
    assert not _writers_alive(perf)
    assert perf.finish().stems == perf.stems  # a second finish returns the same files


def test_reading_the_files_of_a_performance_waits_for_them(song, analysis, waited, tmp_path):
    perf = _play(song, analysis, tmp_path)
    assert all(path.is_file() for path in perf.pictures.values())  # no finish() called: reading waits
    assert all(path.is_file() for path in perf.stems.values())
    assert _digests(tmp_path) == waited[1]


def test_abandon_leaves_no_thread_writing_into_a_folder_the_caller_removes(song, analysis, tmp_path):
    out = tmp_path / "out"
    perf = _play(song, analysis, out)
    perf.abandon()
    assert not _writers_alive(perf)
    assert not (out / "midi").exists() and not list(out.glob("song*"))  # abandoned: never made
    shutil.rmtree(out)
    time.sleep(0.5)
    assert not out.exists()  # no late write made the folder again
    perf.abandon()  # twice is harmless
    with pytest.raises(RuntimeError):  # and nothing is made after it
        perf.finish()


def _blocked(path: Path) -> None:
    """A folder where a file is to be written: writing the file there fails, as on a full or broken disk."""
    path.mkdir(parents=True)
    (path / "keep").write_text("x")


@pytest.mark.parametrize(
    ("where", "raised"),
    [
        ("stems/guitars.flac", OSError),  # the stems' writer thread
        ("song_phone.png", OSError),  # the pictures, drawn after the MIDI files on their own thread
    ],
)
def test_an_error_in_a_background_write_surfaces_from_finish(song, analysis, tmp_path, where, raised):
    _blocked(tmp_path / where)
    perf = _play(song, analysis, tmp_path)  # the mix itself is made
    assert perf.mix.shape[1] == stems_from_song(song)[0].shape[1]
    with pytest.raises(raised):
        perf.finish()
    assert not _writers_alive(perf)
    with pytest.raises(raised):  # it stays failed: no half-filled file lists
        perf.finish()


def test_an_error_writing_the_midi_surfaces_from_finish(song, analysis, tmp_path):
    (tmp_path / "midi").write_text("not a folder")
    perf = _play(song, analysis, tmp_path)
    with pytest.raises(OSError):
        _ = perf.midi
    assert not _writers_alive(perf)


def test_a_remix_whose_background_write_fails_fails_and_leaves_nothing_behind(song, analysis, tmp_path):
    """Through the caller (replay -> remix_folder): the mix is written, finish() raises, the staging folder
    goes and no thread writes into it afterwards."""
    out = tmp_path / "out"
    out.mkdir()

    def block_the_bass_stem(stage: str, _percent: float) -> None:
        # the staging folder's name is replay's to choose: block the bass stem's file once it exists
        if stage == "rendering":
            for target in (staging / "stems" / "bass.flac" for staging in out.glob(".partial-*")):
                if not target.exists():
                    _blocked(target)

    before = set(threading.enumerate())
    with pytest.raises(OSError):
        replay(
            *stems_from_song(song),
            analysis,
            out,
            RemixOptions(style="power", seed=2),
            ASSETS,
            block_the_bass_stem,
            separator=SeparatorInfo(name="test", reason="test"),
        )
    time.sleep(0.3)
    assert list(out.iterdir()) == []
    assert not [t for t in set(threading.enumerate()) - before if t.name.startswith(("stems", "after-mix"))]


def test_pictures_drawn_on_two_threads_at_once_are_those_drawn_one_after_the_other(song, analysis, tmp_path):
    mix = song.audio.astype(np.float32)
    draw_song(mix, analysis, tmp_path / "alone")
    threads = [
        threading.Thread(target=draw_song, args=(mix, analysis, tmp_path / f"together-{i}")) for i in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    alone = _digests(tmp_path / "alone")
    assert len(alone) == 3
    assert _digests(tmp_path / "together-0") == alone == _digests(tmp_path / "together-1")


def test_a_short_songs_stems_wait_for_the_mix_and_are_the_bytes_written_as_they_come(
    song, analysis, waited, tmp_path
):
    """Stems that fit in ``stem_hold_bytes`` are written once the mix is mastered (none is on disk when
    mastering begins); written as they come instead, every file is the same."""
    on_disk_at_mastering: list[list[Path]] = []

    def on_stage(stage: str, fraction: float) -> None:
        if stage == "mastering" and fraction == 0.0:
            on_disk_at_mastering.append(sorted((tmp_path / "held" / "stems").glob("*")))

    held = play(
        *stems_from_song(song),
        analysis,
        RemixOptions(style="power", seed=2),
        assets_dir=ASSETS,
        out_dir=tmp_path / "held",
        on_stage=on_stage,
    ).finish()
    assert on_disk_at_mastering == [[]]
    as_they_come = play(
        *stems_from_song(song),
        analysis,
        RemixOptions(style="power", seed=2),
        assets_dir=ASSETS,
        out_dir=tmp_path / "as_they_come",
        stem_hold_bytes=0,
    ).finish()
    assert np.array_equal(held.mix, as_they_come.mix)
    assert np.array_equal(held.mix, waited[0])
    assert _digests(tmp_path / "held") == _digests(tmp_path / "as_they_come") == waited[1]
    assert set(held.stems) == set(as_they_come.stems) == STEMS
