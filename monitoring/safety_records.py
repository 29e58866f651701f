"""Therapy safety records [spec §7.1, §7.2]: the analyte and monitoring-protocol catalogues,
lab results, adverse events, pregnancies and comorbidities.

The catalogues are loaded by data migrations and edited by admins (audited); the engine
(`monitoring.clinical.safety`) reads plain dataclasses built from them. A lab result is kept
in its analyte's catalogue unit: a value entered in another unit is converted on validation
(`reported_as` keeps what was typed), a unit the catalogue cannot convert is refused.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone

from monitoring.clinical import measures, safety
from monitoring.clinical.protocols import Analyte as AnalyteData
from patients.models import (
    ClinicalRecord,
    ErrorCollector,
    Patient,
    Therapy,
    not_future,
    record_constraints,
)


class Analyte(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    loinc = models.CharField(
        "LOINC code", max_length=16, blank=True, help_text="Empty: a local code (e.g. JCV index)"
    )
    unit = models.CharField(
        max_length=20, blank=True, help_text="Catalogue unit (UCUM); every value is kept in it"
    )
    conversions = models.JSONField(
        default=dict,
        blank=True,
        help_text='Other accepted units: {"unit": what one is in the catalogue unit}',
    )
    qualitative = models.BooleanField(
        default=False, help_text="Results are text (negative, positive, trace…), not numbers"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name

    def as_data(self) -> AnalyteData:
        return AnalyteData(
            self.code, self.name, self.loinc, self.unit, dict(self.conversions), self.qualitative
        )


class MonitoringItem(models.Model):
    """One row of a therapy's monitoring protocol (the fields of `safety.ProtocolItem`)."""

    code = models.SlugField(max_length=60, unique=True)
    label = models.CharField(max_length=200)
    therapies = models.JSONField(help_text='Therapy codes or classes, e.g. ["natalizumab"]')
    analyte = models.ForeignKey(Analyte, on_delete=models.PROTECT, related_name="+")
    phase = models.CharField(
        max_length=16, choices=[(p.value, p.value.replace("_", " ")) for p in safety.Phase]
    )
    anchor = models.CharField(
        max_length=16,
        choices=[(a.value, a.value.replace("_", " ")) for a in safety.Anchor],
        default=safety.Anchor.START,
    )
    every_months = models.PositiveSmallIntegerField(null=True, blank=True)
    every_weeks = models.PositiveSmallIntegerField(null=True, blank=True)
    points_months = models.JSONField(default=list, blank=True, help_text="e.g. [1, 3, 6, 9, 12]")
    from_months = models.PositiveSmallIntegerField(default=0)
    until_months = models.PositiveSmallIntegerField(null=True, blank=True)
    window_months = models.PositiveSmallIntegerField(
        default=3, help_text="Before start: how long before the start a result counts"
    )
    threshold = models.CharField(
        max_length=20,
        blank=True,
        choices=[(c.value, c.value.replace("_", " ")) for c in safety.Check],
    )
    limit = models.FloatField(null=True, blank=True)
    persist_months = models.PositiveSmallIntegerField(null=True, blank=True)
    stop_above = models.FloatField(null=True, blank=True)
    sex = models.CharField(max_length=8, blank=True)
    severity = models.CharField(
        max_length=8, choices=[(s.value, s.value) for s in safety.Severity], default="medium"
    )
    source = models.CharField(max_length=300, help_text="SmPC/label section or guideline")
    condition = models.CharField(
        max_length=20,
        blank=True,
        choices=[(c.value, c.value.replace("_", " ")) for c in safety.Condition],
        help_text="Empty: always; else only while the engine finds this (e.g. PML risk high)",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.label

    def as_item(self, analyte_code: str | None = None) -> safety.ProtocolItem:
        return safety.ProtocolItem(
            code=self.code,
            therapies=tuple(self.therapies),
            analyte=analyte_code or self.analyte.code,
            phase=safety.Phase(self.phase),
            source=self.source,
            anchor=safety.Anchor(self.anchor),
            every_months=self.every_months,
            every_weeks=self.every_weeks,
            points_months=tuple(self.points_months),
            from_months=self.from_months,
            until_months=self.until_months,
            window_months=self.window_months,
            check=safety.Check(self.threshold) if self.threshold else None,
            limit=self.limit,
            persist_months=self.persist_months,
            stop_above=self.stop_above,
            sex=self.sex,
            severity=safety.Severity(self.severity),
            label=self.label,
            condition=safety.Condition(self.condition) if self.condition else None,
        )


def protocol() -> safety.Protocol:
    """The catalogue as the engine reads it: one query."""
    return safety.Protocol(
        item.as_item(item.analyte.code) for item in MonitoringItem.objects.select_related("analyte")
    )


class ResultText(models.TextChoices):
    NEGATIVE = "negative", "Negative"
    POSITIVE = "positive", "Positive"
    INDETERMINATE = "indeterminate", "Indeterminate"
    TRACE = "trace", "Trace"
    NORMAL = "normal", "Normal"
    ABNORMAL = "abnormal", "Abnormal"


class LabResult(ClinicalRecord):
    """One laboratory result. `value` and the lab's reference range are in the analyte's
    catalogue unit; `text` holds a qualitative result (and the JCV serostatus beside the
    index)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="lab_results")
    analyte = models.ForeignKey(Analyte, on_delete=models.PROTECT, related_name="results")
    date = models.DateField()
    value = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    unit = models.CharField(
        max_length=20, blank=True, help_text="Unit of value and range; converted to the catalogue's"
    )
    text = models.CharField(max_length=16, choices=ResultText.choices, blank=True)
    lower_limit = models.DecimalField(
        "lab lower reference limit", max_digits=14, decimal_places=4, null=True, blank=True
    )
    upper_limit = models.DecimalField(
        "lab upper reference limit", max_digits=14, decimal_places=4, null=True, blank=True
    )
    reported_as = models.CharField(
        max_length=100, blank=True, editable=False, help_text="Value and unit as entered"
    )
    lab = models.CharField(max_length=100, blank=True)

    class Meta(ClinicalRecord.Meta):
        ordering = ["patient", "date"]
        indexes = [models.Index(fields=["patient", "date"], name="labresult_patient_date")]
        constraints = [
            *record_constraints("labresult"),
            models.CheckConstraint(
                condition=Q(value__isnull=True) | Q(value__gte=0),
                name="labresult_value_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=False) | ~Q(text=""), name="labresult_has_a_result"
            ),
            models.CheckConstraint(
                condition=Q(text="") | Q(text__in=ResultText.values), name="labresult_text_valid"
            ),
        ]

    def __str__(self) -> str:
        shown = f"{self.value:g} {self.unit}" if self.value is not None else self.text
        return f"{self.analyte_id and self.analyte.code} {self.date}: {shown}"

    def clean_values(self, errors: ErrorCollector) -> None:
        if not self.analyte_id:
            return
        analyte = self.analyte
        if analyte.code == safety.BRAIN_MRI:
            # The protocol reads brain MRIs from the MRI records: one place for a scan.
            errors.add("analyte", "a brain MRI is recorded as an MRI scan, not a lab result")
            return
        if analyte.qualitative:
            if self.value is not None:
                errors.add("value", f"{analyte.name} is reported as text, not a number")
            if not self.text:
                errors.add("text", f"{analyte.name} needs a result (negative, positive…)")
            return
        if self.value is None and not self.text:
            errors.add("value", f"{analyte.name} needs a value")
            return
        if analyte.code == safety.JCV_INDEX and not self.text:
            # The PML risk reads the serostatus; an index alone is not read as one.
            errors.add("text", "say the serostatus (negative, positive or indeterminate)")
        unit = (self.unit or analyte.unit).strip()
        converted: dict[str, Decimal] = {}
        for field in ("value", "lower_limit", "upper_limit"):
            number = getattr(self, field)
            if number is None:
                continue
            if number < 0:
                errors.add(field, "cannot be negative")
                continue
            found = errors.check(
                safety.convert, number, unit, to=analyte.unit, factors=analyte.conversions
            )
            if found is not None:
                converted[field] = found
        if "unit" in errors.errors or len(converted) < sum(
            getattr(self, f) is not None for f in ("value", "lower_limit", "upper_limit")
        ):
            return
        if unit != analyte.unit:
            self.reported_as = (
                f"{Decimal(self.value).normalize():f} {unit}" if self.value is not None else unit
            )
            for field, number in converted.items():
                setattr(self, field, number.quantize(Decimal("0.0001")))
            self.unit = analyte.unit
        elif not self.unit:
            self.unit = analyte.unit
        low, high = self.lower_limit, self.upper_limit
        if low is not None and high is not None and low > high:
            errors.add("upper_limit", "the upper limit is below the lower limit")


class AdverseEventOutcome(models.TextChoices):
    # FHIR AdverseEvent.outcome (http://terminology.hl7.org/CodeSystem/adverse-event-outcome)
    RESOLVED = "resolved", "Resolved"
    RECOVERING = "recovering", "Recovering"
    ONGOING = "ongoing", "Ongoing"
    RESOLVED_WITH_SEQUELAE = "resolvedWithSequelae", "Resolved with sequelae"
    FATAL = "fatal", "Fatal"
    UNKNOWN = "unknown", "Unknown"


class AdverseEvent(ClinicalRecord):
    """An adverse event [§7.2]: date, term, serious or not, suspected therapy, outcome."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="adverse_events")
    date = models.DateField(help_text="Onset")
    term = models.CharField(max_length=200, help_text="What happened (MedDRA term if known)")
    serious = models.BooleanField(default=False)
    suspected_therapy = models.ForeignKey(
        Therapy, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(
        max_length=24, choices=AdverseEventOutcome.choices, default=AdverseEventOutcome.UNKNOWN
    )

    class Meta(ClinicalRecord.Meta):
        ordering = ["patient", "date"]
        constraints = [
            *record_constraints("adverseevent"),
            models.CheckConstraint(condition=~Q(term=""), name="adverseevent_term_not_blank"),
            models.CheckConstraint(
                condition=Q(outcome__in=AdverseEventOutcome.values),
                name="adverseevent_outcome_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"adverse event {self.date}: {self.term}"

    def clean_values(self, errors: ErrorCollector) -> None:
        self.term = (self.term or "").strip()
        if not self.term:
            errors.add("term", "say what happened")


class PregnancyOutcome(models.TextChoices):
    ONGOING = "ongoing", "Ongoing"
    LIVE_BIRTH = "live_birth", "Live birth"
    MISCARRIAGE = "miscarriage", "Miscarriage"
    TERMINATION = "termination", "Termination"
    ECTOPIC = "ectopic", "Ectopic"
    STILLBIRTH = "stillbirth", "Stillbirth"


class TherapyAction(models.TextChoices):
    NONE = "none", "No therapy"
    CONTINUED = "continued", "Continued"
    PAUSED = "paused", "Paused"
    WASHED_OUT = "washed_out", "Washed out (accelerated elimination)"


class Pregnancy(ClinicalRecord):
    """A pregnancy [§7.2]: start, due date, outcome; therapy paused or washed out."""

    date_field = "start"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="pregnancies")
    start = models.DateField(help_text="First day of the last menstrual period")
    due_date = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True)
    outcome = models.CharField(
        max_length=16, choices=PregnancyOutcome.choices, default=PregnancyOutcome.ONGOING
    )
    therapy_action = models.CharField(
        max_length=16, choices=TherapyAction.choices, default=TherapyAction.NONE
    )

    class Meta(ClinicalRecord.Meta):
        verbose_name_plural = "pregnancies"
        ordering = ["patient", "start"]
        constraints = [
            *record_constraints("pregnancy", "start"),
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")),
                name="pregnancy_end_not_before_start",
            ),
            models.CheckConstraint(
                condition=Q(due_date__isnull=True) | Q(due_date__gt=models.F("start")),
                name="pregnancy_due_after_start",
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=PregnancyOutcome.values), name="pregnancy_outcome_valid"
            ),
            models.CheckConstraint(
                condition=Q(therapy_action__in=TherapyAction.values),
                name="pregnancy_therapy_action_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"pregnancy from {self.start}"

    def clean_values(self, errors: ErrorCollector) -> None:
        if self.start and self.end and self.end < self.start:
            errors.add("end", f"the pregnancy ends ({self.end}) before it starts ({self.start})")
        if self.start and self.due_date and self.due_date <= self.start:
            errors.add("due_date", "the due date must be after the start")
        if self.end is None and self.outcome != PregnancyOutcome.ONGOING:
            errors.add("end", "an ended pregnancy needs its end date")


# SNOMED CT identifiers are 6 to 18 digits (SNOMED CT Technical Implementation Guide).
SNOMED_CODE = r"^[0-9]{6,18}$"


class Comorbidity(ClinicalRecord):
    """A comorbidity [§7.2]: the condition as the clinic names it (its SNOMED CT code when the
    clinic has one), onset, the day it resolved (empty while active), notes."""

    date_field = "onset"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="comorbidities")
    condition = models.CharField(max_length=200, help_text="e.g. Type 2 diabetes")
    code = models.CharField(
        "SNOMED CT code", max_length=18, blank=True, help_text="Empty: no code at hand"
    )
    onset = models.DateField()
    resolved = models.DateField(null=True, blank=True, help_text="Empty while active")
    notes = models.TextField(blank=True)

    class Meta(ClinicalRecord.Meta):
        verbose_name_plural = "comorbidities"
        ordering = ["patient", "onset"]
        constraints = [
            *record_constraints("comorbidity", "onset"),
            models.CheckConstraint(
                condition=~Q(condition=""), name="comorbidity_condition_not_blank"
            ),
            models.CheckConstraint(
                condition=Q(code="") | Q(code__regex=SNOMED_CODE), name="comorbidity_code_snomed"
            ),
            models.CheckConstraint(
                condition=Q(resolved__isnull=True)
                | (Q(resolved__gte=models.F("onset")) & not_future("resolved")),
                name="comorbidity_resolved_after_onset_not_future",
            ),
        ]

    def __str__(self) -> str:
        return f"comorbidity from {self.onset}: {self.condition}"

    def clean_values(self, errors: ErrorCollector) -> None:
        self.condition = (self.condition or "").strip()
        self.code = (self.code or "").strip()
        if not self.condition:
            errors.add("condition", "say which condition")
        if self.code and not re.fullmatch(SNOMED_CODE, self.code):
            errors.add("code", f"{self.code!r} is not a SNOMED CT code (6 to 18 digits)")
        if self.resolved is None:
            return
        if self.onset and self.resolved < self.onset:
            errors.add("resolved", f"resolved ({self.resolved}) before its onset ({self.onset})")
        errors.check(measures.clinical_date, self.resolved, "resolved", today=timezone.localdate())
