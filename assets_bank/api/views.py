"""/api/assets: list, download, upload and delete asset bank files (staff or the asset API key)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import authentication, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from assets_bank import services
from assets_bank.api import seed_contract
from assets_bank.api.auth import AssetKeyAuthentication, IsStaffOrAssetKey
from assets_bank.api.serializers import AssetSerializer, AssetUploadSerializer
from assets_bank.downloads import CONTENT_TYPES, serve_asset
from assets_bank.models import Asset, Kind, Pack
from assets_bank.validators import judged_asset_file, too_large
from metalizer_site import api_params, rate_limits
from metalizer_site.api_auth import BearerTokenAuthentication
from metalizer_site.api_errors import ApiError, ErrorSerializer
from metalizer_site.api_params import MAX_DB_INT, StrictPageNumberPagination
from metalizer_site.uploads import declared_too_large


class AssetPagination(StrictPageNumberPagination):
    page_size = 50
    max_page_size = 500


def pack_lookup(value: str) -> Q:
    """A pack named by slug, or by id when ``value`` is a number an id can be."""
    if value.isdigit() and int(value) <= MAX_DB_INT:
        return Q(slug=value) | Q(pk=int(value))
    return Q(slug=value)


class AssetViewSet(viewsets.GenericViewSet):
    """Asset bank files. Staff sessions, staff tokens and the X-Metalizer-Key header may use every call."""

    serializer_class = AssetSerializer
    pagination_class = AssetPagination
    parser_classes = [MultiPartParser, FormParser]
    authentication_classes = [
        AssetKeyAuthentication,  # first: its header is the WWW-Authenticate challenge of a 401
        seed_contract.SeedAssetKeyAuthentication,
        BearerTokenAuthentication,
        authentication.SessionAuthentication,
    ]
    permission_classes = [IsStaffOrAssetKey]
    lookup_value_regex = r"\d+"
    lookup_openapi_type = OpenApiTypes.INT
    lookup_bounds = {"minimum": 1, "maximum": MAX_DB_INT}

    def initialize_request(self, request: Any, *args: Any, **kwargs: Any) -> Request:
        # Before anything parses the body (even a CSRF check): uploads here are capped at the asset limit.
        request.upload_max_bytes = settings.METALIZER_ASSET_MAX_BYTES
        return super().initialize_request(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Asset]:
        queryset = Asset.objects.select_related("pack").order_by(
            "pack__kind", "pack__name", "role", "position", "id"
        )
        request = self.request
        kind = api_params.choice(request, "kind", Kind.values)
        if kind is not None:
            queryset = queryset.filter(pack__kind=kind)
        role = api_params.text(request, "role")
        if role is not None:
            queryset = queryset.filter(role=role)
        pack = api_params.text(request, "pack")
        if pack is not None:
            queryset = queryset.filter(pack__in=Pack.objects.filter(pack_lookup(pack)))
        active = api_params.flag(request, "active")
        if active is not None:
            queryset = queryset.filter(pack__active=active)
        return queryset

    @extend_schema(
        description="Without query parameters (the seed contract's call) the page also carries `drums` and "
        "`guitars`: the file names in the active drum kits and guitar packs.",
        parameters=[
            OpenApiParameter("kind", str, enum=list(Kind.values), description="Only assets of this kind."),
            OpenApiParameter("role", str, description="Only assets of this role (kick, ir, riff, E2...)."),
            OpenApiParameter("pack", str, description="Only assets of this pack (id or slug)."),
            OpenApiParameter("active", bool, description="Only assets of active (true) or inactive packs."),
        ],
        responses={200: AssetSerializer(many=True), 401: ErrorSerializer, 403: ErrorSerializer},
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        if seed_contract.is_seed_listing(request):
            response.data.update(seed_contract.bank_names())
        return response

    @extend_schema(responses={200: AssetSerializer, 404: ErrorSerializer})
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(self.get_serializer(self._asset(pk)).data)

    @extend_schema(
        responses={
            **{
                (200, media): OpenApiResponse(OpenApiTypes.BINARY, description="The file, as an attachment.")
                for media in sorted(set(CONTENT_TYPES.values()))
            },
            302: OpenApiResponse(description="Redirect to a short-lived signed URL (S3 storage)."),
            404: ErrorSerializer,
        }
    )
    @action(detail=True, methods=["get"], url_path="download")
    def download(self, request: Request, pk: str | None = None) -> Any:
        asset = self._asset(pk)
        try:
            return serve_asset(asset)
        except FileNotFoundError:
            raise ApiError(
                "file_missing",
                "This asset's file is missing from storage (remixes skip it); upload it again.",
            ) from None

    @extend_schema(responses={204: None, 404: ErrorSerializer, 409: ErrorSerializer})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        asset = self._asset(pk)
        services.delete_asset(asset)  # a refusal is answered by the API's one handler, like every CodedError
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request={"multipart/form-data": AssetUploadSerializer},
        responses={
            200: OpenApiResponse(seed_contract.SeedUploadedSerializer, description="A seed category upload."),
            201: AssetSerializer,
            400: ErrorSerializer,
            409: ErrorSerializer,
            413: ErrorSerializer,
            429: OpenApiResponse(
                ErrorSerializer,
                description="throttled: too many asset uploads lately (counted apart from song uploads).",
            ),
        },
    )
    @extend_schema(
        description="With `?category=drums|guitars[&overwrite=true]` (the seed contract's upload) only "
        "`file` is read: it goes to the kind's 'Seed API uploads' pack with the role its name names "
        '(kick_01.wav, E2-palm-mute.wav) and the answer is 200 `{"category", "filename"}`; 409 when the '
        "name is there and overwrite is not true, 413 too large, 415 not a WAV/MP3.",
        parameters=[
            OpenApiParameter("category", str, enum=[*seed_contract.CATEGORY_KINDS]),
            OpenApiParameter("overwrite", bool),
        ],
    )
    @action(detail=False, methods=["post"], url_path="upload")
    def upload(self, request: Request) -> Response:
        services.admit_upload(rate_limits.caller_identity(request))  # TooMany: 429 with Retry-After
        django_request = request._request
        if declared_too_large(django_request):
            raise too_large()
        data = request.data  # parsed through the size-capped upload handler
        if getattr(django_request, "upload_too_large", False):
            raise too_large()
        uploaded = request.FILES.get("file")
        if "category" in request.query_params:
            return seed_contract.upload(request, uploaded)
        if uploaded is None:
            raise ApiError("no_file", "Attach the sample or MIDI file (field name: file).")
        form = AssetUploadSerializer(data={k: v for k, v in data.items() if k != "file"} | {"file": uploaded})
        form.is_valid(raise_exception=True)
        fields = form.validated_data
        pack = self._pack(fields.get("pack"))
        kind = pack.kind if pack else fields["kind"]
        if pack and fields.get("kind") and fields["kind"] != pack.kind:
            raise ApiError("invalid_kind", f"Pack '{pack.name}' holds {pack.kind}, not {fields['kind']}.")
        with (
            services.uploaded_path(uploaded) as path,
            judged_asset_file(
                path, name=uploaded.name or path.name, kind=kind, role=fields["role"]
            ) as judged,
            transaction.atomic(),
        ):
            if pack is None:
                pack = Pack.objects.filter(name=fields["pack_name"].strip(), kind=kind).first()
            if pack is None:
                pack = services.create_pack(
                    fields["pack_name"], kind, user=request.user, licence=fields.get("licence", "")
                )
            asset = services.add_asset(
                pack,
                judged.path,
                filename=uploaded.name or path.name,
                role=fields["role"],
                velocity_min=fields["velocity_min"],
                velocity_max=fields["velocity_max"],
                gain=fields["gain"],
                facts=judged.facts,
            )
        asset.pack.refresh_from_db()
        body = self.get_serializer(asset).data
        location = request.build_absolute_uri(reverse("asset-detail", args=[asset.pk]))
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})

    def _asset(self, pk: Any) -> Asset:
        in_range = str(pk).isdigit() and int(str(pk)) <= MAX_DB_INT
        asset = Asset.objects.select_related("pack").filter(pk=pk).first() if in_range else None
        if asset is None:
            raise ApiError("not_found", "No such asset.")
        return asset

    def _pack(self, value: str | None) -> Pack | None:
        if not value:
            return None
        pack = Pack.objects.filter(pack_lookup(value)).first()
        if pack is None:
            raise ApiError("unknown_pack", f"No pack with id or slug '{value}'.")
        return pack
