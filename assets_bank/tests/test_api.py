"""/api/assets: who may call it, what it lists, and how uploads and deletes are judged."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from assets_bank.models import Asset, Kind, Pack
from assets_bank.services import add_asset, create_pack
from assets_bank.tests.conftest import audio_bytes, midi_bytes, tone_burst, upload

pytestmark = pytest.mark.django_db

KEY = "k3y-for-integrators-0123456789"


def error_of(response) -> dict:  # type: ignore[no-untyped-def,type-arg]
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    return body["error"]


def kick_upload(freq: float = 61.0) -> dict:  # type: ignore[type-arg]
    return {
        "file": upload("kick.wav", audio_bytes(tone_burst(freq))),
        "pack_name": "API kit",
        "kind": "drums",
        "role": "kick",
    }


@pytest.fixture
def callers(settings, staff_user, normal_user):  # type: ignore[no-untyped-def]
    """Client factories for each kind of caller."""
    settings.METALIZER_ASSETS_API_KEY = KEY

    def make(kind: str) -> Client:
        client = Client()
        if kind == "user":
            client.force_login(normal_user)
        elif kind == "staff":
            client.force_login(staff_user)
        elif kind == "staff_token":
            client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.create(user=staff_user).key}"
        elif kind == "user_token":
            client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.create(user=normal_user).key}"
        elif kind == "right_key":
            client.defaults["HTTP_X_METALIZER_KEY"] = KEY
        elif kind == "wrong_key":
            client.defaults["HTTP_X_METALIZER_KEY"] = KEY[:-1] + "X"
        return client

    return make


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        ("anonymous", 401),
        ("user", 403),
        ("user_token", 403),
        ("wrong_key", 401),
        ("staff", 201),
        ("staff_token", 201),
        ("right_key", 201),
    ],
)
def test_upload_auth_matrix(callers, caller, expected):
    response = callers(caller).post("/api/assets/upload", kick_upload())
    assert response.status_code == expected, response.content
    if expected != 201:
        error_of(response)
        assert not Asset.objects.exists()
    else:
        assert response.json()["role"] == "kick"


def test_anonymous_gets_a_challenge_naming_the_key_header(callers):
    response = callers("anonymous").post("/api/assets/upload", kick_upload())
    assert response["WWW-Authenticate"] == "X-Metalizer-Key"


def test_key_uploads_are_disabled_when_no_key_is_configured(callers, settings):
    settings.METALIZER_ASSETS_API_KEY = None
    for key in (KEY, ""):
        client = Client(HTTP_X_METALIZER_KEY=key)
        response = client.post("/api/assets/upload", kick_upload())
        assert response.status_code == 403, (key, response.content)
        assert "disabled" in error_of(response)["message"]
    assert not Asset.objects.exists()


def test_upload_answers_201_with_the_asset_and_a_working_download_link(callers):
    client = callers("right_key")
    response = client.post(
        "/api/assets/upload", {**kick_upload(), "velocity_min": "0.5", "velocity_max": "1"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["pack"]["name"] == "API kit" and body["pack"]["kind"] == "drums"
    assert (body["format"], body["sample_rate"], body["velocity_min"]) == ("wav", 44100, 0.5)
    assert len(body["sha256"]) == 64
    download = client.get(body["download"])
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert b"".join(download.streaming_content)[:4] == b"RIFF"
    # A second upload with the same new-pack name lands in the same pack.
    snare = {**kick_upload(300), "role": "snare"}
    assert client.post("/api/assets/upload", snare).json()["pack"]["id"] == body["pack"]["id"]


def test_upload_into_an_existing_pack_by_slug(callers, make_file):
    create_pack("Riff pack", Kind.MIDI)
    response = callers("staff").post(
        "/api/assets/upload", {"file": upload("riff.mid", midi_bytes()), "pack": "riff-pack", "role": "riff"}
    )
    assert response.status_code == 201
    assert (response.json()["bars"], response.json()["tempo"]) == (4.0, 140.0)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"file": upload("kick.wav", b"plain text, not audio" * 8)}, "not_audio"),
        ({"role": "riff"}, "invalid_role"),
        ({"kind": "spaceship"}, "invalid_options"),
        ({"pack_name": "", "pack": ""}, "invalid_options"),
        ({"pack": "no-such-pack", "pack_name": ""}, "unknown_pack"),
        ({"file": upload("riff.mid", b"MThd\x00\x00\x00\x06\x00")}, "wrong_file_type"),
    ],
)
def test_invalid_uploads_get_400_with_a_reason(callers, fields, code):
    response = callers("staff").post("/api/assets/upload", {**kick_upload(), **fields})
    assert response.status_code == 400, response.content
    assert error_of(response)["code"] == code
    assert not Asset.objects.exists()


def test_corrupt_midi_upload_gets_400(callers):
    response = callers("staff").post(
        "/api/assets/upload",
        {"file": upload("riff.mid", midi_bytes()[:25]), "pack_name": "Riffs", "kind": "midi", "role": "riff"},
    )
    assert response.status_code == 400 and error_of(response)["code"] == "corrupt_midi"


def test_oversize_upload_gets_413_and_nothing_is_stored(callers, settings):
    settings.METALIZER_ASSET_MAX_BYTES = 20_000
    response = callers("right_key").post(
        "/api/assets/upload", {**kick_upload(), "file": upload("kick.wav", audio_bytes(tone_burst(60, 2.0)))}
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "file_too_large"
    assert not Asset.objects.exists() and not Pack.objects.exists()


def test_duplicate_upload_is_refused_naming_the_existing_asset(callers):
    client = callers("staff")
    first = client.post("/api/assets/upload", kick_upload(70)).json()
    again = client.post("/api/assets/upload", {**kick_upload(70), "pack_name": "Elsewhere"})
    assert again.status_code == 409
    assert f"#{first['id']}" in error_of(again)["message"]
    assert not Pack.objects.filter(name="Elsewhere").exists()


def test_list_filters_and_paginates(callers, default_bank, make_file):
    client = callers("right_key")
    riffs = create_pack("Riffs", Kind.MIDI)
    add_asset(riffs, make_file("riff.mid", midi_bytes()), filename="riff.mid", role="riff")
    kicks = client.get("/api/assets?kind=drums&role=kick").json()
    expected = default_bank[Kind.DRUMS].assets.filter(role="kick").count()
    assert kicks["count"] == expected and {a["role"] for a in kicks["results"]} == {"kick"}
    assert all(a["download"].startswith("http://testserver/api/assets/") for a in kicks["results"])
    by_pack = client.get(f"/api/assets?pack={riffs.slug}").json()
    assert [a["pack"]["id"] for a in by_pack["results"]] == [riffs.pk]
    riffs.active = False
    riffs.save()
    assert client.get("/api/assets?active=false").json()["count"] == 1
    page = client.get("/api/assets?page_size=5").json()
    assert len(page["results"]) == 5 and page["count"] == Asset.objects.count() and page["next"]
    assert callers("user").get("/api/assets").status_code == 403
    assert callers("anonymous").get("/api/assets").status_code == 401


def test_delete_by_allowed_callers_only(callers, make_file, django_capture_on_commit_callbacks):
    kit = create_pack("Spare kit", Kind.DRUMS)
    ride = add_asset(
        kit, make_file("ride.wav", audio_bytes(tone_burst(4000))), filename="ride.wav", role="ride"
    )
    assert callers("user").delete(f"/api/assets/{ride.pk}").status_code == 403
    assert callers("wrong_key").delete(f"/api/assets/{ride.pk}").status_code == 401
    name = ride.file.name
    with django_capture_on_commit_callbacks(execute=True):
        assert callers("right_key").delete(f"/api/assets/{ride.pk}").status_code == 204
    assert not Asset.objects.filter(pk=ride.pk).exists() and not ride.file.storage.exists(name)
    assert callers("staff").delete(f"/api/assets/{ride.pk}").status_code == 404


def test_delete_refuses_to_leave_the_default_pack_without_a_needed_role(callers, default_bank):
    client = callers("staff_token")
    kit = default_bank[Kind.DRUMS]
    kicks = list(kit.assets.filter(role="kick"))
    for kick in kicks[:-1]:
        assert client.delete(f"/api/assets/{kick.pk}").status_code == 204
    last = client.delete(f"/api/assets/{kicks[-1].pk}")
    assert last.status_code == 409 and error_of(last)["code"] == "required_role"
    ir_pack = default_bank[Kind.IMPULSE_RESPONSE]
    irs = list(ir_pack.assets.all())
    for ir in irs[:-1]:
        assert client.delete(f"/api/assets/{ir.pk}").status_code == 204
    assert client.delete(f"/api/assets/{irs[-1].pk}").status_code == 409
    # Outside the default pack, a role may go.
    crash = kit.assets.filter(role="crash").first()
    assert client.delete(f"/api/assets/{crash.pk}").status_code == 204


def test_the_schema_documents_the_asset_endpoints(client):
    schema = client.get("/api/schema/").content.decode()
    assert "/api/assets/upload" in schema and "/api/assets/{id}" in schema
