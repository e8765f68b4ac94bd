"""API tokens: ``Authorization: Bearer <key>`` or ``Token <key>`` (DRF's authtoken keys).

This authenticator comes first in every API view, so a refused call without or with wrong credentials is a
401 with ``WWW-Authenticate: Bearer`` (DRF answers 403 when the first authenticator sends no challenge).
Signed-in users get their key on /account/token/; operators use ``manage.py api_token``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

SCHEMES = (b"bearer", b"token")


class BearerTokenAuthentication(TokenAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in SCHEMES:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the header as 'Authorization: Bearer <token>'.")
        try:
            key = parts[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("The token holds characters no token has.") from None
        return self.authenticate_credentials(key)

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        try:
            return super().authenticate_credentials(key)
        except exceptions.AuthenticationFailed:
            raise exceptions.AuthenticationFailed(
                "The token is not valid (revoked or mistyped); get one on /account/token/."
            ) from None


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"
    priority = 1

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token: signed-in users create, see and revoke theirs on /account/token/, "
            "operators with `manage.py api_token create|revoke <username>`. `Authorization: Token <key>` "
            "is accepted too. A missing or wrong credential is a 401.",
        }
