from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from mstrack import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.logout, name="logout"),
    path("favicon.ico", views.favicon),
    path("site/", views.switch_site, name="switch-site"),
    path("admin/", admin.site.urls),
    path("", include("monitoring.urls")),
    path("", include("alerts.urls")),
    path("api/", include("api.urls")),
    path("fhir/", include("api.fhir_urls")),
]
