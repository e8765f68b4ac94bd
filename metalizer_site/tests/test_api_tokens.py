"""Integrators get a token (a page for signed-in users, a command for operators), send it as Bearer or
Token, and a missing or wrong credential is a 401 with a challenge (issue 27, item 3)."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


@pytest.fixture
def listener(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("listener", password="pw-listener-1")


def test_the_token_page_asks_a_visitor_to_sign_in_first(client):
    response = client.get("/account/token/")
    assert response.status_code == 302 and response["Location"].startswith("/account/login/")


def test_a_signed_in_user_creates_sees_replaces_and_revokes_their_token(client, listener):
    assert (
        client.post("/account/login/", {"username": "listener", "password": "pw-listener-1"}).status_code
        == 302
    )
    assert "You have no token." in client.get("/account/token/").content.decode()
    assert client.post("/account/token/", {"action": "create"}).status_code == 302
    first = Token.objects.get(user=listener).key
    assert first in client.get("/account/token/").content.decode()
    client.post("/account/token/", {"action": "create"})
    second = Token.objects.get(user=listener).key
    assert second != first
    assert Client().get("/api/jobs", HTTP_AUTHORIZATION=f"Bearer {first}").status_code == 401
    assert Client().get("/api/jobs", HTTP_AUTHORIZATION=f"Bearer {second}").status_code == 200
    client.post("/account/token/", {"action": "revoke"})
    assert not Token.objects.filter(user=listener).exists()


def test_the_operators_command_creates_shows_and_revokes(listener, capsys):
    call_command("api_token", "create", "listener")
    key = capsys.readouterr().out.strip()
    assert re.fullmatch(r"[0-9a-f]{40}", key) and Token.objects.get(user=listener).key == key
    call_command("api_token", "show", "listener")
    assert capsys.readouterr().out.strip() == key
    call_command("api_token", "revoke", "listener")
    assert not Token.objects.filter(user=listener).exists()
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("api_token", "create", "nobody")


@pytest.mark.parametrize("scheme", ["Bearer", "Token", "bearer"])
def test_bearer_and_token_both_authenticate(listener, scheme):
    key = Token.objects.create(user=listener).key
    response = Client().get("/api/jobs", HTTP_AUTHORIZATION=f"{scheme} {key}")
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/api/jobs", "/api/assets"])
@pytest.mark.parametrize("header", ["Bearer nope", "Token nope", "Bearer"])
def test_a_wrong_token_is_401_with_a_challenge_everywhere(path, header):
    response = Client().get(path, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"]
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_missing_credential_where_one_is_needed_is_401(settings):
    settings.METALIZER_ASSETS_API_KEY = "some-key-0123456789"
    response = Client().get("/api/assets")
    assert response.status_code == 401 and response["WWW-Authenticate"]
