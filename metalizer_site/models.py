"""The web layer's own table: the rate counts of the embedded default (production keeps them in Redis)."""

from __future__ import annotations

from django.db import models


class RateWindow(models.Model):
    """How often one caller did one thing (``key``: scope and caller) in the window ending ``resets_at``."""

    key = models.CharField(max_length=200, unique=True)
    count = models.PositiveIntegerField(default=0)
    resets_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count} until {self.resets_at:%H:%M:%S}"
