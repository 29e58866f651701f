"""Celery tasks computing the clinic's outcome reports (issue 17).

Pages and the API ask for a report with `request_report()`, which queues its computation
when it is missing or from an earlier day and answers with what is stored; the nightly
sweep queues `refresh_reports` after its batches, so that each site's report and every
filter set asked for lately are current the next morning.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import TypedDict

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from monitoring.clinical.cohort import Filters
from outcomes import cohort
from outcomes.models import CohortReport
from patients.models import Site

log = logging.getLogger(__name__)


class _Retry(TypedDict):
    autoretry_for: tuple[type[BaseException], ...]
    retry_backoff: int
    max_retries: int
    acks_late: bool


# A report is one long query of a site's records: retried when the database went away.
RETRY: _Retry = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 10,
    "max_retries": 3,
    "acks_late": True,
}
# The same low priority as the nightly sweep's batches: a write's evaluation goes first.
REPORT_PRIORITY = 9
# Asked again this soon, a report still being computed is not queued twice.
REQUEUE_AFTER = dt.timedelta(minutes=10)


@shared_task(**RETRY)
def compute_report(sites: str, filters: dict[str, object]) -> bool:
    """Compute and store one report unless the stored one is current; True if computed."""
    chosen = cohort.filters_from_json(filters)
    key = cohort.filters_key(chosen)
    day = timezone.localdate()
    of_sites = cohort.sites_from_key(sites)
    version = cohort.data_version(of_sites, as_of=day)
    stored = CohortReport.objects.filter(sites=sites, filters_key=key).first()
    if stored is not None and stored.payload is not None and stored.data_version == version:
        return False
    started = time.perf_counter()
    payload = cohort.compute(of_sites, chosen, as_of=day)
    CohortReport.objects.update_or_create(
        sites=sites,
        filters_key=key,
        defaults={
            "filters": cohort.filters_json(chosen),
            "data_version": version,
            "as_of": day,
            "computed_at": timezone.now(),
            "seconds": round(time.perf_counter() - started, 3),
            "payload": payload,
        },
        create_defaults={
            "filters": cohort.filters_json(chosen),
            "data_version": version,
            "as_of": day,
            "computed_at": timezone.now(),
            "seconds": round(time.perf_counter() - started, 3),
            "payload": payload,
            "requested_at": timezone.now(),
        },
    )
    return True


@shared_task(**RETRY)
def refresh_reports() -> int:
    """Queue every site's own report and each filter set asked for lately; returns how many
    were queued (each is computed only if its data changed, which a new day always does)."""
    since = timezone.now() - dt.timedelta(days=settings.COHORT_KEEP_DAYS)
    wanted = {(str(pk), "") for pk in Site.objects.values_list("pk", flat=True)}
    recent = CohortReport.objects.filter(requested_at__gte=since)
    filters_of = {}
    for sites, key, filters in recent.values_list("sites", "filters_key", "filters"):
        wanted.add((sites, key))
        filters_of[(sites, key)] = filters
    for sites, key in sorted(wanted):
        filters = filters_of.get((sites, key), cohort.filters_json(Filters()))
        compute_report.apply_async((sites, filters), priority=REPORT_PRIORITY)
    return len(wanted)


def request_report(sites: set[int] | None, filters: Filters) -> CohortReport:
    """The stored report of these sites and filters, after queueing its computation when it
    is missing or from an earlier day (run at once where Celery runs eagerly)."""
    key = cohort.sites_key(sites)
    now = timezone.now()
    report, _ = CohortReport.objects.get_or_create(
        sites=key,
        filters_key=cohort.filters_key(filters),
        defaults={"filters": cohort.filters_json(filters), "requested_at": now},
    )
    stale = report.payload is None or report.as_of != timezone.localdate()
    queued_lately = report.queued_at is not None and now - report.queued_at < REQUEUE_AFTER
    CohortReport.objects.filter(pk=report.pk).update(
        requested_at=now, queued_at=report.queued_at if queued_lately or not stale else now
    )
    if stale and not queued_lately:
        try:
            compute_report.apply_async(
                (key, cohort.filters_json(filters)), priority=REPORT_PRIORITY
            )
        except Exception:
            # The page shows the stored report (or says it is being computed); the nightly
            # refresh computes it.
            log.exception("could not queue the outcomes report of sites %s", key)
        report.refresh_from_db()
    return report
