"""FHIR Bulk Data export (HL7 Bulk Data Access IG, v2): `$export` at system level
(`/fhir/$export`), for all patients (`/fhir/Patient/$export`) and for a site
(`/fhir/Group/<site code>/$export`).

The kick-off answers 202 with Content-Location, the status URL; polling it answers 202 with
X-Progress while a Celery worker writes the NDJSON files (`api.bulk_export`), then 200 with
the manifest. DELETE on the status URL cancels the export and removes its files. The status
and the files answer only the caller who asked (another caller gets 404), with the same
sign-in as the rest of the API.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from api import tasks
from api.auth import IntegrationUser, actor_of
from api.bulk_export import TYPES, directory, request_export
from api.fhir_search import BadSearch
from api.fhir_views import ERRORS, FhirView
from api.models import BulkExport, BulkExportStatus
from patients.models import Site

OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
KICK_OFF_PARAMETERS = {"_type", "_since", "_outputFormat"}
RETRY_SECONDS = 2


def owned_by(user: Any) -> Q:
    if isinstance(user, IntegrationUser):
        return Q(token_id=user.token.pk)
    return Q(user_id=user.pk)


def since_of(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        instant = dt.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise BadSearch(
            f"_since {value!r}: an instant with its time zone, e.g. 2026-01-31T00:00:00Z"
        )
    return instant


def types_of(value: str | None) -> list[str]:
    if value is None:
        return list(TYPES)
    wanted = [kind.strip() for kind in value.split(",") if kind.strip()]
    unknown = [kind for kind in wanted if kind not in TYPES]
    if unknown or not wanted:
        raise BadSearch(
            f"_type {value!r}: resource types among {', '.join(TYPES)}, comma-separated"
        )
    return [kind for kind in TYPES if kind in wanted]


KICK_OFF = extend_schema(
    tags=["fhir"],
    parameters=[
        OpenApiParameter(
            "Prefer",
            OpenApiTypes.STR,
            OpenApiParameter.HEADER,
            required=True,
            enum=["respond-async"],
        ),
        OpenApiParameter(
            "_type",
            {"type": "array", "items": {"type": "string", "enum": list(TYPES)}, "minItems": 1},
            style="form",
            explode=False,
            description="Only these resource types",
        ),
        OpenApiParameter(
            "_since", OpenApiTypes.DATETIME, description="Only resources changed since then"
        ),
        OpenApiParameter("_outputFormat", OpenApiTypes.STR, enum=list(OUTPUT_FORMATS)),
        OpenApiParameter(
            "Content-Location",
            OpenApiTypes.URI,
            OpenApiParameter.HEADER,
            response=[202],
            required=True,
            description="The status URL",
        ),
    ],
    responses={
        202: OpenApiResponse(description="Accepted: poll the Content-Location (status URL)"),
        **{code: response for code, response in ERRORS.items() if code not in (413, 415)},
    },
)


class ExportView(FhirView):
    """GET `$export`: the kick-off."""

    @KICK_OFF
    def get(self, request: Request, group: str | None = None) -> Response:
        if request.headers.get("Prefer", "").strip().lower() != "respond-async":
            raise BadSearch("a bulk export is asynchronous: send Prefer: respond-async")
        unsupported = sorted(set(request.query_params) - KICK_OFF_PARAMETERS - {"format"})
        if unsupported:
            raise BadSearch(f"unsupported parameter(s) {', '.join(unsupported)}")
        output_format = request.query_params.get("_outputFormat", OUTPUT_FORMATS[0])
        if output_format not in OUTPUT_FORMATS:
            raise BadSearch(f"_outputFormat {output_format!r}: NDJSON only")
        types = types_of(request.query_params.get("_type"))
        since = since_of(request.query_params.get("_since"))
        sites = Site.objects.visible_to(request.user)
        site = None
        if group is not None:
            site = sites.filter(code=group).first()
            if site is None:
                raise exceptions.NotFound(f"no Group {group} (a site code) among your sites")
        export = request_export(
            user=request.user,
            actor_label=actor_of(request).label,
            request_url=request.build_absolute_uri(),
            group=site,
            types=types,
            since=since,
        )
        transaction.on_commit(lambda: tasks.run_bulk_export.delay(export.pk))
        response = Response(status=status.HTTP_202_ACCEPTED)
        response["Content-Location"] = request.build_absolute_uri(
            f"/fhir/bulk-status/{export.public_id}"
        )
        return response


def _export_of(request: Request, id: uuid.UUID) -> BulkExport:
    export = (
        BulkExport.objects.filter(owned_by(request.user), public_id=id)
        .exclude(status=BulkExportStatus.CANCELLED)
        .first()
    )
    if export is None:
        raise exceptions.NotFound(f"no export {id} of yours")
    return export


class ExportStatusView(FhirView):
    """The status URL: poll (GET) or cancel (DELETE)."""

    @extend_schema(
        operation_id="fhir_bulk_status",
        tags=["fhir"],
        parameters=[
            OpenApiParameter(
                "X-Progress",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                response=[202],
                required=True,
            ),
            OpenApiParameter(
                "Retry-After",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                response=[202],
                required=True,
            ),
        ],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The manifest"),
            202: OpenApiResponse(description="In progress: see X-Progress, Retry-After"),
            500: OpenApiResponse(OpenApiTypes.OBJECT, description="OperationOutcome: failed"),
            **{code: ERRORS[code] for code in (401, 403, 404, 429)},
        },
    )
    def get(self, request: Request, id: uuid.UUID) -> Response:
        export = _export_of(request, id)
        if export.status in (BulkExportStatus.QUEUED, BulkExportStatus.RUNNING):
            response = Response(status=status.HTTP_202_ACCEPTED)
            response["X-Progress"] = export.progress or export.status
            response["Retry-After"] = str(RETRY_SECONDS)
            return response
        if export.status == BulkExportStatus.FAILED:
            raise exceptions.APIException(f"the export failed: {export.error}")
        base = request.build_absolute_uri(f"/fhir/bulk-files/{export.public_id}/")
        return Response(
            {
                "transactionTime": export.requested_at.isoformat(),
                "request": export.request_url,
                "requiresAccessToken": True,
                "output": [
                    {"type": o["type"], "url": f"{base}{o['type']}.ndjson", "count": o["count"]}
                    for o in export.output
                ],
                "error": [],
            },
            content_type="application/json",
        )

    @extend_schema(
        operation_id="fhir_bulk_cancel",
        tags=["fhir"],
        responses={
            202: OpenApiResponse(description="Cancelled; its files are removed"),
            **{code: ERRORS[code] for code in (401, 403, 404, 429)},
        },
    )
    def delete(self, request: Request, id: uuid.UUID) -> Response:
        export = _export_of(request, id)
        # The worker looks for this status as it writes, and removes what it wrote.
        BulkExport.objects.filter(pk=export.pk).update(status=BulkExportStatus.CANCELLED)
        shutil.rmtree(directory(export), ignore_errors=True)
        return Response(status=status.HTTP_202_ACCEPTED)


class NdjsonRenderer(JSONRenderer):
    """Lets a client that asks for NDJSON (`Accept: application/fhir+ndjson`) in; the files
    themselves are streamed as they are stored."""

    media_type = "application/fhir+ndjson"
    format = "ndjson"


class ExportFileView(FhirView):
    renderer_classes = [*FhirView.renderer_classes, NdjsonRenderer]

    @extend_schema(
        operation_id="fhir_bulk_file",
        tags=["fhir"],
        responses={
            (200, "application/fhir+ndjson"): OpenApiResponse(
                OpenApiTypes.STR, description="One resource per line"
            ),
            **{code: ERRORS[code] for code in (401, 403, 404, 429)},
        },
    )
    def get(self, request: Request, id: uuid.UUID, kind: str) -> FileResponse:
        export = _export_of(request, id)
        if export.status != BulkExportStatus.COMPLETED or kind not in {
            o["type"] for o in export.output
        }:
            raise exceptions.NotFound(f"no file {kind}.ndjson in export {id}")
        path = directory(export) / f"{kind}.ndjson"
        return FileResponse(path.open("rb"), content_type="application/fhir+ndjson")
