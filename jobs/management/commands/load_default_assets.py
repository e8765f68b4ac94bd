from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aiff"}
MIDI_SUFFIXES = {".mid", ".midi"}


class Command(BaseCommand):
    help = (
        "Check that the default asset folder (METALIZER_ASSETS_DIR) is present. The pipeline reads it "
        "directly; loading packs into the database arrives with the asset bank."
    )

    def handle(self, *args: object, **options: object) -> None:
        assets_dir = Path(settings.METALIZER_ASSETS_DIR)
        if not assets_dir.is_dir():
            raise CommandError(
                f"The default asset folder {assets_dir} does not exist (METALIZER_ASSETS_DIR)."
            )
        files = [p for p in assets_dir.rglob("*") if p.is_file()]
        audio = sum(1 for p in files if p.suffix.lower() in AUDIO_SUFFIXES)
        midi = sum(1 for p in files if p.suffix.lower() in MIDI_SUFFIXES)
        if audio == 0:
            raise CommandError(
                f"{assets_dir} holds no audio samples; the drum kit and impulse responses are missing."
            )
        self.stdout.write(
            f"Default assets present in {assets_dir}: {audio} audio file(s), {midi} MIDI file(s). "
            "Nothing was loaded into the database (the asset bank has no models yet); "
            "the pipeline uses this folder directly."
        )
