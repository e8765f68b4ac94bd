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


def melody_to_notes(
    times: np.ndarray, midi: np.ndarray, bars: list[Bar], velocity: float = 0.85
) -> list[Note]:
    """Semitone segments of the contour as notes, onsets snapped to the grid, moved into lead register."""
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
        (times[a], (b - a) * hop_s, int(semis[a])) for a, b in zip(starts, ends, strict=True) if semis[a] >= 0
    ]
    raw = [r for r in raw if r[1] >= MIN_NOTE_S]
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


def arrange_lead(melody_source: np.ndarray, bars: list[Bar], min_voiced: float = 0.2) -> list[Note]:
    """Lead notes for a stem mix, or none when it holds too little melody to follow."""
    if melody_source.shape[-1] < SAMPLE_RATE:
        return []
    times, midi = track_melody(melody_source)
    if np.mean(~np.isnan(midi)) < min_voiced:
        return []
    return melody_to_notes(times, midi, bars)
