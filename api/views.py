"""The REST API, /api/v1/. Every queryset starts from `visible_to(request.user)`, so another
site's object is simply not there (404) and lists never show it.

Writes: POST creates, or updates the record with the same `source_system` + `source_id`
(`patients.actions.upsert_record`, which the bulk and FHIR bundles use too: a retried POST
never duplicates); PUT/PATCH honour `If-Match`; clinical records are never deleted (DELETE
is 405): `POST …/{id}/entered-in-error/` withdraws one with a reason.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError as ModelValidationError
from django.db import IntegrityError, models, transaction
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from api import filters
from api import serializers as s
from api.audit import AuditedReads
from api.auth import actor_of
from monitoring.models import MriScan, NflSample, Relapse, Visit
from patients.actions import (
    SOURCE_KEY,
    EnteredInError,
    RecordErrors,
    field_errors,
    mark_entered_in_error,
    upsert_record,
    upsert_records,
)
from patients.models import ClinicalRecord, Consent, Patient, TherapyCourse

# The models the API writes: each has a public_id, source identifiers and updated_at.
Audited = Patient | ClinicalRecord | Consent
UUID_PATTERN = "[0-9a-fA-F-]{36}"
BULK_LIMIT = 1000


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "the record changed since you read it (If-Match does not match its ETag)"
    default_code = "precondition_failed"


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def etag_of(instance: Audited) -> str:
    """Changes with every save (`updated_at` is set on each one)."""
    return f'"{instance.updated_at:%Y%m%dT%H%M%S%f}"'


def check_if_match(request: Request, instance: Audited) -> None:
    header = request.headers.get("If-Match")
    if header is None:
        return
    wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if "*" not in wanted and etag_of(instance) not in wanted:
        raise PreconditionFailed()


def with_etag(response: Response, instance: Audited) -> Response:
    response["ETag"] = etag_of(instance)
    return response


class AuditedViewSet(
    AuditedReads,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    model: type[Audited]
    related: tuple[str, ...] = ()
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    lookup_value_regex = UUID_PATTERN
    # Clinical data is never deleted; see `entered_in_error`.
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    filter_backends = [DjangoFilterBackend, filters.StrictOrderingFilter]
    # What makes a POST an update of an earlier record (`upsert_record`'s `by`).
    upsert_key: tuple[str, ...] = SOURCE_KEY

    def get_queryset(self) -> models.QuerySet:
        # Every model's manager is built on SiteScopedQuerySet, which has visible_to.
        model: Any = self.model
        return model.objects.visible_to(self.request.user).select_related(*self.related)

    def upsert(self, serializer: serializers.BaseSerializer) -> bool:
        """Save a validated serializer through `upsert_record`. Returns True when created."""
        try:
            upserted = upsert_record(
                self.model,
                serializer.validated_data,
                actor=actor_of(self.request),
                by=self.upsert_key,
            )
        except EnteredInError as error:
            raise Conflict(error.messages[0]) from None
        except ModelValidationError as error:
            raise ValidationError(field_errors(error)) from None
        except IntegrityError:
            raise Conflict("conflicts with a concurrent write; retry") from None
        serializer.instance = upserted.record
        return upserted.created

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = self.upsert(serializer)
        response = Response(
            serializer.data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
        assert serializer.instance is not None  # set by upsert
        return with_etag(response, serializer.instance)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        return with_etag(Response(self.get_serializer(instance).data), instance)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        with transaction.atomic():
            # Locked so that the ETag compared is the one overwritten.
            instance = self.get_object()
            instance = type(instance)._base_manager.select_for_update().get(pk=instance.pk)
            check_if_match(request, instance)
            serializer = self.get_serializer(instance, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            try:
                with transaction.atomic():
                    serializer.save()
            except IntegrityError:
                raise Conflict(
                    "another record of this patient already has this source_system and source_id"
                ) from None
        assert serializer.instance is not None  # the instance updated
        return with_etag(Response(serializer.data), serializer.instance)

    @extend_schema(
        request=inline_serializer(
            "BulkRequest",
            {
                "records": serializers.ListField(
                    child=serializers.DictField(), min_length=1, max_length=BULK_LIMIT
                )
            },
        ),
        responses={
            201: inline_serializer("BulkResponse", {"results": s.BulkResultSerializer(many=True)}),
            400: inline_serializer(
                "BulkErrors",
                {
                    "errors": s.BulkErrorSerializer(many=True, required=False),
                    "records": serializers.ListField(child=serializers.CharField(), required=False),
                    "detail": serializers.CharField(
                        required=False, help_text="The body could not be read at all"
                    ),
                },
            ),
        },
        description=f"Up to {BULK_LIMIT} records (`records`, each as for POST) in one "
        "transaction: all are saved or, if any is refused, none; errors give each refused "
        "record's index and field messages.",
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        records = request.data.get("records") if isinstance(request.data, dict) else None
        if not isinstance(records, list) or not records:
            raise ValidationError({"records": ["send a non-empty list of records"]})
        if len(records) > BULK_LIMIT:
            raise ValidationError({"records": [f"at most {BULK_LIMIT} records per request"]})
        context = {**self.get_serializer_context(), **self.bulk_context(records)}
        # One serializer for all records: DRF builds its fields once.
        parser = self.get_serializer_class()(context=context)
        valid: list[tuple[int, dict[str, Any]]] = []
        errors: dict[int, Any] = {}
        for index, record in enumerate(records):
            try:
                valid.append((index, parser.run_validation(record)))
            except ValidationError as error:
                errors[index] = s.record_errors(error.detail)
        try:
            with transaction.atomic():
                results = self.save_bulk(parser, valid)
                if errors:
                    # Well-formed records were checked too, so that one answer lists every
                    # problem; none of them is kept.
                    transaction.set_rollback(True)
        except RecordErrors as refused:
            errors.update({index: field_errors(error) for index, error in refused.errors.items()})
        if errors:
            return Response(
                {"errors": [{"index": i, "errors": e} for i, e in sorted(errors.items())]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response({"results": results}, status=status.HTTP_201_CREATED)

    def save_bulk(
        self, parser: serializers.BaseSerializer, valid: list[tuple[int, dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """Every well-formed record through `upsert_records`; refusals are raised together
        (RecordErrors, by request index)."""
        try:
            upserted = upsert_records(
                self.model, [data for _, data in valid], actor=actor_of(self.request)
            )
        except RecordErrors as refused:
            raise RecordErrors(
                {valid[position][0]: error for position, error in refused.errors.items()}
            ) from None
        return [
            {"index": index, "id": result.record.public_id, "created": result.created}
            for (index, _), result in zip(valid, upserted, strict=True)
        ]

    def bulk_context(self, records: list[Any]) -> dict[str, Any]:
        return {}


class PatientViewSet(AuditedViewSet):
    """Patients of the caller's sites. Reading one is recorded in the audit trail."""

    model = Patient
    related = ("site",)
    serializer_class = s.PatientSerializer
    filterset_class = filters.PatientFilter
    ordering_fields = ["mrn", "birth_date", "diagnosis_date", "created_at", "updated_at"]


class ClinicalRecordViewSet(AuditedViewSet):
    model: type[ClinicalRecord]
    related: tuple[str, ...] = ("patient",)

    def bulk_context(self, records: list[Any]) -> dict[str, Any]:
        """Every patient the request names, looked up once, among those the caller can see."""
        wanted = {str(r.get("patient")) for r in records if isinstance(r, dict)}
        ids = []
        for value in wanted:
            try:
                ids.append(uuid.UUID(value))
            except ValueError:
                continue
        visible = Patient.objects.visible_to(self.request.user).filter(public_id__in=ids)
        return {"patients": {patient.public_id: patient for patient in visible}}

    @extend_schema(
        request=s.EnteredInErrorSerializer,
        responses={
            200: OpenApiResponse(
                inline_serializer(
                    "EnteredInError",
                    {
                        "id": serializers.UUIDField(),
                        "entered_in_error_at": serializers.DateTimeField(),
                    },
                ),
                description="The record, now withdrawn",
            )
        },
    )
    @action(detail=True, methods=["post"], url_path="entered-in-error")
    def entered_in_error(self, request: Request, id: str) -> Response:
        body = s.EnteredInErrorSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            record = self.get_object()
            record = self.model._base_manager.select_for_update().get(pk=record.pk)
            check_if_match(request, record)
            try:
                mark_entered_in_error(
                    record, actor=actor_of(request), reason=body.validated_data["reason"]
                )
            except ModelValidationError as error:
                raise ValidationError({"reason": error.messages}) from None
        return Response({"id": record.public_id, "entered_in_error_at": record.entered_in_error_at})


def record_viewset(
    record_model: type[ClinicalRecord],
    serializer: type[s.ClinicalRecordSerializer],
    filterset: type,
    ordering: list[str],
) -> type[ClinicalRecordViewSet]:
    plural = record_model._meta.verbose_name_plural
    assert plural is not None  # Django sets it from verbose_name when a model does not
    return type(
        f"{record_model.__name__}ViewSet",
        (ClinicalRecordViewSet,),
        {
            "__doc__": f"{plural.capitalize()} of the caller's sites' patients.",
            "model": record_model,
            "serializer_class": serializer,
            "filterset_class": filterset,
            "ordering_fields": ordering,
        },
    )


TherapyCourseViewSet = record_viewset(
    TherapyCourse, s.TherapyCourseSerializer, filters.TherapyCourseFilter, ["start", "end"]
)
VisitViewSet = record_viewset(
    Visit, s.VisitSerializer, filters.VisitFilter, ["date", "edss", "created_at"]
)
RelapseViewSet = record_viewset(
    Relapse, s.RelapseSerializer, filters.RelapseFilter, ["onset", "created_at"]
)
MriScanViewSet = record_viewset(
    MriScan, s.MriScanSerializer, filters.MriScanFilter, ["date", "new_t2", "created_at"]
)
NflSampleViewSet = record_viewset(
    NflSample, s.NflSampleSerializer, filters.NflSampleFilter, ["date", "value", "created_at"]
)
