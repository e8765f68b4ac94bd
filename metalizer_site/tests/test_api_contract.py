"""The API does what its schema says: every answer under /api/ is JSON, errors in the one shape; invalid
parameters are refused with 400; every status an operation can answer is in /api/schema/."""

from __future__ import annotations

import json
import uuid

import pytest
import yaml
from django.test import Client, RequestFactory

from assets_bank.services import add_asset, create_pack
from assets_bank.tests.conftest import audio_bytes, tone_burst
from metalizer_site.api_errors import ApiErrorShapeMiddleware

pytestmark = pytest.mark.django_db

KEY = "k3y-for-integrators-0123456789"
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def integrator(settings) -> Client:  # type: ignore[no-untyped-def]
    settings.METALIZER_ASSETS_API_KEY = KEY
    return Client(HTTP_X_METALIZER_KEY=KEY)


@pytest.fixture
def make_file(tmp_path):  # type: ignore[no-untyped-def]
    def _make(name: str, data: bytes):  # type: ignore[no-untyped-def]
        path = tmp_path / "files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    return _make


@pytest.fixture
def schema(client) -> dict:  # type: ignore[no-untyped-def,type-arg]
    response = client.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def error_of(response, status: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"]
    return body["error"]


def operations(schema: dict):  # type: ignore[no-untyped-def,type-arg]
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if method in METHODS:
                yield path, method, operation


@pytest.mark.parametrize(
    "path",
    [
        "/api/assets/abc",
        "/api/assets/abc/download",
        "/api/assets/-4/",
        "/api/assets/99999999999999999999",
        "/api/assets/99999999999999999999/download",
        "/api/jobs/not-a-uuid",
        "/api/jobs/not-a-uuid/analysis",
        "/api/jobs/4521c76e-e8ab-48a4-9f41-68a61d609f5d/result",
        "/api/nothing-here",
        "/api/jobs/x/y/z",
    ],
)
def test_malformed_ids_and_unknown_paths_answer_json_404_not_the_html_page(integrator, settings, path):
    for debug in (False, True):  # Django's technical 404 page in DEBUG is HTML too
        settings.DEBUG = debug
        assert error_of(integrator.get(path), 404)["code"] == "not_found"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("kind=drmus", "invalid_filter"),
        ("kind=", "invalid_filter"),
        ("active=maybe", "invalid_filter"),
        ("active=", "invalid_filter"),
        ("page=0", "invalid_parameter"),
        ("page=abc", "invalid_parameter"),
        ("page=999", "invalid_page"),
        ("page_size=0", "invalid_parameter"),
        ("page_size=501", "invalid_parameter"),
        ("page_size=ten", "invalid_parameter"),
        ("role=ki%00ck", "invalid_filter"),  # PostgreSQL cannot store or compare a NUL: it was a 500
        ("pack=%00", "invalid_filter"),
    ],
)
def test_invalid_filters_and_pages_are_400_with_the_reason(integrator, query, code):
    error = error_of(integrator.get(f"/api/assets?{query}"), 400)
    assert error["code"] == code
    assert query.split("=")[0] in error["message"] or "Page" in error["message"]


def test_valid_filters_still_work(integrator, make_file):
    pack = create_pack("Kit 7", "drums")
    add_asset(pack, make_file("k.wav", audio_bytes(tone_burst(90))), filename="k.wav", role="kick")
    for query in ("kind=drums", "active=true", "active=True", f"pack={pack.pk}", "pack=kit-7", "page=1"):
        response = integrator.get(f"/api/assets?{query}")
        assert response.status_code == 200 and response.json()["count"] == 1, query
    assert integrator.get("/api/assets?active=false").json()["count"] == 0
    assert integrator.get("/api/assets?pack=99999999999999999999").json()["count"] == 0


def test_job_include_and_result_format_values_outside_their_enums_are_400(client):
    assert error_of(client.get("/api/jobs?include=everything"), 400)["code"] == "invalid_parameter"
    job = f"/api/jobs/{uuid.uuid4()}"
    assert error_of(client.get(f"{job}?include=analysis,beats"), 400)["code"] == "invalid_parameter"
    assert error_of(client.get(f"{job}/result?part=midi&format=zzz"), 400)["code"] == "invalid_format"


def test_an_unhandled_error_under_the_api_is_a_json_500_even_in_debug(settings):
    def broken_view(request):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    middleware = ApiErrorShapeMiddleware(broken_view)
    request = RequestFactory().get("/api/jobs")
    settings.DEBUG = True
    response = middleware.process_exception(request, RuntimeError("a bug"))
    assert error_of(response, 500)["code"] == "internal_error"
    assert middleware.process_exception(RequestFactory().get("/jobs/"), RuntimeError("x")) is None


def test_a_missing_assets_file_downloads_as_json_404(integrator, make_file):
    pack = create_pack("Kit 8", "drums")
    asset = add_asset(pack, make_file("k.wav", audio_bytes(tone_burst(95))), filename="k.wav", role="kick")
    asset.file.storage.delete(asset.file.name)
    assert error_of(integrator.get(f"/api/assets/{asset.pk}/download"), 404)["code"] == "file_missing"


def test_every_operation_documents_its_errors_in_the_error_shape(schema):
    error_ref = "#/components/schemas/Error"
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        where = f"{method.upper()} {path}"
        assert "429" in responses, f"{where}: every call is throttled"
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            assert "404" in responses, where
        if any(p["in"] == "query" for p in operation.get("parameters", [])) or "requestBody" in operation:
            assert "400" in responses, where
        if "requestBody" in operation:
            assert {"413", "415"} <= set(responses), where
        if path.startswith("/api/assets"):
            assert {"401", "403"} <= set(responses), where
        for code, response in responses.items():
            if int(code) < 400:
                continue
            assert response["description"], f"{where} {code} has no description"
            if "content" in response:
                assert response["content"]["application/json"]["schema"]["$ref"] == error_ref, (where, code)
    error = schema["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"code", "message"}


def test_the_statuses_the_issue_found_undocumented_are_documented(schema):
    paths = schema["paths"]
    assert "400" in paths["/api/assets/"]["get"]["responses"]  # bad filter values, bad pages
    assert "404" in paths["/api/assets/{id}/download/"]["get"]["responses"]
    assert "429" in paths["/api/assets/upload/"]["post"]["responses"]
    assert {"206", "416"} <= set(paths["/api/jobs/{id}/result/"]["get"]["responses"])
    kind = next(p for p in paths["/api/assets/"]["get"]["parameters"] if p["name"] == "kind")
    assert kind["schema"]["enum"] == ["drums", "guitar", "impulse-response", "midi"]
    ids = {
        path: next(p["schema"] for p in paths[path]["get"]["parameters"] if p["in"] == "path")
        for path in ("/api/assets/{id}/", "/api/jobs/{id}/")
    }
    assert ids["/api/assets/{id}/"]["type"] == "integer" and ids["/api/jobs/{id}/"]["format"] == "uuid"


def test_file_fields_are_documented_as_binary_uploads(schema):
    with_files = 0
    for path, method, operation in operations(schema):
        content = operation.get("requestBody", {}).get("content", {})
        for media, body in content.items():
            ref = body["schema"]["$ref"].rsplit("/", 1)[-1]
            fields = schema["components"]["schemas"][ref]["properties"]
            if "file" not in fields:  # a body without a file (a re-style's options) may be JSON too
                continue
            with_files += 1
            assert media == "multipart/form-data", (method, path, media)
            assert fields["file"] == {**fields["file"], "type": "string", "format": "binary"}, (
                path,
                fields["file"],
            )
    assert with_files >= 2  # the song upload and the asset upload


def test_created_and_listed_objects_link_to_the_operations_on_them(schema):
    created = schema["paths"]["/api/jobs/"]["post"]["responses"]["201"]["links"]
    assert created["jobs_retrieve"]["parameters"] == {"id": "$response.body#/id"}
    assert {"jobs_destroy", "jobs_result_retrieve", "jobs_analysis_retrieve"} <= set(created)
    uploaded = schema["paths"]["/api/assets/upload/"]["post"]["responses"]["201"]["links"]
    assert {"assets_retrieve", "assets_destroy", "assets_download_retrieve"} <= set(uploaded)
    listed = schema["paths"]["/api/assets/"]["get"]["responses"]["200"]["links"]
    assert listed["assets_destroy"]["parameters"] == {"id": "$response.body#/results/0/id"}


def test_an_upload_answers_201_with_a_location_the_schema_links_to(integrator):
    from assets_bank.tests.conftest import upload

    response = integrator.post(
        "/api/assets/upload",
        {
            "file": upload("k.wav", audio_bytes(tone_burst(71))),
            "pack_name": "Loc",
            "kind": "drums",
            "role": "kick",
        },
    )
    assert response.status_code == 201
    assert response["Location"] == f"http://testserver/api/assets/{response.json()['id']}"
    assert integrator.get(response["Location"]).json()["id"] == response.json()["id"]


def test_throttled_calls_answer_429_in_the_error_shape_with_retry_after(client, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    # DRF reads the rates once, at import: the lower one is set where it reads them.
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "anon": "2/hour"}
    )
    answers = [client.get("/api/jobs") for _ in range(3)]
    assert [a.status_code for a in answers[:2]] == [200, 200]
    assert error_of(answers[2], 429)["code"] == "throttled" and int(answers[2]["Retry-After"]) > 0
