"""Therapy-failure and monitoring alerts raised over the stored treat-to-target status.

Written only by the evaluation (`alerts.evaluation`), from the findings of `alerts.rules`;
pages and the API read them and never compute.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from patients.models import Patient, SiteScopedQuerySet


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
    SAFETY_TEST_OVERDUE = "safety_test_overdue", "Safety monitoring test overdue"
    LAB_OUT_OF_RANGE = "lab_out_of_range", "Safety lab result out of range"
    PML_HIGH_RISK = "pml_high_risk", "PML risk high (natalizumab)"
    CLADRIBINE_YEAR2_BLOCKED = "cladribine_year2_blocked", "Cladribine year 2: do not give"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


# Alerts listed by clinical rank (high first), not alphabetically.
SEVERITY_ORDER = models.Case(
    models.When(severity=Severity.HIGH, then=models.Value(0)),
    models.When(severity=Severity.MEDIUM, then=models.Value(1)),
    default=models.Value(2),
    output_field=models.IntegerField(),
)


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
    # The inbox's first sort key as a column the database keeps, so that its order (most
    # severe, then newest) is an index's and a page is read without sorting every alert.
    severity_rank = models.GeneratedField(
        expression=SEVERITY_ORDER, output_field=models.IntegerField(), db_persist=True
    )

    objects = SiteScopedQuerySet.as_manager()

    # Set by `alerts.actions.mark_decidable` for pages: may the viewer acknowledge it?
    decidable: bool = False

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
            # The inbox's default worklist in its order (`WORKLIST`).
            models.Index(
                fields=["severity_rank", "-raised_at", "-id"],
                condition=~Q(state=AlertState.RESOLVED) | Q(cleared_unseen=True),
                name="alert_worklist",
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
