"""Settings come from the environment and refuse malformed values at start-up, naming the variable."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from metalizer_site.env import Env, database_config, redis_url

REPO = Path(__file__).resolve().parents[2]


def test_int_reader_refuses_non_numbers_naming_the_variable():
    with pytest.raises(ImproperlyConfigured, match="METALIZER_UPLOAD_MAX_BYTES must be a whole number"):
        Env({"METALIZER_UPLOAD_MAX_BYTES": "100MB"}).int("METALIZER_UPLOAD_MAX_BYTES", 1)


def test_int_reader_refuses_values_below_the_minimum():
    with pytest.raises(ImproperlyConfigured, match="METALIZER_JOB_TTL_HOURS must be at least 1"):
        Env({"METALIZER_JOB_TTL_HOURS": "0"}).int("METALIZER_JOB_TTL_HOURS", 24, minimum=1)


def test_int_reader_uses_default_when_unset_or_blank():
    assert Env({}).int("X", 7) == 7
    assert Env({"X": "  "}).int("X", 7) == 7
    assert Env({"X": " 42 "}).int("X", 7) == 42


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("yes", True), ("ON", True), ("0", False), ("off", False)]
)
def test_bool_reader_accepts_common_spellings(raw, expected):
    assert Env({"METALIZER_DEBUG": raw}).bool("METALIZER_DEBUG", not expected) is expected


def test_bool_reader_refuses_anything_else():
    with pytest.raises(ImproperlyConfigured, match="METALIZER_DEBUG must be a boolean"):
        Env({"METALIZER_DEBUG": "maybe"}).bool("METALIZER_DEBUG", True)


def test_choice_reader_refuses_unknown_queue_backend():
    with pytest.raises(ImproperlyConfigured, match="QUEUE_BACKEND must be one of embedded, redis, eager"):
        Env({"QUEUE_BACKEND": "rabbit"}).choice("QUEUE_BACKEND", ("embedded", "redis", "eager"), "embedded")


def test_list_reader_splits_commas_and_drops_blanks():
    assert Env({"H": "a.example, b.example,,"}).list("H", []) == ["a.example", "b.example"]


def test_metalizer_redis_url_is_mapped_onto_redis_url_when_unset():
    assert redis_url(Env({"METALIZER_REDIS_URL": "redis://10.0.0.5:6379/1"})) == "redis://10.0.0.5:6379/1"
    both = Env({"REDIS_URL": "redis://a:6379/0", "METALIZER_REDIS_URL": "redis://b:6379/0"})
    assert redis_url(both) == "redis://a:6379/0"


@pytest.mark.parametrize(
    "url",
    [
        "postgres://metal:pw@db.internal:5433/metalizer",
        "postgresql://metal:pw@db.internal:5433/metalizer",
        "postgresql+psycopg://metal:pw@db.internal:5433/metalizer",
    ],
)
def test_database_url_accepts_every_postgres_form(url, tmp_path):
    config = database_config(url, base_dir=tmp_path)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["HOST"], config["PORT"]) == (
        "metalizer",
        "metal",
        "db.internal",
        5433,
    )


def test_database_url_resolves_relative_sqlite_paths_against_the_repo(tmp_path):
    config = database_config("sqlite:///data/jobs.sqlite3", base_dir=tmp_path)
    assert config["NAME"] == str(tmp_path / "data" / "jobs.sqlite3")
    absolute = database_config("sqlite:////var/lib/metalizer/jobs.sqlite3", base_dir=tmp_path)
    assert absolute["NAME"] == "/var/lib/metalizer/jobs.sqlite3"


@pytest.mark.parametrize("url", ["mysql://u@h/db", "jobs.sqlite3", "sqlite://"])
def test_database_url_refuses_other_schemes_naming_the_variable(url, tmp_path):
    with pytest.raises(ImproperlyConfigured, match="METALIZER_JOBS_DB_URL"):
        database_config(url, base_dir=tmp_path)


def start_django(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """Load the real settings module in a fresh interpreter with exactly this environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("METALIZER_", "QUEUE_", "REDIS_"))}
    clean.update(
        {"METALIZER_DATA_DIR": str(tmp_path / "data"), "DJANGO_SETTINGS_MODULE": "metalizer_site.settings"}
    )
    clean.update(env)
    code = (
        "import django; django.setup(); from django.conf import settings; print(settings.CELERY_BROKER_URL)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=clean, capture_output=True, text=True, timeout=60
    )


def test_settings_start_with_no_environment_on_the_embedded_default(tmp_path):
    result = start_django(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "filesystem://"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"QUEUE_BACKEND": "redis"}, "QUEUE_BACKEND=redis needs REDIS_URL (or METALIZER_REDIS_URL)"),
        ({"METALIZER_MAX_DURATION_S": "ten minutes"}, "METALIZER_MAX_DURATION_S must be a whole number"),
    ],
    ids=["redis backend without a url names both variables", "malformed integer"],
)
def test_settings_refuse_a_bad_environment_at_start_up_naming_the_variable(tmp_path, environ, message):
    result = start_django(tmp_path, **environ)
    assert result.returncode != 0
    assert message in result.stderr


def test_settings_use_metalizer_redis_url_for_the_broker(tmp_path):
    result = start_django(tmp_path, QUEUE_BACKEND="redis", METALIZER_REDIS_URL="redis://127.0.0.1:6379/3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "redis://127.0.0.1:6379/3"


def test_settings_refuse_production_mode_without_a_secret_key(tmp_path):
    result = start_django(tmp_path, METALIZER_DEBUG="0")
    assert result.returncode != 0
    assert "METALIZER_SECRET_KEY must be set" in result.stderr


def test_settings_refuse_s3_storage_without_bucket_and_keys(tmp_path):
    result = start_django(tmp_path, METALIZER_STORAGE="s3")
    assert result.returncode != 0
    assert "METALIZER_S3_BUCKET" in result.stderr and "METALIZER_S3_SECRET_KEY" in result.stderr


def test_production_settings_pass_the_deploy_checks(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("METALIZER_", "QUEUE_", "REDIS_", "DJANGO_"))
    }
    env.update(
        METALIZER_DATA_DIR=str(tmp_path / "data"),
        METALIZER_MODELS_DIR=str(tmp_path / "no-models"),  # so the missing-checkpoint warning always shows
        METALIZER_DEBUG="0",
        METALIZER_SECRET_KEY="x" * 20 + "a-long-random-production-secret-0123456789",
        METALIZER_ALLOWED_HOSTS="metalizer.example",
        METALIZER_CSRF_TRUSTED_ORIGINS="https://metalizer.example",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # No security warning and no error of any kind; other apps' warnings are theirs to judge.
    output = result.stdout + result.stderr
    found = re.findall(r"\((\w+)\.([EWC]\d+)\)", output)
    assert found, output  # the checks ran (the missing demucs checkpoint is always reported)
    assert [
        f"{app}.{code}" for app, code in found if app == "security" or code.startswith(("E", "C"))
    ] == [], output


def test_env_example_lists_every_variable_the_settings_read():
    import re

    sources = (REPO / "metalizer_site" / "settings.py").read_text() + (
        REPO / "metalizer_site" / "env.py"
    ).read_text()
    read = set(re.findall(r'"((?:METALIZER|QUEUE|REDIS)_[A-Z0-9_]*|REDIS_URL)"', sources))
    read -= {"METALIZER_BROKER_VARIABLE"}
    listed = set(re.findall(r"^([A-Z0-9_]+)=", (REPO / ".env.example").read_text(), flags=re.M))
    assert read - listed == set()
