"""A user's one API token (DRF authtoken): create or replace, read, revoke; the page and the command."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework.authtoken.models import Token


def current(user: Any) -> str | None:
    token = Token.objects.filter(user=user).first()
    return token.key if token else None


def create(user: Any) -> str:
    """A new key for ``user``; any earlier one stops working."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user).key


def revoke(user: Any) -> bool:
    deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)
