from django.apps import AppConfig


class AssetsBankConfig(AppConfig):
    name = "assets_bank"
    verbose_name = "Asset bank"
