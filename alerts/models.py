"""The stored treat-to-target status of each patient, and therapy-failure alerts.

Both are written only by the evaluation (`alerts.evaluation`), from the engine; pages and the
API read them and never compute.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from patients.models import Patient, SiteScopedQuerySet, TherapyCourse


class NedaState(models.TextChoices):
    MET = "met", "Met"
    NOT_MET = "not_met", "Not met"
    UNKNOWN = "unknown", "Unknown"


class PatientStatus(models.Model):
    """One patient's treat-to-target status as of `as_of`, with the definition it used.

    JSON fields hold the engine's results with their explanations and the public ids of the
    records they rest on; the plain columns beside them are for clinic-wide lists.
    """

    patient = models.OneToOneField(
        Patient, primary_key=True, on_delete=models.CASCADE, related_name="status"
    )
    as_of = models.DateField(help_text="The clinic's date the status was computed for")
    computed_at = models.DateTimeField()
    definition = models.JSONField(help_text="Progression definition: name and every parameter")
    engine_version = models.CharField(max_length=16)

    therapy_course = models.ForeignKey(
        TherapyCourse, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rebaseline_date = models.DateField(null=True, blank=True)

    neda3 = models.CharField(
        "NEDA-3 (last 12 months)", max_length=8, choices=NedaState.choices, default="unknown"
    )
    neda4 = models.CharField(
        "NEDA-4 (last 12 months)", max_length=8, choices=NedaState.choices, default="unknown"
    )
    neda = models.JSONField(
        default=dict,
        help_text="NEDA-3/4 per window (calendar years, last 12 months, since re-baseline)",
    )
    # The calendar years before `as_of`'s are final once their records are: kept apart, and
    # written again only when what they depend on changed (see `closed_years_key`).
    closed_years = models.JSONField(
        default=list,
        blank=True,
        help_text="NEDA-3/4 of each calendar year before the current one, oldest first",
    )
    closed_years_key = models.CharField(
        max_length=64,
        blank=True,
        default="",
        editable=False,
        help_text="SHA-256 of what the closed years were computed from",
    )
    worsening = models.JSONField(
        default=list,
        help_text="Every CDW event of the course with RAW/PIRA, newest first; `recent`: within "
        "the look-back period, where alone they raise alerts",
    )
    scores = models.JSONField(
        null=True, blank=True, help_text="MAGNIMS and modified Rio of the current course"
    )
    magnims = models.PositiveSmallIntegerField("MAGNIMS (at least)", null=True, blank=True)
    rio = models.PositiveSmallIntegerField("modified Rio (at least)", null=True, blank=True)
    nfl = models.JSONField(null=True, blank=True, help_text="Latest NfL: elevated, rising")
    brain_volume = models.JSONField(null=True, blank=True)

    mri_due = models.DateField("next MRI due", null=True, blank=True)
    edss_due = models.DateField("next EDSS due", null=True, blank=True)
    jcv_due = models.DateField("next JCV test due", null=True, blank=True)

    # The evaluation rewrites a row only when its content changed (a same-day re-evaluation
    # of unchanged data touches `computed_at` alone), and of a changed row only the JSON
    # documents that changed, so the row carries a digest of each.
    digest = models.CharField(
        max_length=128,
        blank=True,
        default="",
        editable=False,
        help_text="64-bit fingerprints of the plain columns and of each JSON document the "
        "evaluation writes (closed years: their key)",
    )

    # Notifications are grouped per patient: claimed with UPDATE ... WHERE so that workers
    # never send two emails for one patient within the grouping interval.
    last_notified_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = SiteScopedQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "patient statuses"

    def __str__(self) -> str:
        return f"status of {self.patient_id} as of {self.as_of}"

    def calendar_years(self) -> list[dict[str, Any]]:
        """Every calendar year's NEDA window, oldest first."""
        current: list[dict[str, Any]] = self.neda.get("calendar_years", [])
        return [*self.closed_years, *current]


class Rule(models.TextChoices):
    RELAPSE_ON_THERAPY = "relapse_on_therapy", "Relapse on therapy after re-baseline"
    MRI_ACTIVITY_ON_THERAPY = "mri_activity_on_therapy", "MRI activity after re-baseline"
    FIRST_YEAR_SCORE = "first_year_score", "MAGNIMS or modified Rio in the first year"
    CONFIRMED_RAW = "confirmed_raw", "Confirmed relapse-associated worsening (RAW)"
    CONFIRMED_PIRA = "confirmed_pira", "Confirmed progression independent of relapses (PIRA)"
    NEDA3_LOST = "neda3_lost", "NEDA-3 lost"
    NEDA4_ATROPHY = "neda4_atrophy", "NEDA-4 lost by brain atrophy beyond noise"
    NFL = "nfl", "NfL elevated or rising"
    MRI_OVERDUE = "mri_overdue", "MRI overdue"
    EDSS_OVERDUE = "edss_overdue", "EDSS overdue"
    JCV_OVERDUE = "jcv_overdue", "JCV test overdue (natalizumab)"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class AlertState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Alert(models.Model):
    """One rule's finding on one set of evidence. Raised once: the unique constraint on
    (patient, rule, evidence_key) makes re-evaluation idempotent across workers."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="alerts")
    rule = models.CharField(max_length=32, choices=Rule.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    evidence_key = models.CharField(
        max_length=64, help_text="Digest of the rule's evidence: same evidence, same alert"
    )
    evidence = models.JSONField(help_text="Records (public ids), values and definition")
    explanation = models.TextField()
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.OPEN)
    raised_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty when the system resolved it because the condition cleared",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    # A nurse's entry can clear an alert within a minute of raising it (a therapy switch
    # closes its alerts): one that clears before a neurologist acknowledged it stays in the
    # neurologists' inbox as "cleared, not yet seen" until one acknowledges it (issue 11).
    cleared_unseen = models.BooleanField(
        default=False,
        editable=False,
        help_text="Cleared by the evaluation before a neurologist acknowledged it",
    )
    notified_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = SiteScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "rule", "evidence_key"], name="alert_one_per_evidence"
            ),
            models.CheckConstraint(condition=Q(rule__in=Rule.values), name="alert_rule_valid"),
            models.CheckConstraint(
                condition=Q(severity__in=Severity.values), name="alert_severity_valid"
            ),
            models.CheckConstraint(
                condition=Q(state__in=AlertState.values), name="alert_state_valid"
            ),
            models.CheckConstraint(
                condition=~Q(state=AlertState.RESOLVED) | Q(resolved_at__isnull=False),
                name="alert_resolved_has_time",
            ),
            models.CheckConstraint(
                condition=Q(acknowledged_by__isnull=True) | Q(acknowledged_at__isnull=False),
                name="alert_acknowledged_has_time",
            ),
        ]
        indexes = [
            # The evaluation reads a patient's unresolved alerts; the clinic list shows open
            # ones newest first.
            models.Index(
                fields=["patient", "rule"],
                condition=~Q(state=AlertState.RESOLVED),
                name="alert_unresolved_patient",
            ),
            models.Index(fields=["state", "-raised_at"], name="alert_state_raised"),
            # The inbox adds the alerts cleared before anyone saw them.
            models.Index(
                fields=["-raised_at"],
                condition=Q(cleared_unseen=True),
                name="alert_cleared_unseen",
            ),
            # Notifications look for high-severity alerts not yet emailed.
            models.Index(
                fields=["patient"],
                condition=Q(notified_at__isnull=True, severity=Severity.HIGH),
                name="alert_to_notify",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} ({self.state})"
