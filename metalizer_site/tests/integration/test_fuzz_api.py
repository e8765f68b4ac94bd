"""An independent fuzzer finds nothing: schemathesis reads /api/schema/ of the live app (gunicorn, PostgreSQL,
Redis, SeaweedFS S3, a real Celery worker), runs every phase with stateful links and every check but
``unsupported_method`` and ``positive_data_acceptance``, holding the asset API key so it may delete and upload
assets of a bank loaded with the shipped packs. It must report no failure, and a remix submitted afterwards,
over whatever the fuzzer left of the bank, must still succeed.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from metalizer_site.tests.integration import services
from metalizer_site.tests.integration.apiclient import ApiClient
from metalizer_site.tests.integration.songs import song_file

pytestmark = pytest.mark.integration

KEY = f"fuzz-{uuid.uuid4().hex}"
MAX_EXAMPLES = 50  # per operation and phase: ~1,200 cases, a minute or two here
SEED = 12
FUZZ_TIMEOUT_S = 600
EXCLUDED_CHECKS = "unsupported_method,positive_data_acceptance"


@pytest.fixture(scope="module")
def keyed_web(migrated_env: dict[str, str], it_dir: Path) -> Iterator[str]:
    """gunicorn with the asset API key set and a worker, on their own Redis db (the session's database and
    bucket): the fuzzing leaves the session's queue and worker alone. Throttles are raised so the fuzzer
    reaches the logic behind them (429 itself is checked by metalizer_site/tests/test_api_contract.py)."""
    extra = {
        "METALIZER_ASSETS_API_KEY": KEY,
        "METALIZER_THROTTLE_ANON": "1000000/hour",
        "METALIZER_THROTTLE_USER": "1000000/hour",
        "METALIZER_THROTTLE_UPLOADS": "1000000/hour",
    }
    with services.private_stack(migrated_env, it_dir, "fuzz", extra) as base:
        yield base


@pytest.fixture(scope="module")
def shipped_bank(migrated_env: dict[str, str], it_dir: Path, postgres_db: str) -> Iterator[None]:
    """The shipped packs loaded into the bank (``make run`` does it), removed again afterwards."""
    env = {**migrated_env, "METALIZER_DATA_DIR": str(it_dir / "data-manage")}
    loaded = services.run_manage(["load_default_assets"], env, timeout=300)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    try:
        yield
    finally:
        with services.pg_connect(postgres_db) as conn:
            conn.execute("DELETE FROM assets_bank_asset")
            conn.execute("DELETE FROM assets_bank_pack")


def schemathesis_config(path: Path, job_id: str) -> Path:
    """A finished job's id for the /api/jobs/{id} operations (random UUIDs name nothing)."""
    path.write_text(
        f"""[dictionaries.finished-job]
values = ["{job_id}"]

[[operations]]
include-path-regex = "^/api/jobs/\\\\{{id\\\\}}/"
parameters = {{ "path.id" = {{ dictionary = "finished-job", probability = 0.7 }} }}
"""
    )
    return path


def test_schemathesis_finds_no_failure_and_remixing_still_works_afterwards(
    keyed_web: str, shipped_bank: None, songs_dir: Path, tmp_path: Path
) -> None:
    owner = ApiClient(keyed_web)
    before = owner.create_job(song_file(songs_dir / "before.wav", seconds=8, seed=21))
    assert owner.watch(before, timeout=300).final["status"] == "succeeded"

    config = schemathesis_config(tmp_path / "schemathesis.toml", before)
    args = [
        str(services.VENV_BIN / "st"),
        "--config-file",
        str(config),
        "run",
        f"{keyed_web}/api/schema/",
        "--url",
        keyed_web,
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--checks",
        "all",
        "--exclude-checks",
        EXCLUDED_CHECKS,
        "--header",
        f"X-Metalizer-Key: {KEY}",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        # one worker: two threads make hypothesis call ast.parse concurrently, which CPython 3.11.7 (this
        # machine's) can crash with "SystemError: AST constructor recursion depth mismatch" (gh-106905)
        "--workers",
        "1",
        "--no-color",
    ]
    run = subprocess.run(
        args,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=FUZZ_TIMEOUT_S,
        check=False,
        env=services.clean_env({}),
    )
    output = run.stdout + run.stderr
    (tmp_path / "schemathesis.log").write_text(output)
    cases = re.search(r"(\d+) generated", output)
    summary = output[output.rfind("SUMMARY") :] if "SUMMARY" in output else output[-3000:]
    print(f"\nschemathesis: {cases.group(0) if cases else 'no case count'}; exit {run.returncode}\n{summary}")
    assert run.returncode == 0, f"schemathesis found failures (exit {run.returncode}):\n{output[-12000:]}"
    assert cases and int(cases.group(1)) >= 500, summary
    assert re.search(r"\d+ generated, \d+ passed", output), summary

    after = owner.create_job(song_file(songs_dir / "after.wav", seconds=8, seed=22))
    final = owner.watch(after, timeout=300).final
    assert final["status"] == "succeeded", (final["error_code"], final["error_message"])
    record = owner.session.get(owner.url(f"/api/jobs/{after}"), timeout=30).json()["assets_used"]
    print(
        f"after fuzzing: played {record['played']}, filled {record['filled_roles']}, "
        f"fallback {record['fallback']}, {record['skipped_count']} skipped"
    )
