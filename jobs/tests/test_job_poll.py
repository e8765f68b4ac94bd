"""The status poll stays lean: a finished 30 s job answers GET /api/jobs/{id} in at most 8 KB (summaries of
its analysis and asset record); the full records are one parameter or one URL away, and say the same."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from metalizer_site.tests.integration.songs import song_file

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

POLL_LIMIT_BYTES = 8 * 1024


@pytest.fixture
def finished_job(client, tmp_path: Path) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """A 30 s song remixed with the shipped packs loaded into the bank (as ``make run`` does)."""
    from assets_bank.defaults import load_default_assets

    load_default_assets(Path(settings.METALIZER_ASSETS_DIR))
    song = song_file(tmp_path / "song.wav", seconds=30, seed=3, vocals=True)
    with song.open("rb") as fh:
        created = client.post("/api/jobs", {"file": fh})
    assert created.status_code == 201, created.content
    return {"url": created.json()["url"], "id": created.json()["id"]}


def test_a_finished_30s_jobs_poll_is_at_most_8_kb_of_summaries_and_the_full_records_are_asked_for(
    client, finished_job, django_user_model
):
    from jobs.models import Job

    poll = client.get(finished_job["url"])
    body = poll.json()
    assert body["status"] == "succeeded"
    assert len(poll.content) <= POLL_LIMIT_BYTES, len(poll.content)
    job = Job.objects.get(pk=finished_job["id"])
    analysis = body["analysis"]
    assert analysis["tempo"] == job.analysis["tempo"] and analysis["key"] == job.analysis["key"]
    assert analysis["counts"]["beats"] == len(job.analysis["beats"]) > 30
    assert analysis["counts"]["chords"] == len(job.analysis["chords"])
    assert [s["label"] for s in analysis["sections"]] == [s["label"] for s in job.analysis["sections"]]
    assert "beats" not in analysis and "chords" not in analysis
    assets = body["assets_used"]
    assert assets["played"] == job.assets_used["played"] and assets["skipped_count"] == 0
    assert {p["id"] for p in assets["packs"]} == {p["id"] for p in job.assets_used["packs"]}
    assert all("sha256" not in str(p) for p in assets["packs"])
    assert body["links"]["analysis"].endswith(f"/api/jobs/{finished_job['id']}/analysis")

    # The full records are one parameter or one URL away (the bank's files for staff only).
    full = client.get(f"{finished_job['url']}?include=analysis,assets").json()
    assert full["analysis"] == job.analysis and full["assets_used"] == assets
    only_analysis = client.get(f"{finished_job['url']}?include=analysis").json()
    assert only_analysis["analysis"] == job.analysis and "skipped_count" in only_analysis["assets_used"]
    alone = client.get(f"{finished_job['url']}/analysis")
    assert alone.status_code == 200 and alone.json() == job.analysis
    listed = client.get("/api/jobs?include=analysis").json()
    assert listed["results"][0]["analysis"] == job.analysis
    client.force_login(django_user_model.objects.create_user("curator", is_staff=True))
    assert client.get(f"{finished_job['url']}?include=assets").json()["assets_used"] == job.assets_used


def test_the_analysis_url_of_a_job_not_analysed_yet_is_409(client, song_upload, held_queue):
    created = client.post("/api/jobs", {"file": song_upload()}).json()
    response = client.get(f"{created['url']}/analysis")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_ready"
    assert client.get(created["url"]).json()["analysis"] is None
