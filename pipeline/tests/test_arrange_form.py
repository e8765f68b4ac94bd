"""The song's form drives the arrangement: section treatments, fills into new sections, the ending, feel."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.arrange import arrange
from pipeline.arrange.form import plan_form
from pipeline.testing.synth import make_song
from pipeline.tests.play_helpers import analysis_from_song
from pipeline.types import RemixOptions, Section


def _sections(*energies: float, labels: str = "") -> list[Section]:
    labels = labels or "ABCDEFGHIJ"[: len(energies)]
    return [Section(8.0 * i, 8.0 * (i + 1), labels[i], e) for i, e in enumerate(energies)]


def test_a_song_is_played_as_intro_verses_choruses_and_an_ending():
    plans = plan_form(_sections(0.6, 0.75, 1.0, 0.75, 1.0, 0.1, labels="IVCVCO"), 0.7, 48.0)
    assert [p.role for p in plans] == ["intro", "verse", "chorus", "verse", "chorus", "outro"]
    assert [p.treatment for p in plans] == ["calm", "groove", "full", "groove", "full", "ending"]


def test_repeated_sections_are_played_alike_and_different_sections_contrast():
    plans = plan_form(_sections(0.95, 0.75, 1.0, 0.72, labels="ABAB"), 0.7, 32.0)
    by_label = {}
    for p in plans:
        by_label.setdefault(p.label, set()).add(p.treatment)
    assert by_label == {"A": {"full"}, "B": {"groove"}}


def test_a_long_song_drops_into_one_breakdown_in_its_second_half():
    plans = plan_form(_sections(0.6, 0.95, 0.75, 1.0, 0.85, 0.98, 1.0, 0.2), 0.7, 64.0)
    breakdowns = [i for i, p in enumerate(plans) if p.treatment == "breakdown"]
    assert len(breakdowns) == 1 and breakdowns[0] >= 4
    assert plans[breakdowns[0]].role == "bridge"


def test_intensity_moves_sections_between_treatments():
    sections = _sections(0.72, 0.9)
    assert [p.treatment for p in plan_form(sections, 0.0, 16.0)] == ["calm", "groove"]
    assert [p.treatment for p in plan_form(sections, 0.7, 16.0)] == ["groove", "full"]
    assert [p.treatment for p in plan_form(sections, 1.0, 16.0)] == ["full", "full"]


@pytest.fixture(scope="module")
def two_part_song():
    return make_song(tempo=100.0, key="E", scale="minor", bars=12, sections=2)


def test_every_new_section_gets_a_fill_and_a_crash(two_part_song):
    arr = arrange(analysis_from_song(two_part_song, energies=(0.75, 1.0)), RemixOptions(seed=1))
    starts = [b for b in arr.bars if b.section_start and b.index > 0]
    assert starts
    for bar in starts:
        before = arr.bars[bar.index - 1]
        assert before.section_end
        last_beat = before.end - (before.end - before.start) / 4
        toms = [h for h in arr.drums if h.role.startswith("tom") and last_beat - 0.01 <= h.time < before.end]
        assert toms, "a fill down the toms in the bar before a new section"
        assert any(h.role == "crash" and abs(h.time - bar.start) < 0.01 for h in arr.drums)


def test_the_song_ends_on_one_held_chord_and_a_last_hit():
    song = make_song(tempo=110.0, key="A", scale="minor", bars=12, sections=3)
    arr = arrange(analysis_from_song(song, energies=(0.9, 1.0, 0.1)), RemixOptions(style="heavy"))
    end_start = song.section_starts[-1]
    assert arr.treatments[-1] == "ending"
    ringing = [s for s in arr.strokes if s.time >= end_start - 0.01]
    assert len(ringing) == 1 and ringing[0].kind == "open" and ringing[0].end >= arr.bars[-1].end - 0.01
    hits_after = [h for h in arr.drums if h.time > end_start + 0.05]
    assert not hits_after, "nothing after the last hit"
    assert {h.role for h in arr.drums if abs(h.time - end_start) < 0.01} >= {"kick", "crash"}


def _snare_beats(arr, song) -> set[float]:
    """Positions of the snare hits in full bars, in song beats within the bar (rounded to 16ths)."""
    beat = 60.0 / song.tempo
    full = [b for b, m in zip(arr.bars, arr.treatments, strict=True) if m == "full" and not b.section_end]
    out = set()
    for bar in full:
        for h in arr.drums:
            if h.role == "snare" and bar.start - 0.01 <= h.time < bar.end - 0.01:
                out.add(round((h.time - bar.start) / beat * 4) / 4)
    return out


@pytest.mark.parametrize(
    ("feel", "snares", "kick_step"),
    [
        ("normal", {1.0, 3.0}, 0.25),  # backbeat on 2 and 4, double kick on the song's 16ths
        ("half", {2.0}, 0.5),  # one snare a bar on 3, the kick on 8ths
        ("double", {0.5, 1.5, 2.5, 3.5}, 0.125),  # the snare on every "and", the kick on 32nds (felt 16ths)
    ],
)
def test_the_feel_sets_the_drum_grid_as_named(feel, snares, kick_step):
    song = make_song(tempo=100.0, key="E", scale="minor", bars=6, sections=1)
    arr = arrange(analysis_from_song(song, energies=(1.0,)), RemixOptions(style="heavy", feel=feel))
    assert arr.feel == feel
    assert _snare_beats(arr, song) == snares
    beat = 60.0 / song.tempo
    bar = next(
        b for b, m in zip(arr.bars, arr.treatments, strict=True) if m == "full" and not b.section_start
    )
    kicks = sorted(
        h.time for h in arr.drums if h.role == "kick" and bar.start - 0.01 <= h.time < bar.end - 0.01
    )
    assert np.median(np.diff(kicks)) / beat == pytest.approx(kick_step, abs=0.02)
