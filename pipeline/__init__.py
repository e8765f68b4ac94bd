"""Metalizer's audio engine: a plain library with one public function, ``metalize``.

It never imports Django; the web app calls it, never the reverse. Importing the package is cheap:
the heavy libraries (torch, essentia, pedalboard) load on the first ``metalize`` call.
"""

from pipeline.errors import PipelineError
from pipeline.metalize import metalize
from pipeline.types import Analysis, RemixOptions, RemixResult, SeparatorInfo

__all__ = ["Analysis", "PipelineError", "RemixOptions", "RemixResult", "SeparatorInfo", "metalize"]
