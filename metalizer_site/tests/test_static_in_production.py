"""Production pages render with or without ``collectstatic`` having run, and their CSS is served.

Issue 25, finding 3: run as the README's production section says (DEBUG=0, no collectstatic), ``/``, the
job pages and even the 404 page answered 500 ("The file 'css/site.css' could not be found").
Each server is a fresh process: the storage and WhiteNoise are chosen when settings load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Asks the pages through Django's test client (WhiteNoise's middleware included) in production settings.
PROBE = """
import json, re, django
django.setup()
from django.test import Client
client = Client(HTTP_X_FORWARDED_PROTO="https")
out = {}
for path in ("/", "/jobs/00000000-0000-0000-0000-000000000000/", "/no-such-page/", "/admin/login/"):
    response = client.get(path)
    out[path] = response.status_code
    if path == "/":
        css = re.search(r'href="(/static/css/site[^"]*\\.css)"', response.content.decode()).group(1)
        served = client.get(css)
        out["css"] = [css, served.status_code, served.get("Content-Type", "")]
print(json.dumps(out))
"""


def pages_answered(tmp_path: Path, static_root: Path) -> dict:  # type: ignore[type-arg]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("METALIZER_", "DJANGO_")) and key not in ("QUEUE_BACKEND", "REDIS_URL")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="metalizer_site.settings",
        METALIZER_DEBUG="0",
        METALIZER_SECRET_KEY=uuid.uuid4().hex * 2,
        METALIZER_ALLOWED_HOSTS="testserver",
        METALIZER_SECURE_SSL_REDIRECT="0",
        METALIZER_DATA_DIR=str(tmp_path / "data"),
        METALIZER_STATIC_ROOT=str(static_root),
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_production_pages_render_and_serve_their_css_without_collectstatic(tmp_path):
    answered = pages_answered(tmp_path, tmp_path / "never-collected")
    assert answered["/"] == 200
    assert answered["/jobs/00000000-0000-0000-0000-000000000000/"] == 404
    assert answered["/no-such-page/"] == 404
    assert answered["/admin/login/"] == 200
    css, status, content_type = answered["css"]
    assert css == "/static/css/site.css" and status == 200 and content_type.startswith("text/css")


@pytest.mark.slow
def test_after_collectstatic_the_pages_use_the_hashed_names(tmp_path):
    static_root = tmp_path / "collected"
    env = {**os.environ, "METALIZER_DEBUG": "0", "METALIZER_SECRET_KEY": uuid.uuid4().hex * 2}
    env.update(METALIZER_STATIC_ROOT=str(static_root), METALIZER_DATA_DIR=str(tmp_path / "data"))
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    answered = pages_answered(tmp_path, static_root)
    assert answered["/"] == 200 and answered["/no-such-page/"] == 404
    css, status, _type = answered["css"]
    assert css != "/static/css/site.css" and css.startswith("/static/css/site.") and status == 200
