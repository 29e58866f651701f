"""Cache-Control for patient data: nothing behind a login is kept by a browser or a proxy."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

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
