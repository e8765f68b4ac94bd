from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from jobs.api.seed_contract import SeedRemixView
from metalizer_site import admin_login, token_views, views
from metalizer_site.api_router import router

urlpatterns = [
    path("", include("jobs.urls")),
    re_path(r"^healthz/?$", views.healthz, name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view loads its init script by URL: the page needs no inline script (Content-Security-Policy).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/remix/?$", SeedRemixView.as_view(), name="seed-remix"),  # the seed contract's upload
    path("api/", include(router.urls)),
    path("account/token/", token_views.api_token_page, name="account-token"),
    path(
        "account/login/",
        auth_views.LoginView.as_view(template_name="account/login.html"),
        name="account-login",
    ),
    path("admin/login/", admin_login.throttled_login, name="admin-login"),  # before the admin's own
    path("admin/", admin.site.urls),
]
