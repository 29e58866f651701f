"""Visits (EDSS and functional tests), relapses, MRI scans and NfL samples (lab results,
adverse events, pregnancies and comorbidities in `monitoring.safety_records`).

Decimal columns keep one more decimal place than the clinic records so that a wrong value
(EDSS 3.25) reaches the CHECK constraint as typed instead of being rounded into a valid one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import models
from django.db.models import Q

from monitoring.clinical import measures
from monitoring.clinical import thresholds as t
from patients.models import (
    ClinicalRecord,
    Conflicts,
    ErrorCollector,
    Patient,
    record_constraints,
)


class Visit(ClinicalRecord):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="visits")
    date = models.DateField()
    edss = models.DecimalField("EDSS", max_digits=4, decimal_places=2)
    t25fw = models.DecimalField(
        "T25FW (s)",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Timed 25-foot walk, seconds",
    )
    nhpt = models.DecimalField(
        "9HPT (s)",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Nine-hole peg test, seconds",
    )
    sdmt = models.PositiveSmallIntegerField("SDMT", null=True, blank=True)
    scheduled = models.BooleanField(
        default=True, help_text="Unscheduled visits may be excluded from confirming worsening"
    )

    class Meta(ClinicalRecord.Meta):
        ordering = ["patient", "date"]
        constraints = [
            *record_constraints("visit"),
            models.UniqueConstraint(
                fields=["patient", "date"],
                condition=Q(entered_in_error_at__isnull=True),
                name="visit_one_per_patient_day",
            ),
            models.CheckConstraint(condition=Q(edss__in=t.EDSS_VALUES), name="visit_edss_step"),
            models.CheckConstraint(
                condition=Q(t25fw__isnull=True)
                | (Q(t25fw__gt=0) & Q(t25fw__lte=t.T25FW_MAX_SECONDS)),
                name="visit_t25fw_range",
            ),
            models.CheckConstraint(
                condition=Q(nhpt__isnull=True) | (Q(nhpt__gt=0) & Q(nhpt__lte=t.NHPT_MAX_SECONDS)),
                name="visit_nhpt_range",
            ),
            models.CheckConstraint(
                condition=Q(sdmt__isnull=True)
                | (Q(sdmt__gte=t.SDMT_MIN) & Q(sdmt__lte=t.SDMT_MAX)),
                name="visit_sdmt_range",
            ),
        ]

    def __str__(self) -> str:
        return f"visit {self.date} EDSS {self.edss}"

    def clean_values(self, errors: ErrorCollector) -> None:
        if self.edss is not None:
            self.edss = errors.check(measures.edss, self.edss) or self.edss
        if self.t25fw is not None:
            errors.check(measures.t25fw, self.t25fw)
        if self.nhpt is not None:
            errors.check(measures.nhpt, self.nhpt)
        if self.sdmt is not None:
            errors.check(measures.sdmt, self.sdmt)

    @classmethod
    def conflicts(cls, records: Sequence[Visit]) -> Conflicts:
        """One visit per patient and day (entered-in-error ones aside)."""
        wanted = [(r.patient_id, r.date) for r in records if r.patient_id and r.date]
        if not wanted:
            return {}
        stored = {
            (patient, day): pk
            for patient, day, pk in cls.objects.filter(
                patient_id__in={patient for patient, _ in wanted},
                date__in={day for _, day in wanted},
            ).values_list("patient_id", "date", "pk")
        }
        found: Conflicts = {}
        seen: set[tuple[int, dt.date]] = set()
        for index, record in enumerate(records):
            key = (record.patient_id, record.date)
            if not record.patient_id or not record.date:
                continue
            if stored.get(key, record.pk) != record.pk or key in seen:
                found[index] = [("date", f"this patient already has a visit on {record.date}")]
            seen.add(key)
        return found


class Severity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


class Relapse(ClinicalRecord):
    date_field = "onset"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="relapses")
    onset = models.DateField()
    end = models.DateField(null=True, blank=True)
    severity = models.CharField(max_length=8, choices=Severity.choices, blank=True)
    steroids = models.BooleanField(default=False, help_text="Treated with steroids")
    confirmed_by_clinician = models.BooleanField(default=False)

    class Meta(ClinicalRecord.Meta):
        ordering = ["patient", "onset"]
        constraints = [
            *record_constraints("relapse", "onset"),
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("onset")),
                name="relapse_end_not_before_onset",
            ),
            models.CheckConstraint(
                condition=Q(severity="") | Q(severity__in=Severity.values),
                name="relapse_severity_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"relapse {self.onset}"

    def clean_values(self, errors: ErrorCollector) -> None:
        if self.end and self.onset and self.end < self.onset:
            errors.add("end", f"the relapse ends ({self.end}) before its onset ({self.onset})")

    @classmethod
    def conflicts(cls, records: Sequence[Relapse]) -> Conflicts:
        """One relapse per 30 days: an onset less than 30 days from another (the same day
        included) is the same relapse [§1]; the message names the record to edit instead."""
        patients = {r.patient_id for r in records if r.patient_id and r.onset}
        if not patients:
            return {}
        stored = list(
            cls.objects.filter(patient_id__in=patients).values_list(
                "patient_id", "onset", "pk", "public_id"
            )
        )
        found: Conflicts = {}
        earlier: list[tuple[int, dt.date, int | None, object]] = []
        for index, record in enumerate(records):
            if not record.patient_id or not record.onset:
                continue
            for patient_id, onset, pk, public_id in [*stored, *earlier]:
                same_record = pk is not None and pk == record.pk
                gap = abs((record.onset - onset).days)
                if (
                    patient_id == record.patient_id
                    and not same_record
                    and gap < t.RELAPSE_MIN_GAP_DAYS
                ):
                    found[index] = [
                        (
                            "onset",
                            f"within {t.RELAPSE_MIN_GAP_DAYS} days of the relapse with onset "
                            f"{onset.isoformat()} ({public_id}): it is the same relapse; "
                            "edit that record instead",
                        )
                    ]
                    break
            earlier.append((record.patient_id, record.onset, record.pk, record.public_id))
        return found


class FieldStrength(models.TextChoices):
    T1_5 = "1.5T", "1.5 T"
    T3 = "3T", "3 T"
    OTHER = "other", "Other"


class MriScan(ClinicalRecord):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="mri_scans")
    date = models.DateField()
    new_t2 = models.IntegerField(
        "new or enlarging T2 lesions", help_text="Against the previous scan"
    )
    gd_enhancing = models.IntegerField(
        "Gd-enhancing lesions",
        null=True,
        blank=True,
        help_text="Leave empty when no contrast was given: unknown, not 0",
    )
    total_t2 = models.IntegerField("total T2 lesions", null=True, blank=True)
    pbvc = models.DecimalField(
        "PBVC (%)",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Percent brain volume change against the previous scan",
    )
    field_strength = models.CharField(max_length=8, choices=FieldStrength.choices, blank=True)

    class Meta(ClinicalRecord.Meta):
        verbose_name = "MRI scan"
        ordering = ["patient", "date"]
        constraints = [
            *record_constraints("mriscan"),
            models.CheckConstraint(
                condition=Q(new_t2__gte=0) & Q(new_t2__lte=t.LESION_COUNT_MAX),
                name="mriscan_new_t2_count",
            ),
            models.CheckConstraint(
                condition=Q(gd_enhancing__isnull=True)
                | (Q(gd_enhancing__gte=0) & Q(gd_enhancing__lte=t.LESION_COUNT_MAX)),
                name="mriscan_gd_count",
            ),
            models.CheckConstraint(
                condition=Q(total_t2__isnull=True)
                | (Q(total_t2__gte=0) & Q(total_t2__lte=t.LESION_COUNT_MAX)),
                name="mriscan_total_t2_count",
            ),
            models.CheckConstraint(
                condition=Q(pbvc__isnull=True)
                | (Q(pbvc__gte=-t.PBVC_STORED_MAX) & Q(pbvc__lte=t.PBVC_STORED_MAX)),
                name="mriscan_pbvc_range",
            ),
            models.CheckConstraint(
                condition=Q(field_strength="") | Q(field_strength__in=FieldStrength.values),
                name="mriscan_field_strength_valid",
            ),
        ]

    def __str__(self) -> str:
        gd = "no contrast" if self.gd_enhancing is None else f"{self.gd_enhancing} Gd+"
        return f"MRI {self.date}: {self.new_t2} new T2, {gd}"

    def clean_values(self, errors: ErrorCollector) -> None:
        for field in ("new_t2", "gd_enhancing", "total_t2"):
            value = getattr(self, field)
            if value is not None:
                errors.check(measures.lesion_count, value, field)
        if self.pbvc is not None:
            errors.check(measures.pbvc, self.pbvc)

    @classmethod
    def conflicts(cls, records: Sequence[MriScan]) -> Conflicts:
        """One scan per patient and day (entered-in-error ones aside): a second report of one
        scan would count its new T2 lesions twice [§1]."""
        wanted = [(r.patient_id, r.date) for r in records if r.patient_id and r.date]
        if not wanted:
            return {}
        stored = {
            (patient, day): (pk, public_id)
            for patient, day, pk, public_id in cls.objects.filter(
                patient_id__in={patient for patient, _ in wanted},
                date__in={day for _, day in wanted},
            ).values_list("patient_id", "date", "pk", "public_id")
        }
        found: Conflicts = {}
        seen: dict[tuple[int, dt.date], object] = {}
        for index, record in enumerate(records):
            key = (record.patient_id, record.date)
            if not record.patient_id or not record.date:
                continue
            pk, public_id = stored.get(key, (record.pk, None))
            other = public_id if pk != record.pk else seen.get(key)
            if other is not None:
                found[index] = [
                    (
                        "date",
                        f"this patient already has an MRI scan on {record.date} ({other}): "
                        "edit that record instead",
                    )
                ]
            seen[key] = record.public_id
        return found


class Matrix(models.TextChoices):
    SERUM = "serum", "Serum"
    PLASMA = "plasma", "Plasma"
    CSF = "csf", "Cerebrospinal fluid"


class Assay(models.TextChoices):
    SIMOA = "simoa", "Simoa"
    ELLA = "ella", "Ella"
    ECLIA = "eclia", "ECLIA"
    ELISA = "elisa", "ELISA"
    OTHER = "other", "Other"


class NflSample(ClinicalRecord):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="nfl_samples")
    date = models.DateField()
    matrix = models.CharField(max_length=8, choices=Matrix.choices)
    value = models.DecimalField("NfL (pg/mL)", max_digits=10, decimal_places=2)
    assay = models.CharField(max_length=8, choices=Assay.choices)
    lab = models.CharField(max_length=100, blank=True)
    lab_upper_limit = models.DecimalField(
        "lab upper reference limit (pg/mL)",
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
    )
    z_score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta(ClinicalRecord.Meta):
        verbose_name = "NfL sample"
        ordering = ["patient", "date"]
        constraints = [
            *record_constraints("nflsample"),
            models.CheckConstraint(
                condition=Q(value__gt=0) & Q(value__lte=t.NFL_MAX_PG_ML),
                name="nflsample_value_range",
            ),
            models.CheckConstraint(
                condition=Q(lab_upper_limit__isnull=True) | Q(lab_upper_limit__gt=0),
                name="nflsample_upper_limit_positive",
            ),
            models.CheckConstraint(
                condition=Q(matrix__in=Matrix.values), name="nflsample_matrix_valid"
            ),
            models.CheckConstraint(
                condition=Q(assay__in=Assay.values), name="nflsample_assay_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"NfL {self.date}: {self.value} pg/mL ({self.matrix}, {self.assay})"

    def clean_values(self, errors: ErrorCollector) -> None:
        if self.value is not None:
            errors.check(measures.nfl_value, self.value)
        if self.lab_upper_limit is not None:
            errors.check(measures.nfl_value, self.lab_upper_limit, "lab_upper_limit")
        if self.z_score is not None:
            errors.check(measures.nfl_z_score, self.z_score)


# The safety records live in their own module; imported here so that Django finds them.
from monitoring.safety_records import (  # noqa: E402, F401
    AdverseEvent,
    Analyte,
    Comorbidity,
    LabResult,
    MonitoringItem,
    Pregnancy,
)
