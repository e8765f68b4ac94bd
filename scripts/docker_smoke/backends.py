"""The real services the containers talk to, all on loopback: the machine's PostgreSQL and Redis, and a
SeaweedFS S3 server of our own, started the way the integration tests start theirs (same helpers).

A fresh database (created, then dropped), a Redis db index claimed for the run (flushed after) and a new S3
server with nothing in it: a run leaves nothing behind and does not see another suite's data.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from metalizer_site.tests.integration import services


@dataclass
class Backends:
    database: str
    redis_db: int
    s3: services.S3Server
    app_bucket: str

    def app_env(self) -> dict[str, str]:
        """What the containers need to reach them (the app's bucket is made by ``ensure_bucket``)."""
        return {
            "METALIZER_JOBS_DB_URL": services.database_url(self.database, scheme="postgresql"),
            "QUEUE_BACKEND": "redis",
            "REDIS_URL": services.redis_url(self.redis_db),
            **self.s3.env(),
            "METALIZER_S3_BUCKET": self.app_bucket,
        }


@contextlib.contextmanager
def backends(workdir: Path) -> Iterator[Backends]:
    services.check_postgres()
    services.check_redis()
    database = services.create_database("metalizer_docker_smoke")
    redis_db: int | None = None
    s3: services.S3Server | None = None
    try:
        redis_db = services.claim_redis_db(f"docker-smoke-{uuid.uuid4().hex[:8]}")
        s3 = services.start_seaweedfs(workdir / "weed", bucket="metalizer-smoke-probe")
        yield Backends(database, redis_db, s3, app_bucket=f"metalizer-smoke-{uuid.uuid4().hex[:8]}")
    finally:
        if s3 is not None:
            services.stop_seaweedfs(s3)
        if redis_db is not None:
            services.release_redis_db(redis_db)
        services.drop_database(database)
