"""Who may use /api/assets: staff (session or token) and integrators holding ``METALIZER_ASSETS_API_KEY``.

The key travels in the ``X-Metalizer-Key`` header and is compared in constant time. With no key configured,
key access is disabled (403), never open.
"""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

KEY_HEADER = "X-Metalizer-Key"
KEY_AUTH = "asset-api-key"


class AssetKeyAuthentication(authentication.BaseAuthentication):
    header = KEY_HEADER

    def authenticate(self, request: Any) -> tuple[Any, str] | None:
        supplied = request.headers.get(self.header)
        if supplied is None:
            return None
        expected = settings.METALIZER_ASSETS_API_KEY
        if not expected:
            raise exceptions.PermissionDenied(
                "Key access to the asset bank is disabled on this server "
                "(METALIZER_ASSETS_API_KEY is not set)."
            )
        if not hmac.compare_digest(supplied.encode(), str(expected).encode()):
            raise exceptions.AuthenticationFailed(f"The {self.header} header does not match.")
        return AnonymousUser(), KEY_AUTH

    def authenticate_header(self, request: Any) -> str:
        return KEY_HEADER


class IsStaffOrAssetKey(permissions.BasePermission):
    message = "The asset bank is for staff accounts and holders of the asset API key."

    def has_permission(self, request: Any, view: Any) -> bool:
        if request.auth == KEY_AUTH:
            return True
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)


class AssetKeyScheme(OpenApiAuthenticationExtension):
    """Documents the key header in /api/schema/ (drf-spectacular finds it by subclass registration)."""

    target_class = AssetKeyAuthentication
    name = "assetApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": KEY_HEADER}
