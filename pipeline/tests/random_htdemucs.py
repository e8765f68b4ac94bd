"""A randomly initialised HTDemucs saved in demucs' on-disk format, for plumbing tests (not quality).

Architecture hyper-parameters are the pretrained htdemucs ones; ``small=True`` shrinks the channels and the
transformer depth so inference on a few seconds of audio takes seconds.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

PRETRAINED_ARCH: dict[str, Any] = {
    "bottom_channels": 512,
    "dconv_mode": 3,
    "t_dropout": 0.02,
    "segment": Fraction(39, 5),
    "multi_freqs": [],
    "t_sparse_attn_window": 400,
}


def random_htdemucs(*, small: bool = True, seed: int = 0) -> Any:
    import torch
    from demucs.htdemucs import HTDemucs

    torch.manual_seed(seed)
    shrink = {"channels": 8, "t_layers": 1} if small else {}
    model = HTDemucs(sources=["drums", "bass", "other", "vocals"], **PRETRAINED_ARCH, **shrink)
    return model.eval()


def save_htdemucs(model: Any, models_dir: Path, signature: str, bag_name: str = "htdemucs") -> Path:
    """Save as demucs does (``demucs.states`` package, ``<sig>-<sha256[:8]>.th``) plus the bag yaml."""
    from demucs.states import get_state, save_with_checksum

    args, kwargs = model._init_args_kwargs
    package = {
        "klass": type(model),
        "args": args,
        "kwargs": kwargs,
        "state": get_state(model, None, half=True),
        "training_args": {},
    }
    models_dir.mkdir(parents=True, exist_ok=True)
    save_with_checksum(package, models_dir / f"{signature}.th")
    (models_dir / f"{bag_name}.yaml").write_text(f"models: ['{signature}']\n")
    (path,) = models_dir.glob(f"{signature}-*.th")
    return path


def save_random_htdemucs(models_dir: Path, signature: str = "0badc0de", seed: int = 0) -> Path:
    return save_htdemucs(random_htdemucs(small=True, seed=seed), models_dir, signature)
