"""Load on the jobs API: status polling at a few hundred requests/s while 50 MB uploads stream in.

    .venv/bin/python bench/api_load.py [--duration 30] [--poll-rps 300] [--uploads 6] [--upload-mb 50]
    .venv/bin/python bench/api_load.py --url http://127.0.0.1:8000 --token <DRF token>

Without --url it starts the production stack of metalizer_site/tests/production/stack.py on loopback
(gunicorn as docker-compose.yml runs it, DEBUG=0, private PostgreSQL and Redis, SeaweedFS S3; no worker,
so uploaded jobs stay queued) and removes it afterwards. Prints p50/p99 latency per endpoint and the
gunicorn workers' peak resident memory (VmHWM): uploads are streamed to disk and then to storage, so the
peak stays far below the bytes uploaded at once. Traffic goes to 127.0.0.1 only; count and time are bounded.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import requests
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MAX_DURATION_S = 300.0
MAX_UPLOADS = 40


# --- The upload body, streamed ---------------------------------------------------------------------------


def write_wav(path: Path, megabytes: float, *, rate: int = 44100) -> Path:
    """A stereo 16-bit WAV of about ``megabytes`` MB (a chord plus noise), written in chunks."""
    frames = int(megabytes * 1_000_000 / 4)
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", samplerate=rate, channels=2, subtype="PCM_16", format="WAV") as out:
        done = 0
        while done < frames:
            n = min(rate * 10, frames - done)
            t = (np.arange(done, done + n) / rate)[:, None]
            tone = 0.2 * np.sin(2 * np.pi * np.array([110.0, 165.0]) * t) + 0.02 * rng.standard_normal((n, 2))
            out.write(tone.astype(np.float32))
            done += n
    return path


class MultipartFile(io.RawIOBase):
    """A multipart/form-data body read from disk in chunks, with a known length (so no chunked encoding)."""

    def __init__(self, path: Path, field: str = "file") -> None:
        self.boundary = uuid.uuid4().hex
        self._head = (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{path.name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._size = path.stat().st_size
        self._file = path.open("rb")
        self._parts = [io.BytesIO(self._head), self._file, io.BytesIO(self._tail)]
        self._position = 0

    def __len__(self) -> int:
        return len(self._head) + self._size + len(self._tail)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        # requests sizes a stream as len() - tell(); RawIOBase's tell() would fail and make that 0.
        return self._position

    def read(self, size: int = -1) -> bytes:
        size = 1 << 20 if size is None or size < 0 else size
        while self._parts:
            chunk = self._parts[0].read(size)
            if chunk:
                self._position += len(chunk)
                return chunk
            self._parts.pop(0)
        return b""

    def close(self) -> None:
        self._file.close()
        super().close()


# --- Measuring -------------------------------------------------------------------------------------------


class Latencies:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, name: str, seconds: float, status: int) -> None:
        with self._lock:
            self.samples[name].append(seconds)
            self.statuses[name][status] += 1

    def summary(self, wall_s: float) -> dict[str, dict[str, float]]:
        out = {}
        for name, values in sorted(self.samples.items()):
            ordered = sorted(values)
            out[name] = {
                "requests": len(values),
                "per_s": round(len(values) / wall_s, 1),
                "p50_ms": round(1000 * statistics.median(ordered), 1),
                "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1),
                "max_ms": round(1000 * ordered[-1], 1),
                "statuses": dict(self.statuses[name]),
            }
        return out


def memory_report(master_pid: int) -> dict[str, int]:
    from metalizer_site.tests.production.stack import web_peaks_mb

    return {str(pid): mb for pid, mb in web_peaks_mb(master_pid).items()}


# --- Load ------------------------------------------------------------------------------------------------


def poller(base: str, token: str, job_id: str, rate: float, stop: threading.Event, lat: Latencies) -> None:
    """Poll one job's status (and now and then the job list) at ``rate`` requests/s until ``stop``."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    interval = 1.0 / rate
    next_at = time.monotonic()
    count = 0
    while not stop.is_set():
        count += 1
        name, url = (
            ("GET /api/jobs", f"{base}/api/jobs")
            if count % 10 == 0
            else ("GET /api/jobs/{id}", f"{base}/api/jobs/{job_id}")
        )
        started = time.monotonic()
        try:
            status = session.get(url, timeout=30).status_code
        except requests.RequestException:
            status = 0
        lat.add(name, time.monotonic() - started, status)
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            stop.wait(delay)
        else:
            next_at = time.monotonic()  # running behind: do not burst to catch up


def upload(base: str, token: str, path: Path, lat: Latencies) -> str | None:
    body = MultipartFile(path)
    started = time.monotonic()
    try:
        response = requests.post(
            f"{base}/api/jobs",
            data=body,
            headers={"Authorization": f"Token {token}", "Content-Type": body.content_type},
            timeout=300,
        )
        status = response.status_code
    except requests.RequestException:
        status, response = 0, None
    finally:
        body.close()
    lat.add(f"POST /api/jobs ({path.stat().st_size / 1e6:.0f} MB)", time.monotonic() - started, status)
    return response.json()["id"] if response is not None and status == 201 else None


def run_load(base: str, token: str, master_pid: int | None, args: argparse.Namespace, workdir: Path) -> dict:
    host = urlparse(base).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to load {host}: this bench only talks to 127.0.0.1")
    print(f"generating a {args.upload_mb:.0f} MB WAV ...", flush=True)
    big = write_wav(workdir / "big.wav", args.upload_mb)
    small = write_wav(workdir / "small.wav", 1.0)
    lat = Latencies()
    seed_id = upload(base, token, small, lat)
    if seed_id is None:
        raise SystemExit(f"the first upload failed: {json.dumps(lat.statuses)}")
    baseline = memory_report(master_pid) if master_pid else {}
    stop = threading.Event()
    per_client = args.poll_rps / args.poll_clients
    threads = [
        threading.Thread(target=poller, args=(base, token, seed_id, per_client, stop, lat), daemon=True)
        for _ in range(args.poll_clients)
    ]
    print(
        f"polling at {args.poll_rps} req/s with {args.poll_clients} clients for {args.duration:.0f} s "
        f"while {args.uploads} x {big.stat().st_size / 1e6:.0f} MB uploads stream in "
        f"({args.upload_clients} at once)",
        flush=True,
    )
    started = time.monotonic()
    for thread in threads:
        thread.start()
    created: list[str] = [seed_id]
    with ThreadPoolExecutor(max_workers=args.upload_clients) as pool:
        for job_id in pool.map(lambda _i: upload(base, token, big, lat), range(args.uploads)):
            if job_id:
                created.append(job_id)
    stop.wait(max(0.0, args.duration - (time.monotonic() - started)))
    stop.set()
    for thread in threads:
        thread.join(timeout=35)
    wall = time.monotonic() - started
    peak = memory_report(master_pid) if master_pid else {}
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    for job_id in created:
        session.delete(f"{base}/api/jobs/{job_id}", timeout=60)
    return {
        "wall_s": round(wall, 1),
        "latency": lat.summary(wall),
        "uploaded_mb": round(args.uploads * big.stat().st_size / 1e6, 1),
        "rss_peak_mb_before_load": baseline,
        "rss_peak_mb_after_load": peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an already running server (default: start the production stack)")
    parser.add_argument("--token", help="DRF token for --url")
    parser.add_argument("--gunicorn-pid", type=int, help="gunicorn master pid for --url (for memory)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of polling (max 300)")
    parser.add_argument("--poll-rps", type=float, default=300.0)
    parser.add_argument("--poll-clients", type=int, default=16)
    parser.add_argument("--uploads", type=int, default=6, help=f"50 MB uploads in total (max {MAX_UPLOADS})")
    parser.add_argument("--upload-clients", type=int, default=3, help="uploads in flight at once")
    parser.add_argument("--upload-mb", type=float, default=50.0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    args.duration = min(args.duration, MAX_DURATION_S)
    args.uploads = min(args.uploads, MAX_UPLOADS)

    with tempfile.TemporaryDirectory(prefix="metalizer-api-load-") as tmp:
        workdir = Path(tmp)
        if args.url:
            if not args.token:
                raise SystemExit("--url needs --token (a DRF token of a user on that server)")
            report = run_load(args.url.rstrip("/"), args.token, args.gunicorn_pid, args, workdir)
        else:
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metalizer_site.settings")
            from metalizer_site.tests.production.stack import production_stack

            print("starting the production stack (PostgreSQL, Redis, SeaweedFS, gunicorn) ...", flush=True)
            with production_stack(workdir / "stack", workers=False, s3_relay=False) as stack:
                report = run_load(stack.base, stack.token, stack.web.process.pid, args, workdir)
                report["gunicorn"] = " ".join(stack.web.argv[1:])

    print(json.dumps(report, indent=2))
    for name, figures in report["latency"].items():
        print(
            f"{name:32s} n={figures['requests']:6d} {figures['per_s']:7.1f}/s  "
            f"p50 {figures['p50_ms']:8.1f} ms  p99 {figures['p99_ms']:8.1f} ms  "
            f"statuses {figures['statuses']}"
        )
    if report["rss_peak_mb_after_load"]:
        print(
            f"gunicorn peak RSS (VmHWM, MB per process) before load {report['rss_peak_mb_before_load']}, "
            f"after {report['rss_peak_mb_after_load']}; uploaded {report['uploaded_mb']} MB"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
