"""A real OpenID Connect provider for the single sign-on test: django-oauth-toolkit in a
Django process of its own, with its own SQLite database and a fresh RSA key.

    python -m tests.oidc_provider PORT REDIRECT_URI DIRECTORY CLIENT_SECRET

It knows one client (`mstrack`, confidential, authorization code with PKCE, consent
skipped) and the people below; `ready` on standard output says it serves.
"""

from __future__ import annotations

import sys
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import django
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.urls import include, path

PASSWORD = "hospital-Pass-2026"
# user name -> the hospital groups the provider puts in the `groups` claim
PEOPLE = {
    "dr-sso": ["ms-neurology-a", "radiology"],
    "nurse-sso": ["ms-nurses-a", "ms-nurses-b"],
    "porter": ["estates"],
}
LOGIN = """<form method="post">{% csrf_token %}{{ form.as_p }}
<input type="hidden" name="next" value="{{ next }}"><button>Sign in</button></form>"""

urlpatterns: list[Any] = []


def _key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def configure(database: str) -> None:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="oidc-provider-of-the-test-suite-only",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "oauth2_provider",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database}},
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "OPTIONS": {
                    "context_processors": ["django.template.context_processors.request"],
                    "loaders": [
                        (
                            "django.template.loaders.locmem.Loader",
                            {"registration/login.html": LOGIN},
                        ),
                        "django.template.loaders.app_directories.Loader",
                    ],
                },
            }
        ],
        # The browser holds this provider's cookies and mstrack's for the same host.
        SESSION_COOKIE_NAME="provider_session",
        CSRF_COOKIE_NAME="provider_csrftoken",
        LOGIN_URL="/login/",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        USE_TZ=True,
        OAUTH2_PROVIDER={
            "OIDC_ENABLED": True,
            "OIDC_RSA_PRIVATE_KEY": _key(),
            "SCOPES": {"openid": "sign-in", "email": "e-mail", "profile": "name and groups"},
            "OAUTH2_VALIDATOR_CLASS": f"{__name__}.HospitalValidator",
            "PKCE_REQUIRED": True,
        },
    )


def main(port: int, redirect_uri: str, directory: str, client_secret: str) -> None:
    configure(f"{directory}/provider.sqlite3")
    django.setup()
    from django.contrib.auth import views as auth_views
    from django.contrib.auth.models import Group, User
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.management import call_command
    from oauth2_provider.models import Application
    from oauth2_provider.oauth2_validators import OAuth2Validator

    class HospitalValidator(OAuth2Validator):
        oidc_claim_scope = None  # every claim below, in the ID token and from userinfo

        def get_additional_claims(self, request: Any) -> dict[str, Any]:
            return {
                "preferred_username": request.user.username,
                "email": f"{request.user.username}@hospital.example",
                "groups": [group.name for group in request.user.groups.order_by("name")],
            }

    globals()["HospitalValidator"] = HospitalValidator  # where OAUTH2_VALIDATOR_CLASS names it
    urlpatterns[:] = [
        path("login/", auth_views.LoginView.as_view()),
        path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    ]
    call_command("migrate", verbosity=0)
    for username, groups in PEOPLE.items():
        user = User.objects.create_user(username, password=PASSWORD)
        user.groups.set(Group.objects.get_or_create(name=name)[0] for name in groups)
    Application.objects.create(
        name="mstrack",
        client_id="mstrack",
        client_secret=client_secret,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uri,
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = make_server("127.0.0.1", port, WSGIHandler(), handler_class=Quiet)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4])
