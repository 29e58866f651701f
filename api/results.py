"""What the evaluation stored, read through the API: `/status/`, `/progression-events/` and
`/alerts/` (with acknowledge and resolve). Reads never compute, except progression events
under a definition other than the stored one, which a clinician asks for explicitly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import django_filters
from django.core.exceptions import ValidationError as ModelValidationError
from django.db import models
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.actions import acknowledge_alert, resolve_alert
from alerts.models import Alert, AlertState, Rule, Severity
from api.audit import AuditedReads
from api.auth import actor_of
from api.documents import DocumentField
from api.filters import StrictOrderingFilter
from api.permissions import Allowed
from api.views import UUID_PATTERN
from monitoring.clinical.definitions import DEFAULT_PRESET, OUTCOMES, PRESETS, definition
from outcomes.events import computed_events, stored_events
from outcomes.models import PatientStatus
from patients.actions import field_errors
from patients.models import Patient, TherapyCourse
from patients.policy import Action, can
from patients.reads import record_reads

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class PatientStatusSerializer(serializers.ModelSerializer):
    patient: serializers.SlugRelatedField[Patient] = serializers.SlugRelatedField(
        slug_field="public_id", read_only=True
    )
    therapy_course: serializers.SlugRelatedField[TherapyCourse] = serializers.SlugRelatedField(
        slug_field="public_id",
        read_only=True,
        allow_null=True,
        help_text="The course the status is judged on; null before any therapy",
    )

    # `neda.calendar_years` lists every year: the closed ones are stored apart.
    neda = DocumentField("NedaDocument", source="documents.neda_all_years")
    worsening = DocumentField("ProgressionEvent", many=True, source="documents.worsening")
    scores = DocumentField("ScoresDocument", allow_null=True, source="documents.scores")
    nfl = DocumentField("NflDocument", allow_null=True, source="documents.nfl")
    brain_volume = DocumentField("BrainVolumeDocument", source="documents.brain_volume")

    class Meta:
        model = PatientStatus
        exclude = ["last_notified_at", "closed_years", "closed_years_key"]


class PatientStatusFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(field_name="patient__public_id")

    class Meta:
        model = PatientStatus
        fields = ["patient", "neda3", "neda4"]


class StatusViewSet(AuditedReads, viewsets.ReadOnlyModelViewSet):
    """The stored treat-to-target status of the caller's sites' patients (computed by the
    evaluation after each change; read here, never computed). Looked up by patient UUID."""

    serializer_class = PatientStatusSerializer
    lookup_field = "patient__public_id"
    lookup_url_kwarg = "patient_id"
    lookup_value_regex = UUID_PATTERN
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = PatientStatusFilter
    ordering_fields = ["as_of", "computed_at", "mri_due", "edss_due"]

    def get_queryset(self) -> models.QuerySet:
        return (
            PatientStatus.objects.visible_to(self.request.user)
            .select_related("patient", "therapy_course")
            .order_by("patient_id")
        )

    @extend_schema(
        parameters=[OpenApiParameter("patient_id", OpenApiTypes.UUID, OpenApiParameter.PATH)]
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)


class EventsSerializer(serializers.Serializer):
    patient = serializers.UUIDField()
    definition = serializers.CharField()
    outcome = serializers.CharField()
    from_status = serializers.BooleanField(
        help_text="True: the confirmed worsening events stored with the status (the whole "
        "course); false: every event computed now under the definition asked for"
    )
    events = DocumentField("ProgressionEvent", many=True)


class EventsQuery(serializers.Serializer):
    patient = serializers.UUIDField()
    definition = serializers.CharField(required=False)
    outcome = serializers.ChoiceField(OUTCOMES, required=False)

    def validate_definition(self, value: str) -> str:
        if value not in PRESETS:
            raise ValidationError(f"unknown definition {value!r}; known: {', '.join(PRESETS)}")
        return value


class ProgressionEventsViewSet(viewsets.ViewSet):
    """Progression events of one patient of the caller's sites."""

    @extend_schema(
        parameters=[
            OpenApiParameter("patient", OpenApiTypes.UUID, required=True),
            OpenApiParameter("definition", OpenApiTypes.STR, enum=list(PRESETS)),
            OpenApiParameter("outcome", OpenApiTypes.STR, enum=list(OUTCOMES)),
        ],
        responses={
            200: EventsSerializer,
            400: OpenApiResponse(description="No or a malformed patient, unknown definition"),
            403: OpenApiResponse(description="Only neurologists choose another definition"),
            404: OpenApiResponse(description="No such patient at your sites"),
        },
        description="Without `definition` (or with the stored one) the confirmed worsening "
        "events of the whole course stored with the status; with another definition or "
        "outcome, every event computed "
        "now by the engine (neurologists, site admins and integrations only).",
    )
    def list(self, request: Request) -> Response:
        query = EventsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        wanted = query.validated_data
        patient = get_object_or_404(
            Patient.objects.visible_to(request.user), public_id=wanted["patient"]
        )
        record_reads([patient], actor=actor_of(request), what=request.path, query=wanted)
        status = PatientStatus.objects.filter(patient=patient).first()
        stored = status.definition if status else {}
        name = wanted.get("definition") or stored.get("name") or DEFAULT_PRESET
        outcome = wanted.get("outcome") or stored.get("outcome") or "edss"
        from_status = status is not None and (name, outcome) == (
            stored.get("name"),
            stored.get("outcome", "edss"),
        )
        if from_status:
            assert status is not None  # from_status says so
            events = stored_events(status)
        else:
            if (name, outcome) != (DEFAULT_PRESET, "edss") and not can(
                request.user, Action.CHOOSE_DEFINITION, patient
            ):
                raise PermissionDenied("only a neurologist may choose a progression definition")
            events = computed_events(
                patient.visits.order_by("date"),
                patient.relapses.order_by("onset"),
                definition(name, outcome=outcome),
            )
        body = {
            "patient": patient.public_id,
            "definition": name,
            "outcome": outcome,
            "from_status": from_status,
            "events": events,
        }
        return Response(EventsSerializer(body).data)


class AlertSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    patient: serializers.SlugRelatedField[Patient] = serializers.SlugRelatedField(
        slug_field="public_id", read_only=True
    )
    acknowledged_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Null until then"
    )
    resolved_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Null until resolved, and when the system resolved it because the condition "
        "cleared",
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "patient",
            "rule",
            "severity",
            "state",
            "explanation",
            "evidence",
            "raised_at",
            "acknowledged_by",
            "acknowledged_at",
            "resolved_by",
            "resolved_at",
            "resolution_note",
            "cleared_unseen",
        ]


class AlertFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(field_name="patient__public_id")
    rule = django_filters.ChoiceFilter(choices=Rule.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    state = django_filters.ChoiceFilter(choices=AlertState.choices)
    cleared_unseen = django_filters.BooleanFilter(
        help_text="Cleared before a neurologist acknowledged it, and not acknowledged since"
    )
    # `severity` orders by clinical rank (high first), not alphabetically.
    ordering = django_filters.OrderingFilter(
        fields=(
            ("severity_rank", "severity"),
            ("raised_at", "raised_at"),
            ("state", "state"),
            ("rule", "rule"),
        )
    )

    class Meta:
        model = Alert
        fields = ["patient", "rule", "severity", "state", "cleared_unseen"]


class ResolutionSerializer(serializers.Serializer):
    resolution_note = serializers.CharField(help_text="How the alert was dealt with")


class AlertViewSet(
    AuditedReads, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Alerts of the caller's sites' patients, most severe and newest first. Neurologists
    and site admins acknowledge and resolve them."""

    serializer_class = AlertSerializer
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    lookup_value_regex = UUID_PATTERN
    filter_backends = [DjangoFilterBackend]
    filterset_class = AlertFilter

    def get_queryset(self) -> models.QuerySet:
        return (
            Alert.objects.visible_to(self.request.user)
            .select_related("patient", "acknowledged_by", "resolved_by")
            .order_by("severity_rank", "-raised_at", "-id")
        )

    def get_permissions(self) -> list[Any]:
        permissions = list(super().get_permissions())
        if self.action in ("acknowledge", "resolve"):
            permissions.append(Allowed(Action.DECIDE))
        return permissions

    @extend_schema(request=None, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, id: str) -> Response:
        alert = acknowledge_alert(self.get_object(), actor=actor_of(request))
        return Response(AlertSerializer(alert).data)

    @extend_schema(request=ResolutionSerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, id: str) -> Response:
        body = ResolutionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            alert = resolve_alert(
                self.get_object(),
                actor=actor_of(request),
                note=body.validated_data["resolution_note"],
            )
        except ModelValidationError as error:
            raise ValidationError(field_errors(error)) from None
        return Response(AlertSerializer(alert).data)
