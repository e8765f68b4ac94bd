"""The listening stage: the musical picture of a song (tempo, beats, bars, key, chords, sections, loudness).

``analyze(audio, stems=...)`` works on the 44.1 kHz mono downmix; the stems, when given, sharpen two things:
kick and bass onsets (drums + bass stems) for the bar phase, harmony without drums and voice (bass + other
stems) for key and chords, and the vocals stem says whether anyone sings. Where a network made the drums and
bass stems (htdemucs, not a signal-processing split of the accompaniment) two more readings are possible, each
behind its own switch, measured apart (README, "Separation"): the beats tracked on the drums stem
(``BEATS_FROM_DRUMS``) and the note the bass plays read off the bass stem alone (``BASS_FROM_BASS_STEM``).
One job per module: features (shared frames), rhythm, meter, tonal, sections, loudness, vocals.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from pipeline.analyze import loudness, meter, rhythm, sections, tonal, vocals
from pipeline.analyze.features import Features, compute_features, spectral_flux
from pipeline.errors import ANALYSIS_FAILED, PipelineError
from pipeline.forked import Aside
from pipeline.separate.catalogue import separates_drums_and_bass
from pipeline.types import LOUDNESS_HOP_S, SAMPLE_RATE, Analysis, Chord, StageProgress, Stems, no_progress

__all__ = ["analyze"]

# Off: measured apart on the 13 shared excerpts with htdemucs stems (README, "Separation"; sound_eval.py),
# each lost whole-mix identifications (drums 8/13, bass 7/13, against 9/13). Kept to measure again.
BEATS_FROM_DRUMS = False
BASS_FROM_BASS_STEM = False
# The drums stem carries the beat when it holds at least this share of the mix's energy; below it (piano,
# strings, ambient pads: what a network leaves in drums is bleed) the beat is tracked on the mix.
DRUMS_MIN_ENERGY_SHARE = 0.05
# Songs up to this long track their beats and tune in forked children beside the rest of the analysis; a
# longer one tracks them here, one after another: the children's working memory beside a 10-minute song's
# analysis took the run from 2.2 to 2.7 GiB (summed over the processes), past the 2.5 GB it must stay within.
TRACK_BESIDE_MAX_S = 8 * 60.0


def analyze(
    audio: np.ndarray, *, stems: Stems | None = None, progress: StageProgress = no_progress
) -> Analysis:
    """Analyse float32 audio of shape (2, n) (or (n,)) at SAMPLE_RATE."""
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    if audio.shape[-1] == 0:
        raise PipelineError(ANALYSIS_FAILED, "There is no audio to analyse.")
    if not np.isfinite(audio).all():  # copy only when there is something to repair (long songs)
        audio = np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0)
    if stems is not None and any(s.shape[-1] != audio.shape[-1] for s in stems.as_dict().values()):
        raise PipelineError(ANALYSIS_FAILED, "The separated parts do not match the song's length.")
    try:
        return _analyze(audio, stems, progress)
    except PipelineError:
        raise
    except Exception as exc:  # an analysis library failing on odd input: tell the listener plainly
        # (a stop from outside, pipeline.errors.Interrupted, is no Exception and passes untouched)
        raise PipelineError(
            ANALYSIS_FAILED, "The song could not be analysed (tempo, key and chords)."
        ) from exc


def _analyze(audio: np.ndarray, stems: Stems | None, progress: StageProgress) -> Analysis:
    sr = SAMPLE_RATE
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str, fraction: float) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 4)
        clock = now
        progress(fraction)

    mono = audio.mean(axis=0)
    sung = True  # without a vocals stem nobody can tell; the remix keeps whatever is there
    sung_windows: list[bool] = []
    vocal_share = None
    melody = None
    # essentia's trackers hold the GIL for seconds: the beats of the mix and the voice (who sings, then the
    # tune) are tracked in forked children (the other core) while the rest of the analysis runs here; a stop
    # or an error ends them
    beside = audio.shape[-1] <= TRACK_BESIDE_MAX_S * sr
    with contextlib.ExitStack() as children:
        mix_beats = children.enter_context(Aside(rhythm.track_beats, mono, beside=beside))
        voice = None
        if stems is not None:
            voice = children.enter_context(Aside(_voice, stems.vocals, stems.other, audio, beside=beside))
        analysis = _analyze_rest(audio, mono, stems, lap, mix_beats.result)
        if voice is not None:
            sung, vocal_share, sung_windows, melody = voice.result()
    lap("voice", 1.0)
    analysis.melody = melody
    analysis.has_vocals = bool(sung)
    analysis.sung = sung_windows
    if vocal_share is not None:
        analysis.extra["vocal_share"] = vocal_share
    analysis.extra["timings"] = timings
    return analysis


def _analyze_rest(
    audio: np.ndarray,
    mono: np.ndarray,
    stems: Stems | None,
    lap: Callable[[str, float], None],
    mix_beats: Callable[[], rhythm.Tracked],
) -> Analysis:
    """Everything but the voice and the melody: features, rhythm, meter, chords, key, sections, loudness.
    ``mix_beats`` gives ``rhythm.track_beats(mono)``."""
    sr = SAMPLE_RATE
    real_drums_and_bass = stems is not None and separates_drums_and_bass(stems.separator.name)
    bass_from_stem = real_drums_and_bass and BASS_FROM_BASS_STEM
    if stems is None:
        features = compute_features(mono, sr)
    else:
        features = compute_features(
            mono,
            sr,
            low_source=_mono_sum(stems.drums, stems.bass),
            harmonic_source=_mono_sum(stems.bass, stems.other),
            bass_source=_mono_sum(stems.bass) if bass_from_stem else None,
        )
    lap("features", 0.25)

    beat_info, beat_source = None, "mix"
    if (
        real_drums_and_bass
        and BEATS_FROM_DRUMS
        and _energy_share(stems.drums, audio) >= DRUMS_MIN_ENERGY_SHARE
    ):
        beat_info, beat_source = _drum_rhythm(_mono_sum(stems.drums), features), "drums"
        if beat_info.is_guess:  # no clear beat in the drums: the mix may still have one
            beat_info, beat_source = None, "mix"
    if beat_info is None:
        beat_info = rhythm.estimate_rhythm(mono, features, tracked=mix_beats)
    lap("rhythm", 0.6)

    bar_info = meter.estimate_meter(features, beat_info.beats)
    lap("meter", 0.65)

    chords = tonal.estimate_chords(features, beat_info.beats)
    key = tonal.estimate_key(features, chords)
    lap("tonal", 0.75)

    song_sections = sections.estimate_sections(features, bar_info.downbeats)
    lap("sections", 0.85)

    lufs, curve = loudness.loudness_and_curve(audio, sr, LOUDNESS_HOP_S)
    lap("loudness", 0.9)

    extra: dict[str, object] = {
        "key_root": key.root,
        "tempo_octave": beat_info.octave,
        "meter_confidence": round(bar_info.confidence, 3),
        "onset_rate": round(_onset_rate(features), 3),
        "beat_strength": [round(float(s), 3) for s in beat_info.beat_strength],
        "chord_spans": len(tonal.merge_chords(chords)),
        "has_vocals_measured": stems is not None,
        "beat_source": beat_source,
        "bass_source": "bass stem" if bass_from_stem else "bass + other" if stems is not None else "mix",
    }
    return Analysis(
        duration=round(features.duration, 4),
        tempo=round(beat_info.tempo, 2),
        tempo_confidence=round(beat_info.confidence, 3),
        tempo_is_guess=beat_info.is_guess,
        beats=[round(float(b), 4) for b in beat_info.beats],
        downbeats=[round(float(b), 4) for b in bar_info.downbeats],
        beats_per_bar=bar_info.beats_per_bar,
        key=key.key,
        scale=key.scale,
        key_strength=round(key.strength, 3),
        chords=[
            Chord(round(c.start, 4), round(c.end, 4), c.label, c.root, c.quality, c.bass) for c in chords
        ],
        sections=song_sections,
        loudness_lufs=lufs,
        has_vocals=True,  # the voice's part (has_vocals, sung, melody) is filled in by _analyze
        loudness_curve=curve,
        extra=extra,
    )


def _voice(
    vocals_stem: np.ndarray, other: np.ndarray, audio: np.ndarray
) -> tuple[bool, float, list[bool], list[tuple[float, float, int]]]:
    """Whether anyone sings (``vocals.has_vocals``: verdict, share, per window), and the tune where no voice
    carries it, for the lead guitar (``arrange.lead.song_melody``): one job, as the tune's source depends on
    the verdict."""
    from pipeline.arrange.lead import melody_source, song_melody

    sung, share, windows = vocals.has_vocals(vocals_stem, other, audio, SAMPLE_RATE)
    return sung, share, windows, song_melody(melody_source(vocals_stem, other, sung))


def _mono_sum(*parts: np.ndarray) -> np.ndarray:
    """Mono downmix of the sum of stereo parts, built in one buffer (no stereo-sized temporaries)."""
    out = np.zeros(parts[0].shape[-1], dtype=np.float32)
    for part in parts:
        for channel in np.atleast_2d(part):
            out += channel
    out *= np.float32(1.0 / np.atleast_2d(parts[0]).shape[0])
    return out


def _drum_rhythm(drums: np.ndarray, features: Features) -> rhythm.Rhythm:
    """Beats tracked on the mono drums stem, placed on the drums' own onsets."""
    (onset,) = spectral_flux(drums, features.sample_rate)
    return rhythm.estimate_rhythm(drums, replace(features, onset=onset))


def _energy_share(part: np.ndarray, audio: np.ndarray) -> float:
    """The energy of a stereo ``part`` as a share of the whole song's (0 for a silent song)."""
    total = float(np.einsum("ij,ij->", audio, audio, dtype=np.float64))
    return float(np.einsum("ij,ij->", part, part, dtype=np.float64)) / total if total > 0 else 0.0


def _onset_rate(features: Features) -> float:
    """Onsets per second: envelope peaks that stand out from their neighbourhood, at least 50 ms apart."""
    env = features.onset
    if len(env) < 3 or not env.any():
        return 0.0
    threshold = float(np.median(env) + 2.0 * np.median(np.abs(env - np.median(env))))
    peaks = np.nonzero((env[1:-1] > env[:-2]) & (env[1:-1] >= env[2:]) & (env[1:-1] > threshold))[0] + 1
    gap = int(0.05 * features.onset_rate)
    kept = 0
    last = -gap
    for p in peaks:
        if p - last >= gap:
            kept += 1
            last = p
    return kept / features.duration if features.duration > 0 else 0.0
