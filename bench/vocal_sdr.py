"""Vocal separation quality of every separator available here, on mixtures whose true vocal is known.

    .venv/bin/python bench/vocal_sdr.py [--pair MIX.flac INSTRUMENTAL.flac ...] [--models-dir models]

Built-in mixtures (always): a synthetic band (pipeline.testing.synth, drums + bass + chords) with a
separately synthesised vocal line added at the centre: a formant-filtered sawtooth melody with vibrato,
breath noise and consonant-like noise bursts; when installed, a spoken/"sung" espeak-ng voice and Festival's
voice (recorded diphones, pipeline.testing.voice). ``--pair`` adds real mixtures: the vocal is taken as
MIX - INSTRUMENTAL (e.g. ../shared/music/E17_synthvocal_festival_over_E03.flac
../shared/music/E03_drascula_track1.flac).

Prints SDR (10 log10 |s|^2 / |s - s_hat|^2 over both channels, as in the MDX challenge) and SI-SDR of the
vocal stem, with the mixture itself as the do-nothing baseline.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import signal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.audio_io import decode  # noqa: E402
from pipeline.errors import PipelineError  # noqa: E402
from pipeline.paths import DEFAULT_MODELS_DIR  # noqa: E402
from pipeline.separate import separate  # noqa: E402
from pipeline.testing.synth import make_song  # noqa: E402
from pipeline.testing.voice import festival_available, spoken_line  # noqa: E402
from pipeline.types import SAMPLE_RATE  # noqa: E402

SR = SAMPLE_RATE


def sdr(ref: np.ndarray, est: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref**2) / (np.sum((ref - est) ** 2) + 1e-12) + 1e-12))


def si_sdr(ref: np.ndarray, est: np.ndarray) -> float:
    ref, est = ref.reshape(-1).astype(np.float64), est.reshape(-1).astype(np.float64)
    alpha = np.dot(est, ref) / (np.dot(ref, ref) + 1e-12)
    target = alpha * ref
    return float(10 * np.log10(np.sum(target**2) / (np.sum((target - est) ** 2) + 1e-12) + 1e-12))


def synth_vocal(n: int, tempo: float, seed: int = 7) -> np.ndarray:
    """A sung-like mono line: formant-filtered saw with vibrato, breath and consonant bursts, with rests."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    beat = 60.0 / tempo
    formants = {
        "a": ((800, 80, 1.0), (1150, 90, 0.5), (2900, 120, 0.25)),
        "i": ((300, 50, 1.0), (2300, 100, 0.3), (3000, 120, 0.2)),
        "o": ((450, 70, 1.0), (800, 80, 0.45), (2830, 100, 0.12)),
        "u": ((325, 50, 1.0), (700, 60, 0.3), (2530, 100, 0.1)),
    }
    scale = [57, 59, 60, 62, 64, 65, 67, 69]  # A minor, A3..A4
    t0 = 0.5
    while t0 < n / SR - 1.0:
        length = beat * rng.choice([1, 1, 2, 0.5])
        if rng.random() < 0.15:
            t0 += length
            continue
        m = int(length * 0.95 * SR)
        t = np.arange(m) / SR
        midi = rng.choice(scale)
        depth = np.clip((t - 0.12) / 0.2, 0, 1) * 0.4
        f0 = 440 * 2 ** ((midi - 69) / 12) * 2 ** (depth * np.sin(2 * np.pi * 5.2 * t) / 12)
        phase = np.cumsum(f0) / SR
        saw = 2 * (phase % 1.0) - 1 + 0.03 * rng.standard_normal(m)
        note = np.zeros(m)
        for centre, bandwidth, gain in formants[rng.choice(list(formants))]:
            b, a = signal.iirpeak(centre, centre / bandwidth, fs=SR)
            note += gain * signal.lfilter(b, a, saw)
        env = np.minimum(1, t / 0.04) * np.minimum(1, (t[-1] - t) / 0.08 + 1e-3)
        note *= env / (np.abs(note).max() + 1e-9)
        start = int(t0 * SR)
        if rng.random() < 0.6:  # a consonant: 40 ms of high-passed noise before the vowel
            burst = signal.lfilter(
                *signal.butter(2, 3000, "high", fs=SR), rng.standard_normal(int(0.04 * SR))
            )
            burst *= 0.25 * np.hanning(len(burst))
            s = max(0, start - len(burst))
            out[s : s + len(burst)] += burst[: len(out[s : s + len(burst)])]
        seg = out[start : start + m]
        seg += note[: len(seg)]
        t0 += length
    return out.astype(np.float32)


def espeak_vocal(n: int) -> np.ndarray | None:
    if shutil.which("espeak-ng") is None:
        return None
    text = (
        "Under the burning sky we ride, the night is long and the road is wide. "
        "Hold on to me, never let go, the fire is calling, down below. "
    ) * 4
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "voice.wav"
        subprocess.run(["espeak-ng", "-v", "en", "-s", "140", "-p", "60", "-w", str(wav), text], check=True)
        voice = decode(wav, min_duration_s=0.5)[0]
    out = np.zeros(n, dtype=np.float32)
    start = SR // 2
    length = min(len(voice), n - start)
    out[start : start + length] = voice[:length]
    return out


def mixtures(pairs: list[tuple[str, str]]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, mix, true vocal) triples."""
    cases = []
    song = make_song(tempo=100, key="A", scale="minor", bars=12, with_drums=True, seed=3)
    band = song.audio.astype(np.float32)
    n = band.shape[1]
    for name, mono in (
        ("synth band + formant-saw vocal", synth_vocal(n, 100)),
        ("synth band + espeak-ng", espeak_vocal(n)),
        ("synth band + Festival voice", spoken_line(n) if festival_available() else None),
    ):
        if mono is None:
            continue
        mono = mono * (np.sqrt(np.mean(band**2)) / (np.sqrt(np.mean(mono[mono != 0] ** 2)) + 1e-12))
        vocal = np.stack([mono, mono]).astype(np.float32)
        mix = band + vocal
        peak = np.abs(mix).max()
        cases.append((name, (mix / peak * 0.9).astype(np.float32), (vocal / peak * 0.9).astype(np.float32)))
    for mix_path, inst_path in pairs:
        mix, inst = decode(mix_path), decode(inst_path)
        m = min(mix.shape[1], inst.shape[1])
        cases.append(
            (f"{Path(mix_path).stem} - {Path(inst_path).stem}", mix[:, :m].copy(), mix[:, :m] - inst[:, :m])
        )
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pair", nargs=2, action="append", default=[], metavar=("MIX", "INSTRUMENTAL"))
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--methods", default="dsp,spleeter,demucs")
    args = parser.parse_args()

    rows = []
    for name, mix, vocal in mixtures(args.pair):
        seconds = mix.shape[1] / SR
        rows.append((name, "mixture (baseline)", sdr(vocal, mix), si_sdr(vocal, mix), 0.0))
        for method in args.methods.split(","):
            try:
                start = time.perf_counter()
                stems = separate(mix, method=method, models_dir=args.models_dir)
                elapsed = time.perf_counter() - start
            except PipelineError as exc:
                print(f"[{method}] not available: {exc.message}", file=sys.stderr)
                continue
            rows.append(
                (
                    name,
                    stems.separator.name,
                    sdr(vocal, stems.vocals),
                    si_sdr(vocal, stems.vocals),
                    elapsed / seconds,
                )
            )

    print(f"\n{'mixture':<52} {'separator':<22} {'SDR dB':>7} {'SI-SDR dB':>9} {'RTF':>6}")
    for name, sep, s, si, rtf in rows:
        print(f"{name[:52]:<52} {sep:<22} {s:7.2f} {si:9.2f} {rtf:6.3f}")


if __name__ == "__main__":
    main()
