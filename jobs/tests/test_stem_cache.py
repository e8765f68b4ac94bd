"""The workers' stem cache in Django's storage: entries round-trip, expire with the purge, and a re-style
keeps what it needs when its source is purged (local storage here; test_stem_cache_s3 runs on SeaweedFS)."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from jobs import services
from jobs.models import Job
from jobs.runner import run_job
from jobs.stem_cache import PREFIX, StorageStemCache, purge_stem_cache
from jobs.tests.helpers import make_analysis, make_stems, stored_files
from pipeline.stem_cache import PLAYED_STEMS
from pipeline.types import STEM_NAMES, SeparatorInfo

pytestmark = pytest.mark.django_db


def age(key_prefix: str, hours: float) -> None:
    """Make every local file under ``key_prefix`` look ``hours`` old."""
    then = time.time() - hours * 3600
    for path in stored_files():
        if key_prefix in str(path):
            os.utime(path, (then, then))


def test_an_entry_round_trips_through_storage_and_gives_only_the_stems_asked_for():
    cache, key, original = StorageStemCache(), "b" * 64, make_stems()
    cache.put(key, original, make_analysis())
    names = sorted(p.name for p in stored_files())
    assert names == sorted([f"{n}.flac" for n in STEM_NAMES] + ["analysis.json", "manifest.json"])
    assert all(f"{PREFIX}/{key}/" in str(p) for p in stored_files())
    entry = cache.get(key, PLAYED_STEMS)
    assert entry is not None and set(entry.stems) == set(PLAYED_STEMS)
    for name in PLAYED_STEMS:
        np.testing.assert_allclose(entry.stems[name], getattr(original, name), atol=1e-5)
    assert entry.analysis == make_analysis()
    assert entry.separator == SeparatorInfo("dsp:hpss-centre", "asked for it", cached=True)
    np.testing.assert_allclose(cache.get(key).stems["drums"], original.drums, atol=1e-5)


def test_absent_incomplete_or_malformed_entries_are_not_found():
    cache = StorageStemCache()
    assert cache.get("c" * 64) is None
    assert cache.get("../../etc/passwd") is None and cache.get("") is None
    cache.put("d" * 64, make_stems())
    default_storage.delete(f"{PREFIX}/{'d' * 64}/manifest.json")  # as if the upload was cut short
    assert cache.get("d" * 64) is None
    cache.put("e" * 64, make_stems())
    default_storage.delete(f"{PREFIX}/{'e' * 64}/other.flac")
    assert cache.get("e" * 64, PLAYED_STEMS) is None


def test_purge_removes_old_entries_no_live_job_uses_and_keeps_the_rest():
    cache = StorageStemCache()
    used, old, fresh, cut_short = "1" * 64, "2" * 64, "3" * 64, "4" * 64
    for key in (used, old, fresh, cut_short):
        cache.put(key, make_stems())
    default_storage.delete(f"{PREFIX}/{cut_short}/manifest.json")
    Job.objects.create(original_name="alive.wav", stem_key=used)
    for key in (used, old, cut_short):
        age(key, 48)
    assert purge_stem_cache() == 2
    left = {p.parent.name for p in stored_files()}
    assert left == {used, fresh}
    # the periodic purge runs it too
    age(fresh, 48)
    assert services.purge_expired() == 0
    assert {p.parent.name for p in stored_files()} == {used}


def test_purging_the_source_keeps_what_its_restyle_needs_and_the_last_purge_removes_every_file(
    client, song_upload, held_queue, settings
):
    """The re-style is still queued when its source expires and is purged; it then plays, and it goes too."""
    settings.METALIZER_PROGRESS_MIN_INTERVAL_S = 0.0

    def run(job: Job) -> Job:
        job.refresh_from_db()
        run_job(str(job.pk), task_id=job.celery_task_id, worker="test", retries=0, max_retries=0, eager=True)
        job.refresh_from_db()
        return job

    source = run(Job.objects.get(pk=client.post("/api/jobs", {"file": song_upload("Song.wav")}).json()["id"]))
    assert source.status == "succeeded", source.error_message
    response = client.post(f"/api/jobs/{source.pk}/remix", {"style": "doom"})
    restyle = Job.objects.get(pk=response.json()["id"])
    assert restyle.status == "queued"
    song_key = source.input_file.name

    Job.objects.filter(pk=source.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    assert services.purge_expired() == 1
    assert not Job.objects.filter(pk=source.pk).exists()
    assert not [p for p in stored_files() if f"{source.pk}/result" in str(p)], "the source's results go"
    assert default_storage.exists(song_key), "the song stays for the queued re-style"
    assert StorageStemCache().get(source.stem_key, PLAYED_STEMS) is not None, "so do its stems"

    restyle = run(restyle)
    assert restyle.status == "succeeded", restyle.error_message
    assert restyle.stems_reused and restyle.analysis_reused and restyle.source is None
    assert client.get(f"/api/jobs/{restyle.pk}/result?part=original").status_code == 200
    assert client.get(f"/api/jobs/{restyle.pk}/result?part=mix").status_code == 200
    # an orphan sweep long after must not take the song the re-style still plays
    assert services.purge_orphaned_files(now=timezone.now() + timedelta(days=2)) == 0
    assert default_storage.exists(song_key)

    Job.objects.filter(pk=restyle.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    assert services.purge_expired() == 1
    assert stored_files() == [], "nothing needs the song, its stems or any result any more"
    media = default_storage.location
    assert sorted(os.listdir(media)) in ([], ["jobs"], ["jobs", PREFIX], [PREFIX])
    assert os.listdir(os.path.join(media, "jobs")) == []


def test_a_workers_next_restyle_takes_the_stems_it_decoded_while_the_entry_is_unchanged(part_memo_on):
    cache, key, original = StorageStemCache(), "f" * 64, make_stems()
    cache.put(key, original, make_analysis())
    first = cache.get(key, PLAYED_STEMS)  # fetched and decoded: kept in the worker
    assert first is not None
    first.stems["vocals"][:] = 0.0  # a play may change what it was handed: the kept copy stays as decoded
    for stem in PLAYED_STEMS:  # the files are not read again while the manifest is the same
        default_storage.delete(f"{PREFIX}/{key}/{stem}.flac")
    again = cache.get(key, PLAYED_STEMS)
    assert again is not None and again.analysis == make_analysis() and again.separator.cached
    for name in PLAYED_STEMS:
        np.testing.assert_allclose(again.stems[name], getattr(original, name), atol=1e-5)
    # an entry written again with other stems has another manifest (their peaks): decoded from its files
    cache.put(key, make_stems(seed=9), make_analysis())
    changed = cache.get(key, PLAYED_STEMS)
    assert changed is not None
    np.testing.assert_allclose(changed.stems["other"], make_stems(seed=9).other, atol=1e-5)
    # a deleted entry is gone for the worker too, whatever it keeps
    default_storage.delete(f"{PREFIX}/{key}/manifest.json")
    assert cache.get(key, PLAYED_STEMS) is None
