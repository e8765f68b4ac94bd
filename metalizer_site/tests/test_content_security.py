"""Every page carries a Content-Security-Policy that allows scripts from this origin only, no page holds an
inline script, and /api/docs/ runs Swagger UI from the app's own static files (issue 25: no CSP at all, and
``swagger-ui@latest`` loaded from a CDN without integrity)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
PAGES = ("/", "/jobs/", "/admin/login/", "/api/docs/", "/jobs/00000000-0000-0000-0000-000000000000/")


def directives(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("path", PAGES)
def test_every_page_allows_scripts_from_this_origin_only(client, path):
    response = client.get(path)
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["form-action"] == ["'self'"]
    for tag in re.findall(r"<script\b[^>]*>", response.content.decode()):
        src = re.search(r'src="([^"]+)"', tag)
        assert src, f"an inline script on {path}: {tag}"
        assert src.group(1).startswith("/"), f"a script from another origin on {path}: {tag}"


def test_the_api_docs_run_swagger_ui_from_the_apps_own_static_files(client: Client):
    html = client.get("/api/docs/").content.decode()
    assert "cdn" not in html.lower() and "unpkg" not in html.lower() and "://" not in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui-bundle.js" in a for a in assets) and any("swagger-ui.css" in a for a in assets)
    for url in assets:
        assert url.startswith("/"), url
        answered = client.get(url)
        assert answered.status_code == 200, url
    init = next(a for a in assets if "script" in a and "swagger-ui" not in a)
    script = client.get(init.replace("&amp;", "&"))
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()


def test_signed_s3_downloads_are_allowed_to_play_and_be_fetched_but_never_scripts(tmp_path):
    """Signed downloads are another origin: the players and the mixer may fetch from the S3 endpoint only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("METALIZER_", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="metalizer_site.settings",
        METALIZER_DATA_DIR=str(tmp_path),
        METALIZER_STORAGE="s3",
        METALIZER_S3_ENDPOINT_URL="https://store.example.net:9000",
        METALIZER_S3_BUCKET="songs",
        METALIZER_S3_ACCESS_KEY="key",
        METALIZER_S3_SECRET_KEY="a-long-generated-secret-123",
    )
    probe = "import json, django; django.setup(); from django.conf import settings as s; "
    probe += "print(json.dumps(s.CONTENT_SECURITY_POLICY['DIRECTIVES']))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    policy = json.loads(result.stdout.strip().splitlines()[-1])
    for directive in ("media-src", "connect-src", "img-src"):
        assert "https://store.example.net:9000" in policy[directive], directive
    assert "https://store.example.net:9000" not in policy["script-src"]
