"""A long song's vocals and "other" stems are freed once the parts made from them are rendered, whoever
passes them to play: the band and the master then run without them (issue 29's memory rule)."""

from __future__ import annotations

import weakref
from pathlib import Path

import numpy as np
import pytest

from pipeline import FileStemCache, RemixOptions, metalize, replay
from pipeline.paths import DEFAULT_ASSETS_DIR as ASSETS
from pipeline.play import play
from pipeline.testing.synth import make_song, write_song
from pipeline.tests.play_helpers import analysis_from_song, stems_from_song
from pipeline.types import SeparatorInfo


class Watch:
    """Weak references to the stems handed over; each progress report notes how many are still alive."""

    def __init__(self) -> None:
        self.refs: list[weakref.ref[np.ndarray]] = []
        self.seen: list[tuple[str, float, int]] = []

    def hold(self, *stems: np.ndarray) -> None:
        self.refs += [weakref.ref(x) for x in stems]

    def report(self, stage: str, at: float) -> None:
        self.seen.append((stage, at, sum(ref() is not None for ref in self.refs)))

    def alive(self, stage: str) -> list[int]:
        return [alive for seen, _at, alive in self.seen if seen == stage]


@pytest.fixture(scope="module")
def song():  # type: ignore[no-untyped-def]
    return make_song(tempo=130.0, key="E", scale="minor", bars=4, with_vocals=True, seed=12)


def test_play_lets_the_stems_go_before_the_band_renders(song, tmp_path: Path):
    watch = Watch()
    held = dict(zip(("vocals", "other"), stems_from_song(song), strict=True))
    watch.hold(*held.values())
    perf = play(
        held.pop("vocals"),
        held.pop("other"),
        analysis_from_song(song),
        RemixOptions(style="heavy"),
        assets_dir=ASSETS,
        out_dir=tmp_path,
        on_stage=watch.report,
    )
    assert perf.mix.shape == (2, song.audio.shape[1])
    assert ("rendering", 0.0, 2) in watch.seen  # held while the parts made from them are rendered
    # gone from the drums on (reported at 0.15, once the voice and the harmony are taken)
    assert [alive for stage, at, alive in watch.seen if stage == "rendering" and at >= 0.15] == [0, 0, 0, 0]
    assert set(watch.alive("mastering")) == {0}


def test_replay_frees_the_stems_it_is_given(song, tmp_path: Path):
    watch = Watch()
    held = dict(zip(("vocals", "other"), stems_from_song(song), strict=True))
    watch.hold(*held.values())
    replay(
        held.pop("vocals"),
        held.pop("other"),
        analysis_from_song(song),
        tmp_path,
        RemixOptions(style="doom"),
        on_progress=watch.report,
        separator=SeparatorInfo("dsp:hpss-centre", "test", cached=True),
    )
    assert watch.alive("rendering")[0] == 2
    assert set(watch.alive("mastering")) == {0}


def test_metalize_frees_the_stems_it_separated_and_those_it_found_in_the_cache(
    song, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import pipeline.separate as separating

    path = write_song(tmp_path / "song.flac", song)
    watch = Watch()
    separate, get = separating.separate, FileStemCache.get

    def watched_separate(*args, **kwargs):  # type: ignore[no-untyped-def]
        stems = separate(*args, **kwargs)
        watch.hold(stems.vocals, stems.other)
        return stems

    def watched_get(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        cached = get(self, *args, **kwargs)
        if cached is not None:
            watch.hold(cached.stems["vocals"], cached.stems["other"])
        return cached

    monkeypatch.setattr(separating, "separate", watched_separate)
    monkeypatch.setattr(FileStemCache, "get", watched_get)
    for style in ("heavy", "doom"):  # separated, then played from the cache
        watch.refs.clear()
        watch.seen.clear()
        options = RemixOptions(style=style, separator="dsp", seed=2)
        result = metalize(
            path, tmp_path / style, options, cache_dir=tmp_path / "cache", on_progress=watch.report
        )
        assert result.separator.cached == (style == "doom")
        assert len(watch.refs) == 2
        assert watch.alive("rendering")[0] == 2
        assert set(watch.alive("mastering")) == {0}
