"""Imports and research exports run by the Celery workers; pages poll their runs."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from monitoring.clinical.definitions import PRESETS
from patients.actions import Actor
from registry.audit import audit
from registry.export import write_zip
from registry.imports import import_file
from registry.models import ImportRun, ResearchExport, RunState

log = logging.getLogger(__name__)


def _actor(run: ImportRun | ResearchExport) -> Actor:
    return Actor.of(run.requested_by) if run.requested_by else Actor.system("registry")


def _progress(model: type[ImportRun | ResearchExport], pk: int):
    def progress(done: int, total: int) -> None:
        model.objects.filter(pk=pk).update(done=done, total=total)

    return progress


@shared_task
def run_import(run_id: int) -> str:
    run = ImportRun.objects.select_related("site", "requested_by").get(pk=run_id)
    ImportRun.objects.filter(pk=run.pk).update(state=RunState.RUNNING)
    actor = _actor(run)
    try:
        outcome = import_file(
            run.file_name,
            bytes(run.content),
            run.kind,
            run.site,
            actor=actor,
            dry_run=run.dry_run,
            progress=_progress(ImportRun, run.pk),
        )
    except Exception:
        log.exception("import run %s failed", run.pk)
        ImportRun.objects.filter(pk=run.pk).update(
            state=RunState.FAILED, finished_at=timezone.now(), content=b""
        )
        raise
    state = RunState.REFUSED if outcome.refused else RunState.DONE
    ImportRun.objects.filter(pk=run.pk).update(
        state=state,
        finished_at=timezone.now(),
        content=b"",
        done=F("total"),
        created=outcome.created,
        updated=outcome.updated,
        unchanged=outcome.unchanged,
        errors=[error.as_dict() for error in outcome.errors],
    )
    if not run.dry_run and not outcome.refused:
        audit(
            run,
            actor=actor,
            after={
                "file": run.file_name,
                "kind": run.kind,
                "site": run.site.code,
                "created": outcome.created,
                "updated": outcome.updated,
                "unchanged": outcome.unchanged,
            },
        )
    return state


@shared_task
def run_export(export_id: int) -> str:
    export = ResearchExport.objects.select_related("site", "requested_by").get(pk=export_id)
    ResearchExport.objects.filter(pk=export.pk).update(state=RunState.RUNNING)
    definitions = [name for name in export.definitions if name in PRESETS]
    name = f"research-{export.site.code}-{export.pk}-{timezone.now():%Y%m%dT%H%M%S}.zip"
    try:
        count = write_zip(
            export.site,
            definitions,
            settings.RESEARCH_EXPORT_ROOT / name,
            progress=_progress(ResearchExport, export.pk),
        )
    except Exception as error:
        log.exception("research export %s failed", export.pk)
        ResearchExport.objects.filter(pk=export.pk).update(
            state=RunState.FAILED, finished_at=timezone.now(), message=str(error)
        )
        raise
    ResearchExport.objects.filter(pk=export.pk).update(
        state=RunState.DONE, finished_at=timezone.now(), file_name=name, patients=count
    )
    audit(
        export,
        actor=_actor(export),
        after={"site": export.site.code, "patients": count, "definitions": definitions},
    )
    return RunState.DONE
