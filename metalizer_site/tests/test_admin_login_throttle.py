"""The admin's login is throttled per client address (issue 25: it had no throttle at all)."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "a-good-pass-phrase-1"


@pytest.fixture
def staff(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("curator", password=PASSWORD, is_staff=True)


def login(client: Client, password: str, address: str = "198.51.100.4"):  # type: ignore[no-untyped-def]
    return client.post(
        "/admin/login/", {"username": "curator", "password": password, "next": "/admin/"}, REMOTE_ADDR=address
    )


def test_failed_logins_are_limited_per_address_then_even_the_right_password_waits(staff, settings):
    settings.METALIZER_ADMIN_LOGIN_RATE = (3, 3600)
    client = Client()
    for _ in range(3):
        assert login(client, "guess").status_code == 200  # the form again, with its error
    refused = login(client, PASSWORD)
    assert refused.status_code == 429
    assert 3500 <= int(refused["Retry-After"]) <= 3600
    assert "Too many failed logins" in refused.content.decode()
    assert login(Client(), PASSWORD, address="198.51.100.5").status_code == 302  # another address


def test_successful_logins_do_not_count(staff, settings):
    settings.METALIZER_ADMIN_LOGIN_RATE = (2, 3600)
    for _ in range(4):
        assert login(Client(), PASSWORD).status_code == 302
    assert login(Client(), "guess").status_code == 200
    assert Client().get("/admin/login/").status_code == 200
