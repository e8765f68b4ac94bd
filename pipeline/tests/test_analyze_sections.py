"""Sections: boundaries near the true ones, repeats recognised, the louder section has more energy."""

from __future__ import annotations

import pytest

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
