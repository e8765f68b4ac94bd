"""Sections: boundaries near the true ones, repeats recognised, the louder section has more energy."""

from __future__ import annotations

import pytest

from pipeline.analyze import analyze
from pipeline.testing import make_song
from pipeline.tests._analyze_songs import analysis, song


@pytest.mark.parametrize("name", ["e_minor_92", "c_major_128", "fsharp_minor_174", "waltz_150"])
def test_section_boundaries_are_within_a_bar_of_the_true_ones(name: str) -> None:
    result, truth = analysis(name), song(name)
    bar = 60.0 / truth.tempo * truth.beats_per_bar
    found = [s.start for s in result.sections]
    assert len(found) == len(truth.section_starts)
    for true_start, start in zip(truth.section_starts, found, strict=True):
        assert abs(start - true_start) <= bar + 0.05


def test_sections_tile_the_song() -> None:
    result = analysis("fsharp_minor_174")
    assert result.sections[0].start == 0.0
    assert result.sections[-1].end == pytest.approx(result.duration)
    for before, after in zip(result.sections, result.sections[1:], strict=False):
        assert before.end == after.start


def test_a_returning_section_gets_its_earlier_label() -> None:
    assert [s.label for s in analysis("fsharp_minor_174").sections] == ["A", "B", "A"]


def test_the_louder_denser_section_has_more_energy() -> None:
    first, second = analysis("c_major_128").sections
    assert 0.0 <= first.energy < second.energy <= 1.0
    assert second.energy == 1.0


def test_a_song_without_sections_stays_one_section() -> None:
    assert [s.label for s in analysis("bflat_major_110").sections] == ["A"]


def _verse_chorus(seed: int) -> tuple:
    """Quiet verse / loud chorus with other chords, A B A B, 8 bars each, 120 BPM (64 s)."""
    s = make_song(tempo=120, key="A", scale="minor", bars=32, sections=4, seed=seed)
    return s, analyze(s.audio)


@pytest.mark.parametrize("seed", [11, 12])
def test_verse_chorus_verse_chorus_is_found_with_repeats_and_contrast(seed: int) -> None:
    truth, result = _verse_chorus(seed)
    bar = 60.0 / truth.tempo * truth.beats_per_bar
    found = [s.start for s in result.sections]
    assert len(found) == 4
    for true_start, start in zip(truth.section_starts, found, strict=True):
        assert abs(start - true_start) <= bar + 0.05
    assert [s.label for s in result.sections] == ["A", "B", "A", "B"]
    verses, choruses = result.sections[0::2], result.sections[1::2]
    assert max(s.energy for s in verses) <= 0.5  # spread over the song: the quiet part reads quiet
    assert min(s.energy for s in choruses) >= 0.8 and max(s.energy for s in choruses) == 1.0


def test_a_long_one_part_loop_keeps_one_label() -> None:
    loop = make_song(
        tempo=120, key="E", scale="minor", progression=["i", "VI", "III", "VII"], bars=48, seed=7
    )
    result = analyze(loop.audio)
    assert 1 <= len(result.sections) <= 4  # long loops are cut into phrases, never into different parts
    assert {s.label for s in result.sections} == {"A"}
    assert min(s.energy for s in result.sections) >= 0.8


def test_a_short_clip_has_one_or_two_sections() -> None:
    clip = make_song(tempo=100, key="D", scale="major", bars=10, sections=2, seed=8)  # 25 s
    result = analyze(clip.audio)
    assert [s.label for s in result.sections] == ["A", "B"]
    assert abs(result.sections[1].start - clip.section_starts[1]) <= 60.0 / 100 * 4 + 0.05
