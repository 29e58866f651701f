"""Sites, memberships, patients, the therapy catalogue, therapy courses and the audit trail.

Rules live once: `clean()` names the field for people (forms, API, imports all call
`full_clean()`), and a database constraint or trigger backs each rule up for code that
bypasses the model.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from monitoring.clinical import measures, nfl
from mstrack.db import Tomorrow
from patients import search
from patients.identifiers import normalise_identifier, normalise_mrn


class Role(models.TextChoices):
    NURSE = "nurse", "MS nurse"
    NEUROLOGIST = "neurologist", "Neurologist"
    ADMIN = "admin", "Site administrator"


class SiteScopedQuerySet(models.QuerySet):
    """The one site-scoping mechanism: every list of patient data goes through `visible_to`."""

    site_lookup: ClassVar[str] = "patient__site"

    def visible_to(self, user: Any) -> SiteScopedQuerySet:
        from patients.policy import Action, restrict  # the policy reads Membership

        return restrict(self, user, Action.VIEW)


class ErrorCollector:
    """Gathers measurement errors under their field names for one ValidationError."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def check(self, validate: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return validate(*args, **kwargs)
        except measures.MeasurementError as error:
            self.errors.setdefault(error.field, []).append(error.message)
            return None

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def raise_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def not_future(field: str) -> Q:
    return Q(**{f"{field}__lte": Tomorrow()})


class SiteQuerySet(SiteScopedQuerySet):
    site_lookup = "pk"


Conflicts = dict[int, list[tuple[str, str]]]


class Validated(models.Model):
    """A model whose rules live in two parts, so that a batch of records costs one query per
    rule instead of one per record: `clean_own` checks a record by itself, `conflicts` checks
    records against those already stored (and against each other)."""

    class Meta:
        abstract = True

    def clean(self) -> None:
        errors = ErrorCollector()
        self.clean_own(errors)
        if not errors.errors:
            # Stored records are compared on values that parsed (as in validate_many).
            for field, message in type(self).conflicts([self]).get(0, []):
                errors.add(field, message)
        errors.raise_any()

    def clean_own(self, errors: ErrorCollector) -> None:
        """Rules about this record alone; report each through `errors` by field name."""

    @classmethod
    def conflicts(cls, records: Sequence[Any]) -> Conflicts:
        """(field, message) by position of the records that clash with stored ones or with an
        earlier record of the same batch."""
        return {}

    def validate_constraints(self, exclude: Any = None) -> None:
        """Every constraint mirrors a rule of `clean()`, which names the field; skip the
        unnamed duplicate message Django would add."""


def validate_many(
    records: Sequence[Validated], *, exclude: Sequence[str] = ()
) -> dict[int, ValidationError]:
    """The errors of each record as `full_clean()` would give them, for a batch."""
    found: dict[int, ErrorCollector] = {}
    checked: list[Validated] = []
    positions: list[int] = []
    for index, record in enumerate(records):
        errors = ErrorCollector()
        try:
            record.clean_fields(exclude=exclude)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors.errors.setdefault(field, []).extend(messages)
        else:
            # Own rules compare typed values: only once every field has parsed; stored
            # records only once the record's own rules hold (as in Validated.clean).
            record.clean_own(errors)
            if not errors.errors:
                checked.append(record)
                positions.append(index)
        if errors.errors:
            found[index] = errors
    if checked:
        for position, clashes in type(checked[0]).conflicts(checked).items():
            collector = found.setdefault(positions[position], ErrorCollector())
            for field, message in clashes:
                collector.add(field, message)
    return {index: ValidationError(errors.errors) for index, errors in found.items()}


class Site(models.Model):
    code = models.SlugField(max_length=16, unique=True, help_text="Short code, e.g. DEMO")
    name = models.CharField(max_length=200)
    require_two_factor = models.BooleanField(
        default=False,
        help_text="Its users confirm each sign-in with an authenticator app (TOTP) before "
        "they see patient data.",
    )
    mrn_case_sensitive = models.BooleanField(
        "MRNs are case-sensitive",
        default=False,
        help_text="Off (the default): bee00002 and BEE00002 are one patient, and MRNs are kept "
        "in capitals. On: they are two patients, and MRNs are kept as typed.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SiteQuerySet.as_manager()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "site"], name="membership_one_role_per_site"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.site} · {self.role}"


class TherapyClass(models.TextChoices):
    PLATFORM = "platform", "Platform (moderate efficacy)"
    HIGH_EFFICACY = "high_efficacy", "High-efficacy maintenance"
    INDUCTION = "induction", "Induction (immune reconstitution)"


def by_any_name(rows: Iterable[Any]) -> dict[str, Any]:
    """Catalogue rows (therapies, analytes) by every name a sender may give them, in lower
    case: code, name and an analyte's LOINC code; a code wins over another row's name."""
    names: dict[str, Any] = {}
    rows = list(rows)
    for attribute in ("code", "loinc", "name"):
        for row in rows:
            if name := getattr(row, attribute, ""):
                names.setdefault(name.lower(), row)
    return names


class Therapy(models.Model):
    """The catalogue of disease-modifying therapies (spec §7), loaded by a data migration,
    with the immunosuppressants that count in the natalizumab PML risk (spec §7.1).

    The months before activity counts as failure follow from the class (spec §3) and live
    in one place, `monitoring/clinical/thresholds.py`: the engine reads them from there.
    """

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    therapy_class = models.CharField(
        max_length=16,
        choices=TherapyClass.choices,
        help_text="Decides the re-baseline: 6 months (maintenance) or 24 months after the "
        "first course (induction).",
    )
    immunosuppressant = models.BooleanField(
        default=False,
        help_text="A course of it before natalizumab counts as prior immunosuppressant in the "
        "PML risk (Tysabri SmPC 4.4).",
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "therapies"

    def __str__(self) -> str:
        return self.name


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class Phenotype(models.TextChoices):
    CIS = "CIS", "Clinically isolated syndrome"
    RRMS = "RRMS", "Relapsing-remitting MS"
    SPMS = "SPMS", "Secondary progressive MS"
    PPMS = "PPMS", "Primary progressive MS"


class PatientQuerySet(SiteScopedQuerySet):
    site_lookup = "site"


class Patient(Validated):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("MRN", max_length=64, help_text="Medical record number at the site")
    display_name = models.CharField(max_length=200, blank=True)
    birth_date = models.DateField()
    sex = models.CharField(max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    phenotype = models.CharField(max_length=4, choices=Phenotype.choices)
    symptom_onset = models.DateField(null=True, blank=True)
    diagnosis_date = models.DateField(null=True, blank=True)
    # The identifiers of the sending system (EHR, FHIR bundle): a retried write with the same
    # pair updates the record it created instead of adding a duplicate.
    source_system = models.CharField(max_length=200, blank=True, default="")
    source_id = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Kept for the dashboard, which sorts and searches 100,000 patients on these columns
    # instead of a subquery per patient: the MRN and name folded (patients.search), and the
    # latest visit in use, rewritten after every write of the patient's visits
    # (monitoring.signals).
    search_text = models.CharField(max_length=300, blank=True, default="", editable=False)
    last_visit = models.DateField("last visit", null=True, blank=True, editable=False)
    last_edss = models.DecimalField(
        "current EDSS", max_digits=4, decimal_places=2, null=True, blank=True, editable=False
    )
    # Rewritten by the evaluation and when an alert is resolved (alerts.concern), so that
    # the dashboard reads its first page off an index instead of counting every patient's
    # alerts or joining their statuses: the order of concern as one number, the next
    # monitoring due, the current therapy (null when none, so that it sorts last).
    concern = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    next_due = models.DateField("next due", null=True, blank=True, editable=False)
    # Null, not "", for no therapy: the sort puts it last through the index.
    therapy_name = models.CharField(  # noqa: DJ001
        "current therapy", max_length=100, null=True, blank=True, editable=False
    )

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["site", "mrn"]
        constraints = [
            models.UniqueConstraint(fields=["site", "mrn"], name="patient_mrn_unique_in_site"),
            models.UniqueConstraint(
                fields=["site", "source_system", "source_id"],
                condition=~Q(source_id=""),
                name="patient_source_unique_in_site",
            ),
            models.CheckConstraint(condition=~Q(mrn=""), name="patient_mrn_not_blank"),
            models.CheckConstraint(
                condition=not_future("birth_date"), name="patient_birth_not_future"
            ),
            models.CheckConstraint(
                condition=Q(symptom_onset__isnull=True)
                | (Q(symptom_onset__gte=models.F("birth_date")) & not_future("symptom_onset")),
                name="patient_symptom_onset_in_life",
            ),
            models.CheckConstraint(
                condition=Q(diagnosis_date__isnull=True)
                | (Q(diagnosis_date__gte=models.F("birth_date")) & not_future("diagnosis_date")),
                name="patient_diagnosis_in_life",
            ),
            models.CheckConstraint(condition=Q(sex__in=Sex.values), name="patient_sex_valid"),
            models.CheckConstraint(
                condition=Q(phenotype__in=Phenotype.values), name="patient_phenotype_valid"
            ),
        ]
        # The dashboard's sort orders (age is the birth date's).
        indexes = [
            models.Index(fields=["last_visit"], name="patient_last_visit"),
            models.Index(fields=["last_edss"], name="patient_last_edss"),
            models.Index(fields=["birth_date"], name="patient_birth_date"),
            models.Index(fields=["-concern", "mrn", "id"], name="patient_concern"),
            models.Index(fields=["next_due"], name="patient_next_due"),
            models.Index(fields=["therapy_name", "id"], name="patient_therapy"),
        ]

    def __str__(self) -> str:
        return f"{self.site_id and self.site.code}:{self.mrn}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Also here, not only in clean_own (which batches call before their bulk insert):
        # code that saves without validating must not leave a patient unfindable.
        self.search_text = search.search_text(self.mrn, self.display_name)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_text"}
        super().save(*args, **kwargs)

    def clean_own(self, errors: ErrorCollector) -> None:
        today = timezone.localdate()
        self.mrn = self.mrn_as_stored(self.mrn, self.site if self.site_id else None)
        self.source_system = normalise_identifier(self.source_system)
        self.source_id = normalise_identifier(self.source_id)
        self.search_text = search.search_text(self.mrn, self.display_name)
        if not self.mrn:
            errors.add("mrn", "an MRN is required")
        if self.birth_date:
            errors.check(measures.clinical_date, self.birth_date, "birth_date", today=today)
            for field in ("symptom_onset", "diagnosis_date"):
                value = getattr(self, field)
                if value:
                    errors.check(
                        measures.clinical_date,
                        value,
                        field,
                        today=today,
                        birth_date=self.birth_date,
                    )

    @classmethod
    def conflicts(cls, records: Sequence[Any]) -> Conflicts:
        """An MRN is unique within its site; a birth date is not moved after the patient's
        records [§1]."""
        found = cls._mrn_conflicts(records)
        for index, record in enumerate(records):
            if record.pk is None or not record.birth_date or index in found:
                continue
            first = first_record_date(record.pk)
            if first is not None and record.birth_date > first:
                found[index] = [
                    (
                        "birth_date",
                        f"{record.birth_date.isoformat()} is after the patient's earliest "
                        f"record ({first.isoformat()})",
                    )
                ]
        return found

    @classmethod
    def _mrn_conflicts(cls, records: Sequence[Any]) -> Conflicts:
        wanted = [(r.site_id, r.mrn) for r in records if r.site_id and r.mrn]
        if not wanted:
            return {}
        stored = {
            (site, mrn): pk
            for site, mrn, pk in cls.objects.filter(
                site_id__in={site for site, _ in wanted}, mrn__in={mrn for _, mrn in wanted}
            ).values_list("site_id", "mrn", "pk")
        }
        found: Conflicts = {}
        seen: set[tuple[int, str]] = set()
        for index, record in enumerate(records):
            key = (record.site_id, record.mrn)
            if not record.site_id or not record.mrn:
                continue
            if stored.get(key, record.pk) != record.pk or key in seen:
                found[index] = [
                    ("mrn", f"MRN {record.mrn} is already used by another patient of this site")
                ]
            seen.add(key)
        return found

    @staticmethod
    def mrn_as_stored(mrn: str, site: Site | None) -> str:
        """Look-alike MRNs (`BEE00002` + zero-width space, full-width letters, other case at
        a site whose MRNs ignore case) are one MRN: unique after this, not before."""
        return normalise_mrn(mrn, case_sensitive=site is not None and site.mrn_case_sensitive)

    def age_on(self, day: dt.date) -> int:
        return nfl.age_on(self.birth_date, day)


def first_record_date(patient_id: int) -> dt.date | None:
    """The date of the patient's earliest clinical record, entered-in-error ones included
    (the database refuses any row dated before the birth)."""
    days = [
        model._base_manager.filter(patient_id=patient_id)
        .order_by(model.date_field)
        .values_list(model.date_field, flat=True)
        .first()
        for model in ClinicalRecord.__subclasses__()
        if not model._meta.abstract
    ]
    return min((day for day in days if day is not None), default=None)


class InUseManager(models.Manager.from_queryset(SiteScopedQuerySet)):  # type: ignore[misc]
    """Records marked entered-in-error drop out of every computation and list."""

    def get_queryset(self) -> SiteScopedQuerySet:
        return super().get_queryset().filter(entered_in_error_at__isnull=True)


class ClinicalRecord(Validated):
    """A dated clinical record of one patient. Never deleted: marked entered-in-error."""

    date_field: ClassVar[str] = "date"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    # The identifiers of the sending system (EHR, FHIR bundle): a retried write with the same
    # pair updates the record it created instead of adding a duplicate.
    source_system = models.CharField(max_length=200, blank=True, default="")
    source_id = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    entered_in_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    entered_in_error_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    entered_in_error_reason = models.TextField(blank=True, editable=False)

    objects = InUseManager()
    all_records = models.Manager.from_queryset(SiteScopedQuerySet)()

    class Meta:
        abstract = True
        default_manager_name = "objects"
        base_manager_name = "all_records"

    @property
    def is_entered_in_error(self) -> bool:
        return self.entered_in_error_at is not None

    def clean_own(self, errors: ErrorCollector) -> None:
        self.source_system = normalise_identifier(self.source_system)
        self.source_id = normalise_identifier(self.source_id)
        self.clean_values(errors)
        day = getattr(self, self.date_field)
        if day and self.patient_id:
            errors.check(
                measures.clinical_date,
                day,
                self.date_field,
                today=timezone.localdate(),
                birth_date=self.patient.birth_date,
            )

    def clean_values(self, errors: ErrorCollector) -> None:
        """Per-model rules; report each through `errors` under its field name."""


def record_constraints(prefix: str, date_field: str = "date") -> list[models.BaseConstraint]:
    """Constraints every clinical record shares: its date is not in the future, a record
    marked entered-in-error says why, and a source identifier names one record per patient."""
    return [
        models.UniqueConstraint(
            fields=["patient", "source_system", "source_id"],
            condition=~Q(source_id=""),
            name=f"{prefix}_source_unique",
        ),
        models.CheckConstraint(
            condition=not_future(date_field), name=f"{prefix}_{date_field}_not_future"
        ),
        models.CheckConstraint(
            condition=Q(entered_in_error_at__isnull=True) | ~Q(entered_in_error_reason=""),
            name=f"{prefix}_error_has_reason",
        ),
    ]


class StopReason(models.TextChoices):
    INEFFICACY = "inefficacy", "Inefficacy"
    SAFETY = "safety", "Safety"
    TOLERABILITY = "tolerability", "Tolerability"
    PREGNANCY = "pregnancy", "Pregnancy"
    PATIENT_CHOICE = "patient_choice", "Patient choice"
    OTHER = "other", "Other"


class TherapyCourse(ClinicalRecord):
    date_field = "start"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="therapy_courses")
    therapy = models.ForeignKey(Therapy, on_delete=models.PROTECT, related_name="courses")
    start = models.DateField()
    end = models.DateField(null=True, blank=True)
    stop_reason = models.CharField(max_length=16, choices=StopReason.choices, blank=True)

    class Meta(ClinicalRecord.Meta):
        ordering = ["patient", "start"]
        constraints = [
            *record_constraints("therapycourse", "start"),
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")),
                name="therapycourse_end_not_before_start",
            ),
            models.CheckConstraint(
                condition=Q(end__isnull=True) | not_future("end"),
                name="therapycourse_end_not_future",
            ),
            models.CheckConstraint(
                condition=Q(stop_reason="") | Q(end__isnull=False),
                name="therapycourse_stop_reason_needs_end",
            ),
            models.CheckConstraint(
                condition=Q(stop_reason="") | Q(stop_reason__in=StopReason.values),
                name="therapycourse_stop_reason_valid",
            ),
        ]
        indexes = [models.Index(fields=["patient", "start"], name="therapycourse_patient_start")]

    def __str__(self) -> str:
        return f"{self.therapy} from {self.start}"

    def clean_values(self, errors: ErrorCollector) -> None:
        if self.end and self.start and self.end < self.start:
            errors.add("end", f"the course ends ({self.end}) before it starts ({self.start})")
        if self.end:
            errors.check(measures.clinical_date, self.end, "end", today=timezone.localdate())
        if self.stop_reason and not self.end:
            errors.add("stop_reason", "a stop reason needs an end date")

    @property
    def is_induction(self) -> bool:
        return self.therapy.therapy_class == TherapyClass.INDUCTION

    @classmethod
    def conflicts(cls, records: Sequence[TherapyCourse]) -> Conflicts:
        """One disease-modifying therapy at a time [§1]: a course that starts while another
        runs is refused unless that one stops on or before the new start (a switch on the
        same day is allowed), and a stop date after the next course's start is refused.
        Courses of one induction drug are one episode (§7) and do not clash; an induction
        course runs until its last day of dosing, its episode until the next therapy."""
        patients = {r.patient_id for r in records if r.patient_id and r.start}
        if not patients:
            return {}
        stored = list(
            cls.objects.filter(patient_id__in=patients).select_related("therapy").order_by("start")
        )
        found: Conflicts = {}
        earlier: list[TherapyCourse] = []
        for index, record in enumerate(records):
            if not record.patient_id or not record.start:
                continue
            others = [
                o
                for o in [*stored, *earlier]
                if o.patient_id == record.patient_id and (o.pk is None or o.pk != record.pk)
            ]
            clash = next((c for o in others if (c := _clash(record, o))), None)
            if clash is not None:
                found[index] = [clash]
            earlier.append(record)
        return found


def _clash(course: TherapyCourse, other: TherapyCourse) -> tuple[str, str] | None:
    """(field, message) when `course` overlaps `other`, a course of the same patient."""
    if course.therapy_id == other.therapy_id and course.is_induction:
        return None
    first, second = (other, course) if other.start <= course.start else (course, other)
    if first.end is not None and first.end <= second.start:
        return None
    if first.end is None and first.is_induction and first.start < second.start:
        return None  # the next therapy closes an induction episode
    if first is other:
        ends = f"until {other.end.isoformat()}" if other.end else "and is not stopped"
        return (
            "start",
            f"{other.therapy} ({other.public_id}) runs from {other.start.isoformat()} {ends}: "
            "stop it on or before this start first (one therapy at a time)",
        )
    return (
        "end",
        f"{second.therapy} ({second.public_id}) starts on {second.start.isoformat()}, before "
        "this course stops: stop it on or before that day (one therapy at a time)",
    )


class AuditAction(models.TextChoices):
    CREATE = "create", "Created"
    UPDATE = "update", "Updated"
    ENTERED_IN_ERROR = "entered_in_error", "Marked entered in error"
    READ = "read", "Read"
    DELETE = "delete", "Deleted"  # memberships only: clinical records are never deleted


class AuditEvent(models.Model):
    """Who did what to which record, written in the same transaction as the change."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=200, help_text="user name, token name or 'system'")
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    model = models.CharField(max_length=64, help_text="app_label.model")
    object_id = models.CharField(max_length=64)
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    objects = SiteScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        # The patient page and the admin list a patient's history newest first.
        indexes = [models.Index(fields=["patient", "-at"], name="audit_patient_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.model}"


class EvaluationRequest(models.Model):
    """A patient's evaluation asked for by a write, kept in the write's own transaction (a
    transactional outbox): if the broker is down when the write commits, the request is
    still here, and `alerts.tasks.drain_evaluation_requests` queues it once the broker is
    back. The evaluation deletes the requests it has seen (`alerts.evaluation`)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The evaluation deletes a batch's requests by patient; the drain reads the
            # oldest.
            models.Index(fields=["patient"], name="evaluation_request_patient"),
            models.Index(fields=["requested_at"], name="evaluation_request_age"),
        ]

    def __str__(self) -> str:
        return f"evaluate patient {self.patient_id} (asked {self.requested_at:%Y-%m-%d %H:%M:%S})"


class Consent(Validated):
    """A patient's consent to research use of their data, as the nurse recorded it: one per
    patient, updated (and audited) when the patient withdraws or consents again. Only a
    patient whose consent covers the research export and is not withdrawn is exported."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="consent")
    date = models.DateField(help_text="The day the patient gave consent")
    research_export = models.BooleanField(
        "research export", help_text="Consents to pseudonymised research exports"
    )
    withdrawn = models.DateField(
        null=True, blank=True, help_text="The day the patient withdrew consent, if they did"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SiteScopedQuerySet.as_manager()

    class Meta:
        ordering = ["patient", "date"]
        constraints = [
            models.CheckConstraint(condition=not_future("date"), name="consent_date_not_future"),
            models.CheckConstraint(
                condition=Q(withdrawn__isnull=True)
                | (Q(withdrawn__gte=models.F("date")) & not_future("withdrawn")),
                name="consent_withdrawn_after_given",
            ),
        ]

    def __str__(self) -> str:
        return f"consent of {self.patient_id} from {self.date}"

    @property
    def covers_research(self) -> bool:
        return self.research_export and self.withdrawn is None

    def clean_own(self, errors: ErrorCollector) -> None:
        today = timezone.localdate()
        birth_date = self.patient.birth_date if self.patient_id else None
        if self.date:
            errors.check(
                measures.clinical_date, self.date, "date", today=today, birth_date=birth_date
            )
        if self.withdrawn:
            errors.check(measures.clinical_date, self.withdrawn, "withdrawn", today=today)
            if self.date and self.withdrawn < self.date:
                errors.add(
                    "withdrawn",
                    f"consent is withdrawn ({self.withdrawn}) before it was given ({self.date})",
                )
