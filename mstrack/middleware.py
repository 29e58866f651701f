"""Request checks every page and endpoint shares."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest


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
