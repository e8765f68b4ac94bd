from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from pipeline import add_remix_options, run_cli


class Command(BaseCommand):
    help = "Metalize one file from the terminal with this site's models and assets (runs python -m pipeline)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("song", help="input audio file")
        parser.add_argument("-o", "--out", required=True, help="output folder")
        add_remix_options(parser)  # the CLI's own flags and defaults (RemixOptions')
        parser.add_argument("--no-cache", action="store_true", help="separate and analyse again")
        parser.add_argument("--quiet", action="store_true", help="no progress output")

    def handle(self, *args: str, **options: object) -> None:
        argv = [
            str(options["song"]),
            "--out", str(options["out"]),
            "--style", str(options["style"]),
            "--intensity", str(options["intensity"]),
            "--feel", str(options["feel"]),
            "--seed", str(options["seed"]),
            "--format", str(options["output_format"]),
            "--separator", str(options["separator"]),
            "--models-dir", str(settings.METALIZER_MODELS_DIR),
            "--assets-dir", str(settings.METALIZER_ASSETS_DIR),
            "--cache-dir", str(settings.METALIZER_STEM_CACHE_DIR),
            "--max-duration", str(settings.METALIZER_MAX_DURATION_S),
        ]  # fmt: skip
        if options["no_vocals"]:
            argv.append("--no-vocals")
        if options["no_cache"]:
            argv.append("--no-cache")
        if options["quiet"]:
            argv.append("--quiet")
        code = run_cli(argv)
        if code:
            raise CommandError(f"metalize failed (exit status {code}).", returncode=code)
