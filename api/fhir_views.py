"""`/fhir/`: a FHIR R4 transaction Bundle in, `Patient/{id}/$everything` out.

Same sign-in, throttling and site scope as `/api/v1/` (DRF views). Every error, whatever its
kind, is answered with an OperationOutcome and never a 500 for bad input.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import fhir_export, fhir_import
from api.auth import actor_of
from api.parsers import JSONParser
from patients.actions import record_read
from patients.models import Patient

FHIR_JSON = "application/fhir+json"


class FhirJsonParser(JSONParser):
    media_type = FHIR_JSON


class FhirJsonRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "fhir"


def outcome(issues: list[tuple[str, str, str | None]]) -> dict[str, Any]:
    """An OperationOutcome of (code, diagnostics, expression) issues."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": code,
                "diagnostics": text,
                **({"expression": [where]} if where else {}),
            }
            for code, text, where in issues
        ],
    }


ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    413: "too-costly",
    415: "not-supported",
    429: "throttled",
}


# FHIR resources are documented by the FHIR R4 specification, not restated here: the schema
# names the operations, their media types and their answers (errors: an OperationOutcome).
OUTCOME = OpenApiResponse(OpenApiTypes.OBJECT, description="An OperationOutcome")
ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="OperationOutcome: what was refused"),
    401: OUTCOME,
    403: OUTCOME,
    404: OUTCOME,
    413: OUTCOME,
    415: OUTCOME,
    429: OUTCOME,
}


class FhirView(APIView):
    parser_classes = [FhirJsonParser, JSONParser]
    renderer_classes = [FhirJsonRenderer, JSONRenderer]

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        detail = (
            response.data.get("detail", response.data)
            if isinstance(response.data, dict)
            else response.data
        )
        code = ISSUE_CODES.get(response.status_code, "exception")
        response.data = outcome([(code, str(detail), None)])
        return response


class TransactionView(FhirView):
    """POST a transaction Bundle of Patient, Observation, Condition, MedicationStatement,
    AdverseEvent."""

    @extend_schema(
        operation_id="fhir_transaction",
        tags=["fhir"],
        request={FHIR_JSON: OpenApiTypes.OBJECT, "application/json": OpenApiTypes.OBJECT},
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="A transaction-response Bundle"),
            **ERRORS,
        },
        description="A FHIR R4 transaction Bundle (Patient, Observation for EDSS, timed walk, "
        "peg test, SDMT, MRI counts, NfL and lab results, Condition for the diagnosis, "
        "relapses, pregnancies and comorbidities, MedicationStatement for therapy courses, "
        "AdverseEvent), written all or nothing; see README, FHIR R4.",
    )
    def post(self, request: Request) -> Response:
        try:
            data = request.data
        except exceptions.ParseError as error:
            return Response(outcome([("structure", f"not JSON: {error.detail}", None)]), 400)
        try:
            bundle = fhir_import.parse(data)
            written = fhir_import.write(bundle, user=request.user, actor=actor_of(request))
        except fhir_import.BundleRefused as refused:
            return Response(
                outcome(
                    [
                        (
                            "invalid",
                            (f"entry {i.index}: " if i.index is not None else "") + i.message,
                            i.expression,
                        )
                        for i in refused.issues
                    ]
                ),
                status=status.HTTP_400_BAD_REQUEST,
            )
        now = timezone.now().isoformat()
        entries = []
        assert bundle.entry is not None  # parse() refuses a bundle without entries
        for index in range(len(bundle.entry)):
            w = written[index]
            entries.append(
                {
                    "response": {
                        "status": "201 Created" if w.created else "200 OK",
                        "location": f"{w.resource_type}/{w.id}",
                        "lastModified": now,
                    }
                }
            )
        return Response(
            {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}
        )


class EverythingView(FhirView):
    """GET Patient/{id}/$everything: a searchset Bundle of the patient's record."""

    @extend_schema(
        operation_id="fhir_patient_everything",
        tags=["fhir"],
        parameters=[OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="A searchset Bundle"),
            **ERRORS,
        },
        description="Every record of one patient of your sites as FHIR R4 resources.",
    )
    def get(self, request: Request, id: str) -> Response:
        try:
            patient = get_object_or_404(
                Patient.objects.visible_to(request.user).select_related("site"),
                public_id=uuid.UUID(id),
            )
        except (Http404, ValueError):
            raise exceptions.NotFound(f"no patient {id} at your sites") from None
        record_read(patient, actor=actor_of(request))
        resources = fhir_export.everything(patient)
        base = request.build_absolute_uri("/fhir/")
        return Response(
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(resources),
                "entry": [
                    {
                        "fullUrl": f"{base}{r['resourceType']}/{r['id']}",
                        "resource": r,
                        "search": {
                            "mode": "match" if r["resourceType"] == "Patient" else "include"
                        },
                    }
                    for r in resources
                ],
            }
        )
