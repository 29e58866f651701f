from django.contrib import admin

from monitoring.models import JcvTest, MriScan, NflSample, Relapse, Visit
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


@admin.register(JcvTest)
class JcvTestAdmin(ClinicalRecordAdmin):
    list_display = ["patient", "date", "result", "index", "in_error"]
