"""A FHIR R4 transaction Bundle in: parsed with `fhir.resources.R4B`, mapped to our models and
written through `patients.actions.upsert_record` (the model's validation, the audit row, the
same matching as the API), all in one transaction or not at all.

As FHIR defines it, a resource's id (or an entry's fullUrl) names the resource within the
bundle only: two bundles may both call their EDSS `Observation/edss` or their new patient
`Patient/p1`. What makes a bundle idempotent is identifiers:
- a patient is its MRN (`Patient.identifier` of type MR) within the site;
- every other record is its `identifier` (system, else the bundle's `meta.source`, else
  "fhir"; value) as `source_system` + `source_id`, or conditional create
  (`request.ifNoneExist: identifier=system|value`: an existing record is left as it is);
- a PUT of a resource as `$everything` exported it names our record by its own id.
A record with none of these is refused: sent twice, it would be entered twice.
Observations of visit measures on one day make one `Visit` (keyed by its EDSS Observation).
Lab results, adverse events, pregnancies and comorbidities are mapped by
`api.fhir_safety_import`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pydantic
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from fhir.resources.R4B.bundle import Bundle

from api import fhir_codes as c
from monitoring.models import MriScan, NflSample, Relapse, Visit
from patients.actions import (
    SOURCE_KEY,
    Actor,
    EnteredInError,
    Upserted,
    field_errors,
    find_record,
    one_evaluation_per_patient,
    refuse_entered_in_error,
    update_record,
    upsert_record,
)
from patients.models import ClinicalRecord, Patient, Site, Therapy, TherapyCourse, Validated

SUPPORTED = ("Patient", "Observation", "Condition", "MedicationStatement", "AdverseEvent")


@dataclass(frozen=True)
class Issue:
    """One problem, for an OperationOutcome: which entry, where in it, what."""

    index: int | None
    expression: str
    message: str


class BundleRefused(Exception):
    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(f"{len(issues)} problem(s)")
        self.issues = issues


@dataclass
class Written:
    """What one entry became: the resource type and id to answer with, and whether new."""

    resource_type: str
    id: str
    created: bool


@dataclass
class Context:
    user: Any
    actor: Actor
    source_system: str
    issues: list[Issue] = field(default_factory=list)
    patients: dict[str, Patient] = field(default_factory=dict)  # by fullUrl and Patient/id
    written: dict[int, Written] = field(default_factory=dict)
    entries: list[Any] = field(default_factory=list)
    # Catalogue rows (analytes, therapies) by what a bundle may call them, read once per bundle.
    catalogues: dict[str, dict[Any, Any]] = field(default_factory=dict)

    def refuse(self, index: int, expression: str, message: str) -> None:
        self.issues.append(Issue(index, f"Bundle.entry[{index}].resource.{expression}", message))


def parse(data: Any) -> Bundle:
    """The bundle, or BundleRefused naming each structural problem."""
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise BundleRefused([Issue(None, "Bundle", "expected a FHIR Bundle resource")])
    if data.get("type") != "transaction":
        raise BundleRefused([Issue(None, "Bundle.type", "expected a transaction Bundle")])
    try:
        bundle = Bundle.model_validate(data)
    except pydantic.ValidationError as error:
        raise BundleRefused([_issue(e) for e in error.errors()]) from None
    issues = []
    for index, entry in enumerate(bundle.entry or []):
        kind = entry.resource.get_resource_type() if entry.resource else None
        if kind not in SUPPORTED:
            issues.append(
                Issue(
                    index,
                    f"Bundle.entry[{index}].resource",
                    f"{kind} is not accepted; send {', '.join(SUPPORTED)}",
                )
            )
    if not bundle.entry:
        issues.append(Issue(None, "Bundle.entry", "the bundle has no entries"))
    if issues:
        raise BundleRefused(issues)
    return bundle


def _issue(error: Any) -> Issue:
    loc = error["loc"]
    index = loc[1] if len(loc) > 1 and loc[0] == "entry" and isinstance(loc[1], int) else None
    path = "Bundle"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return Issue(index, path, error["msg"])


def write(bundle: Bundle, *, user: Any, actor: Actor) -> dict[int, Written]:
    """Save every entry in one transaction; on any problem save nothing (BundleRefused)."""
    # Imported here: the safety mapping builds on this module's helpers.
    from api import fhir_safety_import as safety

    source = (bundle.meta.source if bundle.meta and bundle.meta.source else None) or c.SOURCE
    assert bundle.entry is not None  # parse() refuses a bundle without entries
    ctx = Context(user=user, actor=actor, source_system=source, entries=list(bundle.entry))
    # Every entry has a resource of a supported type (parse()), read by its resourceType.
    entries: list[tuple[int, Any]] = list(enumerate(bundle.entry))
    # Each patient the bundle touches is evaluated once, after the commit.
    with transaction.atomic(), one_evaluation_per_patient():
        diagnoses = _diagnoses(entries)
        for index, entry in entries:
            if entry.resource.get_resource_type() == "Patient":
                _patient(ctx, index, entry, diagnoses)
        for index, entry in entries:
            kind = entry.resource.get_resource_type()
            if index in ctx.written or kind == "Patient":
                continue
            if kind == "Condition" and _codes(entry.resource.code) & set(c.PHENOTYPE_OF):
                _diagnosis(ctx, index, entry)
            elif kind == "Condition" and c.PREGNANCY in _codes(entry.resource.code):
                safety.pregnancy(ctx, index, entry)
            elif (
                kind == "Condition"
                and c.RELAPSE not in _codes(entry.resource.code)
                and safety.is_problem_list_item(entry.resource)
            ):
                safety.comorbidity(ctx, index, entry)
            elif kind == "Condition":
                _relapse(ctx, index, entry)
            elif kind == "MedicationStatement":
                _therapy_course(ctx, index, entry)
            elif kind == "Observation":
                _observation(ctx, index, entry)
            elif kind == "AdverseEvent":
                safety.adverse_event(ctx, index, entry)
        _visits(ctx, entries)
        if not ctx.issues:
            # Every entry is either written or refused; this names any that slipped through.
            for index in range(len(entries)):
                if index not in ctx.written:
                    ctx.refuse(index, "", "this entry could not be matched to a record")
        if ctx.issues:
            transaction.set_rollback(True)
    if ctx.issues:
        raise BundleRefused(sorted(ctx.issues, key=lambda i: (i.index is None, i.index or 0)))
    return ctx.written


# --- Helpers --------------------------------------------------------------------------


def _codes(concept: Any) -> set[tuple[str | None, str | None]]:
    return {(coding.system, coding.code) for coding in (concept.coding or [])} if concept else set()


def _day(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def _subject(ctx: Context, index: int, reference: Any, expression: str) -> Patient | None:
    ref = reference.reference if reference else None
    patient = ctx.patients.get(ref or "")
    if patient is None and ref and ref.startswith("Patient/") and _uuid(ref[8:]):
        patient = Patient.objects.visible_to(ctx.user).filter(public_id=_uuid(ref[8:])).first()
        if patient is not None:
            # Looked up once for all the entries that name it.
            ctx.patients[ref] = patient
    if patient is None:
        ctx.refuse(
            index,
            expression,
            f"reference {ref!r} resolves to no patient of this bundle or of your sites",
        )
    return patient


def _uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


@dataclass(frozen=True)
class Key:
    """How an entry's record is found again: values naming it within its site or patient,
    by which fields, and whether an existing record is left as it is (conditional create)."""

    values: dict[str, Any]
    by: Sequence[str] = SOURCE_KEY
    only_if_new: bool = False
    record: models.Model | None = None  # already fetched: no need to look it up again


def _key(
    ctx: Context, index: int, entry: Any, model: type[ClinicalRecord], patient: Patient
) -> Key | None:
    """The entry's ifNoneExist (conditional create), the record's identifier, or (a PUT of
    what `$everything` exported) our own id; else refused: a resource's id names it within
    this bundle only."""
    resource = entry.resource
    condition = entry.request.ifNoneExist if entry.request else None
    if condition:
        query = parse_qs(condition)
        wanted = query.get("identifier", [])
        if set(query) != {"identifier"} or len(wanted) != 1:
            ctx.refuse(index, "", "request.ifNoneExist: only identifier=system|value is supported")
            return None
        system, _, value = wanted[0].rpartition("|")
        return Key(
            {"patient": patient, "source_system": system or ctx.source_system, "source_id": value},
            only_if_new=True,
        )
    # An AdverseEvent has one identifier (0..1), the other resources a list.
    identifiers = resource.identifier or []
    if not isinstance(identifiers, list):
        identifiers = [identifiers]
    identifier = next((i for i in identifiers if i.value), None)
    if identifier is not None:
        system = identifier.system or ctx.source_system
        return Key({"patient": patient, "source_system": system, "source_id": identifier.value})
    method = entry.request.method if entry.request else None
    own = _uuid((resource.id or "")[:36]) if method == "PUT" else None
    if own is not None:
        record = model.all_records.filter(patient=patient, public_id=own).first()
        if record is None:
            ctx.refuse(index, "id", f"PUT {resource.id}: no such record of this patient")
            return None
        return Key({}, record=record)
    ctx.refuse(
        index,
        "identifier",
        "a record needs an identifier (system and value) or request.ifNoneExist, so that "
        "sending the bundle again updates it instead of entering it twice",
    )
    return None


def _save(
    ctx: Context,
    index: int,
    model: type[Validated],
    values: dict[str, Any],
    fields: dict[str, str],
    *,
    key: Key,
    indexes: dict[str, int] | None = None,
) -> Upserted[Any] | None:
    """Create or update the record through `upsert_record` (an unchanged record is not
    written again). Model errors become issues at the FHIR element the field came from."""
    partial = [
        name
        for name, value in values.items()
        if isinstance(value, str) and isinstance(model._meta.get_field(name), models.DateField)
    ]
    if partial:
        # FHIR allows "2023" or "2023-05"; a record needs the day.
        for name in partial:
            ctx.refuse(
                (indexes or {}).get(name, index),
                fields.get(name, ""),
                f"{values[name]!r} is not a full date (YYYY-MM-DD)",
            )
        return None
    everything = {**key.values, **values}
    try:
        if key.record is not None:
            return update_record(key.record, values, actor=ctx.actor)
        found = find_record(model, everything, by=key.by) if key.only_if_new else None
        if found is not None:
            refuse_entered_in_error(found)
            return Upserted(found, created=False, changed=False)
        return upsert_record(model, everything, actor=ctx.actor, by=key.by)
    except EnteredInError:
        ctx.refuse(index, "identifier", "names a record marked entered in error")
    except ValidationError as error:
        for name, texts in field_errors(error).items():
            at = (indexes or {}).get(name, index)
            where = fields.get(name, "")
            for text in texts:
                ctx.refuse(at, where, f"{name}: {text}" if where else text)
    except IntegrityError:
        ctx.refuse(index, "", "clashes with another record (retry the bundle)")
    return None


# --- Patients ---------------------------------------------------------------------------


def _diagnoses(entries: list[tuple[int, Any]]) -> dict[str, int]:
    """Diagnosis Conditions (an MS phenotype code) by the reference of their subject."""
    out = {}
    for index, entry in entries:
        resource = entry.resource
        if resource.get_resource_type() == "Condition" and _codes(resource.code) & set(
            c.PHENOTYPE_OF
        ):
            out[resource.subject.reference if resource.subject else ""] = index
    return out


def _site(ctx: Context, index: int, resource: Any) -> Site | None:
    sites = Site.objects.visible_to(ctx.user)
    organisation = resource.managingOrganization
    code = (
        organisation.identifier.value
        if organisation and organisation.identifier and organisation.identifier.value
        else None
    )
    if code:
        site = sites.filter(code=code).first()
        if site is None:
            ctx.refuse(index, "managingOrganization", f"no site {code!r} among yours")
        return site
    found = list(sites[:2])
    if len(found) != 1:
        ctx.refuse(index, "managingOrganization", "say which site (identifier value: its code)")
        return None
    return found[0]


def _mrn(resource: Any) -> str | None:
    identifiers = resource.identifier or []
    typed = [i for i in identifiers if i.type and (c.IDENTIFIER_TYPE, "MR") in _codes(i.type)]
    chosen = typed or identifiers
    return chosen[0].value if chosen else None


def _patient(ctx: Context, index: int, entry: Any, diagnoses: dict[str, int]) -> None:
    resource = entry.resource
    site = _site(ctx, index, resource)
    mrn = _mrn(resource)
    if not mrn:
        ctx.refuse(index, "identifier", "a patient needs its MRN as an identifier (type MR)")
    if site is None or not mrn:
        return
    key = Key({"site": site, "mrn": mrn}, by=("mrn",))
    found = find_record(Patient, key.values, by=key.by)
    values: dict[str, Any] = {"birth_date": resource.birthDate}
    if resource.gender:
        values["sex"] = resource.gender
    if resource.name:
        name = resource.name[0]
        values["display_name"] = name.text or " ".join([*(name.given or []), name.family or ""])
    fields = {
        "birth_date": "birthDate",
        "sex": "gender",
        "display_name": "name",
        "mrn": "identifier",
    }
    indexes: dict[str, int] = {}
    at = next(
        (i for ref, i in diagnoses.items() if ref in (entry.fullUrl, f"Patient/{resource.id}")),
        None,
    )
    if at is not None:
        values.update(_diagnosis_values(ctx.entries[at].resource))
        indexes.update(dict.fromkeys(DIAGNOSIS_FIELDS, at))
        fields.update(DIAGNOSIS_FIELDS)
    elif found is None:
        ctx.refuse(
            index,
            "",
            "a new patient needs a diagnosis Condition (an MS phenotype code, "
            "e.g. SNOMED CT 426373005 for RRMS) with this patient as subject",
        )
        return
    saved = _save(ctx, index, Patient, values, fields, key=key, indexes=indexes)
    if saved:
        patient = saved.record
        # The bundle's names for the patient, for its other entries (and this bundle only).
        for ref in (entry.fullUrl, f"Patient/{resource.id}" if resource.id else None):
            if ref:
                ctx.patients[ref] = patient
        ctx.written[index] = Written("Patient", str(patient.public_id), saved.created)
        if at is not None:
            ctx.written[at] = Written("Condition", f"{patient.public_id}-diagnosis", saved.created)


DIAGNOSIS_FIELDS = {
    "phenotype": "code",
    "symptom_onset": "onsetDateTime",
    "diagnosis_date": "recordedDate",
}


def _diagnosis_values(condition: Any) -> dict[str, Any]:
    """The patient's phenotype, symptom onset and diagnosis date from an MS diagnosis."""
    return {
        "phenotype": next(
            c.PHENOTYPE_OF[code] for code in _codes(condition.code) if code in c.PHENOTYPE_OF
        ),
        "symptom_onset": _day(condition.onsetDateTime),
        "diagnosis_date": _day(condition.recordedDate),
    }


def _diagnosis(ctx: Context, index: int, entry: Any) -> None:
    """A diagnosis for a patient not sent in this bundle (or a second one): updates it."""
    patient = _subject(ctx, index, entry.resource.subject, "subject")
    if patient is None:
        return
    key = Key({}, record=patient)
    if _save(ctx, index, Patient, _diagnosis_values(entry.resource), DIAGNOSIS_FIELDS, key=key):
        ctx.written[index] = Written("Condition", f"{patient.public_id}-diagnosis", False)


# --- Records ----------------------------------------------------------------------------


def _relapse(ctx: Context, index: int, entry: Any) -> None:
    resource = entry.resource
    if c.RELAPSE not in _codes(resource.code):
        ctx.refuse(
            index,
            "code",
            f"expected a relapse ({c.CONDITIONS}|relapse), a pregnancy (SNOMED CT "
            f"{c.PREGNANCY[1]}), an MS diagnosis code or a comorbidity (category "
            f"{c.PROBLEM_LIST_ITEM[1]})",
        )
        return
    patient = _subject(ctx, index, resource.subject, "subject")
    if patient is None:
        return
    key = _key(ctx, index, entry, Relapse, patient)
    if key is None:
        return
    severity = next(
        (c.SEVERITY_OF[code] for _, code in _codes(resource.severity) if code in c.SEVERITY_OF),
        "",
    )
    verified = (c.VERIFICATION_STATUS, "confirmed") in _codes(resource.verificationStatus)
    values = {
        "onset": _day(resource.onsetDateTime),
        "end": _day(resource.abatementDateTime),
        "severity": severity,
        "confirmed_by_clinician": verified,
    }
    fields = {"onset": "onsetDateTime", "end": "abatementDateTime", "severity": "severity"}
    saved = _save(ctx, index, Relapse, values, fields, key=key)
    if saved:
        ctx.written[index] = Written("Condition", str(saved.record.public_id), saved.created)


def _therapy_course(ctx: Context, index: int, entry: Any) -> None:
    resource = entry.resource
    code = next(
        (
            code
            for system, code in _codes(resource.medicationCodeableConcept)
            if system == c.THERAPIES
        ),
        None,
    )
    therapy = Therapy.objects.filter(code=code).first() if code else None
    if therapy is None:
        ctx.refuse(
            index,
            "medicationCodeableConcept",
            f"expected a therapy code of {c.THERAPIES} (our catalogue), got {code!r}",
        )
        return
    patient = _subject(ctx, index, resource.subject, "subject")
    period = resource.effectivePeriod
    if period is None or period.start is None:
        ctx.refuse(index, "effectivePeriod.start", "a therapy course needs its start date")
        return
    if patient is None:
        return
    key = _key(ctx, index, entry, TherapyCourse, patient)
    if key is None:
        return
    values = {"therapy": therapy, "start": _day(period.start), "end": _day(period.end)}
    fields = {
        "start": "effectivePeriod.start",
        "end": "effectivePeriod.end",
        "therapy": "medicationCodeableConcept",
    }
    saved = _save(ctx, index, TherapyCourse, values, fields, key=key)
    if saved:
        ctx.written[index] = Written(
            "MedicationStatement", str(saved.record.public_id), saved.created
        )


def _whole(ctx: Context, index: int, where: str, value: Any) -> int | None:
    """A count or score as an int. The model's integer fields would truncate 40.5 silently,
    so a fraction is refused here."""
    if value is None:
        return None
    if value != int(value):
        ctx.refuse(index, where, f"{value} is not a whole number")
        return None
    return int(value)


def _observation(ctx: Context, index: int, entry: Any) -> None:
    from api import fhir_safety_import as safety  # builds on this module's helpers

    resource = entry.resource
    codes = _codes(resource.code)
    if any(system == c.MEASURES and code in c.VISIT_MEASURES for system, code in codes):
        return  # visit measures are grouped by day in `_visits`
    patient = _subject(ctx, index, resource.subject, "subject")
    day = _day(resource.effectiveDateTime)
    if day is None:
        ctx.refuse(index, "effectiveDateTime", "an observation needs its date")
    if (c.MEASURES, c.MRI) in codes:
        if patient is not None and day is not None:
            _mri(ctx, index, entry, patient, day)
    elif (c.LOINC, c.NFL_LOINC) in codes or (c.MEASURES, c.NFL_CSF) in codes:
        # NfL is its own record (it feeds the engine), whatever the category says.
        if patient is not None and day is not None:
            _nfl(ctx, index, entry, patient, day, csf=(c.MEASURES, c.NFL_CSF) in codes)
    elif analytes := safety.analytes_of(ctx, codes):
        if patient is not None and day is not None:
            safety.lab_result(ctx, index, entry, patient, day, analytes)
    else:
        sent = ", ".join(sorted(f"{system}|{code}" for system, code in codes)) or "none"
        what = "unknown analyte" if safety.is_laboratory(resource) else "not a measure we keep"
        ctx.refuse(
            index,
            "code",
            f"{what} (code {sent}): we keep EDSS, T25FW, 9HPT, SDMT, MRI activity "
            f"({c.MEASURES}), NfL (LOINC {c.NFL_LOINC}) and the laboratory results of the "
            f"analyte catalogue (GET /api/v1/analytes/: its LOINC code, or its code in "
            f"{safety.LOCAL_SYSTEM})",
        )


def _mri(ctx: Context, index: int, entry: Any, patient: Patient, day: dt.date) -> None:
    key = _key(ctx, index, entry, MriScan, patient)
    if key is None:
        return
    values: dict[str, Any] = {
        "date": day,
        "new_t2": None,
        "gd_enhancing": None,
        "total_t2": None,
        "pbvc": None,
    }
    fields = {"date": "effectiveDateTime"}
    for position, component in enumerate(entry.resource.component or []):
        for system, code in _codes(component.code):
            if system == c.MEASURES and code in c.MRI_COMPONENTS:
                name = c.MRI_COMPONENTS[code][0]
                quantity = component.valueQuantity
                value = quantity.value if quantity else component.valueInteger
                where = f"component[{position}].valueQuantity.value"
                values[name] = value if name == "pbvc" else _whole(ctx, index, where, value)
                fields[name] = where
    for name in ("new_t2", "gd_enhancing"):
        fields.setdefault(name, "component")
    saved = _save(ctx, index, MriScan, values, fields, key=key)
    if saved:
        ctx.written[index] = Written("Observation", str(saved.record.public_id), saved.created)


def _nfl(
    ctx: Context, index: int, entry: Any, patient: Patient, day: dt.date, *, csf: bool
) -> None:
    resource = entry.resource
    quantity = resource.valueQuantity
    if quantity is None or quantity.value is None or "pg/mL" not in (quantity.unit, quantity.code):
        ctx.refuse(index, "valueQuantity", "NfL needs valueQuantity in pg/mL")
        return
    key = _key(ctx, index, entry, NflSample, patient)
    if key is None:
        return
    matrix = (
        "csf" if csf else (resource.specimen.display or "").lower() if resource.specimen else ""
    )
    assay = next((code for system, code in _codes(resource.method) if system == c.NFL_ASSAYS), "")
    ranges = resource.referenceRange or []
    upper = ranges[0].high.value if ranges and ranges[0].high else None
    values = {
        "date": day,
        "value": quantity.value,
        "matrix": matrix,
        "assay": assay or "",
        "lab_upper_limit": upper,
        "z_score": None,
    }
    fields = {
        "date": "effectiveDateTime",
        "value": "valueQuantity.value",
        "matrix": "specimen.display",
        "assay": "method",
        "lab_upper_limit": "referenceRange[0].high.value",
    }
    # The lab's z-score wins over any limit (spec §5): kept, not dropped.
    for position, component in enumerate(resource.component or []):
        if (c.MEASURES, c.NFL_Z_SCORE) in _codes(component.code):
            z = component.valueQuantity
            values["z_score"] = z.value if z else None
            fields["z_score"] = f"component[{position}].valueQuantity.value"
    saved = _save(ctx, index, NflSample, values, fields, key=key)
    if saved:
        ctx.written[index] = Written("Observation", str(saved.record.public_id), saved.created)


def _visits(ctx: Context, entries: list[tuple[int, Any]]) -> None:
    """Visit measures of one patient and day make one Visit, keyed by the EDSS entry."""
    days: dict[tuple[int, dt.date], dict[str, tuple[int, Any]]] = {}
    patients: dict[int, Patient] = {}
    for index, entry in entries:
        resource = entry.resource
        if resource.get_resource_type() != "Observation":
            continue
        code = next(
            (
                code
                for system, code in _codes(resource.code)
                if system == c.MEASURES and code in c.VISIT_MEASURES
            ),
            None,
        )
        if code is None:
            continue
        patient = _subject(ctx, index, resource.subject, "subject")
        day = _day(resource.effectiveDateTime)
        value = resource.valueQuantity.value if resource.valueQuantity else None
        if day is None:
            ctx.refuse(index, "effectiveDateTime", "a visit measure needs its date")
        if value is None:
            ctx.refuse(index, "valueQuantity.value", f"{code} needs a value")
        if patient is not None and day is not None and value is not None:
            measures = days.setdefault((patient.pk, day), {})
            if code in measures:
                ctx.refuse(index, "code", f"a second {code} of this patient on {day}")
                continue
            measures[code] = (index, entry)
            patients[patient.pk] = patient
    for (patient_pk, day), measures in days.items():
        patient = patients[patient_pk]
        first_index = next(iter(measures.values()))[0]
        key: Key | None
        if "edss" in measures:
            index, edss_entry = measures["edss"]
            key = _key(ctx, index, edss_entry, Visit, patient)
        else:
            index = first_index
            visit = Visit.objects.filter(patient=patient, date=day).first()
            key = None
            if visit is None:
                ctx.refuse(
                    index,
                    "code",
                    f"no visit on {day} to add this measure to: send "
                    "the EDSS Observation of that visit too",
                )
            else:
                key = Key({}, record=visit)
        if key is None:
            continue
        values: dict[str, Any] = {"date": day}
        fields = {"date": "effectiveDateTime"}
        indexes = {"date": index}
        for code, (at, entry) in measures.items():
            name = c.VISIT_MEASURES[code][0]
            value = entry.resource.valueQuantity.value
            values[name] = (
                _whole(ctx, at, "valueQuantity.value", value) if name == "sdmt" else value
            )
            fields[name] = "valueQuantity.value"
            indexes[name] = at
        saved = _save(ctx, index, Visit, values, fields, key=key, indexes=indexes)
        if saved:
            for code, (at, _) in measures.items():
                ctx.written[at] = Written(
                    "Observation", f"{saved.record.public_id}-{code}", saved.created
                )
