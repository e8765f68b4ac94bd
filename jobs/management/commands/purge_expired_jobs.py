from django.core.management.base import BaseCommand

from jobs.services import purge_expired


class Command(BaseCommand):
    help = "Delete expired jobs and every file they own in storage."

    def handle(self, *args: object, **options: object) -> None:
        count = purge_expired()
        self.stdout.write(f"Purged {count} expired job(s).")
