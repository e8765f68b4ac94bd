"""Lead guitar: the song's main melody, tracked from the separated stems, played as guitar notes.

Melody tracking uses essentia's PredominantPitchMelodia (Salamon & Gomez), which follows the most salient
melodic line in polyphonic audio; it runs at 16 kHz to keep it cheap. The contour becomes notes (semitone
segments of at least ~90 ms), their onsets snap to the felt 16th grid when close, and octaves move into a
lead-guitar register.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import resample_poly

from pipeline.arrange.events import Note
from pipeline.arrange.grid import Bar
from pipeline.types import SAMPLE_RATE

TRACK_RATE = 16000  # one of EqualLoudness' supported rates; melody lives well below 8 kHz
HOP = 128  # 8 ms
MIN_NOTE_S = 0.09
LEAD_LOW, LEAD_HIGH = 55, 86  # G3 .. D6
LEAD_CENTRE = 67


def track_melody(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frame times in s, MIDI pitch per frame or NaN where unvoiced) of the melody in (2, n) or (n,)."""
    import essentia.standard as es

    mono = resample_poly(audio.mean(axis=0) if audio.ndim == 2 else audio, 160, 441).astype(np.float32)
    eq = es.EqualLoudness(sampleRate=TRACK_RATE)(mono)
    pitch_hz, _conf = es.PredominantPitchMelodia(
        sampleRate=TRACK_RATE,
        frameSize=1024,
        hopSize=HOP,
        minFrequency=80.0,
        maxFrequency=1400.0,
        voicingTolerance=1.0,  # keep quieter melody notes (the default drops low, less salient ones)
    )(eq)
    pitch_hz = np.asarray(pitch_hz, dtype=np.float64)
    midi = np.full(pitch_hz.shape, np.nan)
    voiced = pitch_hz > 0
    midi[voiced] = 69.0 + 12.0 * np.log2(pitch_hz[voiced] / 440.0)
    times = np.arange(midi.size) * HOP / TRACK_RATE
    return times, midi


def contour_notes(times: np.ndarray, midi: np.ndarray) -> list[tuple[float, float, int]]:
    """The contour's semitone segments of at least MIN_NOTE_S as (start s, duration s, MIDI pitch)."""
    if midi.size == 0 or np.isnan(midi).all():
        return []
    filled = np.where(np.isnan(midi), 0.0, midi)
    smooth = median_filter(filled, size=7, mode="nearest")
    semis = np.where(np.isnan(midi) | (smooth <= 0), -1, np.round(smooth)).astype(int)
    hop_s = float(times[1] - times[0]) if times.size > 1 else HOP / TRACK_RATE
    edges = np.flatnonzero(np.diff(semis)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [semis.size]])
    raw = [
        (round(float(times[a]), 3), round((b - a) * hop_s, 3), int(semis[a]))
        for a, b in zip(starts, ends, strict=True)
        if semis[a] >= 0
    ]
    return [r for r in raw if r[1] >= MIN_NOTE_S]


def melody_source(vocals: np.ndarray, other: np.ndarray, sung: bool) -> np.ndarray:
    """Mono sum of the stems that carry the tune where no voice does: "other", plus the vocals stem of an
    instrumental (where it holds the centred lead instrument the separator took for a voice)."""
    n = other.shape[-1]
    source = np.atleast_2d(other).mean(axis=0)
    if not sung:
        source = source + np.atleast_2d(vocals)[:, :n].mean(axis=0)
    return source.astype(np.float32)


def song_melody(melody_source: np.ndarray, min_voiced: float = 0.2) -> list[tuple[float, float, int]]:
    """The song's melody as raw notes (see ``contour_notes``), or none when the source holds too little
    melody to follow. Kept in the analysis, so a re-style does not track it again."""
    if melody_source.shape[-1] < SAMPLE_RATE:
        return []
    times, midi = track_melody(melody_source)
    if np.mean(~np.isnan(midi)) < min_voiced:
        return []
    return contour_notes(times, midi)


def melody_to_notes(
    raw: list[tuple[float, float, int]], bars: list[Bar], velocity: float = 0.85
) -> list[Note]:
    """Raw melody notes as lead notes: onsets snapped to the grid, moved into the lead register."""
    if not raw:
        return []
    shift = 12 * round((LEAD_CENTRE - float(np.median([p for _, _, p in raw]))) / 12)
    slots = np.array([t for bar in bars for t in bar.slots])
    notes: list[Note] = []
    for t, dur, pitch in raw:
        p = pitch + shift
        while p < LEAD_LOW:
            p += 12
        while p > LEAD_HIGH:
            p -= 12
        if slots.size:
            nearest = float(slots[np.argmin(np.abs(slots - t))])
            if abs(nearest - t) < 0.05:
                dur, t = dur + (t - nearest), nearest
        notes.append(
            Note(time=float(t), duration=float(max(dur, MIN_NOTE_S)), pitch=int(p), velocity=velocity)
        )
    notes.sort(key=lambda n: n.time)
    for i in range(len(notes) - 1):  # monophonic: a note stops where the next one starts
        if notes[i].time + notes[i].duration > notes[i + 1].time:
            cut = max(0.03, notes[i + 1].time - notes[i].time)
            notes[i] = Note(notes[i].time, cut, notes[i].pitch, notes[i].velocity)
    return notes


SCALE_STEPS = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
MIN_FREE_BARS = 2  # the lead takes over only where the voice rests this long (not between two phrases)


def _slot_index(bars: list[Bar]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Every slot's onset, and for each the (bar position, slot in bar) it belongs to."""
    times, where = [], []
    for b, bar in enumerate(bars):
        for i, t in enumerate(bar.slots):
            times.append(t)
            where.append((b, i))
    return np.asarray(times), where


def _chord_tones(bar: Bar, i: int) -> set[int]:
    root = bar.roots[i]
    third = 3 if (bar.qualities[i] if bar.qualities else "maj") == "min" else 4
    return {root, (root + third) % 12, (root + 7) % 12}


def _in_key(pitch: int, allowed: set[int]) -> int:
    """``pitch`` if its pitch class is allowed, else the nearest allowed pitch (the lower one on a tie)."""
    for step in (0, -1, 1, -2, 2):
        if (pitch + step) % 12 in allowed:
            return pitch + step
    return pitch


def clean_melody(notes: list[Note], bars: list[Bar], key_root: int, scale: str) -> list[Note]:
    """The tracked melody as a guitarist would play it: on the 16th grid and in the key.

    Onsets move to the nearest slot and notes end on one; a note outside the key that is not a tone of the
    chord under it (a tracking slip between two notes) moves to the nearest scale tone; repeated tracking of
    one held note (same pitch, touching) becomes one note; notes shorter than a slot go.
    """
    if not notes or not bars:
        return []
    slot_times, where = _slot_index(bars)
    scale_pcs = {(key_root + s) % 12 for s in SCALE_STEPS.get(scale, SCALE_STEPS["minor"])}
    out: list[Note] = []
    for note in notes:
        k = int(np.argmin(np.abs(slot_times - note.time)))
        end_k = int(np.argmin(np.abs(slot_times - (note.time + note.duration))))
        if end_k <= k:
            continue  # shorter than a slot
        b, i = where[k]
        pitch = note.pitch
        if pitch % 12 not in scale_pcs and pitch % 12 not in _chord_tones(bars[b], i):
            pitch = _in_key(pitch, scale_pcs)
        start = float(slot_times[k])
        end = float(slot_times[end_k]) if end_k < len(slot_times) else bars[-1].end
        if out and out[-1].pitch == pitch and abs(out[-1].time + out[-1].duration - start) < 1e-6:
            prev = out[-1]
            out[-1] = Note(prev.time, end - prev.time, pitch, prev.velocity)
            continue
        if out and out[-1].time + out[-1].duration > start:
            prev = out[-1]
            if start - prev.time <= 0:
                continue
            out[-1] = Note(prev.time, start - prev.time, prev.pitch, prev.velocity)
        out.append(Note(start, end - start, pitch, note.velocity))
    return out


def voice_free_bars(bars: list[Bar], sung: list[bool], hop_s: float = 1.0) -> list[bool]:
    """Per bar: does no voice carry the tune here? Rests shorter than MIN_FREE_BARS bars count as sung."""
    if not sung:
        return [True] * len(bars)
    marks = np.asarray(sung, dtype=bool)
    busy = []
    for bar in bars:
        a = int(bar.start / hop_s)
        b = max(a + 1, int(np.ceil(bar.end / hop_s)))
        busy.append(bool(marks[a:b].any()) if a < marks.size else False)
    free = [not x for x in busy]
    k = 0
    while k < len(free):
        if free[k]:
            j = k
            while j < len(free) and free[j]:
                j += 1
            if j - k < MIN_FREE_BARS:
                for m in range(k, j):
                    free[m] = False
            k = j
        else:
            k += 1
    return free


def harmonise(notes: list[Note], key_root: int, scale: str, steps: int = 2) -> list[Note]:
    """A twin lead: every note moved ``steps`` scale degrees (2 = a diatonic third) up, in the key."""
    degrees = SCALE_STEPS.get(scale, SCALE_STEPS["minor"])
    out = []
    for note in notes:
        rel = (note.pitch - key_root) % 12
        if rel in degrees:
            d = degrees.index(rel) + steps
            octave, d = divmod(d, len(degrees))
            pitch = note.pitch - rel + degrees[d] + 12 * octave
        else:
            pitch = note.pitch + 3
        out.append(Note(note.time, note.duration, pitch, note.velocity * 0.9))
    return out


def arrange_lead(
    melody: list[tuple[float, float, int]],
    bars: list[Bar],
    *,
    key_root: int = 9,
    scale: str = "minor",
    free_bars: list[bool] | None = None,
) -> list[Note]:
    """Lead notes playing the song's ``melody`` (raw notes, ``song_melody``) in the bars no voice sings."""
    if not melody or not bars:
        return []
    free = free_bars if free_bars is not None else [True] * len(bars)
    if not any(free):
        return []
    notes = clean_melody(melody_to_notes(melody, bars), bars, key_root, scale)
    spans = [(bar.start, bar.end) for bar, ok in zip(bars, free, strict=True) if ok]
    starts = np.array([a for a, _ in spans])
    ends = np.array([b for _, b in spans])
    return [n for n in notes if np.any((starts <= n.time + 1e-6) & (n.time < ends))]
