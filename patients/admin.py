"""The admin: site-scoped lists, audited saves, no deletes of clinical data."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import ForeignKey, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from patients.actions import Actor, mark_entered_in_error, save_record, save_therapy
from patients.models import (
    AuditEvent,
    ClinicalRecord,
    Membership,
    Patient,
    Site,
    Therapy,
    TherapyCourse,
)
from patients.reads import record_reads


class AuditedAdmin(admin.ModelAdmin):
    """Saves through `save_record` (validation + audit row) and shows only the user's sites."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return self.model._base_manager.all().visible_to(request.user)

    def formfield_for_foreignkey(self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any):
        if db_field.related_model is Patient:
            kwargs["queryset"] = Patient.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        save_record(obj, actor=Actor.of(request.user))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Opening a record shows patient data: audited like any other read."""
        obj = self.get_object(request, object_id)
        if obj is not None and request.method == "GET":
            record_reads([obj], actor=Actor.of(request.user), what=request.path)
        return super().change_view(request, object_id, form_url, extra_context)


@admin.action(description="Mark entered in error (kept, but left out of every computation)")
def enter_in_error(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet
) -> HttpResponse | None:
    records = [record for record in queryset if not record.is_entered_in_error]
    if "apply" in request.POST:
        try:
            for record in records:
                mark_entered_in_error(
                    record, actor=Actor.of(request.user), reason=request.POST.get("reason", "")
                )
        except ValidationError as error:
            modeladmin.message_user(request, "; ".join(error.messages), messages.ERROR)
            return None
        modeladmin.message_user(request, f"{len(records)} record(s) marked entered in error.")
        return None
    return TemplateResponse(
        request,
        "admin/entered_in_error.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": "Mark entered in error",
            "records": records,
            "opts": modeladmin.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        },
    )


class ClinicalRecordAdmin(AuditedAdmin):
    actions = [enter_in_error]
    list_select_related = ["patient", "patient__site"]
    readonly_fields = [
        "public_id",
        "entered_in_error_at",
        "entered_in_error_by",
        "entered_in_error_reason",
        "created_at",
        "updated_at",
    ]
    list_filter = ["patient__site"]
    search_fields = ["patient__mrn", "patient__display_name"]
    raw_id_fields = ["patient"]

    @admin.display(boolean=True, description="in error")
    def in_error(self, obj: ClinicalRecord) -> bool:
        return obj.is_entered_in_error


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "mrn_case_sensitive", "created_at"]
    search_fields = ["code", "name"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "site", "role"]
    list_filter = ["site", "role"]
    autocomplete_fields = ["user", "site"]


@admin.register(Therapy)
class TherapyAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "therapy_class", "immunosuppressant"]
    list_filter = ["therapy_class", "immunosuppressant"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        save_therapy(obj, actor=Actor.of(request.user))


@admin.register(Patient)
class PatientAdmin(AuditedAdmin):
    list_display = ["mrn", "display_name", "site", "phenotype", "birth_date", "diagnosis_date"]
    list_filter = ["site", "phenotype", "sex"]
    search_fields = ["mrn", "display_name"]
    readonly_fields = ["public_id", "created_at", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return Patient.objects.visible_to(request.user).select_related("site")


@admin.register(TherapyCourse)
class TherapyCourseAdmin(ClinicalRecordAdmin):
    list_display = ["patient", "therapy", "start", "end", "stop_reason", "in_error"]
    list_filter = ["patient__site", "therapy", "stop_reason"]
    list_select_related = ["patient", "patient__site", "therapy"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_label", "action", "model", "object_id", "patient"]
    list_filter = ["action", "model"]
    search_fields = ["actor_label", "object_id", "patient__mrn"]
    list_select_related = ["patient", "patient__site"]
    date_hierarchy = "at"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return AuditEvent.objects.visible_to(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
