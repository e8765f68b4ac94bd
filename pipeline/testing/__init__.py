"""Helpers for tests across the project (pipeline, playing, upload): synthetic songs with known facts."""

from pipeline.testing.files import stream_encoded_flac
from pipeline.testing.synth import SynthSong, make_song, write_song

__all__ = ["SynthSong", "make_song", "stream_encoded_flac", "write_song"]
