from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Metalize one file from the terminal with this site's models/assets dirs (python -m pipeline)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("args", nargs="+", help="SONG -o OUTDIR [--style ...]; see python -m pipeline -h")

    def handle(self, *args: str, **options: object) -> None:
        from pipeline.cli import main

        argv = list(args)
        if "--models-dir" not in argv:
            argv += ["--models-dir", str(settings.METALIZER_MODELS_DIR)]
        if "--assets-dir" not in argv:
            argv += ["--assets-dir", str(settings.METALIZER_ASSETS_DIR)]
        code = main(argv)
        if code:
            raise CommandError(f"metalize failed (exit status {code}).", returncode=code)
