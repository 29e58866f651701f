"""What every request passes: NUL characters refused in queries, two-factor verification
where a site requires it, and no caching of patient data by a browser or a proxy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from patients.models import Site

# The API and FHIR answer tokens as well as sessions; the token's user is only known inside
# the view, so these paths are marked whoever asked.
NO_STORE_PATHS = ("/api/", "/fhir/")


class NoStoreMiddleware:
    """`Cache-Control: no-store` (Django's never_cache headers) on every API response and on
    every page served to a signed-in user: a shared computer's back button or disk cache
    must not show a patient to the next person."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(NO_STORE_PATHS) or request.user.is_authenticated:
            add_never_cache_headers(response)
        return response


# Signing in and out, the two-factor page itself, and what carries no patient data.
TWO_FACTOR_EXEMPT_PATHS = ("/accounts/", "/static/", "/healthz")


def requires_two_factor(user: Any) -> bool:
    """A local account (not single sign-on, whose provider has its own second factor) of a
    site that requires two-factor sign-in."""
    return (
        user.has_usable_password()
        and Site.objects.filter(memberships__user=user, require_two_factor=True).exists()
    )


class TwoFactorMiddleware:
    """A session of a user who must use two-factor sign-in reaches no page or API call until
    it is verified with a TOTP code (enrolling an authenticator first, if the user has none).
    Integration tokens are not sessions and are not asked."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user: Any = request.user  # is_verified() is django-otp's, set by OTPMiddleware
        if (
            user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(TWO_FACTOR_EXEMPT_PATHS)
            and requires_two_factor(user)
        ):
            if request.path.startswith(NO_STORE_PATHS):
                return JsonResponse(
                    {"detail": "two-factor sign-in required: verify at /accounts/two-factor/"},
                    status=403,
                )
            return redirect_to_login(request.get_full_path(), reverse("two-factor"))
        return self.get_response(request)


def refuse_nul_in_query(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """A NUL character in a search or filter (`?q=a%00b`) is a 400: PostgreSQL refuses it in
    a query parameter with an error, which would otherwise be a 500 on every page that
    filters."""

    def middleware(request: HttpRequest) -> HttpResponse:
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return HttpResponseBadRequest(
                    f"{name.replace(chr(0), '')}: NUL characters are not accepted",
                    content_type="text/plain",
                )
        return get_response(request)

    return middleware
