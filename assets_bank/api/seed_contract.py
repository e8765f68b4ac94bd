"""The seed Metalizer API's asset calls, answered beside the native /api/assets.

The seed kept two folders of samples, ``drums`` and ``guitars``; the bank keeps packs of a kind whose files
each play a role. The mapping:

- ``GET /api/assets`` without query parameters (the seed's call) answers the native first page with two more
  keys, ``drums`` and ``guitars``: the file names of every asset in the active drum kits and guitar packs. A
  native client reads ``count``/``results`` as before; a seed client reads the two lists.
- ``POST /api/assets/upload?category=drums|guitars[&overwrite=true]`` (``category`` is the seed's parameter;
  the native upload names a pack and a role in the body) stores the file in the kind's "Seed API uploads"
  pack, made on first use and never the default, so an upload cannot change what remixes play until staff
  choose it. The role comes from the file name, as the seed's folders were named: ``kick_01.wav`` is a kick,
  ``E2-palm-mute.wav`` a guitar note and articulation. A name that names no role is a 400 that says how to
  name it. A name already in that pack is a 409 unless ``overwrite=true``, which replaces it.
- Both accept the asset key in ``X-API-Key`` (the seed's header) as well as ``X-Metalizer-Key``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from assets_bank import services
from assets_bank.api.auth import AssetKeyAuthentication
from assets_bank.models import GUITAR_ROLE_RE, Asset, Kind, Pack
from assets_bank.validators import check_duplicate, judged_asset_file
from metalizer_site import api_params
from metalizer_site.api_errors import ApiError
from metalizer_site.uploads import clean_name, sniff_audio
from pipeline.asset_layout import DRUM_ROLES

SEED_KEY_HEADER = "X-API-Key"
CATEGORY_KINDS = {"drums": Kind.DRUMS, "guitars": Kind.GUITAR}
UPLOAD_PACK_NAME = "Seed API uploads"
SEED_EXTENSIONS = (".wav", ".mp3")
# Longest first: "hihat-closed" before a bare "hihat" could match part of it.
_DRUM_ROLES_LONGEST_FIRST = sorted(DRUM_ROLES, key=len, reverse=True)


SeedUploadedSerializer = inline_serializer(
    "SeedAssetUploaded",
    {"category": serializers.ChoiceField(choices=[*CATEGORY_KINDS]), "filename": serializers.CharField()},
)


class SeedAssetKeyAuthentication(AssetKeyAuthentication):
    """The asset key under the seed contract's header name."""

    header = SEED_KEY_HEADER


class SeedAssetKeyScheme(OpenApiAuthenticationExtension):
    target_class = SeedAssetKeyAuthentication
    name = "seedAssetApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": SEED_KEY_HEADER}


def is_seed_listing(request: Request) -> bool:
    return not request.query_params


def file_name(asset: Asset) -> str:
    return f"{asset.name}{Path(asset.file.name).suffix}"


def bank_names() -> dict[str, list[str]]:
    """``{"drums": [...], "guitars": [...]}``: the file names in the active packs of each seed category."""
    names: dict[str, list[str]] = {}
    for category, kind in CATEGORY_KINDS.items():
        assets: QuerySet[Asset] = Asset.objects.filter(pack__kind=kind, pack__active=True)
        names[category] = sorted({file_name(asset) for asset in assets.only("name", "file")})
    return names


def role_from_name(kind: str, stem: str) -> str | None:
    """The role a seed file name names (``Kick_01`` -> kick, ``E2_palm_mute`` -> E2-palm-mute), or None."""
    words = re.sub(r"[\s_]+", "-", stem.strip())
    if kind == Kind.DRUMS:
        lowered = words.lower()
        return next((role for role in _DRUM_ROLES_LONGEST_FIRST if role in lowered), None)
    parts = words.split("-")
    for start in range(len(parts)):  # the longest tail that is a role: "riff-E2-palm-mute" -> E2-palm-mute
        candidate = "-".join(parts[start:])
        if GUITAR_ROLE_RE.match(candidate) or GUITAR_ROLE_RE.match(candidate.lower()):
            return candidate if GUITAR_ROLE_RE.match(candidate) else candidate.lower()
    return None


def name_hint(kind: str) -> str:
    if kind == Kind.DRUMS:
        return f"a drum file name must contain one of {', '.join(DRUM_ROLES)} (e.g. snare_02.wav)"
    return "a guitar file name must end in a note, an articulation or both (e.g. E2.wav, riff_palm-mute.wav)"


def upload_pack(kind: str) -> Pack:
    pack = Pack.objects.filter(name=UPLOAD_PACK_NAME, kind=kind).first()
    return pack or services.create_pack(UPLOAD_PACK_NAME, kind)


def upload(request: Request, uploaded: Any) -> Response:
    """``POST /api/assets/upload?category=...``: ``{"category", "filename"}`` (201)."""
    api_params.only(request, {"category", "overwrite"})
    category = api_params.choice(request, "category", CATEGORY_KINDS)
    overwrite = bool(api_params.flag(request, "overwrite"))
    if uploaded is None:
        raise ApiError("no_file", "Attach the sample as the multipart field 'file'.")
    name = clean_name(uploaded.name or "sample")
    extension = Path(name).suffix.lower()
    if extension not in SEED_EXTENSIONS:
        raise ApiError(
            "unsupported_media_type",
            f"Files of type {extension or '(no extension)'} are not accepted here; send a WAV or MP3.",
        )
    head = uploaded.read(16)
    uploaded.seek(0)
    if sniff_audio(head) is None:
        raise ApiError(
            "unsupported_media_type",
            f"'{name}' is not audio (its content is not WAV, MP3, ...); send a WAV or MP3.",
        )
    kind = CATEGORY_KINDS[str(category)]
    stem = Path(name).stem
    role = role_from_name(kind, stem)
    if role is None:
        raise ApiError("invalid_role", f"'{name}' names no role the bank knows: {name_hint(kind)}.")
    with (
        services.uploaded_path(uploaded) as path,
        judged_asset_file(path, name=name, kind=kind, role=role, check_duplicates=False) as judged,
        transaction.atomic(),
    ):
        pack = upload_pack(kind)
        existing = pack.assets.select_for_update().filter(name=stem).first()
        if existing is not None and not overwrite:
            raise ApiError(
                "name_exists",
                f"{category} already holds '{file_name(existing)}'; add ?overwrite=true to replace it.",
            )
        check_duplicate(judged.facts.sha256, exclude_pk=existing.pk if existing else None)
        if existing is not None:
            services.delete_asset(existing)
        asset = services.add_asset(pack, judged.path, filename=name, role=role, facts=judged.facts)
    return Response({"category": category, "filename": file_name(asset)})  # the seed answered 200
