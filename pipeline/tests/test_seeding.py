"""The seeding scheme: every part's random numbers come from the take's seed, as takes had them so far."""

from __future__ import annotations

import zlib

import numpy as np

from pipeline.seeding import GENERATORS, STRING_SEED_OFFSETS, part_rng, section_choice, string_seed


def test_each_part_draws_what_it_drew_when_all_parts_were_spawned_together():
    # Takes made before the scheme had one home spawned eight generators at once and took theirs by position.
    spawned = np.random.SeedSequence([3, zlib.crc32(b"heavy")]).spawn(8)
    for part, position in GENERATORS.items():
        expected = np.random.default_rng(spawned[position]).random(4)
        assert np.array_equal(part_rng(3, "heavy", part).random(4), expected), part


def test_parts_styles_and_seeds_each_get_their_own_numbers():
    draws = {part: part_rng(1, "doom", part).random() for part in GENERATORS}
    assert len(set(draws.values())) == len(GENERATORS)
    assert part_rng(1, "doom", "drums").random() != part_rng(1, "heavy", "drums").random()
    assert part_rng(1, "doom", "drums").random() != part_rng(2, "doom", "drums").random()


def test_a_part_gets_the_same_numbers_in_every_run():
    assert np.array_equal(part_rng(7, "black", "bass").random(8), part_rng(7, "black", "bass").random(8))


def test_string_models_are_seeded_apart_from_each_other_at_the_offsets_takes_were_made_with():
    assert STRING_SEED_OFFSETS == {"guitars": 0, "bass": 7, "lead": 13}
    assert [string_seed(5, name) for name in ("guitars", "bass", "lead")] == [5, 12, 18]


def test_sections_with_one_label_and_treatment_play_one_riff():
    chosen = {section_choice(4, "B", "full", 3) for _ in range(3)}
    assert len(chosen) == 1 and 0 <= chosen.pop() < 3
    picks = {section_choice(seed, "B", "full", 3) for seed in range(20)}
    assert picks == {0, 1, 2}  # the seed moves the choice over every riff
