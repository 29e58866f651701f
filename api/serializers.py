"""Serializers convert JSON types; the model decides what is valid.

DRF only parses (a date is a date, a number a number). Every clinical rule runs in the
model's `full_clean()` through `save_record`, and its `ValidationError` comes back as a 400
naming each field, the same words the forms show.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError as ModelValidationError
from django.db import models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.auth import actor_of
from monitoring.models import MriScan, NflSample, Relapse, Visit
from patients.actions import field_errors, save_record
from patients.models import Patient, Site, Therapy, TherapyCourse, Validated


def record_errors(detail: Any) -> Any:
    """One bulk record's refusal as messages by field (`BulkError.errors`), also when DRF
    refuses the record as a whole with a bare list (a null record)."""
    return detail if isinstance(detail, dict) else {"non_field_errors": detail}


@extend_schema_field(OpenApiTypes.UUID)
class PatientReference(serializers.RelatedField):
    """A patient by UUID, among the patients the caller can see: an unknown patient and
    another site's patient get the same answer."""

    default_error_messages = {
        "unknown": "no patient {value} at your sites",
        "invalid": "{value!r} is not a patient UUID",
    }

    def get_queryset(self) -> models.QuerySet:
        return Patient.objects.visible_to(self.context["request"].user)

    def to_internal_value(self, data: Any) -> Patient:
        try:
            public_id = uuid.UUID(str(data))
        except ValueError:
            self.fail("invalid", value=data)
        # A bulk request looks up all its patients in one query (see RecordViewSet.bulk).
        known = self.context.get("patients")
        patient = (
            known.get(public_id)
            if known is not None
            else self.get_queryset().filter(public_id=public_id).first()
        )
        if patient is None:
            self.fail("unknown", value=public_id)
        return patient

    def to_representation(self, value: Any) -> str:
        return str(value.public_id)


class AuditedModelSerializer(serializers.ModelSerializer):
    """Creates and updates go through `save_record`: validated, saved, audited."""

    id = serializers.UUIDField(source="public_id", read_only=True)

    def create(self, validated_data: dict[str, Any]) -> Validated:
        model: type[Validated] = self.Meta.model
        return self._save(model(**validated_data))

    def update(self, instance: Validated, validated_data: dict[str, Any]) -> Validated:
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return self._save(instance)

    def _save(self, instance: Validated) -> Validated:
        try:
            return save_record(instance, actor=actor_of(self.context["request"]))
        except ModelValidationError as error:
            raise serializers.ValidationError(field_errors(error)) from None


COMMON = ["source_system", "source_id", "created_at", "updated_at"]


class SiteReference(serializers.SlugRelatedField):
    def get_queryset(self) -> models.QuerySet:
        return Site.objects.visible_to(self.context["request"].user)


class PatientSerializer(AuditedModelSerializer):
    site = SiteReference(
        slug_field="code",
        required=False,
        help_text="Site code; may be left out by callers who belong to one site only",
    )

    class Meta:
        model = Patient
        fields = [
            "id",
            "site",
            "mrn",
            "display_name",
            "birth_date",
            "sex",
            "phenotype",
            "symptom_onset",
            "diagnosis_date",
            *COMMON,
        ]
        read_only_fields = ["created_at", "updated_at"]
        validators: list[Any] = []

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and "site" not in attrs:
            sites = list(Site.objects.visible_to(self.context["request"].user)[:2])
            if len(sites) != 1:
                raise serializers.ValidationError({"site": "say which site (its code)"})
            attrs["site"] = sites[0]
        return attrs


class ClinicalRecordSerializer(AuditedModelSerializer):
    patient = PatientReference(help_text="The patient's UUID")

    class Meta:
        read_only_fields = ["created_at", "updated_at"]
        validators: list[Any] = []


class TherapyCourseSerializer(ClinicalRecordSerializer):
    therapy = serializers.SlugRelatedField(
        slug_field="code", queryset=Therapy.objects.all(), help_text="Therapy catalogue code"
    )

    class Meta(ClinicalRecordSerializer.Meta):
        model = TherapyCourse
        fields = ["id", "patient", "therapy", "start", "end", "stop_reason", *COMMON]


class VisitSerializer(ClinicalRecordSerializer):
    class Meta(ClinicalRecordSerializer.Meta):
        model = Visit
        fields = ["id", "patient", "date", "edss", "t25fw", "nhpt", "sdmt", "scheduled", *COMMON]


class RelapseSerializer(ClinicalRecordSerializer):
    class Meta(ClinicalRecordSerializer.Meta):
        model = Relapse
        fields = [
            "id",
            "patient",
            "onset",
            "end",
            "severity",
            "steroids",
            "confirmed_by_clinician",
            *COMMON,
        ]


class MriScanSerializer(ClinicalRecordSerializer):
    class Meta(ClinicalRecordSerializer.Meta):
        model = MriScan
        fields = [
            "id",
            "patient",
            "date",
            "new_t2",
            "gd_enhancing",
            "total_t2",
            "pbvc",
            "field_strength",
            *COMMON,
        ]


class NflSampleSerializer(ClinicalRecordSerializer):
    class Meta(ClinicalRecordSerializer.Meta):
        model = NflSample
        fields = [
            "id",
            "patient",
            "date",
            "matrix",
            "value",
            "assay",
            "lab",
            "lab_upper_limit",
            "z_score",
            *COMMON,
        ]


class EnteredInErrorSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Why the record is wrong; kept with the record")


class BulkResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    id = serializers.UUIDField()
    created = serializers.BooleanField()


class BulkErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField()

    def get_fields(self) -> dict[str, serializers.Field]:
        # Declared here: a class attribute named `errors` would hide Serializer.errors to
        # type checkers (DRF's metaclass takes declared fields off the class).
        fields = super().get_fields()
        fields["errors"] = serializers.DictField(
            child=serializers.ListField(child=serializers.CharField())
        )
        return fields
