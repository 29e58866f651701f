"""Safety records out as FHIR R4 resources for `$everything`, the search and bulk export
[spec §7.1, §7.2]: lab results as laboratory Observations (LOINC where the analyte has a
code, the local analyte system otherwise), adverse events as AdverseEvent, pregnancies as
Condition (SNOMED CT 77386006 Pregnancy, onset the start, abatement the end; the due date,
outcome and what was done with the therapy as extensions, and in words in the note), since
a pregnancy is a state with a course, not a measurement; comorbidities as Conditions of the
problem list (category problem-list-item, the condition as the code's text, SNOMED CT when
the clinic gave a code). `api.fhir_safety_import` reads every one of them back."""

from __future__ import annotations

from typing import Any

from api import fhir_codes as c
from api.fhir_export import _coding, _number, _subject
from monitoring.clinical.protocols import LOCAL_SYSTEM
from monitoring.models import AdverseEvent, Comorbidity, LabResult, Pregnancy
from patients.models import Patient

OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
AE_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
# Text results as v3 interpretation codes (trace has none: sent as text).
INTERPRETATIONS = {
    "positive": "POS",
    "negative": "NEG",
    "indeterminate": "IND",
    "normal": "N",
    "abnormal": "A",
}
NOT_UCUM = {"index"}  # the JCV index has no UCUM unit
DUE_DATE = f"{c.EXTENSIONS}/pregnancy-due-date"  # valueDate
PREGNANCY_OUTCOME = f"{c.EXTENSIONS}/pregnancy-outcome"  # valueCode: Pregnancy.outcome
THERAPY_ACTION = f"{c.EXTENSIONS}/pregnancy-therapy-action"  # valueCode: Pregnancy.therapy_action


def _quantity(value: Any, unit: str) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": _number(value)}
    if unit:
        quantity["unit"] = unit
        if unit not in NOT_UCUM:
            quantity |= {"system": c.UCUM, "code": unit}
    return quantity


def lab_resource(lab: LabResult) -> dict[str, Any]:
    analyte = lab.analyte
    code = (
        _coding(c.LOINC, analyte.loinc, analyte.name)
        if analyte.loinc
        else _coding(LOCAL_SYSTEM, analyte.code, analyte.name)
    )
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(lab.public_id),
        "status": "final",
        "category": [_coding(OBSERVATION_CATEGORY, "laboratory", "Laboratory")],
        "code": code,
        "subject": _subject(lab.patient),
        "effectiveDateTime": lab.date.isoformat(),
    }
    if lab.value is not None:
        resource["valueQuantity"] = _quantity(lab.value, lab.unit)
    elif lab.text:
        resource["valueCodeableConcept"] = {"text": lab.get_text_display()}
    if lab.text:
        # Also beside a value (the JCV serostatus beside its index).
        resource["interpretation"] = [
            _coding(INTERPRETATION, INTERPRETATIONS[lab.text], lab.get_text_display())
            if lab.text in INTERPRETATIONS
            else {"text": lab.get_text_display()}
        ]
    limits = {
        side: _quantity(value, lab.unit)
        for side, value in (("low", lab.lower_limit), ("high", lab.upper_limit))
        if value is not None
    }
    if limits:
        resource["referenceRange"] = [limits]
    if lab.lab:
        resource["performer"] = [{"display": lab.lab}]
    return resource


def adverse_event_resource(event: AdverseEvent) -> dict[str, Any]:
    serious = "serious" if event.serious else "non-serious"
    resource: dict[str, Any] = {
        "resourceType": "AdverseEvent",
        "id": str(event.public_id),
        "actuality": "actual",
        "subject": _subject(event.patient),
        "date": event.date.isoformat(),
        "event": {"text": event.term},
        "seriousness": _coding(SERIOUSNESS, serious, serious.capitalize()),
        "outcome": _coding(AE_OUTCOME, event.outcome, event.get_outcome_display()),
    }
    if event.suspected_therapy is not None:
        therapy = event.suspected_therapy
        resource["suspectEntity"] = [
            {
                "instance": {
                    "identifier": {"system": c.THERAPIES, "value": therapy.code},
                    "display": therapy.name,
                }
            }
        ]
    return resource


def pregnancy_resource(pregnancy: Pregnancy) -> dict[str, Any]:
    ongoing = pregnancy.end is None
    note = [
        f"outcome: {pregnancy.get_outcome_display()}",
        f"therapy: {pregnancy.get_therapy_action_display()}",
    ]
    if pregnancy.due_date:
        note.insert(0, f"due date: {pregnancy.due_date.isoformat()}")
    extensions: list[dict[str, Any]] = [
        {"url": PREGNANCY_OUTCOME, "valueCode": pregnancy.outcome},
        {"url": THERAPY_ACTION, "valueCode": pregnancy.therapy_action},
    ]
    if pregnancy.due_date:
        extensions.insert(0, {"url": DUE_DATE, "valueDate": pregnancy.due_date.isoformat()})
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": str(pregnancy.public_id),
        "extension": extensions,
        "clinicalStatus": _coding(c.CLINICAL_STATUS, "active" if ongoing else "resolved"),
        "code": _coding(*c.PREGNANCY, "Pregnancy"),
        "subject": _subject(pregnancy.patient),
        "onsetDateTime": pregnancy.start.isoformat(),
        "note": [{"text": "; ".join(note)}],
    }
    if pregnancy.end is not None:
        resource["abatementDateTime"] = pregnancy.end.isoformat()
    return resource


def comorbidity_resource(comorbidity: Comorbidity) -> dict[str, Any]:
    code = (
        _coding(c.SNOMED, comorbidity.code, comorbidity.condition)
        if comorbidity.code
        else {"text": comorbidity.condition}
    )
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": str(comorbidity.public_id),
        "clinicalStatus": _coding(
            c.CLINICAL_STATUS, "resolved" if comorbidity.resolved else "active"
        ),
        "category": [_coding(*c.PROBLEM_LIST_ITEM, "Problem List Item")],
        "code": code,
        "subject": _subject(comorbidity.patient),
        "onsetDateTime": comorbidity.onset.isoformat(),
    }
    if comorbidity.resolved is not None:
        resource["abatementDateTime"] = comorbidity.resolved.isoformat()
    if comorbidity.notes:
        resource["note"] = [{"text": comorbidity.notes}]
    return resource


def lab_resources(patient: Patient) -> list[dict[str, Any]]:
    """The patient's lab results in use, oldest first."""
    return [lab_resource(r) for r in patient.lab_results.select_related("analyte").order_by("date")]


def safety_resources(patient: Patient) -> list[dict[str, Any]]:
    """The patient's lab results, adverse events, pregnancies and comorbidities in use, oldest
    first."""
    return [
        *lab_resources(patient),
        *(
            adverse_event_resource(e)
            for e in patient.adverse_events.select_related("suspected_therapy").order_by("date")
        ),
        *(pregnancy_resource(p) for p in patient.pregnancies.order_by("start")),
        *(comorbidity_resource(m) for m in patient.comorbidities.order_by("onset")),
    ]
