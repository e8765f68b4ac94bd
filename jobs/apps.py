from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Remix jobs"

    def ready(self) -> None:
        from jobs import signals  # noqa: F401  (connects the worker's start-up recovery)
