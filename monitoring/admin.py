from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from monitoring.models import (
    AdverseEvent,
    Analyte,
    Comorbidity,
    LabResult,
    MonitoringItem,
    MriScan,
    NflSample,
    Pregnancy,
    Relapse,
    Visit,
)
from patients.actions import Actor, save_record
from patients.admin import ClinicalRecordAdmin


@admin.register(Visit)
class VisitAdmin(ClinicalRecordAdmin):
    list_display = ["patient", "date", "edss", "t25fw", "nhpt", "sdmt", "scheduled", "in_error"]
    date_hierarchy = "date"


@admin.register(Relapse)
class RelapseAdmin(ClinicalRecordAdmin):
    list_display = ["patient", "onset", "end", "severity", "steroids", "in_error"]


@admin.register(MriScan)
class MriScanAdmin(ClinicalRecordAdmin):
    list_display = ["patient", "date", "new_t2", "gd_enhancing", "total_t2", "pbvc", "in_error"]


@admin.register(NflSample)
class NflSampleAdmin(ClinicalRecordAdmin):
    list_display = ["patient", "date", "matrix", "value", "assay", "lab", "in_error"]


class CatalogueAdmin(admin.ModelAdmin):
    """Catalogue rows hold no patient data: every admin sees them; saves are audited."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        save_record(obj, actor=Actor.of(request.user))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # results and protocol history point at them


@admin.register(Analyte)
class AnalyteAdmin(CatalogueAdmin):
    list_display = ["name", "code", "loinc", "unit", "qualitative"]


@admin.register(MonitoringItem)
class MonitoringItemAdmin(CatalogueAdmin):
    list_display = ["code", "label", "analyte", "phase", "every_months", "every_weeks", "source"]
    list_filter = ["phase"]


@admin.register(LabResult)
class LabResultAdmin(ClinicalRecordAdmin):
    list_display = ["patient", "date", "analyte", "value", "unit", "text", "lab", "in_error"]
    list_filter = ["analyte"]


@admin.register(AdverseEvent)
class AdverseEventAdmin(ClinicalRecordAdmin):
    list_display = [
        "patient",
        "date",
        "term",
        "serious",
        "suspected_therapy",
        "outcome",
        "in_error",
    ]


@admin.register(Pregnancy)
class PregnancyAdmin(ClinicalRecordAdmin):
    list_display = ["patient", "start", "due_date", "end", "outcome", "therapy_action", "in_error"]


@admin.register(Comorbidity)
class ComorbidityAdmin(ClinicalRecordAdmin):
    list_display = ["patient", "onset", "condition", "code", "resolved", "in_error"]
