"""Small helpers shared by the jobs tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from django.conf import settings

from jobs.models import Job
from pipeline.types import SAMPLE_RATE, STEM_NAMES, Analysis, Chord, Section, SeparatorInfo, Stems


def stored_files(*, stem_cache: bool = True) -> list[Path]:
    """Every file in the (per-test, local) media storage; ``stem_cache=False``: leave out the shared stem
    cache, which outlives the jobs that filled it (the purge expires it on its own)."""
    from jobs.stem_cache import PREFIX

    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    files = sorted(p for p in root.rglob("*") if p.is_file())
    if stem_cache:
        return files
    return [p for p in files if p.relative_to(root).parts[0] != PREFIX]


def error_of(response) -> dict:  # type: ignore[no-untyped-def]
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"], body
    return body["error"]


ANALYSIS = {"tempo": 120.0, "key": "A", "scale": "minor", "beats": [0.5, 1.0], "chords": [], "sections": []}


def finished_source(client, song_upload, **options) -> Job:  # type: ignore[no-untyped-def]
    """An upload by ``client`` (queue held), then marked as a finished remix with an analysis."""
    response = client.post("/api/jobs", {"file": song_upload(), **options})
    assert response.status_code == 201, response.content
    Job.objects.filter(pk=response.json()["id"]).update(
        status="succeeded",
        analysis=ANALYSIS,
        stem_key="a" * 64,
        outputs={"mix": {"wav": f"jobs/{response.json()['id']}/result/mix.wav"}},
    )
    return Job.objects.get(pk=response.json()["id"])


def make_stems(seed: int = 0, seconds: float = 1.0) -> Stems:
    """Four random stems of ``seconds`` (drums louder than full scale), as a separator returns them."""
    rng = np.random.default_rng(seed)
    arrays = {
        n: (rng.standard_normal((2, int(SAMPLE_RATE * seconds))) * 0.3).astype(np.float32) for n in STEM_NAMES
    }
    arrays["drums"] *= 4.0  # louder than full scale: kept by the manifest's gain
    return Stems(**arrays, separator=SeparatorInfo("dsp:hpss-centre", "asked for it"))


def make_analysis() -> Analysis:
    """A small, complete song analysis."""
    return Analysis(
        duration=1.0,
        tempo=120.0,
        tempo_confidence=0.9,
        tempo_is_guess=False,
        beats=[0.0, 0.5],
        downbeats=[0.0],
        beats_per_bar=4,
        key="E",
        scale="minor",
        key_strength=0.8,
        chords=[Chord(0.0, 1.0, "E:min", 4, "min")],
        sections=[Section(0.0, 1.0, "A", 0.5)],
        loudness_lufs=-14.0,
        extra={"onset_rate": 2.0},
    )
