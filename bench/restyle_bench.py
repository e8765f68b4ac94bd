"""Try another style, measured end to end: a first remix of a song through the API, then re-styles of it.

    .venv/bin/python bench/restyle_bench.py                       # a generated 3-minute song
    .venv/bin/python bench/restyle_bench.py /work/shared/music/FULL_drascula_track1.ogg --styles doom,black

Starts the production stack of metalizer_site/tests/production/stack.py on loopback (gunicorn, the heavy and
default Celery workers and beat as docker-compose.yml runs them, private PostgreSQL and Redis, SeaweedFS S3)
and removes it afterwards. A short warm-up song first loads the models into the worker (a worker serves
many songs; --no-warmup measures a cold one). Wall times run from the start of the POST until polling sees
the job succeeded: the upload's transfer, queueing, the worker's run and the storing of the results;
"playable" is when the mix alone was stored and could be played (the row's ``mix_ready_at``: the stems, MIDI
files and pictures are made and stored after it, and the page says so while they are). Goals
(issue 29): a re-style of a 3-minute song in at most 8 s and at most 20% of the first remix's wall time.
Prints each job's stages (the worker's own timings, with "reusing": fetching the cached stems, and
"storing": uploading the results), the machine's load, and, with --rounds N, medians over N rounds (each
round deletes its jobs, and so the song's cache entry).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import load  # noqa: E402

GOAL = 0.20  # re-style wall / first remix wall
RESTYLE_GOAL_S = 8.0  # a re-style of a 3-minute song, POST to succeeded
POLL_S = 0.2
TIMEOUT_S = 1800


def wait_done(client: Any, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        body = client.job(job_id)
        if body["status"] in ("succeeded", "failed", "cancelled"):
            if body["status"] != "succeeded":
                raise SystemExit(f"job {job_id} ended {body['status']}: {body.get('error_message')}")
            return body
        if time.monotonic() > deadline:
            raise SystemExit(f"job {job_id} not done after {TIMEOUT_S} s: {body['status']} {body['stage']}")
        time.sleep(POLL_S)


def stage_timings(db_url: str, job_id: str) -> dict[str, float]:
    """The worker's own per-stage timings, as stored on the Job row (the API does not show them)."""
    with psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute("SELECT timings FROM jobs_job WHERE id = %s", (job_id,)).fetchone()
    return dict(row[0] or {}) if row else {}


def measure(client: Any, db_url: str, label: str, start: Any) -> dict[str, Any]:
    """Run ``start()`` (a POST returning the new job's id) and time the job end to end."""
    began = time.monotonic()
    job_id = start()
    body = wait_done(client, job_id)
    wall = time.monotonic() - began
    started, finished, mix_ready = (
        datetime.fromisoformat(body[k]) for k in ("started_at", "finished_at", "mix_ready_at")
    )
    queued = datetime.fromisoformat(body["created_at"])
    timings = stage_timings(db_url, job_id)
    run_s = (finished - started).total_seconds()
    return {
        "label": label,
        "id": job_id,
        "wall_s": round(wall, 2),
        "playable_s": round(wall - (finished - mix_ready).total_seconds(), 2),
        "queue_s": round((started - queued).total_seconds(), 2),
        "worker_run_s": round(run_s, 2),
        "stages_s": timings,
        "beside_stages_s": round(run_s - sum(timings.values()), 2),
        "reused": body["reused"],
        "separator": body["separator"]["name"],
        "duration_s": body["duration"],
    }


def print_row(row: dict[str, Any]) -> None:
    stages = ", ".join(f"{name} {seconds:.1f}" for name, seconds in row["stages_s"].items())
    print(
        f"{row['label']:24s} wall {row['wall_s']:7.1f} s (playable {row['playable_s']:5.1f}) | queued "
        f"{row['queue_s']:5.1f} s, worker {row['worker_run_s']:6.1f} s ({stages}; beside the stages "
        f"{row['beside_stages_s']:.1f}) | reused {row['reused']}",
        flush=True,
    )


def one_round(client: Any, db_url: str, song: Path, args: argparse.Namespace, number: int) -> dict[str, Any]:
    """A first remix of ``song`` and each re-style of it; then every job is deleted, which also empties the
    stem cache of the song, so the next round's first remix separates and analyses again."""
    first = measure(
        client,
        db_url,
        f"{number}: first remix ({args.style})",
        lambda: client.create_job(song, style=args.style),
    )
    print_row(first)
    restyles = []
    for style in args.styles:

        def start(style: str = style) -> str:
            response = client.remix(first["id"], style=style)
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        restyles.append(measure(client, db_url, f"{number}: re-style ({style})", start))
        print_row(restyles[-1])
    for job_id in [first["id"], *(r["id"] for r in restyles)]:
        assert client.delete(job_id).status_code == 204
    return {"first": first, "restyles": restyles}


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from metalizer_site.tests.integration.songs import song_file
    from metalizer_site.tests.production.stack import production_stack

    song = args.song or song_file(workdir / "three-minutes.wav", seconds=args.seconds, seed=7, vocals=True)
    print(f"song: {song} ({song.stat().st_size / 1e6:.1f} MB)", flush=True)
    print("starting the production stack (PostgreSQL, Redis, SeaweedFS, gunicorn, Celery) ...", flush=True)
    with production_stack(workdir / "stack", workers=True, s3_relay=False) as stack:
        client = stack.client()
        db_url = stack.postgres.url
        if not args.no_warmup:
            warm = song_file(workdir / "warm-up.wav", seconds=8, seed=1)
            print_row(measure(client, db_url, "warm-up (8 s song)", lambda: client.create_job(warm)))
        rounds = [one_round(client, db_url, song, args, n + 1) for n in range(args.rounds)]
        worker_log = stack.service("worker-heavy").process.log_text()
    kept = [
        line.split("kept the stems", 1)[1].strip()
        for line in worker_log.splitlines()
        if "kept the stems" in line
    ]
    firsts = [r["first"]["wall_s"] for r in rounds]
    restyle_walls = [s["wall_s"] for r in rounds for s in r["restyles"]]
    return {
        "song": str(song),
        "song_duration_s": rounds[0]["first"]["duration_s"],
        "rounds": rounds,
        "stem_cache_put": kept,
        "first_wall_s_median": round(statistics.median(firsts), 2),
        "restyle_wall_s_median": round(statistics.median(restyle_walls), 2),
        "restyle_playable_s_median": round(
            statistics.median(s["playable_s"] for r in rounds for s in r["restyles"]), 2
        ),
        "ratio_median": round(statistics.median(restyle_walls) / statistics.median(firsts), 3),
        "ratio_per_round": [
            round(max(s["wall_s"] for s in r["restyles"]) / r["first"]["wall_s"], 3) for r in rounds
        ],
        "goal": GOAL,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("song", nargs="?", type=Path, help="a song file (default: a generated song)")
    parser.add_argument("--seconds", type=float, default=180.0, help="length of the generated song")
    parser.add_argument("--style", default="heavy", help="style of the first remix")
    parser.add_argument("--styles", default="doom", help="comma-separated styles of the re-styles")
    parser.add_argument("--rounds", type=int, default=1, help="first remix + re-styles, this many times")
    parser.add_argument("--no-warmup", action="store_true", help="measure a worker that has served no song")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    args.styles = [s.strip() for s in args.styles.split(",") if s.strip()]
    if args.song is not None and not args.song.is_file():
        raise SystemExit(f"no such file: {args.song}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metalizer_site.settings")
    with tempfile.TemporaryDirectory(prefix="metalizer-restyle-bench-") as tmp:
        report = run(args, Path(tmp))
    print(json.dumps(report, indent=2))
    verdict = "meets" if report["ratio_median"] <= GOAL else "misses"
    in_time = "meets" if report["restyle_wall_s_median"] <= RESTYLE_GOAL_S else "misses"
    print(
        f"median over {args.rounds} round(s): first remix {report['first_wall_s_median']:.1f} s, re-style "
        f"{report['restyle_wall_s_median']:.1f} s ({in_time} the goal of {RESTYLE_GOAL_S:.0f} s): ratio "
        f"{report['ratio_median']:.2f} ({verdict} the goal of {GOAL:.2f}; per round, slowest re-style: "
        f"{report['ratio_per_round']}) on a {report['song_duration_s']:.0f} s song; load average {load()}"
    )
    print(
        f"a re-style's mix was playable after {report['restyle_playable_s_median']:.1f} s (median), "
        f"{report['restyle_playable_s_median'] / report['first_wall_s_median']:.2f} of the first remix"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
