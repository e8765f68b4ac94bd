"""How a take's seed becomes every random number of the take: one scheme, so the same options give the same
remix byte for byte, and no part's numbers move when another part is added or changed.

Every part draws from its own source, fixed by the part's name, never by the order parts are made in:

- the players (drum and guitar humanisation, the bass's feel) and the drum kit's choice of samples draw from
  generators spawned from ``SeedSequence([seed, crc32(style)])``, each at the fixed spawn position in
  ``GENERATORS``;
- the string models (rhythm guitars, bass, lead) take an integer seed, the take's seed plus the
  instrument's offset in ``STRING_SEED_OFFSETS``: a string model seeds a generator per note from it (with the
  note's pitch and take), so a note sounds alike wherever it falls. The rhythm guitars derive their sides
  and double-tracked takes from theirs (``render.guitar``);
- which of a style's riffs a section plays is a hash of the seed, the section's label and its treatment
  (``section_choice``), so the sections that share a label play one riff.

The positions and offsets are what takes made so far were played with: changing one changes every take.
"""

from __future__ import annotations

import zlib

import numpy as np

# part -> its position among the generators spawned from the seed (4, 5 and 7 are free).
GENERATORS = {"drums": 0, "guitar_left": 1, "guitar_right": 2, "bass": 3, "drum_kit": 6}
# instrument -> its string model's seed, as an offset from the take's seed.
STRING_SEED_OFFSETS = {"guitars": 0, "bass": 7, "lead": 13}


def part_rng(seed: int, style: str, part: str) -> np.random.Generator:
    """The generator of one part (a key of ``GENERATORS``) in the take of ``seed`` in ``style``."""
    entropy = [int(seed) & 0xFFFFFFFF, zlib.crc32(style.encode())]
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(GENERATORS[part],)))


def section_choice(seed: int, label: str, treatment: str, count: int) -> int:
    """Which of ``count`` riffs the sections labelled ``label`` play with ``treatment`` in this take."""
    return zlib.crc32(f"{seed}:{label}:{treatment}".encode()) % count


def string_seed(seed: int, instrument: str) -> int:
    """The seed of an instrument's string model (a key of ``STRING_SEED_OFFSETS``) in the take of ``seed``."""
    return int(seed) + STRING_SEED_OFFSETS[instrument]
