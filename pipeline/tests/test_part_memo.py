"""The part memo: a re-style in the same process hands out the parts every style shares, byte for byte."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.arrange.events import Note
from pipeline.part_memo import MEMO, PartMemo, digest
from pipeline.play import play
from pipeline.testing.synth import make_song
from pipeline.tests.play_helpers import analysis_from_song, stems_from_song
from pipeline.types import SAMPLE_RATE, RemixOptions

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def test_a_digest_tells_apart_values_types_shapes_and_notes():
    a = np.arange(6, dtype=np.float32)
    assert digest("x", a) == digest("x", a.copy())
    assert digest("x", a) != digest("x", a.reshape(2, 3))
    assert digest("x", a) != digest("x", a.astype(np.float64))
    b = a.copy()
    b[3] = np.nextafter(b[3], np.float32(10))
    assert digest("x", a) != digest("x", b)
    assert digest(1, 2) != digest("1", "2") != digest(12)
    assert digest(1.0) != digest(1)
    assert digest((1, 2)) != digest([1, 2])
    note = Note(1.0, 0.5, 60, 0.8)
    assert digest([note]) == digest([Note(1.0, 0.5, 60, 0.8)])
    assert digest([note]) != digest([Note(1.0, 0.5, 60, 0.8, mute=True)])
    with pytest.raises(TypeError):
        digest(object())


def test_a_kept_part_is_handed_out_as_a_fresh_copy_of_what_was_made():
    memo = PartMemo(max_bytes=1 << 20)
    made = []

    def make() -> np.ndarray:
        made.append(1)
        return np.full(1000, 0.5, dtype=np.float32)

    first = memo.part(("part", 1), make)
    first *= 2.0  # a caller scaling its part in place
    again = memo.part(("part", 1), make)
    assert len(made) == 1 and (memo.hits, memo.misses) == (1, 1)
    assert np.all(again == 0.5) and again.flags.writeable
    again[:] = 0.0
    assert np.all(memo.part(("part", 1), make) == 0.5)


def test_the_oldest_parts_go_first_and_a_long_songs_parts_are_never_kept():
    memo = PartMemo(max_bytes=4000, longest_s=500 / SAMPLE_RATE)

    def part(samples: int) -> np.ndarray:
        return np.zeros(samples, dtype=np.float32)

    memo.part(("a",), lambda: part(400))
    memo.part(("b",), lambda: part(400))
    memo.part(("a",), lambda: part(400))  # a is now the newest
    memo.part(("c",), lambda: part(400))  # over 4000 bytes: b, the least recently used, goes
    assert list(memo.keys()) == [digest("a"), digest("c")]
    memo.part(("long",), lambda: part(600))
    memo.part(("stereo",), lambda: part(400).reshape(2, 200))
    assert list(memo.keys()) == [digest("c"), digest("stereo")] and memo.nbytes == 3200  # a went
    memo.make_room_for(500)  # a song the memo would keep: its parts stay
    assert memo.nbytes == 3200
    memo.make_room_for(501)  # a longer one: empty
    assert memo.nbytes == 0


def test_with_no_room_nothing_is_hashed_or_kept():
    memo = PartMemo(max_bytes=0)
    unhashable = object()  # hashing it would raise: the fields are not read at all
    assert memo.part((unhashable,), lambda: np.ones(3, dtype=np.float32)).sum() == 3
    assert memo.nbytes == 0 and (memo.hits, memo.misses) == (0, 0)


@pytest.fixture(scope="module")
def song():
    return make_song(tempo=100.0, key="E", bars=8, sections=2, with_vocals=True, seed=5)


def _take(song, tmp: Path, style: str, stems_recur: bool = True):
    analysis = analysis_from_song(song)
    analysis.has_vocals = False  # an instrumental: a lead guitar plays the tune in every bar
    return play(
        *stems_from_song(song),
        analysis,
        RemixOptions(style=style, seed=3),
        assets_dir=ASSETS,
        out_dir=tmp,
        stems_recur=stems_recur,
    )


def _files(performance) -> dict[str, bytes]:
    files = {f"stems/{name}": path.read_bytes() for name, path in performance.stems.items()}
    files.update({f"midi/{name}": path.read_bytes() for name, path in performance.midi.items()})
    return files


def test_a_restyle_in_the_same_process_reuses_the_shared_parts_and_gives_the_same_files(
    song, tmp_path, part_memo_on
):
    first = _take(song, tmp_path / "heavy", "heavy").finish()  # a twin lead: the tune and its harmony
    assert first.facts["lead_notes"] > 0 and first.facts["lead_harmony_notes"] > 0
    assert MEMO.hits == 0 and MEMO.misses == 4  # the tune, its twin, the vocals' and the harmony's chains
    doom = _take(song, tmp_path / "doom", "doom").finish()  # the same tune, no twin
    assert MEMO.hits == 3  # the tune and both chains
    black = _take(song, tmp_path / "black", "black").finish()  # in double time: its tune sits on a finer grid
    assert MEMO.hits >= 5  # the chains at least
    MEMO.clear()
    MEMO.max_bytes = 0  # every part rendered anew
    for style, reused in (("doom", doom), ("black", black)):
        anew = _take(song, tmp_path / f"{style}-anew", style).finish()
        assert np.array_equal(reused.mix, anew.mix), style
        assert reused.mix.tobytes() == anew.mix.tobytes(), style
        assert _files(reused) == _files(anew), style


def test_a_first_remixs_own_stems_leave_no_chains_behind_only_the_tune(song, tmp_path, part_memo_on):
    """A first remix plays the separator's stems, which no re-style plays again (it plays the stem cache's):
    only the lead's voice (and its twin) is kept."""
    _take(song, tmp_path / "first", "heavy", stems_recur=False).abandon()
    assert MEMO.misses == 2 and len(list(MEMO.keys())) == 2
