"""The one API router: every app registers its viewsets here. Trailing slashes are optional."""

from rest_framework.routers import DefaultRouter

from assets_bank.api.views import AssetViewSet
from jobs.api.views import JobViewSet


class OptionalSlashRouter(DefaultRouter):
    """``/api/jobs`` and ``/api/jobs/`` both work (DRF's own flag only knows 'always' or 'never')."""

    include_format_suffixes = False  # ``?format=`` selects an audio format here, not a renderer

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("jobs", JobViewSet, basename="job")
router.register("assets", AssetViewSet, basename="asset")
