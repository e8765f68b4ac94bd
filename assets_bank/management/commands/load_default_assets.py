from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from assets_bank.defaults import load_default_assets
from assets_bank.validators import AssetRejected


class Command(BaseCommand):
    help = (
        "Load the default packs shipped in METALIZER_ASSETS_DIR (drum kit, cabinet IRs, MIDI seeds) into "
        "the asset bank. Safe to run again: files already in the bank are skipped."
    )

    def add_arguments(self, parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("--dir", help="Asset folder to load (default: METALIZER_ASSETS_DIR).")

    def handle(self, *args: object, **options: object) -> None:
        root = Path(str(options.get("dir") or settings.METALIZER_ASSETS_DIR))
        if not (root / "drums").is_dir():
            raise CommandError(f"The default asset folder {root} has no drums/ (METALIZER_ASSETS_DIR).")
        try:
            report = load_default_assets(root)
        except AssetRejected as exc:
            raise CommandError(f"A default asset was refused: {exc.message}") from exc
        self.stdout.write(f"Asset bank loaded from {root}: {report}")
