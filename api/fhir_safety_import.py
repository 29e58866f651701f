"""Safety records in from a FHIR transaction [spec §7.1, §7.2], the inverse of
`api.fhir_safety`, with the matching of every other record (`api.fhir_import`: identifier,
conditional create, or a PUT of our own id; `upsert_record`):

- a laboratory Observation coded with an analyte of the catalogue (its LOINC code, or its
  code in the local analyte system) → `LabResult`. The value keeps the unit it was sent in
  (a UCUM code, else the unit text) and the model converts it to the catalogue's unit, or
  refuses a unit the catalogue cannot convert; a text result comes as valueCodeableConcept
  or as the interpretation (v3 codes, or our words as text); the first reference range is
  the lab's, in the unit of the value;
- an AdverseEvent → `AdverseEvent` (the suspected therapy by our catalogue code);
- a Condition coded SNOMED CT 77386006 (pregnancy) → `Pregnancy`;
- a Condition of the problem list (category problem-list-item) that is not the MS diagnosis
  (an MS phenotype code, sent to the patient), a pregnancy or a relapse → `Comorbidity`.

Every rule about the values is the models' (`LabResult.clean_values` & co.): the mapping
only says which FHIR element each field came from, so that a refusal names it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from api import fhir_codes as c
from api.fhir_import import Context, Written, _codes, _day, _key, _save, _subject
from api.fhir_safety import (
    AE_OUTCOME,
    DUE_DATE,
    INTERPRETATION,
    INTERPRETATIONS,
    OBSERVATION_CATEGORY,
    PREGNANCY_OUTCOME,
    THERAPY_ACTION,
)
from monitoring.clinical.protocols import LOCAL_SYSTEM
from monitoring.models import AdverseEvent, Analyte, Comorbidity, LabResult, Pregnancy
from monitoring.safety_records import ResultText
from patients.models import Patient, Therapy, by_any_name

__all__ = [
    "LOCAL_SYSTEM",
    "adverse_event",
    "analytes_of",
    "comorbidity",
    "is_laboratory",
    "is_problem_list_item",
    "lab_result",
    "pregnancy",
]

# LOINC codes that name a catalogue analyte beside the catalogue's own: the method-less
# code of the lymphocyte count (Lymphocytes [#/volume] in Blood), which many labs send.
LOINC_ALIASES = {"26474-7": "lymphocytes"}
# SNOMED CT qualifier values of qualitative results (as in HL7's positive/negative/
# indeterminate value sets).
SNOMED_RESULTS = {"10828004": "positive", "260385009": "negative", "82334004": "indeterminate"}
INTERPRETATION_OF = {code: text for text, code in INTERPRETATIONS.items()}
RESULT_WORDS = {
    word.lower(): value for value, label in ResultText.choices for word in (value, label)
}
# Observation.value[x] other than a quantity or a concept: none of them is a lab result here.
OTHER_VALUES = (
    "valueString",
    "valueBoolean",
    "valueInteger",
    "valueRange",
    "valueRatio",
    "valueSampledData",
    "valueTime",
    "valueDateTime",
    "valuePeriod",
)


# --- Lab results --------------------------------------------------------------------------


def is_laboratory(resource: Any) -> bool:
    return any(
        (OBSERVATION_CATEGORY, "laboratory") in _codes(category)
        for category in resource.category or []
    )


def analytes_of(ctx: Context, codes: set[tuple[str | None, str | None]]) -> list[Analyte]:
    """The catalogue analytes an Observation's codes name (one, when it is a lab result)."""
    catalogue = ctx.catalogues.get("analytes")
    if catalogue is None:
        catalogue = {}
        analytes = {analyte.code: analyte for analyte in Analyte.objects.all()}
        for analyte in analytes.values():
            catalogue[(LOCAL_SYSTEM, analyte.code)] = analyte
            if analyte.loinc:
                catalogue[(c.LOINC, analyte.loinc)] = analyte
        for loinc, code in LOINC_ALIASES.items():
            if code in analytes:
                catalogue.setdefault((c.LOINC, loinc), analytes[code])
        ctx.catalogues["analytes"] = catalogue
    found = {catalogue[code].code: catalogue[code] for code in codes if code in catalogue}
    return [found[code] for code in sorted(found)]


def _unit(quantity: Any) -> tuple[str, str]:
    """A quantity's unit (its UCUM code, else its text) and the element it came from."""
    if quantity.code:
        return quantity.code, "code"
    return quantity.unit or "", "unit"


def _result_word(concept: Any) -> str | None:
    """Our word for a concept's result (negative, positive…), from a SNOMED CT or v3 code, a
    display or the text; None when it says none of them."""
    for coding in concept.coding or []:
        if coding.system == c.SNOMED and coding.code in SNOMED_RESULTS:
            return SNOMED_RESULTS[coding.code]
        if coding.system == INTERPRETATION and coding.code in INTERPRETATION_OF:
            return INTERPRETATION_OF[coding.code]
    words = [concept.text, *(coding.display for coding in concept.coding or [])]
    known = [
        RESULT_WORDS[w.strip().lower()] for w in words if w and w.strip().lower() in RESULT_WORDS
    ]
    return known[0] if known else None


def lab_result(
    ctx: Context, index: int, entry: Any, patient: Patient, day: dt.date, analytes: list[Analyte]
) -> None:
    resource = entry.resource
    refused = len(ctx.issues)
    analyte = analytes[0]
    if len(analytes) > 1:
        ctx.refuse(
            index, "code", f"the codes name {' and '.join(a.code for a in analytes)}: which is it?"
        )
    values: dict[str, Any] = {
        "analyte": analyte,
        "date": day,
        "value": None,
        "unit": "",
        "text": "",
        "lower_limit": None,
        "upper_limit": None,
        "lab": next((p.display for p in resource.performer or [] if p.display), ""),
    }
    fields = {
        "analyte": "code",
        "date": "effectiveDateTime",
        "value": "valueQuantity.value",
        "unit": "valueQuantity.code",
        "text": "valueCodeableConcept",
        "lower_limit": "referenceRange[0].low.value",
        "upper_limit": "referenceRange[0].high.value",
        "lab": "performer[0].display",
    }
    for name in OTHER_VALUES:
        if getattr(resource, name, None) is not None:
            ctx.refuse(
                index,
                name,
                "a lab result is a valueQuantity (a number) or a valueCodeableConcept "
                "(negative, positive…)",
            )
    quantity = resource.valueQuantity
    if quantity is not None:
        if quantity.comparator:
            ctx.refuse(
                index,
                "valueQuantity.comparator",
                f"{quantity.comparator} {quantity.value} is a limit, not a value that can be kept",
            )
        values["value"] = quantity.value
        values["unit"], element = _unit(quantity)
        fields["unit"] = f"valueQuantity.{element}"
    if resource.valueCodeableConcept is not None:
        word = _result_word(resource.valueCodeableConcept)
        if word is None:
            ctx.refuse(
                index,
                "valueCodeableConcept",
                "a text result is one of " + ", ".join(sorted(set(RESULT_WORDS.values()))),
            )
        values["text"] = word or ""
    # The interpretation carries a text beside a value (the JCV serostatus). Only our words
    # are read from it: high, low and the like follow from the reference range, kept too.
    said = {word for concept in resource.interpretation or [] if (word := _result_word(concept))}
    said |= {values["text"]} - {""}
    if len(said) > 1:
        ctx.refuse(index, "interpretation", f"the result is both {' and '.join(sorted(said))}")
    elif said and not values["text"]:
        values["text"] = said.pop()
        fields["text"] = "interpretation"
    # One unit for the value and the range, as the record keeps them.
    for position, reference_range in enumerate(resource.referenceRange or []):
        if position > 0:
            ctx.refuse(index, "referenceRange[1]", "send the lab's one reference range")
            break
        for side, name in (("low", "lower_limit"), ("high", "upper_limit")):
            limit = getattr(reference_range, side)
            if limit is None:
                continue
            values[name] = limit.value
            unit, element = _unit(limit)
            if not unit:
                continue
            if not values["unit"]:
                values["unit"] = unit
                fields["unit"] = f"referenceRange[0].{side}.{element}"
            elif unit != values["unit"]:
                ctx.refuse(
                    index,
                    f"referenceRange[0].{side}.{element}",
                    f"the range is in {unit}, the value in {values['unit']}: send both in one unit",
                )
    if len(ctx.issues) > refused:
        return
    key = _key(ctx, index, entry, LabResult, patient)
    if key is None:
        return
    saved = _save(ctx, index, LabResult, values, fields, key=key)
    if saved:
        ctx.written[index] = Written("Observation", str(saved.record.public_id), saved.created)


# --- Adverse events, pregnancies and comorbidities ----------------------------------------


def _therapy(ctx: Context, reference: Any) -> Therapy | None:
    """A therapy of the catalogue named by a reference's identifier (our code) or display
    (its code or name, any case)."""
    therapies = ctx.catalogues.get("therapies")
    if therapies is None:
        therapies = ctx.catalogues["therapies"] = by_any_name(Therapy.objects.all())
    identifier = reference.identifier if reference else None
    if identifier is not None and identifier.value:
        if identifier.system not in (None, c.THERAPIES):
            return None
        return therapies.get(identifier.value.lower())
    display = reference.display if reference else None
    return therapies.get(display.strip().lower()) if display else None


def adverse_event(ctx: Context, index: int, entry: Any) -> None:
    resource = entry.resource
    refused = len(ctx.issues)
    if resource.actuality != "actual":
        ctx.refuse(index, "actuality", "only adverse events that happened are recorded (actual)")
    patient = _subject(ctx, index, resource.subject, "subject")
    day = _day(resource.date)
    if day is None:
        ctx.refuse(index, "date", "an adverse event needs its date")
    event = resource.event
    term = ""
    if event is not None:
        names = [event.text, *(x.display or x.code for x in event.coding or [])]
        term = next((name for name in names if name), "")
    serious = False
    levels = {code.lower() for _, code in _codes(resource.seriousness) if code}
    if levels:
        # R4B's serious / non-serious; R4's Serious, Non-serious and Serious… reasons.
        serious = any(level.startswith("serious") for level in levels)
        if not serious and "non-serious" not in levels:
            ctx.refuse(index, "seriousness", "expected serious or non-serious")
    outcome = "unknown"
    if resource.outcome is not None:
        outcome = next(
            (code or "" for system, code in _codes(resource.outcome) if system == AE_OUTCOME), ""
        )
    entities = resource.suspectEntity or []
    if len(entities) > 1:
        ctx.refuse(index, "suspectEntity[1]", "name the one suspected therapy")
    therapy = None
    if entities:
        instance = entities[0].instance
        therapy = _therapy(ctx, instance)
        if therapy is None:
            named = instance.display or (instance.identifier and instance.identifier.value)
            ctx.refuse(
                index,
                "suspectEntity[0].instance",
                f"unknown therapy {named!r}: name one of our catalogue by its code "
                f"(identifier system {c.THERAPIES}) or name",
            )
    if len(ctx.issues) > refused or patient is None:
        return
    key = _key(ctx, index, entry, AdverseEvent, patient)
    if key is None:
        return
    values = {
        "date": day,
        "term": term,
        "serious": serious,
        "suspected_therapy": therapy,
        "outcome": outcome,
    }
    fields = {
        "date": "date",
        "term": "event",
        "serious": "seriousness",
        "suspected_therapy": "suspectEntity[0].instance",
        "outcome": "outcome",
    }
    saved = _save(ctx, index, AdverseEvent, values, fields, key=key)
    if saved:
        ctx.written[index] = Written("AdverseEvent", str(saved.record.public_id), saved.created)


def pregnancy(ctx: Context, index: int, entry: Any) -> None:
    resource = entry.resource
    patient = _subject(ctx, index, resource.subject, "subject")
    start = _day(resource.onsetDateTime)
    if start is None:
        ctx.refuse(
            index, "onsetDateTime", "a pregnancy needs its start (the last menstrual period)"
        )
    if patient is None or start is None:
        return
    key = _key(ctx, index, entry, Pregnancy, patient)
    if key is None:
        return
    values: dict[str, Any] = {
        "start": start,
        "end": _day(resource.abatementDateTime),
        "due_date": None,
        "outcome": Pregnancy._meta.get_field("outcome").get_default(),
        "therapy_action": Pregnancy._meta.get_field("therapy_action").get_default(),
    }
    fields = {
        "start": "onsetDateTime",
        "end": "abatementDateTime",
        "due_date": "extension",
        "outcome": "extension",
        "therapy_action": "extension",
    }
    for position, extension in enumerate(resource.extension or []):
        if extension.url == DUE_DATE:
            values["due_date"] = _day(extension.valueDate)
            fields["due_date"] = f"extension[{position}].valueDate"
        elif extension.url in (PREGNANCY_OUTCOME, THERAPY_ACTION):
            name = "outcome" if extension.url == PREGNANCY_OUTCOME else "therapy_action"
            values[name] = extension.valueCode or ""
            fields[name] = f"extension[{position}].valueCode"
    saved = _save(ctx, index, Pregnancy, values, fields, key=key)
    if saved:
        ctx.written[index] = Written("Condition", str(saved.record.public_id), saved.created)


def is_problem_list_item(resource: Any) -> bool:
    return any(c.PROBLEM_LIST_ITEM in _codes(category) for category in resource.category or [])


# clinicalStatus codes of a condition that is over (FHIR: these, and only these, may have an
# abatement).
ENDED = {"inactive", "remission", "resolved"}


def comorbidity(ctx: Context, index: int, entry: Any) -> None:
    resource = entry.resource
    refused = len(ctx.issues)
    patient = _subject(ctx, index, resource.subject, "subject")
    codes = _codes(resource.code)
    if c.MULTIPLE_SCLEROSIS in codes:
        ctx.refuse(
            index,
            "code",
            "MS is the patient's diagnosis, not a comorbidity: send it as the diagnosis, coded "
            "with its phenotype (e.g. SNOMED CT 426373005 for RRMS)",
        )
    snomed = sorted(code for system, code in codes if system == c.SNOMED and code)
    if len(snomed) > 1:
        ctx.refuse(index, "code.coding", f"name the one SNOMED CT code, not {' and '.join(snomed)}")
    onset = _day(resource.onsetDateTime)
    if onset is None:
        ctx.refuse(index, "onsetDateTime", "a comorbidity needs its onset")
    resolved = _day(resource.abatementDateTime)
    status = next(
        (code for system, code in _codes(resource.clinicalStatus) if system == c.CLINICAL_STATUS),
        None,
    )
    if status and status in ENDED and resolved is None:
        ctx.refuse(
            index, "abatementDateTime", f"the condition is {status}: send the day it resolved"
        )
    elif status and status not in ENDED and resolved is not None:
        ctx.refuse(
            index,
            "clinicalStatus",
            f"{status}, yet abatementDateTime says it resolved: send resolved",
        )
    if len(ctx.issues) > refused or patient is None:
        return
    key = _key(ctx, index, entry, Comorbidity, patient)
    if key is None:
        return
    concept = resource.code
    names = [concept.text, *(x.display for x in concept.coding or [])] if concept else []
    values = {
        "condition": next((name for name in names if name), ""),
        "code": snomed[0] if snomed else "",
        "onset": onset,
        "resolved": resolved,
        "notes": "\n".join(note.text for note in resource.note or [] if note.text),
    }
    fields = {
        "condition": "code.text",
        "code": "code.coding",
        "onset": "onsetDateTime",
        "resolved": "abatementDateTime",
        "notes": "note",
    }
    saved = _save(ctx, index, Comorbidity, values, fields, key=key)
    if saved:
        ctx.written[index] = Written("Condition", str(saved.record.public_id), saved.created)
