from django.apps import AppConfig


class MetalizerSiteConfig(AppConfig):
    name = "metalizer_site"
    verbose_name = "Metalizer site"

    def ready(self) -> None:
        from metalizer_site import checks  # noqa: F401  (registers the system checks)
