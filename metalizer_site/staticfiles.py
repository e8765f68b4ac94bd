"""Static files in production: WhiteNoise's hashed, compressed names when ``collectstatic`` has run, plain
names served from the app folders when it has not, so no page ever fails for want of a manifest.

Django's manifest storage answers a name its manifest lacks by hashing the collected file, and raises when
there is none: every page (the 404 page too) answered 500 ("The file 'css/site.css' could not be found")
on a server started without ``collectstatic``. Here such a name stays as it is, and settings turns on
WhiteNoise's finders whenever the manifest is missing, so the plain name is served. The system check
``metalizer.W002`` says so at start-up.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ForgivingManifestStorage(CompressedManifestStaticFilesStorage):
    manifest_strict = False

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:  # not collected: the plain name, served from the app folders
            return name
