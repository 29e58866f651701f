"""The REST API of the safety records [spec §7.1, §7.2]: lab results, adverse events,
pregnancies and comorbidities (list, filter, write, bulk, upsert by source ids,
entered-in-error, as every clinical record), and the read-only analyte and
monitoring-protocol catalogues."""

from __future__ import annotations

import django_filters
from rest_framework import serializers, viewsets

from api import serializers as s
from api.filters import record_filter
from api.views import record_viewset
from monitoring.models import (
    AdverseEvent,
    Analyte,
    Comorbidity,
    LabResult,
    MonitoringItem,
    Pregnancy,
)
from patients.models import Therapy


class AnalyteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Analyte
        fields = ["code", "name", "loinc", "unit", "conversions", "qualitative"]


class MonitoringItemSerializer(serializers.ModelSerializer):
    analyte: serializers.SlugRelatedField[Analyte] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )

    class Meta:
        model = MonitoringItem
        exclude = ["id"]


class LabResultSerializer(s.ClinicalRecordSerializer):
    analyte = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Analyte.objects.all(),
        help_text="Analyte catalogue code (GET /api/v1/analytes/)",
        error_messages={
            "does_not_exist": "unknown analyte {value}: use a code of /api/v1/analytes/"
        },
    )
    loinc = serializers.CharField(source="analyte.loinc", read_only=True)

    class Meta(s.ClinicalRecordSerializer.Meta):
        model = LabResult
        fields = [
            "id",
            "patient",
            "analyte",
            "loinc",
            "date",
            "value",
            "unit",
            "text",
            "lower_limit",
            "upper_limit",
            "reported_as",
            "lab",
            *s.COMMON,
        ]
        read_only_fields = [*s.ClinicalRecordSerializer.Meta.read_only_fields, "reported_as"]


class AdverseEventSerializer(s.ClinicalRecordSerializer):
    suspected_therapy = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Therapy.objects.all(),
        required=False,
        allow_null=True,
        help_text="Therapy catalogue code",
    )

    class Meta(s.ClinicalRecordSerializer.Meta):
        model = AdverseEvent
        fields = [
            "id",
            "patient",
            "date",
            "term",
            "serious",
            "suspected_therapy",
            "outcome",
            *s.COMMON,
        ]


class PregnancySerializer(s.ClinicalRecordSerializer):
    class Meta(s.ClinicalRecordSerializer.Meta):
        model = Pregnancy
        fields = [
            "id",
            "patient",
            "start",
            "due_date",
            "end",
            "outcome",
            "therapy_action",
            *s.COMMON,
        ]


class ComorbiditySerializer(s.ClinicalRecordSerializer):
    class Meta(s.ClinicalRecordSerializer.Meta):
        model = Comorbidity
        fields = [
            "id",
            "patient",
            "condition",
            "code",
            "onset",
            "resolved",
            "notes",
            *s.COMMON,
        ]


LabResultFilter = type(
    "LabResultFilter",
    (record_filter(LabResult, "date"),),
    {"analyte": django_filters.CharFilter(field_name="analyte__code", help_text="Analyte code")},
)

LabResultViewSet = record_viewset(
    LabResult, LabResultSerializer, LabResultFilter, ["date", "created_at"]
)
LabResultViewSet.related = ("patient", "analyte")
AdverseEventViewSet = record_viewset(
    AdverseEvent,
    AdverseEventSerializer,
    record_filter(AdverseEvent, "date"),
    ["date", "created_at"],
)
PregnancyViewSet = record_viewset(
    Pregnancy, PregnancySerializer, record_filter(Pregnancy, "start"), ["start", "created_at"]
)
ComorbidityViewSet = record_viewset(
    Comorbidity,
    ComorbiditySerializer,
    record_filter(Comorbidity, "onset"),
    ["onset", "created_at"],
)


class AnalyteViewSet(viewsets.ReadOnlyModelViewSet):
    """The analyte catalogue: codes, LOINC codes, catalogue units and accepted units."""

    queryset = Analyte.objects.all()
    serializer_class = AnalyteSerializer
    lookup_field = "code"


class MonitoringItemViewSet(viewsets.ReadOnlyModelViewSet):
    """The monitoring protocols [§7.1], each item with its source."""

    queryset = MonitoringItem.objects.select_related("analyte")
    serializer_class = MonitoringItemSerializer
    lookup_field = "code"
