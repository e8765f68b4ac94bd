"""A small HTTP client for the Metalizer jobs API, as an outside API client or browser would use it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

TERMINAL = ("succeeded", "failed", "cancelled")


@dataclass
class JobWatch:
    """What polling a job saw: the final body and every (status, stage, progress) observed on the way."""

    final: dict[str, Any]
    seen: list[tuple[str, str | None, float | None]] = field(default_factory=list)

    def progress_while_running(self) -> list[float]:
        return [p for status, _stage, p in self.seen if status == "running" and p is not None]


class ApiClient:
    """One caller: its own cookie jar (a browser session) and optionally a DRF token."""

    def __init__(self, base_url: str, *, token: str | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Token {token}"

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def upload(
        self, path: Path, *, name: str | None = None, timeout: float = 120, **options: Any
    ) -> requests.Response:
        data = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in options.items()}
        with path.open("rb") as fh:
            return self.session.post(
                self.url("/api/jobs"),
                files={"file": (name or path.name, fh, "application/octet-stream")},
                data=data,
                timeout=timeout,
            )

    def create_job(self, path: Path, **options: Any) -> str:
        response = self.upload(path, **options)
        assert response.status_code == 201, f"upload answered {response.status_code}: {response.text[:1000]}"
        return str(response.json()["id"])

    def remix(self, job_id: str, **options: Any) -> requests.Response:
        """POST /api/jobs/{id}/remix with these options (JSON): the same song in another style."""
        return self.session.post(self.url(f"/api/jobs/{job_id}/remix"), json=options, timeout=60)

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.session.get(self.url(f"/api/jobs/{job_id}"), timeout=30)
        assert response.status_code == 200, f"GET job answered {response.status_code}: {response.text[:1000]}"
        return response.json()

    def list_ids(self) -> set[str]:
        response = self.session.get(self.url("/api/jobs"), timeout=30)
        assert response.status_code == 200, (
            f"GET /api/jobs answered {response.status_code}: {response.text[:1000]}"
        )
        body = response.json()
        items = body["results"] if isinstance(body, dict) else body
        return {str(item["id"]) for item in items}

    def delete(self, job_id: str) -> requests.Response:
        return self.session.delete(self.url(f"/api/jobs/{job_id}"), timeout=60)

    def result(self, job_id: str, *, part: str = "mix", fmt: str | None = None) -> requests.Response:
        params = {"part": part}
        if fmt:
            params["format"] = fmt
        return self.session.get(
            self.url(f"/api/jobs/{job_id}/result"), params=params, allow_redirects=False, timeout=60
        )

    def watch(
        self, job_id: str, *, until: tuple[str, ...] = TERMINAL, timeout: float = 300, interval: float = 0.5
    ) -> JobWatch:
        """Poll the job until its status is one of ``until``; AssertionError with the history on timeout."""
        seen: list[tuple[str, str | None, float | None]] = []
        deadline = time.monotonic() + timeout
        while True:
            body = self.job(job_id)
            entry = (body["status"], body.get("stage"), body.get("progress"))
            if not seen or seen[-1] != entry:
                seen.append(entry)
            if body["status"] in until:
                return JobWatch(final=body, seen=seen)
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"job {job_id} not {until} after {timeout:.0f} s; last body {body}; history {seen[-20:]}"
                )
            time.sleep(interval)
