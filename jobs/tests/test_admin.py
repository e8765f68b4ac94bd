"""Staff manage jobs in the admin: filters, search, read-only progress, requeue/cancel/purge actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.utils import timezone

from jobs.models import Job
from jobs.tests.helpers import stored_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):  # type: ignore[no-untyped-def]
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    return client


def job_with_input(**fields) -> Job:  # type: ignore[no-untyped-def]
    job = Job.objects.create(original_name=fields.pop("original_name", "song.wav"), **fields)
    job.input_file.save("song.wav", ContentFile(b"RIFF...."), save=True)
    return job


def run_action(staff_client, action: str, jobs: list[Job]):  # type: ignore[no-untyped-def]
    return staff_client.post(
        "/admin/jobs/job/",
        {"action": action, "_selected_action": [str(j.pk) for j in jobs]},
        follow=True,
    )


def test_changelist_filters_and_searches(staff_client):
    job_with_input(original_name="Iron Lullaby.mp3", status="failed", error_code="corrupt_audio")
    job_with_input(original_name="Soft Rain.wav", status="succeeded")
    page = staff_client.get("/admin/jobs/job/?status__exact=failed")
    assert page.status_code == 200
    assert b"Iron Lullaby.mp3" in page.content and b"Soft Rain.wav" not in page.content
    found = staff_client.get("/admin/jobs/job/?q=rain")
    assert b"Soft Rain.wav" in found.content and b"Iron Lullaby.mp3" not in found.content


def test_change_page_shows_progress_read_only(staff_client):
    job = job_with_input(status="running", stage="rendering", progress=72.0)
    page = staff_client.get(f"/admin/jobs/job/{job.pk}/change/")
    assert page.status_code == 200
    assert b"72%" in page.content
    assert b'name="progress"' not in page.content and b'name="status"' not in page.content


def test_requeue_action_requeues_failed_jobs_only(staff_client, held_queue):
    failed = job_with_input(status="failed", error_code="render_failed", error_message="x")
    done = job_with_input(status="succeeded")
    response = run_action(staff_client, "requeue_failed", [failed, done])
    assert b"Requeued 1 job(s)." in response.content
    failed.refresh_from_db()
    assert (failed.status, failed.error_code, failed.progress) == ("queued", "", 0.0)
    assert Job.objects.get(pk=done.pk).status == "succeeded"
    assert [m["id"] for m in held_queue.drain()] == [failed.celery_task_id]


def test_cancel_action_cancels_queued_and_running_jobs(staff_client, held_queue):
    queued = job_with_input(status="queued")
    running = job_with_input(status="running")
    done = job_with_input(status="succeeded")
    response = run_action(staff_client, "cancel_jobs", [queued, running, done])
    assert b"Cancelled 2 job(s)." in response.content
    assert sorted(Job.objects.values_list("status", flat=True)) == ["cancelled", "cancelled", "succeeded"]


def test_purge_action_removes_expired_jobs_and_files(staff_client):
    expired = job_with_input(expires_at=timezone.now() - timedelta(minutes=1))
    kept = job_with_input()
    response = run_action(staff_client, "purge_expired", [kept])
    assert b"Purged 1 expired job(s)" in response.content
    assert not Job.objects.filter(pk=expired.pk).exists()
    assert [p.parent.parent.name for p in stored_files()] == [str(kept.pk)]


def test_deleting_in_the_admin_removes_the_files_too(staff_client):
    job = job_with_input()
    response = staff_client.post(f"/admin/jobs/job/{job.pk}/delete/", {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert not Job.objects.filter(pk=job.pk).exists()
    assert stored_files() == []


def test_non_staff_cannot_reach_the_job_admin(client):
    client.force_login(User.objects.create_user("listener"))
    response = client.get("/admin/jobs/job/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_change_page_shows_the_analysis_readably_with_the_json_one_click_away(staff_client):
    from pipeline import Analysis
    from pipeline.types import Chord, Section

    analysis = Analysis(
        duration=30.0,
        tempo=152.4,
        tempo_confidence=0.8,
        tempo_is_guess=False,
        beats=[0.4 * i for i in range(60)],
        downbeats=[1.6 * i for i in range(15)],
        beats_per_bar=4,
        key="E",
        scale="minor",
        key_strength=0.71,
        chords=[
            Chord(0.0, 2.0, "E:min", 4, "min"),
            Chord(2.0, 4.0, "N", None, ""),
            Chord(4.0, 6.0, "C:maj", 0, "maj"),
        ],
        sections=[Section(0.0, 12.0, "A", 0.4), Section(12.0, 30.0, "B", 0.9)],
        loudness_lufs=-14.23,
        has_vocals=True,
    )
    job = job_with_input(status="succeeded", analysis=analysis.to_dict())
    html = staff_client.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()
    summary = html[html.index('class="analysis-summary"') : html.index("Stored JSON")]
    assert "152 BPM, 4 beats a bar" in summary and "E minor (strength 0.71)" in summary
    assert "-14.2 LUFS" in summary and "Chords:</strong> 2: E:min C:maj" in summary
    assert "A 0-12 s B 12-30 s" in summary
    assert "<details><summary>Stored JSON</summary>" in html
