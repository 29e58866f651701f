"""A patient's record out as FHIR R4 resources (plain dicts in R4B shape, validated by the
tests with `fhir.resources.R4B`), the inverse of `api.fhir_import`."""

from __future__ import annotations

from typing import Any

from alerts.models import Alert, AlertState
from api import fhir_codes as c
from monitoring.models import MriScan, NflSample, Relapse, Visit
from patients.models import Patient, TherapyCourse


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], **({"text": display} if display else {})}


def _subject(patient: Patient) -> dict[str, str]:
    return {"reference": f"Patient/{patient.public_id}"}


def _number(value: Any) -> float | int:
    return int(value) if value == int(value) else float(value)


def patient_resource(patient: Patient) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(patient.public_id),
        "identifier": [
            {
                "type": _coding(c.IDENTIFIER_TYPE, "MR"),
                "system": f"{c.MRN_SYSTEM}/{patient.site.code}",
                "value": patient.mrn,
            }
        ],
        "birthDate": patient.birth_date.isoformat(),
        "gender": patient.sex,
        "managingOrganization": {
            "identifier": {"system": c.SITE_SYSTEM, "value": patient.site.code}
        },
    }
    if patient.display_name:
        resource["name"] = [{"text": patient.display_name}]
    return resource


def diagnosis_resource(patient: Patient) -> dict[str, Any]:
    system, code = c.PHENOTYPE_CODES[patient.phenotype]
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": f"{patient.public_id}-diagnosis",
        "clinicalStatus": _coding(c.CLINICAL_STATUS, "active"),
        "code": _coding(system, code, patient.get_phenotype_display()),
        "subject": _subject(patient),
    }
    if patient.symptom_onset:
        resource["onsetDateTime"] = patient.symptom_onset.isoformat()
    if patient.diagnosis_date:
        resource["recordedDate"] = patient.diagnosis_date.isoformat()
    return resource


def relapse_resource(relapse: Relapse) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": str(relapse.public_id),
        "clinicalStatus": _coding(c.CLINICAL_STATUS, "resolved" if relapse.end else "active"),
        "verificationStatus": _coding(
            c.VERIFICATION_STATUS,
            "confirmed" if relapse.confirmed_by_clinician else "provisional",
        ),
        "code": _coding(*c.RELAPSE, "MS relapse"),
        "subject": _subject(relapse.patient),
        "onsetDateTime": relapse.onset.isoformat(),
    }
    if relapse.end:
        resource["abatementDateTime"] = relapse.end.isoformat()
    if relapse.severity:
        resource["severity"] = _coding(
            c.SNOMED, c.SEVERITY_CODES[relapse.severity], relapse.get_severity_display()
        )
    return resource


def _observation(record: Any, id: str, code: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": code,
        "subject": _subject(record.patient),
        "effectiveDateTime": record.date.isoformat(),
    }


def visit_resources(visit: Visit) -> list[dict[str, Any]]:
    out = []
    for code, (name, unit, display) in c.VISIT_MEASURES.items():
        value = getattr(visit, name)
        if value is None:
            continue
        resource = _observation(
            visit, f"{visit.public_id}-{code}", _coding(c.MEASURES, code, display)
        )
        resource["valueQuantity"] = {
            "value": _number(value),
            "unit": unit,
            "system": c.UCUM,
            "code": unit,
        }
        out.append(resource)
    return out


def mri_resource(scan: MriScan) -> dict[str, Any]:
    resource = _observation(scan, str(scan.public_id), _coding(c.MEASURES, c.MRI, "MRI activity"))
    resource["component"] = [
        {
            "code": _coding(c.MEASURES, code, display),
            "valueQuantity": {"value": _number(getattr(scan, name))},
        }
        for code, (name, display) in c.MRI_COMPONENTS.items()
        if getattr(scan, name) is not None
    ]
    return resource


def nfl_resource(sample: NflSample) -> dict[str, Any]:
    code = (
        _coding(c.MEASURES, c.NFL_CSF, "Neurofilament light chain in CSF")
        if sample.matrix == "csf"
        else _coding(
            c.LOINC, c.NFL_LOINC, "Neurofilament light chain [Mass/volume] in Serum or Plasma"
        )
    )
    resource = _observation(sample, str(sample.public_id), code)
    resource["valueQuantity"] = {
        "value": _number(sample.value),
        "unit": "pg/mL",
        "system": c.UCUM,
        "code": "pg/mL",
    }
    resource["specimen"] = {"display": sample.matrix}
    resource["method"] = _coding(c.NFL_ASSAYS, sample.assay, sample.get_assay_display())
    if sample.lab_upper_limit is not None:
        resource["referenceRange"] = [
            {"high": {"value": _number(sample.lab_upper_limit), "unit": "pg/mL"}}
        ]
    if sample.z_score is not None:
        resource["component"] = [
            {
                "code": _coding(c.MEASURES, c.NFL_Z_SCORE, "NfL z-score (lab, age-adjusted)"),
                "valueQuantity": {"value": _number(sample.z_score), "unit": "{z-score}"},
            }
        ]
    return resource


def therapy_resource(course: TherapyCourse) -> dict[str, Any]:
    period = {"start": course.start.isoformat()}
    if course.end:
        period["end"] = course.end.isoformat()
    return {
        "resourceType": "MedicationStatement",
        "id": str(course.public_id),
        "status": "completed" if course.end else "active",
        "medicationCodeableConcept": _coding(c.THERAPIES, course.therapy.code, course.therapy.name),
        "subject": _subject(course.patient),
        "effectivePeriod": period,
    }


def flag_resource(alert: Alert) -> dict[str, Any]:
    period = {"start": alert.raised_at.isoformat()}
    if alert.resolved_at:
        period["end"] = alert.resolved_at.isoformat()
    return {
        "resourceType": "Flag",
        "id": str(alert.public_id),
        "status": "inactive" if alert.state == AlertState.RESOLVED else "active",
        "code": _coding(c.ALERT_RULES, alert.rule, alert.get_rule_display()),
        "subject": _subject(alert.patient),
        "period": period,
    }


def observations(patient: Patient) -> list[dict[str, Any]]:
    """Visit measures, MRI scans and NfL samples in use, by kind, then date."""
    resources = []
    for visit in patient.visits.order_by("date"):
        resources.extend(visit_resources(visit))
    resources.extend(mri_resource(s) for s in patient.mri_scans.order_by("date"))
    resources.extend(nfl_resource(s) for s in patient.nfl_samples.order_by("date"))
    return resources


def everything(patient: Patient) -> list[dict[str, Any]]:
    """The patient and every record in use (entered-in-error ones left out), alerts as
    Flags."""
    resources = [patient_resource(patient), diagnosis_resource(patient)]
    resources.extend(observations(patient))
    resources.extend(relapse_resource(r) for r in patient.relapses.order_by("onset"))
    resources.extend(
        therapy_resource(t)
        for t in patient.therapy_courses.select_related("therapy").order_by("start")
    )
    resources.extend(flag_resource(a) for a in patient.alerts.order_by("raised_at"))
    from api.fhir_safety import safety_resources  # builds on the helpers above

    resources.extend(safety_resources(patient))
    return resources
