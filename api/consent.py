"""Research consent through the API: one per patient, listed, created and updated like any
record of the caller's sites (audited by save_record). A POST for a patient who already has
a consent updates it, as a retried POST of a record updates that record."""

from __future__ import annotations

from typing import Any

import django_filters

from api.serializers import COMMON, AuditedModelSerializer, PatientReference
from api.views import AuditedViewSet
from patients.models import Consent


class ConsentSerializer(AuditedModelSerializer):
    patient = PatientReference(help_text="The patient's UUID")

    class Meta:
        model = Consent
        fields = ["id", "patient", "date", "research_export", "withdrawn", *COMMON[2:]]
        read_only_fields = ["created_at", "updated_at"]
        # One consent per patient: a second POST updates the first (ConsentViewSet.upsert_key).
        validators: list[Any] = []


class ConsentFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(field_name="patient__public_id")

    class Meta:
        model = Consent
        fields = ["research_export"]


class ConsentViewSet(AuditedViewSet):
    """Research consents of the caller's sites' patients."""

    model = Consent
    related = ("patient",)
    serializer_class = ConsentSerializer
    filterset_class = ConsentFilter
    ordering_fields = ["date", "withdrawn", "created_at"]
    upsert_key = ()  # one consent per patient: a second POST updates it
