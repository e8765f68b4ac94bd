"""``on_mix``: the remix folder hands its caller the mix files as soon as they are written, before the MIDI
files and pictures are made, so a listener can play the mix first (jobs.runner.EarlyMix stores it then).

The files handed over are the bytes the finished remix publishes; a caller that raises stops the remix and
leaves nothing behind, like any other failure.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import soundfile as sf

from pipeline.replay import replay
from pipeline.testing.synth import make_song
from pipeline.tests.play_helpers import analysis_from_song, stems_from_song
from pipeline.types import RemixOptions, SeparatorInfo

ASSETS = Path(__file__).resolve().parents[2] / "assets"
SEPARATOR = SeparatorInfo(name="test", reason="test")


@pytest.fixture(scope="module")
def song():  # type: ignore[no-untyped-def]
    return make_song(tempo=120.0, key="A", bars=4, sections=1, seed=11)


def test_on_mix_gets_the_published_mix_files_before_the_midi_and_pictures(song, tmp_path):
    out = tmp_path / "out"
    handed: list[dict[str, object]] = []

    def on_mix(mixes: dict[str, Path]) -> None:
        staging = next(iter(mixes.values())).parent
        handed.append(
            {
                "formats": sorted(mixes),
                "bytes": {fmt: path.read_bytes() for fmt, path in mixes.items()},
                "rest_made": (staging / "midi").exists() or any(staging.glob("song*.png")),
                "frames": sf.info(str(mixes["wav"])).frames,
            }
        )

    result = replay(
        *stems_from_song(song),
        analysis_from_song(song),
        out,
        RemixOptions(style="thrash", seed=1, output_format="mp3"),
        ASSETS,
        separator=SEPARATOR,
        on_mix=on_mix,
    )
    assert len(handed) == 1
    (early,) = handed
    assert early["formats"] == ["mp3", "wav"] and early["rest_made"] is False
    assert early["frames"] == song.audio.shape[-1]
    assert early["bytes"] == {fmt: (out / f"mix.{fmt}").read_bytes() for fmt in ("wav", "mp3")}
    assert result.mix_path == out / "mix.mp3" and result.pictures and result.midi


def test_on_file_gets_every_stem_midi_file_and_picture_once_with_the_published_bytes(song, tmp_path):
    out = tmp_path / "out"
    handed: list[tuple[str, str, str, bytes]] = []

    def on_file(kind: str, name: str, path: Path) -> None:
        handed.append((kind, name, path.name, path.read_bytes()))

    result = replay(
        *stems_from_song(song),
        analysis_from_song(song),
        out,
        RemixOptions(style="thrash", seed=1),
        ASSETS,
        separator=SEPARATOR,
        on_file=on_file,
    )
    published = {
        **{("stems", name): path for name, path in result.stems.items()},
        **{("midi", name): path for name, path in result.midi.items()},
        **{("pictures", name): path for name, path in result.pictures.items()},
    }
    assert len(published) >= 5 + 2 + 1
    assert sorted((kind, name) for kind, name, _, _ in handed) == sorted(published)  # each file, once
    for kind, name, file_name, data in handed:
        assert published[(kind, name)].name == file_name and published[(kind, name)].read_bytes() == data


@pytest.mark.parametrize("hook, fails_at", [("on_mix", 1), ("on_file", 2)])
def test_a_failing_hook_stops_the_remix_and_leaves_nothing_behind(song, tmp_path, hook, fails_at):
    """The caller's storing fails (the mix's, or the second file's): the remix stops, nothing is left in the
    folder and no thread of it is still writing."""
    out = tmp_path / "out"
    out.mkdir()
    calls: list[tuple[object, ...]] = []

    def refuses(*args: object) -> None:
        calls.append(args)
        if len(calls) == fails_at:
            raise ConnectionError("the store went away")

    before = set(threading.enumerate())
    with pytest.raises(ConnectionError):
        replay(
            *stems_from_song(song),
            analysis_from_song(song),
            out,
            RemixOptions(style="thrash", seed=1),
            ASSETS,
            separator=SEPARATOR,
            **{hook: refuses},
        )
    time.sleep(0.3)
    assert len(calls) == fails_at and list(out.iterdir()) == []
    assert not [t for t in set(threading.enumerate()) - before if t.name.startswith(("stems", "after-mix"))]
