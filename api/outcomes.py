"""`GET /api/v1/outcomes/`: the clinic's outcomes over the caller's sites (issue 17).

The report is computed by a worker (`outcomes.tasks`) and read here: 200 with the stored
report, or 202 while the first one for these sites and filters is being computed. Filters
are checked by `outcomes.forms.OutcomeFilters`: a bad value is a 400 naming its field.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring.clinical.cohort import ENDPOINTS
from outcomes.forms import FIRST_YEAR, OutcomeFilters
from outcomes.models import CohortReport
from outcomes.tasks import request_report
from patients.policy import Action, sites_where


class OutcomeTableSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="neda_years, neda_since_rebaseline, time_to_event, ...")
    title = serializers.CharField()
    definition = serializers.CharField(help_text="How every figure of the table is defined")
    denominator = serializers.CharField(help_text="What each row's figures are counted over")
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(
        child=serializers.ListField(child=serializers.JSONField()),
        help_text="One list of cells per row, in the order of `columns`; percentages are "
        "null for a group under 10, with the note saying so",
    )


class OutcomeCurveSerializer(serializers.Serializer):
    endpoint = serializers.ChoiceField(choices=list(ENDPOINTS))
    # label: see get_fields
    therapy = serializers.CharField()
    courses = serializers.IntegerField(help_text="Courses the curve rests on (at least 10)")
    events = serializers.IntegerField()
    years = serializers.ListField(child=serializers.FloatField(), help_text="Monthly steps")
    cumulative = serializers.ListField(
        child=serializers.FloatField(), help_text="Kaplan-Meier cumulative incidence, %"
    )
    lower = serializers.ListField(
        child=serializers.FloatField(allow_null=True), help_text="95 % band, %"
    )
    upper = serializers.ListField(child=serializers.FloatField(allow_null=True))

    def get_fields(self) -> dict[str, serializers.Field]:
        # Declared here, second: a class attribute named `label` would hide Field.label to
        # type checkers (DRF's metaclass takes declared fields off the class).
        fields = super().get_fields()
        endpoint = fields.pop("endpoint")
        return {"endpoint": endpoint, "label": serializers.CharField(), **fields}


class OutcomeReportSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ready", "computing"])
    sites = serializers.CharField(help_text='The sites counted: ids, or "all"')
    filters = serializers.DictField()
    requested_at = serializers.DateTimeField()
    computed_at = serializers.DateTimeField(allow_null=True)
    as_of = serializers.DateField(allow_null=True, help_text="The clinic's date of the report")
    data_version = serializers.CharField(help_text="Fingerprint of the data it was computed from")
    seconds = serializers.FloatField(allow_null=True, help_text="Computation time")
    definition = serializers.CharField(required=False, help_text="The clinic's CDW definition")
    patients = serializers.IntegerField(required=False, help_text="Patients the filters keep")
    courses = serializers.IntegerField(required=False, help_text="Their therapy courses kept")
    tables = OutcomeTableSerializer(many=True, required=False)
    curves = OutcomeCurveSerializer(many=True, required=False)


def report_body(report: CohortReport) -> dict[str, object]:
    payload = report.payload or {}
    return {
        "status": "ready" if report.payload is not None else "computing",
        "sites": report.sites,
        "filters": report.filters,
        "requested_at": report.requested_at,
        "computed_at": report.computed_at,
        "as_of": report.as_of,
        "data_version": report.data_version,
        "seconds": report.seconds,
        **{k: v for k, v in payload.items() if k not in {"filters", "as_of"}},
    }


FILTER_PARAMETERS = [
    OpenApiParameter("therapy", OpenApiTypes.STR, description="Therapy code (catalogue)"),
    OpenApiParameter("phenotype", OpenApiTypes.STR, enum=["CIS", "RRMS", "SPMS", "PPMS"]),
    OpenApiParameter("sex", OpenApiTypes.STR, enum=["female", "male", "other", "unknown"]),
    OpenApiParameter("age_band", OpenApiTypes.STR, enum=["<30", "30-39", "40-49", "50-59", "60+"]),
    OpenApiParameter(
        "disease_duration",
        OpenApiTypes.STR,
        enum=["<5", "5-9", "10-14", "15-19", "20+", "unknown"],
        description="Years since symptom onset (diagnosis when unknown)",
    ),
    OpenApiParameter(
        "period_from",
        {"type": "integer", "minimum": FIRST_YEAR},
        description="First calendar year (not after this year, nor after period_to)",
    ),
    OpenApiParameter(
        "period_to",
        {"type": "integer", "minimum": FIRST_YEAR},
        description="Last calendar year (not after this year)",
    ),
]


class OutcomesView(APIView):
    """The clinic's outcomes over the caller's sites: NEDA rates, Kaplan-Meier curves, the
    PIRA share under each definition, the response scores checked, PIRA by disease
    duration. Methods: docs/outcomes.md."""

    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={
            200: OutcomeReportSerializer,
            202: OpenApiResponse(OutcomeReportSerializer, description="Being computed"),
            400: OpenApiResponse(description="A filter's value is invalid (named)"),
            403: OpenApiResponse(description="The caller sees no site's patients"),
        },
    )
    def get(self, request: Request) -> Response:
        form = OutcomeFilters(request.query_params)
        if not form.is_valid():
            raise ValidationError({k: [str(e) for e in v] for k, v in form.errors.items()})
        sites = sites_where(request.user, Action.VIEW)
        if sites is not None and not sites:
            raise PermissionDenied("you may not see patients at any site")
        report = request_report(sites, form.filters())
        body = report_body(report)
        return Response(body, status=200 if report.payload is not None else 202)
