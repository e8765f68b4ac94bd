"""Synthetic songs with known musical facts, rendered from notes, for tests across the project.

A song is a grid of bars in one key: one chord per bar (from roman numerals, cycling), a bass line on the
chord roots, a strummed guitar/pad part with real harmonics (so chroma is clear), drums on the grid and
optionally a vocal-like melody (formant-filtered saw with vibrato, centred). With ``sections > 1`` the song
alternates between two section types, A and B, which differ in progression, timbre and energy (B is louder,
brighter and denser), so the true boundaries are known. The four parts are also returned as stems (vocals,
drums, bass, other) that sum to the mix. Everything is deterministic from ``seed``.

Synthesis uses wavetables (one gather per sample per voice), so a 30 s song renders in well under a second.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

STEM_NAMES = ("vocals", "drums", "bass", "other")

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_ENHARMONIC = {"DB": 1, "EB": 3, "GB": 6, "AB": 8, "BB": 10, "CB": 11, "FB": 4, "E#": 5, "B#": 0}
_SCALE_STEPS = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7}
# Section A and B progressions when none is given (B is also used for B sections of a given one). They
# establish the key: the tonic recurs and minor keys use the harmonic-minor V, as a listener would expect.
_DEFAULT_PROGRESSIONS = {
    "minor": (("i", "VI", "iv", "V"), ("i", "VII", "VI", "V")),
    "major": (("I", "vi", "IV", "V"), ("I", "IV", "ii", "V")),
}
_TABLE_SIZE = 4096
_VOWEL_FORMANTS = {  # (centre Hz, bandwidth Hz, gain)
    "a": ((800, 80, 1.0), (1150, 90, 0.5), (2900, 120, 0.25)),
    "e": ((400, 60, 1.0), (1600, 80, 0.35), (2700, 120, 0.3)),
    "o": ((450, 70, 1.0), (800, 80, 0.45), (2830, 100, 0.12)),
}


@dataclass
class SynthSong:
    """A rendered song and the truth about it."""

    audio: np.ndarray  # float32 (2, n) at sample_rate
    sample_rate: int
    tempo: float
    beats: list[float]  # true beat times (s)
    downbeats: list[float]
    beats_per_bar: int
    key: str  # "A"
    scale: str  # "minor" / "major"
    chords: list[tuple[float, float, int, str]]  # (start, end, root pitch class, "maj"/"min") per bar
    section_starts: list[float]  # true section boundaries (s), first is 0.0
    # The instrumental lead melody (with ``melody=True``): (start, end, MIDI pitch) of every note.
    melody: list[tuple[float, float, int]] = field(default_factory=list)
    # The parts that sum to ``audio`` (same gain): "vocals", "drums", "bass", "other", each float32 (2, n).
    stems: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.audio.shape[1] / self.sample_rate


def pitch_class(name: str) -> int:
    """Pitch class 0..11 of a note name such as "A", "F#" or "Bb"."""
    upper = name.strip().upper()
    if upper in _ENHARMONIC:
        return _ENHARMONIC[upper]
    if upper in NOTE_NAMES:
        return NOTE_NAMES.index(upper)
    raise ValueError(f"Unknown note name {name!r}")


def parse_numeral(numeral: str, key: str, scale: str) -> tuple[int, str]:
    """Root pitch class and quality of a roman numeral chord in a key: "VI" in A minor -> (5, "maj").

    Upper case is a major triad, lower case a minor one; a leading "b" or "#" alters the scale degree.
    """
    match = re.fullmatch(r"([b#]*)([ivIV]+)", numeral.strip())
    if not match or match.group(2).lower() not in _ROMAN:
        raise ValueError(f"Unknown roman numeral {numeral!r}")
    accidentals, roman = match.groups()
    degree = _ROMAN[roman.lower()] - 1
    shift = accidentals.count("#") - accidentals.count("b")
    root = (pitch_class(key) + _SCALE_STEPS[scale][degree] + shift) % 12
    return root, ("maj" if roman.isupper() else "min")


@functools.lru_cache(maxsize=16)
def _wavetable(kind: str) -> np.ndarray:
    """One cycle of a waveform made of harmonics; cached."""
    k = np.arange(1, 41, dtype=np.float64)
    weights = {
        "dull": k**-2.0 * (k <= 8),
        "bright": k**-1.0 * (k <= 14),
        "bass": k**-1.6 * (k <= 8),
        "saw": k**-1.0 * (k <= 24),
    }[kind]
    phase = np.arange(_TABLE_SIZE) / _TABLE_SIZE
    table = (weights[:, None] * np.sin(2 * np.pi * k[:, None] * phase[None, :])).sum(axis=0)
    return (table / np.abs(table).max()).astype(np.float32)


def _osc(kind: str, freq: np.ndarray | float, n: int, sr: int) -> np.ndarray:
    """Wavetable oscillator; ``freq`` is a constant or a per-sample array (for vibrato)."""
    if np.ndim(freq) == 0:
        phase = np.arange(n, dtype=np.float64) * (float(freq) * _TABLE_SIZE / sr)
    else:
        phase = np.cumsum(np.asarray(freq, dtype=np.float64) * (_TABLE_SIZE / sr))
    return _wavetable(kind)[phase.astype(np.int64) & (_TABLE_SIZE - 1)]


def _midi_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def _add(buf: np.ndarray, start: int, sound: np.ndarray) -> None:
    """Mix ``sound`` into ``buf`` (channels, n) or (n,) from ``start``, clipped to the buffer."""
    end = min(buf.shape[-1], start + sound.shape[-1])
    if end > start >= 0:
        buf[..., start:end] += sound[..., : end - start]


def _decay(n: int, sr: int, seconds: float) -> np.ndarray:
    return np.exp(-np.arange(n, dtype=np.float32) / (seconds * sr))


def _fade(env: np.ndarray, sr: int, attack: float = 0.005, release: float = 0.02) -> np.ndarray:
    a, r = max(1, int(attack * sr)), max(1, int(release * sr))
    env = env.copy()
    env[:a] *= np.linspace(0.0, 1.0, a, dtype=np.float32)[: len(env)]
    env[-r:] *= np.linspace(1.0, 0.0, min(r, len(env)), dtype=np.float32)
    return env


def _drum_kit(sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Synthetic kick, snare, hat and crash, made once per song."""
    t = np.arange(int(0.35 * sr)) / sr
    sweep = 45.0 + 85.0 * np.exp(-t / 0.03)
    kick = np.sin(2 * np.pi * np.cumsum(sweep) / sr) * np.exp(-t / 0.12)
    kick[: int(0.003 * sr)] += rng.uniform(-0.5, 0.5, int(0.003 * sr))
    t = np.arange(int(0.25 * sr)) / sr
    noise = signal.sosfilt(
        signal.butter(2, [1200, 7000], "bandpass", fs=sr, output="sos"), rng.standard_normal(len(t))
    )
    snare = 0.9 * noise * np.exp(-t / 0.06) + 0.5 * np.sin(2 * np.pi * 185 * t) * np.exp(-t / 0.04)
    t = np.arange(int(0.08 * sr)) / sr
    hat = signal.sosfilt(signal.butter(4, 7000, "highpass", fs=sr, output="sos"), rng.standard_normal(len(t)))
    hat = hat * np.exp(-t / 0.015)
    t = np.arange(int(1.5 * sr)) / sr
    crash = signal.sosfilt(
        signal.butter(2, 4000, "highpass", fs=sr, output="sos"), rng.standard_normal(len(t))
    )
    crash = crash * np.exp(-t / 0.5)
    kit = {"kick": kick, "snare": snare, "hat": hat, "crash": crash}
    return {name: (s / np.abs(s).max()).astype(np.float32) for name, s in kit.items()}


def _vocal_note(midi: int, n: int, sr: int, vowel: str, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    depth = np.clip((t - 0.15) / 0.2, 0.0, 1.0) * 0.3  # vibrato in semitones, after a plain onset
    freq = _midi_hz(midi) * 2.0 ** (depth * np.sin(2 * np.pi * 5.5 * t + rng.uniform(0, 2 * np.pi)) / 12.0)
    saw = _osc("saw", freq, n, sr)
    out = np.zeros(n, dtype=np.float64)
    for centre, bandwidth, gain in _VOWEL_FORMANTS[vowel]:
        b, a = signal.iirpeak(centre, centre / bandwidth, fs=sr)
        out += gain * signal.lfilter(b, a, saw)
    env = _fade(np.ones(n, dtype=np.float32), sr, attack=0.03, release=0.06)
    return (out / (np.abs(out).max() + 1e-9) * env).astype(np.float32)


def make_song(
    *,
    tempo: float = 120.0,
    key: str = "A",
    scale: str = "minor",
    progression: Sequence[str] | None = None,
    bars: int = 8,
    beats_per_bar: int = 4,
    sections: int = 1,
    with_drums: bool = True,
    with_vocals: bool = False,
    melody: bool = False,
    chords_per_bar: int = 1,
    section_levels: tuple[float, float] = (0.6, 1.0),
    seed: int = 0,
    sample_rate: int = 44100,
) -> SynthSong:
    """Render a song of ``bars`` bars at ``tempo`` with ``chords_per_bar`` chords per bar from
    ``progression`` (cycling).

    ``progression`` holds roman numerals relative to the key ("i", "VI", "bVII"); by default a common
    progression for the scale. With ``sections > 1`` the bars are split evenly into sections alternating
    A, B, A, ...; B sections use a second progression and are louder, brighter and denser
    (``section_levels``: the A and B levels). ``melody`` adds an instrumental lead line (a bright, centred
    synth in the "other" stem, chord tones and scale steps in 8ths and quarters) whose notes are returned.
    """
    if chords_per_bar < 1 or beats_per_bar % chords_per_bar:
        raise ValueError("chords_per_bar must divide beats_per_bar")
    if scale not in _SCALE_STEPS:
        raise ValueError("scale must be 'major' or 'minor'")
    if bars < 1 or beats_per_bar < 2 or not 1 <= sections <= bars:
        raise ValueError("need bars >= 1, beats_per_bar >= 2 and 1 <= sections <= bars")
    rng = np.random.default_rng(seed)
    vocal_rng = np.random.default_rng([seed, 1])  # own stream: adding vocals leaves the band unchanged
    melody_rng = np.random.default_rng([seed, 2])
    melody_notes: list[tuple[float, float, int]] = []
    sr = sample_rate
    key_pc = pitch_class(key)
    prog_a, prog_b = _DEFAULT_PROGRESSIONS[scale]
    if progression is not None:
        prog_a = tuple(progression)
    beat_len = 60.0 / tempo
    bar_len = beat_len * beats_per_bar
    n = int(round((bars * bar_len + 1.0) * sr))  # one second of ring-out after the last bar
    stems = {name: np.zeros((2, n), dtype=np.float32) for name in STEM_NAMES}
    section_bars = [round(i * bars / sections) for i in range(sections)]
    kit = _drum_kit(sr, rng) if with_drums else {}

    beats: list[float] = []
    downbeats: list[float] = []
    chords: list[tuple[float, float, int, str]] = []
    section_index = -1
    bar_in_section = 0
    for bar in range(bars):
        if section_index + 1 < sections and bar == section_bars[section_index + 1]:
            section_index += 1
            bar_in_section = 0
        variant_b = section_index % 2 == 1
        prog = prog_b if variant_b else prog_a
        t0 = bar * bar_len
        downbeats.append(t0)
        beats.extend(t0 + i * beat_len for i in range(beats_per_bar))
        level = section_levels[1] if variant_b else section_levels[0]
        if bar == section_bars[section_index] and section_index > 0 and with_drums:
            _add(stems["drums"], int(t0 * sr), 0.25 * level * np.stack([kit["crash"], kit["crash"]]))
        span = beats_per_bar // chords_per_bar
        for part in range(chords_per_bar):
            numeral = prog[(bar_in_section * chords_per_bar + part) % len(prog)]
            root, quality = parse_numeral(numeral, key, scale)
            start = t0 + part * span * beat_len
            chords.append((start, start + span * beat_len, root, quality))
            _render_bar(stems, sr, rng, start, beat_len, span, root, quality, variant_b, level, kit)
            if melody:
                melody_notes += _render_melody(
                    stems["other"], sr, melody_rng, start, beat_len, span, key_pc, scale, root, quality, level
                )
        bar_in_section += 1
        if with_vocals:
            _render_vocal_bar(
                stems["vocals"],
                sr,
                vocal_rng,
                t0,
                beat_len,
                beats_per_bar,
                key_pc,
                scale,
                root,
                quality,
                level,
            )

    mix = stems["vocals"] + stems["drums"] + stems["bass"] + stems["other"]
    peak = float(np.abs(mix).max())
    gain = 0.89 / peak if peak > 0 else 1.0
    mix *= gain
    for stem in stems.values():
        stem *= gain
    return SynthSong(
        audio=mix,
        sample_rate=sr,
        tempo=float(tempo),
        beats=beats,
        downbeats=downbeats,
        beats_per_bar=beats_per_bar,
        key=NOTE_NAMES[key_pc],
        scale=scale,
        chords=chords,
        section_starts=[section_bars[i] * bar_len for i in range(sections)],
        stems=stems,
        melody=melody_notes,
    )


def make_pad_song(
    *,
    key: str = "D",
    scale: str = "minor",
    progression: Sequence[str] = ("i", "VI", "III", "VII", "iv", "i"),
    chord_seconds: Sequence[float] = (4.6, 3.1, 5.4, 3.8, 4.9, 6.2),
    levels_db: tuple[float, float] = (-20.0, 0.0),
    seed: int = 0,
    sample_rate: int = 44100,
) -> SynthSong:
    """A song in free time: slow pad chords of uneven lengths (no beat, no drums), swelling in on each chord
    and growing from ``levels_db[0]`` to ``levels_db[1]`` (dB, a linear ramp over the song) before peak
    normalisation to -12 dBFS: an ambient or rubato song, quiet and beatless. Its ``beats`` are empty and its
    ``tempo`` 0 (it has none); ``chords`` hold the true changes. Everything is in the "other" stem."""
    if len(chord_seconds) != len(progression):
        raise ValueError("one length per chord")
    rng = np.random.default_rng(seed)
    sr = sample_rate
    duration = float(sum(chord_seconds)) + 1.5
    n = int(duration * sr)
    other = np.zeros(n, dtype=np.float32)
    chords: list[tuple[float, float, int, str]] = []
    t = 0.0
    for numeral, length in zip(progression, chord_seconds, strict=True):
        root, quality = parse_numeral(numeral, key, scale)
        chords.append((t, t + length, root, quality))
        m = int((length + 1.5) * sr)  # each chord rings into the next
        env = np.minimum(np.arange(m) / (0.8 * sr), 1.0) * np.exp(-np.arange(m) / (3.0 * sr))
        base = 50 + (root - 2) % 12
        third = 3 if quality == "min" else 4
        pad = np.zeros(m, dtype=np.float32)
        for midi in (base - 12, base, base + third, base + 7, base + 12):
            detune = 1.0 + rng.uniform(-0.002, 0.002)
            pad += _osc("dull", _midi_hz(midi) * detune, m, sr)
        _add(other, int(t * sr), _fade((pad * env).astype(np.float32), sr, release=0.3))
        t += length
    ramp_db = np.linspace(levels_db[0], levels_db[1], n)
    other *= (10.0 ** (ramp_db / 20.0)).astype(np.float32)
    other *= np.float32(0.25 / max(float(np.abs(other).max()), 1e-9))
    audio = np.stack([other, 0.92 * other])
    silent = np.zeros_like(audio)
    return SynthSong(
        audio=audio,
        sample_rate=sr,
        tempo=0.0,
        beats=[],
        downbeats=[],
        beats_per_bar=4,
        key=NOTE_NAMES[pitch_class(key)],
        scale=scale,
        chords=chords,
        section_starts=[0.0],
        stems={"vocals": silent, "drums": silent.copy(), "bass": silent.copy(), "other": audio.copy()},
    )


def _render_bar(
    stems: dict[str, np.ndarray],
    sr: int,
    rng: np.random.Generator,
    t0: float,
    beat_len: float,
    bpb: int,
    root: int,
    quality: str,
    variant_b: bool,
    level: float,
    kit: dict[str, np.ndarray],
) -> None:
    """Bass, guitar/pad chord and drums for one bar, each into its stem."""
    bar_len = beat_len * bpb
    # Guitar/pad: triad plus octave, voiced between E3 and D#5. A: one long strum; B: a bright strum per beat.
    base = 52 + (root - 4) % 12
    third = 3 if quality == "min" else 4
    notes = (base, base + third, base + 7, base + 12 + third)
    strums = [(i * beat_len, beat_len) for i in range(bpb)] if variant_b else [(0.0, bar_len)]
    for offset, length in strums:
        m = int(length * sr)
        accent = 1.0 if offset == 0.0 else 0.75
        chord = np.zeros(m, dtype=np.float32)
        for j, midi in enumerate(notes):
            f = _midi_hz(midi)
            voice = 0.55 * _osc("bright", f, m, sr) * _decay(m, sr, 0.25) + _osc("dull", f, m, sr) * _decay(
                m, sr, 1.2 if not variant_b else 0.5
            )
            delay = int(j * 0.008 * sr)  # strum
            chord[delay:] += voice[: m - delay]
        chord = _fade(chord, sr) * (0.22 * level * accent)
        start = int((t0 + offset) * sr)
        pan = (0.9, 0.6) if not variant_b else (0.75, 0.75)
        _add(stems["other"], start, np.stack([pan[0] * chord, pan[1] * chord]))
        if variant_b:  # doubled part, other side, slightly detuned
            m2 = _fade(_osc("bright", _midi_hz(base) * 1.003, m, sr) * _decay(m, sr, 0.4), sr)
            _add(stems["other"], start, np.stack([0.3 * m2, 0.6 * m2]) * (0.22 * level * accent))
    # Bass on the root, A1..G#2: quarter notes in A, eighths in B.
    step = beat_len / 2 if variant_b else beat_len
    f = _midi_hz(33 + (root - 9) % 12)
    m = int(step * sr)
    for i in range(int(round(bar_len / step))):
        accent = 1.0 if i == 0 else 0.8
        note = _fade(_osc("bass", f, m, sr) * _decay(m, sr, 0.5), sr) * (0.25 * level * accent)
        _add(stems["bass"], int((t0 + i * step) * sr), np.stack([note, note]))
    if not kit:
        return
    # Drums: kick on 1 (and 3 in even meters), snare on the other strong beats, hats on 8ths or 16ths.
    for beat in range(bpb):
        at = int((t0 + beat * beat_len) * sr)
        vel = level * rng.uniform(0.9, 1.0)
        if beat == 0 or (bpb % 2 == 0 and beat == bpb // 2):
            _add(
                stems["drums"],
                at,
                np.stack([kit["kick"], kit["kick"]]) * (0.9 * vel * (1.0 if beat == 0 else 0.85)),
            )
        elif bpb % 2 == 0 and beat % 2 == 1:
            _add(stems["drums"], at, np.stack([kit["snare"], kit["snare"]]) * (0.45 * vel))
        else:  # odd meters: lighter snare on the weak beats
            _add(stems["drums"], at, np.stack([kit["snare"], kit["snare"]]) * (0.25 * vel))
        if variant_b and bpb % 2 == 0 and beat == bpb - 1:  # pickup kick before the next bar
            _add(
                stems["drums"],
                at + int(beat_len * sr / 2),
                np.stack([kit["kick"], kit["kick"]]) * (0.6 * vel),
            )
    subdivisions = 4 if variant_b else 2
    for i in range(bpb * subdivisions):
        at = int((t0 + i * beat_len / subdivisions) * sr)
        vel = level * (0.16 if i % subdivisions == 0 else 0.1) * rng.uniform(0.8, 1.0)
        _add(stems["drums"], at, np.stack([0.7 * kit["hat"], kit["hat"]]) * vel)


def _render_vocal_bar(
    out: np.ndarray,
    sr: int,
    rng: np.random.Generator,
    t0: float,
    beat_len: float,
    bpb: int,
    key_pc: int,
    scale: str,
    root: int,
    quality: str,
    level: float,
) -> None:
    """A sung line for one bar: chord tones and scale steps, one note per beat with rests, centred."""
    chord_tones = [root, (root + (3 if quality == "min" else 4)) % 12, (root + 7) % 12]
    scale_tones = [(key_pc + s) % 12 for s in _SCALE_STEPS[scale]]
    for beat in range(bpb):
        if beat > 0 and rng.random() < 0.2:
            continue
        pcs = chord_tones if beat == 0 or rng.random() < 0.7 else scale_tones
        pc = int(rng.choice(pcs))
        midi = 60 + (pc - 0) % 12  # C4..B4
        length = beat_len * (2 if beat + 1 < bpb and rng.random() < 0.3 else 1) * 0.95
        m = int(length * sr)
        note = _vocal_note(midi, m, sr, str(rng.choice(list(_VOWEL_FORMANTS))), rng) * (0.27 * level)
        _add(out, int((t0 + beat * beat_len) * sr), np.stack([note, note]))


def _render_melody(
    out: np.ndarray,
    sr: int,
    rng: np.random.Generator,
    t0: float,
    beat_len: float,
    beats: int,
    key_pc: int,
    scale: str,
    root: int,
    quality: str,
    level: float,
) -> list[tuple[float, float, int]]:
    """An instrumental lead line over one chord: quarters and 8ths, mostly chord tones, C5..B5, centred."""
    chord_tones = [root, (root + (3 if quality == "min" else 4)) % 12, (root + 7) % 12]
    scale_tones = [(key_pc + s) % 12 for s in _SCALE_STEPS[scale]]
    notes = []
    t = 0.0
    while t < beats * beat_len - 1e-6:
        length = beat_len if rng.random() < 0.6 else beat_len / 2
        length = min(length, beats * beat_len - t)
        pcs = chord_tones if t == 0.0 or rng.random() < 0.7 else scale_tones
        midi = 72 + int(rng.choice(pcs))
        m = int(length * sr * 0.92)
        tt = np.arange(m) / sr
        freq = _midi_hz(midi) * 2.0 ** (
            0.15 * np.clip((tt - 0.1) / 0.2, 0, 1) * np.sin(2 * np.pi * 5.5 * tt) / 12
        )
        tone = _fade(_osc("saw", freq, m, sr) * (0.6 + 0.4 * _decay(m, sr, 0.3)), sr, 0.01, 0.03)
        _add(out, int((t0 + t) * sr), np.stack([tone, tone]) * (0.2 * level))
        notes.append((t0 + t, t0 + t + length, midi))
        t += length
    return notes


def write_song(path: Path, song: SynthSong) -> Path:
    """Write ``song`` to ``path`` in the format its suffix names (wav/flac: soundfile, others: ffmpeg)."""
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    data = song.audio.T
    if suffix in ("wav", "flac"):
        sf.write(path, data, song.sample_rate, subtype="PCM_16")
        return path
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise RuntimeError("ffmpeg is needed to write ." + suffix)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "song.wav"
        sf.write(wav, data, song.sample_rate, subtype="PCM_16")
        subprocess.run(
            [ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-i", str(wav), str(path)],
            check=True,
            capture_output=True,
        )
    return path
