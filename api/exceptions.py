"""DRF's error answers, plus a JSON 413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE (Django
refuses it from the Content-Length, before reading it, with a bare 400 page), and a JSON 404
for an API address no route matches (an id that is not a UUID), as the schema documents."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler


def handle(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
        return Response(
            {"detail": f"the body is larger than {limit} MB; split it into several requests"},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    return exception_handler(exc, context)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """`handler404`: the API's own 404 body under /api/ and /fhir/, the page elsewhere."""
    detail = f"no such address: {request.path}"
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": detail}, status=404)
    if request.path.startswith("/fhir/"):
        body = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "not-found", "diagnostics": detail}],
        }
        return JsonResponse(body, status=404, content_type="application/fhir+json")
    return defaults.page_not_found(request, exception)
