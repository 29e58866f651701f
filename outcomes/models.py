"""The stored treat-to-target status of each patient, and the changes it went through.

Written only by `outcomes.store` from the engine's assessment; alerts, pages and the API read
them and never compute. The JSON documents follow `outcomes.documents`.
"""

from __future__ import annotations

from django.db import models
from django.utils.functional import cached_property

from outcomes.documents import StatusDocuments
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

    @cached_property
    def documents(self) -> StatusDocuments:
        """The JSON documents, typed (`outcomes.documents`)."""
        return StatusDocuments.of(self)


class ChangeKind(models.TextChoices):
    NEDA3_LOST = "neda3_lost", "NEDA-3 lost"
    NEDA3_REGAINED = "neda3_regained", "NEDA-3 regained"
    NEDA4_LOST = "neda4_lost", "NEDA-4 lost"
    NEDA4_REGAINED = "neda4_regained", "NEDA-4 regained"
    PIRA_SEEN = "pira_seen", "PIRA first seen"
    RAW_SEEN = "raw_seen", "RAW first seen"
    CDW_SEEN = "cdw_seen", "Confirmed worsening first seen (neither RAW nor PIRA)"


class StatusChange(models.Model):
    """A flip of the stored status, kept as a row (as healthchecks keeps its flips): when
    NEDA-3/NEDA-4 of the last 12 months was lost or regained, when a confirmed worsening
    event was first seen. Written by `outcomes.store` beside the status it changed."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="status_changes")
    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    as_of = models.DateField(help_text="The clinic's date of the status that changed")
    seen_at = models.DateTimeField(help_text="When the evaluation stored the change")
    event_onset = models.DateField(
        null=True, blank=True, help_text="Onset of the confirmed worsening event, for *_seen"
    )
    explanation = models.TextField(blank=True)

    objects = SiteScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-seen_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ChangeKind.values), name="status_change_kind_valid"
            ),
        ]
        indexes = [
            # The patient page lists a patient's changes newest first.
            models.Index(fields=["patient", "-seen_at"], name="status_change_patient"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.as_of}"


class CohortReport(models.Model):
    """The clinic's outcomes over a set of sites and filters, computed by a worker
    (`outcomes.tasks`) and read by the outcomes page and API: they never compute it.

    `data_version` names what it was computed from (`outcomes.cohort.data_version`): a
    report whose version is still current is not computed again.
    """

    sites = models.CharField(max_length=200, help_text='Site ids, comma-separated, or "all"')
    filters_key = models.CharField(max_length=300, blank=True, default="")
    filters = models.JSONField(default=dict)
    data_version = models.CharField(max_length=64, blank=True, default="")
    as_of = models.DateField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True, help_text="Time the computation took")
    payload = models.JSONField(null=True, blank=True)
    # Set when a page or the API asks: the nightly refresh keeps recent filter sets current.
    requested_at = models.DateTimeField()
    queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sites", "filters_key"], name="cohort_report_unique")
        ]

    def __str__(self) -> str:
        return f"outcomes of sites {self.sites} ({self.filters_key or 'no filter'})"
