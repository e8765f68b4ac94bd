"""Keep ``Pack.version`` moving with every asset change, and storage free of files no row points at."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from assets_bank.models import Asset, Pack


@receiver(post_save, sender=Asset, dispatch_uid="assets_bank.asset_saved")
def asset_saved(sender: type[Asset], instance: Asset, **kwargs: Any) -> None:
    Pack.objects.filter(pk=instance.pack_id).update(version=F("version") + 1)


@receiver(post_delete, sender=Asset, dispatch_uid="assets_bank.asset_deleted")
def asset_deleted(sender: type[Asset], instance: Asset, **kwargs: Any) -> None:
    Pack.objects.filter(pk=instance.pack_id).update(version=F("version") + 1)
    name = instance.file.name
    if name:
        storage = instance.file.storage
        # Only once the row is really gone: a rolled-back delete must keep its file.
        transaction.on_commit(lambda: storage.delete(name))


@receiver(pre_save, sender=Asset, dispatch_uid="assets_bank.asset_file_replaced")
def asset_file_replaced(sender: type[Asset], instance: Asset, **kwargs: Any) -> None:
    """A replaced file is deleted from storage once the row points at the new one."""
    if instance.pk is None or kwargs.get("raw"):
        return
    old = Asset.objects.filter(pk=instance.pk).values_list("file", flat=True).first()
    if old and old != instance.file.name:
        storage = instance.file.storage
        transaction.on_commit(lambda: storage.delete(old))
