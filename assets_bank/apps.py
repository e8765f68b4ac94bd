from django.apps import AppConfig


class AssetsBankConfig(AppConfig):
    name = "assets_bank"
    verbose_name = "Asset bank"

    def ready(self) -> None:
        from assets_bank import signals  # noqa: F401  (connects the receivers)
