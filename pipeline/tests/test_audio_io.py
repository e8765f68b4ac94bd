"""Decoding, probing and writing audio files, with every kind of bad input a listener might upload."""

from __future__ import annotations

import subprocess
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline import errors
from pipeline.audio_io import (
    ACCEPTED_EXTENSIONS,
    ACCEPTED_FORMATS,
    decode,
    ffmpeg_available,
    probe,
    write_audio,
)
from pipeline.errors import PipelineError
from pipeline.output_formats import FLAC_COMPRESSION_LEVEL, OUTPUT_FORMATS
from pipeline.types import SILENT_PEAK_DBFS

needs_ffmpeg = pytest.mark.skipif(not ffmpeg_available(), reason="ffmpeg is not installed")
SR_OUT = 44100


def tone(seconds: float, sr: int, freqs: tuple[float, ...] = (440.0, 660.0), amp: float = 0.3) -> np.ndarray:
    """(frames, channels) float32 sines, one frequency per channel."""
    t = np.arange(int(seconds * sr)) / sr
    return np.stack([amp * np.sin(2 * np.pi * f * t) for f in freqs], axis=1).astype(np.float32)


def peak_hz(x: np.ndarray, sr: int = SR_OUT) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * sr / len(x))


def ffmpeg_convert(src: Path, dst: Path, *args: str) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), *args, str(dst)], check=True)
    return dst


@pytest.fixture
def wav48(tmp_path: Path) -> Path:
    path = tmp_path / "tone48.wav"
    sf.write(path, tone(5.0, 48000), 48000)
    return path


def truncate(path: Path, fraction: float = 0.6) -> Path:
    data = path.read_bytes()
    out = path.with_name("cut_" + path.name)
    out.write_bytes(data[: int(len(data) * fraction)])
    return out


def damage_middle(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    start = len(data) // 3
    data[start : start + 4000] = np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    out = path.with_name("damaged_" + path.name)
    out.write_bytes(bytes(data))
    return out


def assert_error(code: str, path: Path, **kwargs: float) -> PipelineError:
    with pytest.raises(PipelineError) as caught:
        decode(path, **kwargs)
    assert caught.value.code == code, caught.value
    assert not caught.value.transient
    with pytest.raises(PipelineError) as probed:
        probe(path, **kwargs)
    assert probed.value.code == code, probed.value
    return caught.value


# --- good inputs -------------------------------------------------------------------------------------


def test_decode_resamples_48k_wav_to_44k_stereo_float32_keeping_pitch(wav48: Path) -> None:
    audio = decode(wav48)
    assert audio.dtype == np.float32 and audio.shape == (2, 5 * SR_OUT)
    assert audio.flags.c_contiguous
    assert abs(peak_hz(audio[0]) - 440) < 1 and abs(peak_hz(audio[1]) - 660) < 1
    assert 0.29 < np.abs(audio).max() < 0.31


def test_decode_duplicates_mono_into_both_channels(tmp_path: Path) -> None:
    path = tmp_path / "mono.flac"
    sf.write(path, tone(3.0, 22050, (220.0,)), 22050)
    audio = decode(path)
    assert audio.shape == (2, 3 * SR_OUT)
    np.testing.assert_array_equal(audio[0], audio[1])
    assert abs(peak_hz(audio[0]) - 220) < 1


def test_decode_downmixes_5_1_wav_with_centre_in_both_sides_and_no_lfe(tmp_path: Path) -> None:
    # Channels in WAV order L R C LFE BL BR; only C and LFE carry sound.
    x = np.zeros((3 * SR_OUT, 6), dtype=np.float32)
    x[:, 2] = tone(3.0, SR_OUT, (1000.0,))[:, 0]
    x[:, 3] = tone(3.0, SR_OUT, (50.0,))[:, 0]
    path = tmp_path / "surround.wav"
    sf.write(path, x, SR_OUT)
    audio = decode(path)
    np.testing.assert_allclose(audio[0], audio[1], atol=1e-6)
    assert abs(peak_hz(audio[0]) - 1000) < 1
    assert np.abs(audio).max() > 0.05


@needs_ffmpeg
@pytest.mark.parametrize(
    ("suffix", "codec_args"),
    [
        (".flac", ()),
        (".ogg", ("-c:a", "libvorbis")),
        (".mp3", ("-c:a", "libmp3lame", "-q:a", "2")),
        (".m4a", ("-c:a", "aac", "-b:a", "192k")),
        (".opus", ("-c:a", "libopus")),
        (".aiff", ()),
    ],
)
def test_decode_reads_every_common_format(wav48: Path, suffix: str, codec_args: tuple[str, ...]) -> None:
    path = ffmpeg_convert(wav48, wav48.with_suffix(suffix), *codec_args)
    audio = decode(path)
    assert audio.dtype == np.float32 and audio.shape[0] == 2
    assert abs(audio.shape[1] / SR_OUT - 5.0) < 0.1
    mid = audio[:, SR_OUT : 4 * SR_OUT]
    assert abs(peak_hz(mid[0]) - 440) < 2 and abs(peak_hz(mid[1]) - 660) < 2
    info = probe(path)
    assert abs(info.duration_s - 5.0) < 0.1 and info.channels == 2
    assert info.format in ACCEPTED_FORMATS


@needs_ffmpeg
def test_decode_downmixes_5_1_aac_through_ffmpeg(tmp_path: Path) -> None:
    x = np.zeros((3 * SR_OUT, 6), dtype=np.float32)
    x[:, 0] = tone(3.0, SR_OUT, (500.0,))[:, 0]
    x[:, 2] = tone(3.0, SR_OUT, (1000.0,))[:, 0]
    src = tmp_path / "surround.wav"
    sf.write(src, x, SR_OUT)
    path = ffmpeg_convert(src, tmp_path / "surround.m4a", "-c:a", "aac")
    assert probe(path).channels == 6
    audio = decode(path)
    assert audio.shape[0] == 2
    left, right = audio[:, SR_OUT : 2 * SR_OUT]
    assert abs(peak_hz(left) - 500) < 2 and abs(peak_hz(right) - 1000) < 2


@needs_ffmpeg
def test_decode_and_probe_trust_content_not_extension(wav48: Path) -> None:
    aac = ffmpeg_convert(wav48, wav48.with_suffix(".m4a"), "-c:a", "aac")
    disguised = aac.rename(aac.with_suffix(".mp3"))
    info = probe(disguised)
    assert (info.format, info.codec, info.decoder) == ("m4a", "aac", "ffmpeg")
    assert decode(disguised).shape[0] == 2


def test_probe_describes_file_without_decoding_to_44k(wav48: Path) -> None:
    info = probe(wav48)
    assert info.sample_rate == 48000 and info.channels == 2 and info.format == "wav"
    assert info.duration_s == pytest.approx(5.0, abs=1e-3)
    assert info.to_dict()["codec"] == "pcm_16"


def test_accepted_extensions_cover_the_promised_formats() -> None:
    for ext in (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aac", ".opus"):
        assert ext in ACCEPTED_EXTENSIONS


# --- bad inputs --------------------------------------------------------------------------------------


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp3"
    path.touch()
    err = assert_error(errors.EMPTY_FILE, path)
    assert "empty" in err.message


def test_wav_with_no_samples_is_refused_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "nothing.wav"
    sf.write(path, np.zeros((0, 2), dtype=np.float32), SR_OUT)
    assert_error(errors.EMPTY_FILE, path)


@pytest.mark.parametrize(
    "content",
    [
        b"Just some notes about my song.\n" * 40,
        bytes(np.random.default_rng(2).integers(0, 256, 5000, np.uint8)),
    ],
    ids=["text", "random-bytes"],
)
def test_non_audio_bytes_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "song.mp3"
    path.write_bytes(content)
    err = assert_error(errors.NOT_AUDIO, path)
    assert "does not look like audio" in err.message


@needs_ffmpeg
def test_image_is_refused_as_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "cover.png"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=32x32", "-frames:v", "1", str(path)],
        check=True,
    )
    path = path.rename(tmp_path / "cover.flac")
    assert_error(errors.NOT_AUDIO, path)


@needs_ffmpeg
@pytest.mark.parametrize(
    ("suffix", "codec_args"),
    [
        (".wav", ()),
        (".flac", ()),
        (".mp3", ("-c:a", "libmp3lame")),
        (".m4a", ("-c:a", "aac")),
        (".ogg", ("-c:a", "libvorbis")),
        (".opus", ("-c:a", "libopus")),
    ],
)
def test_truncated_file_is_refused_as_corrupt(wav48: Path, suffix: str, codec_args: tuple[str, ...]) -> None:
    path = wav48 if suffix == ".wav" else ffmpeg_convert(wav48, wav48.with_suffix(suffix), *codec_args)
    err = assert_error(errors.CORRUPT_AUDIO, truncate(path))
    assert "damaged or incomplete" in err.message


@needs_ffmpeg
@pytest.mark.parametrize(
    ("suffix", "codec_args"),
    [
        (".flac", ()),
        (".mp3", ("-c:a", "libmp3lame")),
        (".m4a", ("-c:a", "aac")),
        (".ogg", ("-c:a", "libvorbis")),
        (".opus", ("-c:a", "libopus")),
    ],
)
def test_file_damaged_in_the_middle_is_refused_as_corrupt(
    wav48: Path, suffix: str, codec_args: tuple[str, ...]
) -> None:
    path = ffmpeg_convert(wav48, wav48.with_suffix(suffix), *codec_args)
    assert_error(errors.CORRUPT_AUDIO, damage_middle(path))


def test_too_short_file_is_refused_with_its_length(tmp_path: Path) -> None:
    path = tmp_path / "blip.wav"
    sf.write(path, tone(2.0, SR_OUT), SR_OUT)
    err = assert_error(errors.TOO_SHORT, path)
    assert err.message == "This file is only 2.0 s long; a song must be at least 3.0 s."


@pytest.mark.parametrize("amp", [0.0, 10 ** (-60 / 20)], ids=["digital silence", "a -60 dBFS hum"])
@pytest.mark.parametrize("suffix", [".wav", ".mp3"])
def test_probe_refuses_a_near_silent_song_when_asked(tmp_path: Path, amp: float, suffix: str) -> None:
    wav = tmp_path / "quiet.wav"
    sf.write(wav, tone(20.0, 48_000, amp=amp), 48_000)
    path = wav if suffix == ".wav" else ffmpeg_convert(wav, wav.with_suffix(suffix), "-c:a", "libmp3lame")
    with pytest.raises(PipelineError) as caught:
        probe(path, min_peak_dbfs=SILENT_PEAK_DBFS)
    assert caught.value.code == errors.SILENT
    assert "nothing to play" in caught.value.message
    assert probe(path).duration_s == pytest.approx(20.0, abs=0.1)  # only when asked


def test_probe_accepts_a_quiet_but_audible_song(tmp_path: Path) -> None:
    path = tmp_path / "quiet.wav"
    sf.write(path, tone(5.0, SR_OUT, amp=10 ** (-30 / 20)), SR_OUT)
    assert probe(path, min_peak_dbfs=SILENT_PEAK_DBFS).duration_s == pytest.approx(5.0)


def test_min_duration_is_configurable(tmp_path: Path) -> None:
    path = tmp_path / "blip.wav"
    sf.write(path, tone(1.2, SR_OUT), SR_OUT)
    assert decode(path, min_duration_s=1.0).shape[1] == int(1.2 * SR_OUT)


def test_too_long_file_is_refused_from_its_header_with_plain_words(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    sf.write(path, np.zeros((12 * 60 * 8000, 1), dtype=np.int16), 8000, subtype="PCM_16")
    err = assert_error(errors.TOO_LONG, path, max_duration_s=600)
    assert err.message == "This file is 12 min long; the limit is 10 min."


@needs_ffmpeg
def test_too_long_file_is_refused_through_ffmpeg(wav48: Path) -> None:
    path = ffmpeg_convert(wav48, wav48.with_suffix(".m4a"), "-c:a", "aac")
    err = assert_error(errors.TOO_LONG, path, max_duration_s=3.0)
    assert "the limit is 3.0 s" in err.message


def test_missing_file_is_refused(tmp_path: Path) -> None:
    assert_error(errors.NOT_AUDIO, tmp_path / "nope.wav")


# --- memory ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_decode_of_ten_minutes_keeps_about_one_copy_in_memory(tmp_path: Path) -> None:
    """A 10-min 48 kHz file resampled to 44.1 kHz: peak allocation stays near the output's own size."""
    path = tmp_path / "ten_minutes.wav"
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", samplerate=48000, channels=2, subtype="PCM_16") as fh:
        for _ in range(60):
            fh.write((rng.standard_normal((480000, 2)) * 0.1).astype(np.float32))
    tracemalloc.start()
    try:
        audio = decode(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert audio.shape == (2, 600 * SR_OUT)
    assert peak < 1.15 * audio.nbytes, f"peak {peak / 1e6:.0f} MB for {audio.nbytes / 1e6:.0f} MB of audio"


# --- writing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["wav", "flac", pytest.param("mp3", marks=needs_ffmpeg)])
def test_write_audio_round_trips_through_decode(tmp_path: Path, fmt: str) -> None:
    audio = tone(4.0, SR_OUT, (440.0, 880.0)).T.copy()
    path = write_audio(tmp_path / f"mix.{fmt}", audio, fmt)
    assert path.exists() and not list(tmp_path.glob(".*part"))
    back = decode(path)
    assert abs(back.shape[1] - audio.shape[1]) < 0.05 * SR_OUT
    assert abs(peak_hz(back[0, SR_OUT : 3 * SR_OUT]) - 440) < 2
    assert abs(peak_hz(back[1, SR_OUT : 3 * SR_OUT]) - 880) < 2
    rms_in, rms_out = np.sqrt(np.mean(audio**2)), np.sqrt(np.mean(back**2))
    assert rms_out == pytest.approx(rms_in, rel=0.05)


@needs_ffmpeg
def test_write_mp3_is_320k(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "mix.mp3", tone(3.0, SR_OUT).T.copy(), "mp3")
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=bit_rate", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(out.stdout.strip()) == 320000


def _samples_libsndfile_would_write(audio: np.ndarray, fmt: str, path: Path) -> bytes:
    """The file libsndfile writes from the clipped floats themselves (the reference), as 16-bit samples."""
    with sf.SoundFile(
        path,
        "w",
        samplerate=SR_OUT,
        channels=2,
        subtype="PCM_16",
        format=fmt.upper(),
        compression_level=OUTPUT_FORMATS[fmt].compression_level,
    ) as out:
        out.write(np.clip(audio, -1.0, 1.0).T)
    return sf.read(path, dtype="int16")[0].tobytes()


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_write_audio_writes_the_16_bit_samples_libsndfile_makes_of_floats(tmp_path: Path, fmt: str) -> None:
    """write_audio converts to 16 bits itself, by libsndfile's rule for the format: the same samples (and
    file bytes) as libsndfile's own conversion, for a song, values over full scale, values a hair from a
    16-bit step (where the two formats' rules differ) and halfway between two steps."""
    rng = np.random.default_rng(5)
    song = tone(2.0, SR_OUT, (440.0, 660.0)).T.astype(np.float32) * np.float32(0.9)
    steps = rng.integers(-32768, 32768, 4000).astype(np.float64)
    edges = np.concatenate(
        [
            rng.uniform(-1.3, 1.3, 4000),
            (steps + 0.5) / 32768,
            (steps - 1e-5) / 32768,
            (steps + 0.5) / 2**31,
            [1.0, -1.0, 0.0, -0.0, 1 - 2**-24, -1 + 2**-24, 1e-40, -1e-40],
        ]
    ).astype(np.float32)
    audio = np.concatenate([song, np.stack([edges, edges[::-1]])], axis=1)
    reference = _samples_libsndfile_would_write(audio, fmt, tmp_path / f"reference.{fmt}")
    ours = write_audio(tmp_path / f"ours.{fmt}", audio, fmt)
    assert sf.read(ours, dtype="int16")[0].tobytes() == reference
    assert ours.read_bytes() == (tmp_path / f"reference.{fmt}").read_bytes()


def test_flac_is_written_at_the_pipelines_level_the_same_samples_as_libsndfiles_default(
    tmp_path: Path,
) -> None:
    """FLAC_COMPRESSION_LEVEL (libFLAC's level 4) is what write_audio and the stem cache use: lossless, so
    the same samples as libsndfile's default level, in a file about as large (a cheaper search)."""
    from scipy.signal import lfilter

    from pipeline.stem_cache import _write_stem

    rng = np.random.default_rng(2)  # two partly correlated noisy channels: the levels' searches differ
    common = lfilter([1.0], [1.0, -0.95], rng.normal(0, 0.02, 4 * SR_OUT))
    audio = np.stack(
        [common + rng.normal(0, 0.01, common.size), 0.7 * common + rng.normal(0, 0.01, common.size)]
    )
    audio = audio.astype(np.float32)
    ours = write_audio(tmp_path / "ours.flac", audio, "flac")
    cached = _write_stem(tmp_path / "cached.flac", audio, 1.0)
    for path, subtype in ((ours, "PCM_16"), (cached, "PCM_24")):
        default = tmp_path / f"default-{subtype}.flac"
        samples, _sr = sf.read(path, dtype="int32")
        with sf.SoundFile(default, "w", samplerate=SR_OUT, channels=2, subtype=subtype, format="FLAC") as out:
            out.write(samples)  # int32 samples: written as they are, at libsndfile's default level
        assert np.array_equal(sf.read(default, dtype="int32")[0], samples)
        assert path.read_bytes() != default.read_bytes()  # another level's encoding ...
        assert path.stat().st_size <= default.stat().st_size * 1.02  # ... about as small
    assert OUTPUT_FORMATS["flac"].compression_level == FLAC_COMPRESSION_LEVEL


def test_write_audio_clips_instead_of_wrapping(tmp_path: Path) -> None:
    loud = np.full((2, SR_OUT * 3), 1.7, dtype=np.float32)
    back, _ = sf.read(write_audio(tmp_path / "loud.wav", loud), dtype="float32")
    assert back.max() <= 1.0 and back.min() > 0.99


def test_overestimated_length_is_trimmed_in_place_without_a_second_copy() -> None:
    """Headers (Ogg, MP3) can promise a few more frames than decode; the result is trimmed in place."""
    from pipeline.audio_io import _Sink

    block = np.random.default_rng(0).standard_normal((2_999_616, 2)).astype(np.float32)
    sink = _Sink(SR_OUT, None)
    sink.reserve(3_000_000)
    address = sink._buf.ctypes.data
    sink.add(block)
    out = sink.finish()
    assert out.shape == (2, 2_999_616) and out.flags.c_contiguous and out.flags.owndata
    assert out.ctypes.data == address  # the same memory, shrunk: no second full-size array
    np.testing.assert_array_equal(out, block.T)


@needs_ffmpeg
def test_wav_streamed_through_a_pipe_with_placeholder_sizes_is_accepted(wav48: Path, tmp_path: Path) -> None:
    """Encoders writing to a pipe cannot go back to fill in the sizes; that is not damage."""
    piped = tmp_path / "piped.wav"
    with piped.open("wb") as out:
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav48), "-f", "wav", "-"], stdout=out, check=True)
    assert decode(piped).shape == (2, 5 * SR_OUT)
    assert probe(piped).duration_s == pytest.approx(5.0, abs=1e-3)


@needs_ffmpeg
def test_video_without_a_sound_track_is_refused_as_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "clip.m4a"
    cmd = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=blue:s=64x64:d=3", "-c:v", "mpeg4"]
    subprocess.run([*cmd, "-f", "mp4", str(path)], check=True)
    err = assert_error(errors.NOT_AUDIO, path)
    assert "no sound" in err.message


@needs_ffmpeg
def test_a_stream_encoded_flac_of_unknown_length_is_accepted_with_its_real_length(tmp_path):
    """Issue 25, finding 5: it was refused as '3485779303422 min 4 s long'."""
    from pipeline.testing import stream_encoded_flac

    path = stream_encoded_flac(tmp_path / "streamed.flac", tone(5.0, 44100))
    assert sf.info(str(path)).frames > 2**62, "libsndfile reads the length as unknown"
    info = probe(path, max_duration_s=600)
    assert info.format == "flac" and info.duration_s == pytest.approx(5.0, abs=0.05)
    audio = decode(path, max_duration_s=600)
    assert audio.shape[1] == pytest.approx(5.0 * SR_OUT, abs=SR_OUT * 0.05)
    assert peak_hz(audio[0, :SR_OUT]) == pytest.approx(440.0, abs=3.0)
    with pytest.raises(PipelineError) as too_long:
        probe(path, max_duration_s=3)
    assert too_long.value.code == errors.TOO_LONG and "5.0 s long" in too_long.value.message


def test_a_float_wav_with_samples_of_1e30_is_refused_as_damaged_audio(tmp_path):
    """Issue 25: it failed deep in separation as 'spleeter returned an unusable vocals stem'."""
    audio = tone(4.0, 44100)
    audio[1000:2000] = 1e30
    path = tmp_path / "huge.wav"
    sf.write(path, audio, 44100, subtype="FLOAT")
    for read in (probe, decode):
        with pytest.raises(PipelineError) as refused:
            read(path)
        assert refused.value.code == errors.CORRUPT_AUDIO
        assert "far outside the range of sound" in refused.value.message
    loud = tone(4.0, 44100, amp=4.0)  # over full scale, yet sound: still read
    sf.write(tmp_path / "loud.wav", loud, 44100, subtype="FLOAT")
    assert probe(tmp_path / "loud.wav").duration_s == pytest.approx(4.0, abs=0.01)
