"""Callers list and delete only their own jobs: browser sessions and API tokens are kept apart."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from metalizer_site.tests.integration import services
from metalizer_site.tests.integration.apiclient import ApiClient
from metalizer_site.tests.integration.songs import song_file

if TYPE_CHECKING:
    from metalizer_site.tests.integration.conftest import QueueOnlyWeb

pytestmark = pytest.mark.integration


def _api_token(env: dict[str, str], data_dir: Path) -> str:
    """A new user and its DRF token, made the way an operator would: through manage.py."""
    username = f"api-{uuid.uuid4().hex[:8]}"
    code = (
        "from django.contrib.auth import get_user_model\n"
        "from rest_framework.authtoken.models import Token\n"
        f"user = get_user_model().objects.create_user(username={username!r})\n"
        "print('TOKEN=' + Token.objects.create(user=user).key)\n"
    )
    result = services.run_manage(["shell", "-c", code], {**env, "METALIZER_DATA_DIR": str(data_dir)})
    assert result.returncode == 0, result.stdout + result.stderr
    return next(line[6:] for line in result.stdout.splitlines() if line.startswith("TOKEN="))


def test_each_session_and_token_lists_and_deletes_only_its_own_jobs(
    queue_only_web: QueueOnlyWeb, migrated_env: dict[str, str], songs_dir: Path, it_dir: Path
) -> None:
    song = song_file(songs_dir / "shared.mp3", seconds=4)
    alice, bob = ApiClient(queue_only_web.base), ApiClient(queue_only_web.base)
    robot = ApiClient(queue_only_web.base, token=_api_token(migrated_env, it_dir / "data-manage"))
    stranger = ApiClient(queue_only_web.base)

    jobs = {caller: caller.create_job(song) for caller in (alice, bob, robot)}
    try:
        for caller, job_id in jobs.items():
            assert caller.list_ids() == {job_id}
        assert stranger.list_ids() == set()

        # Holding an id is enough to read a job, not to delete it.
        assert bob.job(jobs[alice])["id"] == jobs[alice]
        refused = bob.delete(jobs[alice])
        assert refused.status_code in (403, 404), refused.text[:300]
        assert robot.delete(jobs[bob]).status_code in (403, 404)
        assert alice.job(jobs[alice])["status"] == "queued"
        assert bob.job(jobs[bob])["status"] == "queued"
    finally:
        for caller, job_id in jobs.items():
            assert caller.delete(job_id).status_code == 204
    for caller in jobs:
        assert caller.list_ids() == set()
