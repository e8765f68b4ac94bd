from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from metalizer_site import admin_login, views
from metalizer_site.api_router import router

urlpatterns = [
    path("", include("jobs.urls")),
    re_path(r"^healthz/?$", views.healthz, name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include(router.urls)),
    path("admin/login/", admin_login.throttled_login, name="admin-login"),  # before the admin's own
    path("admin/", admin.site.urls),
]
