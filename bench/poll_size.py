"""Bytes of the job status poll (``GET /api/jobs/{id}``) for a finished job, and of its full analysis.

    .venv/bin/python bench/poll_size.py [--seconds 30] [--seed 0]

Runs the app in this process on a scratch SQLite database and folder (Celery eager, the shipped packs
loaded into the bank as ``make run`` does), remixes one generated song of ``--seconds`` and prints the body
size of each way of reading the finished job. The job page polls the first one every second or two.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--breakdown", action="store_true", help="bytes per field of the status poll")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="poll-size-"))
    os.environ.update(
        {
            "METALIZER_DATA_DIR": str(scratch),
            "METALIZER_DEBUG": "1",
            "DJANGO_SETTINGS_MODULE": "metalizer_site.settings",
        }
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from metalizer_site.celery import app
    from metalizer_site.tests.integration.songs import song_file

    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.ALLOWED_HOSTS = ["testserver"]
    app.conf.update(task_always_eager=True, broker_url="memory://", broker_transport_options={})
    call_command("migrate", verbosity=0)
    call_command("load_default_assets", verbosity=0)
    song = song_file(scratch / "song.wav", seconds=args.seconds, seed=args.seed, vocals=True)
    client = Client()
    with song.open("rb") as fh:
        created = client.post("/api/jobs", {"file": fh, "style": "heavy"})
    assert created.status_code == 201, created.content
    url = created.json()["url"]
    poll = client.get(url)
    assert poll.json()["status"] == "succeeded", poll.json()
    print(f"{args.seconds:g} s song, finished job:")
    for label, path in (
        ("GET /api/jobs/{id} (the status poll)", url),
        ("GET /api/jobs/{id}?include=analysis", f"{url}?include=analysis"),
        ("GET /api/jobs/{id}?include=analysis,assets", f"{url}?include=analysis,assets"),
        ("GET /api/jobs/{id}/analysis", f"{url}/analysis"),
    ):
        response = client.get(path)
        print(f"  {label:<48} {response.status_code}  {len(response.content):>7,} bytes")
    if args.breakdown:
        body = client.get(url).json()
        for key, value in sorted(body.items(), key=lambda kv: -len(json.dumps(kv[1]))):
            print(f"    {key:<16} {len(json.dumps(value)):>7,} bytes")


if __name__ == "__main__":
    main()
