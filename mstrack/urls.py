from django.contrib import admin
from django.urls import include, path

from mstrack import health, oidc, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", views.logout, name="logout"),
    path("accounts/two-factor/", views.two_factor, name="two-factor"),
    # Single sign-on (mstrack/oidc.py); the names are mozilla-django-oidc's.
    path("accounts/oidc/authenticate/", oidc.sign_in, name="oidc_authentication_init"),
    path("accounts/oidc/callback/", oidc.callback, name="oidc_authentication_callback"),
    path("favicon.ico", views.favicon),
    path("site/", views.switch_site, name="switch-site"),
    path("admin/", admin.site.urls),
    path("", include("clinic.urls")),
    path("", include("registry.urls")),
    path("api/", include("api.urls")),
    path("fhir/", include("api.fhir_urls")),
]

# JSON answers for API addresses no route matches (the HTML page elsewhere).
handler404 = "api.exceptions.not_found"
