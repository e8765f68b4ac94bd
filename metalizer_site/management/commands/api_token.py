"""``manage.py api_token create|show|revoke <username>``: an operator hands an integrator an API token."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from metalizer_site import api_tokens


class Command(BaseCommand):
    help = "Create (or show), or revoke, the API token of a user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create", "show", "revoke"])
        parser.add_argument("username")

    def handle(self, *args: Any, action: str, username: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r} (manage.py createsuperuser makes one).")
        if action == "revoke":
            revoked = api_tokens.revoke(user)
            self.stdout.write(f"Revoked {username}'s token." if revoked else f"{username} had no token.")
            return
        token = api_tokens.current(user) if action == "show" else api_tokens.create(user)
        if token is None:
            raise CommandError(f"{username} has no token; create one with: api_token create {username}")
        self.stdout.write(token)
