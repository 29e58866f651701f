"""FHIR Bulk Data export: the NDJSON files of one `$export`, written by a Celery worker.

One file per resource type, one resource per line, in the shape `$everything` gives (the
same functions of `api.fhir_export`). Each type is read with a few queries over all the
patients in scope (the sites the caller saw when asking, narrowed to a Group's site), not
patient by patient, so that a 10,000-patient site is a handful of streaming queries. Every
patient whose data went into a file is recorded as read in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from alerts.models import Alert
from api import fhir_export, fhir_safety
from api.auth import IntegrationUser
from api.models import BulkExport, BulkExportStatus
from monitoring.models import (
    AdverseEvent,
    Comorbidity,
    LabResult,
    MriScan,
    NflSample,
    Pregnancy,
    Relapse,
    Visit,
)
from patients.actions import Actor
from patients.models import ClinicalRecord, Patient, Site, TherapyCourse
from patients.reads import record_reads

TYPES = ("Patient", "Condition", "Observation", "MedicationStatement", "Flag", "AdverseEvent")
CHUNK = 2000  # rows fetched at a time; also how often a running export looks for a cancel


class Cancelled(Exception):
    pass


def request_export(
    *,
    user: Any,
    actor_label: str,
    request_url: str,
    group: Site | None = None,
    types: Sequence[str] = TYPES,
    since: dt.datetime | None = None,
) -> BulkExport:
    """An export of what `user` sees now (narrowed to `group`, a site they see), queued for
    `run`: the sites are fixed at the request, as its transactionTime is."""
    integration = isinstance(user, IntegrationUser)
    return BulkExport.objects.create(
        request_url=request_url,
        user=None if integration else user,
        token=user.token if integration else None,
        actor_label=actor_label,
        site_ids=None
        if user.is_superuser
        else list(Site.objects.visible_to(user).values_list("pk", flat=True)),
        group=group,
        types=list(types),
        since=since,
    )


def directory(export: BulkExport) -> Path:
    return Path(settings.FHIR_EXPORT_DIR) / str(export.public_id)


def patients_in_scope(export: BulkExport) -> QuerySet:
    patients = Patient.objects.all()
    if export.site_ids is not None:
        patients = patients.filter(site_id__in=export.site_ids)
    if export.group_id is not None:
        patients = patients.filter(site_id=export.group_id)
    return patients


def _changed(export: BulkExport, field: str = "updated_at") -> Q:
    return Q(**{f"{field}__gte": export.since}) if export.since else Q()


def _records(export: BulkExport, model: type[ClinicalRecord], *related: str) -> Iterator[Any]:
    rows = (
        model.objects.filter(patient__in=patients_in_scope(export))
        .filter(_changed(export))
        .select_related("patient", *related)
        .order_by("patient_id", "pk")
    )
    return rows.iterator(chunk_size=CHUNK)


def resources(export: BulkExport, kind: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(patient pk, resource) of one type, in the export's scope, changed since `_since`."""
    if kind == "Patient":
        rows = patients_in_scope(export).filter(_changed(export)).select_related("site")
        for patient in rows.order_by("pk").iterator(chunk_size=CHUNK):
            yield patient.pk, fhir_export.patient_resource(patient)
    elif kind == "Condition":
        rows = patients_in_scope(export).filter(_changed(export))
        for patient in rows.order_by("pk").iterator(chunk_size=CHUNK):
            yield patient.pk, fhir_export.diagnosis_resource(patient)
        for relapse in _records(export, Relapse):
            yield relapse.patient_id, fhir_export.relapse_resource(relapse)
        for pregnancy in _records(export, Pregnancy):
            yield pregnancy.patient_id, fhir_safety.pregnancy_resource(pregnancy)
        for comorbidity in _records(export, Comorbidity):
            yield comorbidity.patient_id, fhir_safety.comorbidity_resource(comorbidity)
    elif kind == "Observation":
        for visit in _records(export, Visit):
            for resource in fhir_export.visit_resources(visit):
                yield visit.patient_id, resource
        for scan in _records(export, MriScan):
            yield scan.patient_id, fhir_export.mri_resource(scan)
        for sample in _records(export, NflSample):
            yield sample.patient_id, fhir_export.nfl_resource(sample)
        for lab in _records(export, LabResult, "analyte"):
            yield lab.patient_id, fhir_safety.lab_resource(lab)
    elif kind == "MedicationStatement":
        for course in _records(export, TherapyCourse, "therapy"):
            yield course.patient_id, fhir_export.therapy_resource(course)
    elif kind == "Flag":
        # An alert changes when raised, acknowledged or resolved.
        changed = (
            _changed(export, "raised_at")
            | _changed(export, "acknowledged_at")
            | _changed(export, "resolved_at")
        )
        rows = (
            Alert.objects.filter(patient__in=patients_in_scope(export))
            .filter(changed)
            .select_related("patient")
            .order_by("patient_id", "pk")
        )
        for alert in rows.iterator(chunk_size=CHUNK):
            yield alert.patient_id, fhir_export.flag_resource(alert)
    elif kind == "AdverseEvent":
        for event in _records(export, AdverseEvent, "suspected_therapy"):
            yield event.patient_id, fhir_safety.adverse_event_resource(event)


def _cancelled(export: BulkExport) -> bool:
    return BulkExport.objects.filter(pk=export.pk, status=BulkExportStatus.CANCELLED).exists()


def run(export_id: int) -> None:
    """Write the export's files; the status says how it ended (a cancel stops it)."""
    claimed = BulkExport.objects.filter(pk=export_id, status=BulkExportStatus.QUEUED).update(
        status=BulkExportStatus.RUNNING, progress="starting"
    )
    if not claimed:  # cancelled before it started, or another worker has it
        return
    export = BulkExport.objects.select_related("user").get(pk=export_id)
    target = directory(export)
    target.mkdir(parents=True, exist_ok=True)
    read: set[int] = set()
    output = []
    try:
        for position, kind in enumerate(export.types, start=1):
            BulkExport.objects.filter(pk=export.pk).update(
                progress=f"{kind} ({position} of {len(export.types)} resource types)"
            )
            count = 0
            with (target / f"{kind}.ndjson").open("wb") as ndjson:
                for patient_id, resource in resources(export, kind):
                    ndjson.write(orjson.dumps(resource) + b"\n")
                    read.add(patient_id)
                    count += 1
                    if count % CHUNK == 0 and _cancelled(export):
                        raise Cancelled
            if count:
                output.append({"type": kind, "count": count})
            else:
                (target / f"{kind}.ndjson").unlink()
        with transaction.atomic():
            if _cancelled(export):
                raise Cancelled
            actor = Actor(user=export.user, label=export.actor_label)
            record_reads(sorted(read), actor=actor, what=f"fhir $export {export.public_id}")
            BulkExport.objects.filter(pk=export.pk).update(
                status=BulkExportStatus.COMPLETED,
                progress="",
                output=output,
                finished_at=timezone.now(),
            )
    except Cancelled:
        shutil.rmtree(target, ignore_errors=True)
    except Exception as error:
        shutil.rmtree(target, ignore_errors=True)
        BulkExport.objects.filter(pk=export.pk).update(
            status=BulkExportStatus.FAILED, error=str(error), finished_at=timezone.now()
        )
        raise
