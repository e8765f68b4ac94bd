"""``manage.py ensure_bucket``: wait for the S3-compatible store and create METALIZER_S3_BUCKET if missing.

A one-shot for docker compose (and any fresh S3-compatible server); harmless to run again. With local
storage there is nothing to create and it says so.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Wait until the S3 endpoint answers, then create the configured bucket if it does not exist."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--wait", type=float, default=60.0, help="Seconds to wait for the S3 endpoint (default 60)."
        )

    def handle(self, *args: Any, wait: float, **options: Any) -> None:
        if settings.METALIZER_STORAGE != "s3":
            self.stdout.write("METALIZER_STORAGE is not s3: no bucket to create.")
            return
        from botocore.exceptions import BotoCoreError, ClientError

        client = default_storage.connection.meta.client
        bucket = default_storage.bucket_name
        endpoint = settings.STORAGES["default"]["OPTIONS"].get("endpoint_url") or "(AWS default)"
        deadline = time.monotonic() + wait
        while True:
            try:
                existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
                break
            except (BotoCoreError, ClientError) as exc:
                if time.monotonic() > deadline:
                    raise CommandError(
                        f"The S3 endpoint {endpoint} did not answer within {wait:.0f} s ({exc}). "
                        "Check METALIZER_S3_ENDPOINT_URL and the keys."
                    ) from exc
                time.sleep(1.0)
        if bucket in existing:
            self.stdout.write(f"Bucket {bucket} already exists.")
            return
        region = settings.STORAGES["default"]["OPTIONS"].get("region_name") or "us-east-1"
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            client.create_bucket(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in (
                "BucketAlreadyOwnedByYou",
                "BucketAlreadyExists",
            ):
                raise CommandError(f"Could not create bucket {bucket}: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Created bucket {bucket}."))
