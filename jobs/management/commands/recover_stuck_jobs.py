from django.core.management.base import BaseCommand

from jobs.services import recover_stuck_jobs


class Command(BaseCommand):
    help = "Requeue (once) or fail running jobs whose worker stopped sending heartbeats."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--older-than", type=int, default=None, help="heartbeat age in seconds")

    def handle(self, *args: object, **options: object) -> None:
        counts = recover_stuck_jobs(older_than_s=options["older_than"])  # type: ignore[arg-type]
        self.stdout.write(f"Requeued {counts['requeued']} job(s), failed {counts['failed']} job(s).")
