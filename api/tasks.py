"""Celery tasks of the API: FHIR bulk exports."""

from __future__ import annotations

from celery import shared_task

from api import bulk_export


@shared_task(name="api.bulk_export")
def run_bulk_export(export_id: int) -> None:
    bulk_export.run(export_id)
