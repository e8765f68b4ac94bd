"""The stem cache on the real S3 server (SeaweedFS): what one worker stores, any other worker finds."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

# The same SeaweedFS server and S3 storage settings as the asset bank's S3 tests (pytest fixtures).
from assets_bank.tests.test_s3_storage import s3_storage, seaweed  # noqa: F401
from jobs.models import Job
from jobs.stem_cache import PREFIX, StorageStemCache, delete_entry, purge_stem_cache
from jobs.tests.helpers import make_analysis, make_stems
from pipeline.stem_cache import PLAYED_STEMS
from pipeline.types import STEM_NAMES

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_an_entry_lands_in_the_bucket_and_comes_back_from_it(s3_storage):  # noqa: F811
    key, original = "5" * 64, make_stems(seed=3, seconds=2.0)
    StorageStemCache().put(key, original, make_analysis())
    assert s3_storage.object_keys(f"{PREFIX}/") == sorted(
        f"{PREFIX}/{key}/{name}"
        for name in [*(f"{n}.flac" for n in STEM_NAMES), "analysis.json", "manifest.json"]
    )
    # another worker: a fresh cache object (and connection), nothing on its disk
    entry = StorageStemCache().get(key, PLAYED_STEMS)
    assert entry is not None and entry.frames == original.vocals.shape[1]
    for name in PLAYED_STEMS:
        np.testing.assert_allclose(entry.stems[name], getattr(original, name), atol=1e-5)
    assert entry.analysis == make_analysis() and entry.separator.cached
    assert StorageStemCache().get("6" * 64) is None
    assert delete_entry(key) == 6
    assert s3_storage.object_keys(f"{PREFIX}/") == []


def test_the_purge_empties_the_bucket_of_entries_no_job_uses(s3_storage):  # noqa: F811
    used, unused = "7" * 64, "8" * 64
    for key in (used, unused):
        StorageStemCache().put(key, make_stems(seconds=0.5))
    Job.objects.create(original_name="alive.wav", stem_key=used)
    assert purge_stem_cache(timezone.now(), ttl_hours=1) == 0  # both are brand new
    assert purge_stem_cache(timezone.now() + timedelta(hours=2), ttl_hours=1) == 1
    assert {k.split("/")[1] for k in s3_storage.object_keys(f"{PREFIX}/")} == {used}
    Job.objects.all().delete()
    assert purge_stem_cache(timezone.now() + timedelta(hours=2), ttl_hours=1) == 1
    assert s3_storage.object_keys(f"{PREFIX}/") == []


def test_the_stems_go_up_while_the_analysis_is_made_and_the_manifest_once_it_comes(s3_storage):  # noqa: F811
    import threading
    import time
    from concurrent.futures import Future

    key = "9" * 64
    stems_up = sorted(f"{PREFIX}/{key}/{n}.flac" for n in STEM_NAMES)
    analysis: Future = Future()
    keeper = threading.Thread(target=StorageStemCache().put, args=(key, make_stems(seconds=1.0), analysis))
    keeper.start()
    deadline = time.monotonic() + 60
    while s3_storage.object_keys(f"{PREFIX}/") != stems_up:  # in the bucket before the analysis exists
        assert keeper.is_alive() and time.monotonic() < deadline, s3_storage.object_keys(f"{PREFIX}/")
        time.sleep(0.05)
    assert StorageStemCache().get(key) is None  # no manifest yet: not an entry anyone uses
    analysis.set_result(make_analysis())
    keeper.join(timeout=60)
    assert not keeper.is_alive()
    entry = StorageStemCache().get(key)
    assert entry is not None and entry.analysis == make_analysis()
    assert delete_entry(key) == 6
