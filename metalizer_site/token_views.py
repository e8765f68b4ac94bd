"""/account/token/: a signed-in user creates, sees and revokes their API token (POST, CSRF-protected)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from metalizer_site import api_tokens


@login_required
@require_http_methods(["GET", "POST"])
def api_token_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            api_tokens.revoke(request.user)
        else:
            api_tokens.create(request.user)
        return redirect("account-token")  # a reload must not make another token
    return render(request, "account/api_token.html", {"token": api_tokens.current(request.user)})
