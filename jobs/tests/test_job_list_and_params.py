"""GET /api/jobs pages like /api/assets; parameters the API cannot honour are refused (issue 27, items 4
and 5), and an option error names the valid choices."""

from __future__ import annotations

import pytest
from django.test import Client

from jobs.tests.helpers import error_of, finished_source
from pipeline import STYLES

pytestmark = pytest.mark.django_db


def upload(client: Client, song_upload) -> str:  # type: ignore[no-untyped-def]
    response = client.post("/api/jobs", {"file": song_upload()})
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_the_job_list_pages_with_page_and_page_size(client, song_upload, held_queue):
    ids = [upload(client, song_upload) for _ in range(3)]
    first = client.get("/api/jobs?page_size=2").json()
    assert first["count"] == 3 and [j["id"] for j in first["results"]] == ids[::-1][:2]
    assert first["next"].endswith("/api/jobs?page=2&page_size=2") and first["previous"] is None
    second = client.get("/api/jobs?page=2&page_size=2").json()
    assert [j["id"] for j in second["results"]] == ids[:1] and second["next"] is None


@pytest.mark.parametrize(
    "query, says",
    [
        ("page=9", "Page 9 does not exist"),
        ("page=0", "page must be a whole number"),
        ("page_size=201", "page_size must be a whole number from 1 to 200"),
        ("status=queued", "does not take 'status'"),
    ],
)
def test_the_job_list_refuses_what_it_cannot_honour(client, song_upload, held_queue, query, says):
    upload(client, song_upload)
    response = client.get(f"/api/jobs?{query}")
    assert response.status_code == 400 and says in error_of(response)["message"]


@pytest.mark.parametrize(
    "query, says",
    [
        ("part=stems&format=mp3", "comes only as every stem in one ZIP"),
        ("part=midi&format=wav", "comes only as a ZIP of MIDI files"),
        ("part=original&format=mp3", "served as uploaded (wav)"),
        ("part=mix&quality=high", "does not take 'quality'"),
    ],
)
def test_a_download_refuses_a_format_its_part_never_comes_in(client, song_upload, held_queue, query, says):
    job = finished_source(client, song_upload)
    response = client.get(f"/api/jobs/{job.pk}/result?{query}")
    assert response.status_code == 400 and says in error_of(response)["message"]


def test_the_original_in_its_own_format_is_still_served(client, song_upload, held_queue):
    job = finished_source(client, song_upload)
    assert client.get(f"/api/jobs/{job.pk}/result?part=original&format=wav").status_code == 200


def test_an_option_error_lists_the_valid_choices(client, song_upload, held_queue):
    response = client.post("/api/jobs", {"file": song_upload(), "style": "polka"})
    message = error_of(response)["message"]
    assert response.status_code == 400
    assert message == f'style: "polka" is not a valid choice; choose {", ".join(STYLES)}.'


def test_a_restyle_option_error_lists_the_valid_choices_too(client, song_upload, held_queue):
    job = finished_source(client, song_upload)
    response = client.post(f"/api/jobs/{job.pk}/remix", {"feel": "swung"}, content_type="application/json")
    message = error_of(response)["message"]
    assert response.status_code == 400 and message.startswith('feel: "swung" is not a valid choice; choose ')
    assert "straight" in message or "auto" in message
