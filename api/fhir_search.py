"""FHIR conformance and search: `GET /fhir/metadata` (what this server really does) and the
two searches a hospital system needs to reconcile its records with ours:
`Patient?identifier=` (by MRN) and `Observation?patient=&code=&date=`.

Searches see the caller's sites only (`visible_to`), answer a searchset Bundle and record a
read in the audit trail for every patient whose data they return, as `$everything` does. A
parameter this server does not support is refused (400), never silently ignored: a client
must not believe it filtered when it did not.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from api import fhir_codes as c
from api import fhir_export, fhir_safety
from api.auth import actor_of
from api.fhir_views import ERRORS, FhirView
from monitoring.clinical.protocols import LOCAL_SYSTEM
from patients.actions import record_read
from patients.models import Patient

FHIR_VERSION = "4.0.1"
CAPABILITY_DATE = "2026-12-02"  # when what this statement lists last changed
BULK_DATA = "http://hl7.org/fhir/uv/bulkdata"
# DRF's own `?format=fhir|json` (the renderer), accepted beside each search's parameters.
RENDERER_PARAMETER = "format"
UUID_REGEX = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
DATE_PREFIXES = ("eq", "lt", "gt", "le", "ge")
DATE_REGEX = (
    rf"^({'|'.join(DATE_PREFIXES)})?[0-9]{{4}}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$"
)


class BadSearch(exceptions.APIException):
    status_code = 400
    default_code = "invalid"


def capability_statement(base: str) -> dict[str, Any]:
    def search(name: str, kind: str, text: str) -> dict[str, str]:
        return {"name": name, "type": kind, "documentation": text}

    bulk = {"name": "export", "definition": f"{BULK_DATA}/OperationDefinition/export"}
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": CAPABILITY_DATE,
        "kind": "instance",
        "instantiates": [f"{BULK_DATA}/CapabilityStatement/bulk-data"],
        "software": {"name": "mstrack"},
        "implementation": {"description": "mstrack: treat-to-target care in MS", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Every answer is limited to the caller's sites.",
                "security": {
                    "description": "`Authorization: Token <token>` (an integration token of "
                    "one site) or a signed-in session; see the README.",
                },
                "interaction": [
                    {
                        "code": "transaction",
                        "documentation": "Patient, Observation, Condition, "
                        "MedicationStatement and AdverseEvent entries, all or nothing",
                    }
                ],
                "operation": [{**bulk, "documentation": "System level: every patient you see"}],
                "resource": [
                    {
                        "type": "Patient",
                        "interaction": [{"code": "search-type"}],
                        "searchParam": [
                            search(
                                "identifier",
                                "token",
                                f"Required. The MRN, alone or as {c.MRN_SYSTEM}/<site code>|<MRN>",
                            )
                        ],
                        "operation": [
                            {
                                "name": "everything",
                                "definition": "http://hl7.org/fhir/OperationDefinition/"
                                "Patient-everything",
                            },
                            {
                                "name": "export",
                                "definition": f"{BULK_DATA}/OperationDefinition/patient-export",
                            },
                        ],
                    },
                    {
                        "type": "Observation",
                        "documentation": "EDSS, T25FW, 9HPT, SDMT, MRI activity, NfL and "
                        "laboratory results (analytes of the catalogue: LOINC or "
                        f"{LOCAL_SYSTEM}): in transactions, $everything, search and exports",
                        "interaction": [{"code": "search-type"}],
                        "searchParam": [
                            search("patient", "reference", "Required. Patient/<id> or <id>"),
                            search("code", "token", "<system>|<code> or <code>; commas: any of"),
                            search(
                                "date",
                                "date",
                                "Prefixes eq, lt, gt, le, ge; YYYY, YYYY-MM or YYYY-MM-DD; "
                                "repeat for a range",
                            ),
                        ],
                    },
                    {
                        "type": "Group",
                        "documentation": "A site: Group/<site code>, for its bulk export",
                        "operation": [
                            {
                                "name": "export",
                                "definition": f"{BULK_DATA}/OperationDefinition/group-export",
                            }
                        ],
                    },
                    *(
                        {"type": kind, "documentation": text}
                        for kind, text in (
                            (
                                "Condition",
                                "Diagnosis, relapses, pregnancies (SNOMED CT 77386006) and "
                                "comorbidities (category problem-list-item): in transactions "
                                "and exports",
                            ),
                            ("MedicationStatement", "Therapy courses: in transactions and exports"),
                            ("AdverseEvent", "Adverse events: in transactions and exports"),
                            ("Flag", "Alerts: in $everything and exports"),
                        )
                    ),
                ],
            }
        ],
    }


def searchset(request: Request, resources: list[dict[str, Any]]) -> dict[str, Any]:
    base = request.build_absolute_uri("/fhir/")
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": request.build_absolute_uri()}],
        "entry": [
            {
                "fullUrl": f"{base}{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def parameters(request: Request, supported: set[str], required: str) -> dict[str, list[str]]:
    """The query's values by name (each repeat a value); unsupported or missing ones refused."""
    names = set(request.query_params) - {RENDERER_PARAMETER}
    unsupported = sorted(names - supported)
    if unsupported:
        raise BadSearch(
            f"unsupported search parameter(s) {', '.join(unsupported)}; "
            f"this server searches by {', '.join(sorted(supported))} (see /fhir/metadata)"
        )
    values = {name: request.query_params.getlist(name) for name in names}
    if not any(values.get(required, [])):
        raise BadSearch(f"say which {required}")
    return values


def tokens(values: list[str]) -> list[tuple[str | None, str]]:
    """FHIR token values: `system|code`, `|code` (no system) or `code` (any system)."""
    out: list[tuple[str | None, str]] = []
    for value in values:
        for token in value.split(","):
            system, bar, code = token.rpartition("|")
            out.append((system if bar else None, code))
    return out


def date_test(value: str) -> Callable[[dt.date], bool]:
    """A FHIR date search value (a prefix and a year, month or day) as a test of a day."""
    if not re.fullmatch(DATE_REGEX, value):
        raise BadSearch(
            f"date {value!r}: a prefix ({', '.join(DATE_PREFIXES)}) and YYYY, YYYY-MM or YYYY-MM-DD"
        )
    prefix = value[:2] if value[:2] in DATE_PREFIXES else "eq"
    parts = [int(part) for part in value.removeprefix(prefix).split("-")]
    try:
        first = dt.date(*parts, *[1] * (3 - len(parts)))
    except ValueError:
        raise BadSearch(f"date {value!r} is not a calendar date") from None
    if len(parts) == 3:
        last = first
    elif len(parts) == 2:
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    else:
        last = first.replace(month=12, day=31)
    return {
        "eq": lambda day: first <= day <= last,
        "lt": lambda day: day < first,
        "gt": lambda day: day > last,
        "le": lambda day: day <= last,
        "ge": lambda day: day >= first,
    }[prefix]


SEARCH_ERRORS = {k: v for k, v in ERRORS.items() if k not in (413, 415)}
BUNDLE = OpenApiResponse(OpenApiTypes.OBJECT, description="A searchset Bundle")


class MetadataView(FhirView):
    """GET /fhir/metadata: open to all, as FHIR clients read it before they sign in."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="fhir_metadata",
        tags=["fhir"],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="A CapabilityStatement"),
            429: ERRORS[429],
        },
        description="What this FHIR server supports (FHIR R4 CapabilityStatement).",
    )
    def get(self, request: Request) -> Response:
        return Response(capability_statement(request.build_absolute_uri("/fhir/")))


class PatientSearchView(FhirView):
    @extend_schema(
        operation_id="fhir_patient_search",
        tags=["fhir"],
        parameters=[
            OpenApiParameter(
                "identifier",
                {"type": "string", "minLength": 1},
                required=True,
                description=f"The MRN, or {c.MRN_SYSTEM}/<site code>|<MRN>",
            )
        ],
        responses={200: BUNDLE, **SEARCH_ERRORS},
        description="Patients of your sites by MRN; each one found is audited as read.",
    )
    def get(self, request: Request) -> Response:
        wanted = parameters(request, {"identifier"}, "identifier")
        match = Q(pk__in=[])
        for system, value in tokens(wanted["identifier"]):
            if system is None:
                match |= Q(mrn=value)
            elif system.startswith(f"{c.MRN_SYSTEM}/"):
                match |= Q(mrn=value, site__code=system.removeprefix(f"{c.MRN_SYSTEM}/"))
        found = list(
            Patient.objects.visible_to(request.user)
            .select_related("site")
            .filter(match)
            .order_by("pk")
        )
        for patient in found:
            record_read(patient, actor=actor_of(request))
        return Response(searchset(request, [fhir_export.patient_resource(p) for p in found]))


class ObservationSearchView(FhirView):
    @extend_schema(
        operation_id="fhir_observation_search",
        tags=["fhir"],
        parameters=[
            OpenApiParameter(
                "patient",
                OpenApiTypes.STR,
                required=True,
                pattern=f"^(Patient/)?{UUID_REGEX}$",
                description="Patient/<id> or <id>",
            ),
            OpenApiParameter(
                "code", OpenApiTypes.STR, description="<system>|<code> or <code>; commas: any of"
            ),
            OpenApiParameter(
                "date",
                {"type": "array", "items": {"type": "string", "pattern": DATE_REGEX}},
                style="form",
                explode=True,
                description="eq, lt, gt, le or ge and a year, month or day; repeat for a range",
            ),
        ],
        responses={200: BUNDLE, **SEARCH_ERRORS},
        description="One patient's observations (EDSS, timed walk, peg test, SDMT, MRI, NfL, "
        "lab results) by code and date; the patient is audited as read.",
    )
    def get(self, request: Request) -> Response:
        wanted = parameters(request, {"patient", "code", "date"}, "patient")
        if len(wanted["patient"]) > 1:
            raise BadSearch("say one patient")
        reference = wanted["patient"][0].removeprefix("Patient/")
        try:
            public_id = uuid.UUID(reference)
        except ValueError:
            raise BadSearch(f"patient {reference!r} is not a patient id") from None
        codes = tokens(wanted.get("code", []))
        tests = [date_test(value) for value in wanted.get("date", [])]
        patient = (
            Patient.objects.visible_to(request.user)
            .select_related("site")
            .filter(public_id=public_id)
            .first()
        )
        if patient is None:
            return Response(searchset(request, []))
        record_read(patient, actor=actor_of(request))

        def matches(resource: dict[str, Any]) -> bool:
            coding = resource["code"]["coding"][0]
            day = dt.date.fromisoformat(resource["effectiveDateTime"])
            return (
                not codes
                or any(
                    code == coding["code"] and system in (None, coding["system"])
                    for system, code in codes
                )
            ) and all(test(day) for test in tests)

        observations = [*fhir_export.observations(patient), *fhir_safety.lab_resources(patient)]
        found = [r for r in observations if matches(r)]
        return Response(searchset(request, found))
