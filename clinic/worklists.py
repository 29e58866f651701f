"""The neurologist's pages: the cohort dashboard and the alert inbox. They read the stored
status and alerts and never compute; each page runs a fixed number of queries."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page
from django.db.models import Count, F, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from alerts.actions import acknowledge_alert, mark_decidable, resolve_alert
from alerts.models import Alert, AlertState, Rule, Severity
from clinic.paging import CappedPaginator
from clinic.safety_worklist import annotate_safety
from clinic.views import patients_for
from outcomes.models import NedaState
from patients import search
from patients.actions import Actor
from patients.models import Site, Therapy
from patients.reads import record_reads

OPEN = ~Q(alerts__state=AlertState.RESOLVED)


def _by_concern(cohort: QuerySet) -> QuerySet:
    """Open high-severity alerts first, then medium, then NEDA-3 lost or unknown, then low
    (`alerts.concern`, kept on the patient row and indexed)."""
    return cohort.order_by("-concern", "mrn", "pk")


# The dashboard's sort orders: each on a stored, indexed column (patients.Patient keeps the
# latest visit, the rank of concern and the next due date), the patient's id last so that
# pages never overlap.
SORTS: dict[str, tuple[str, list[Any]]] = {
    "concern": ("concern", []),
    "edss": ("current EDSS", [F("last_edss").desc(nulls_last=True)]),
    "last_visit": ("last visit", [F("last_visit").asc(nulls_first=True)]),
    "next_due": ("next due", [F("next_due").asc(nulls_last=True)]),
    "age": ("age", [F("birth_date").asc()]),
    "therapy": ("therapy", [F("therapy_name").asc(nulls_last=True)]),
}


class Refused(ValueError):
    """A filter value that names nothing: the page says so instead of ignoring it."""


def _choice(request: HttpRequest, name: str, allowed: Any, what: str) -> str:
    value = request.GET.get(name, "")
    if value and value not in allowed:
        raise Refused(f"{what} “{value}” is not one of the choices; it was not applied.")
    return value


def _filtered(request: HttpRequest, cohort: QuerySet) -> tuple[QuerySet, list[str]]:
    """The cohort narrowed by the valid filters, and a message for each invalid one."""
    refused: list[str] = []
    checks = (
        ("therapy", Therapy.objects.values_list("code", flat=True), "Therapy"),
        ("neda3", NedaState.values, "NEDA-3 state"),
        ("alert", [*Rule.values, "any"], "Alert rule"),
    )
    chosen: dict[str, str] = {}
    for name, allowed, what in checks:
        try:
            chosen[name] = _choice(request, name, set(allowed), what)
        except Refused as error:
            refused.append(str(error))
    if chosen.get("therapy"):
        cohort = cohort.filter(status__therapy_course__therapy__code=chosen["therapy"])
    if chosen.get("neda3"):
        cohort = cohort.filter(status__neda3=chosen["neda3"])
    rule = chosen.get("alert")
    if rule:
        unresolved = Alert.objects.exclude(state=AlertState.RESOLVED)
        if rule != "any":
            unresolved = unresolved.filter(rule=rule)
        cohort = cohort.filter(pk__in=unresolved.values("patient_id"))
    query = request.GET.get("q", "").strip()
    if query:
        cohort = cohort.filter(search.matching(query))
    return cohort, refused


def _sorted(cohort: QuerySet, sort: str) -> QuerySet:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key == "concern":
        ranked = _by_concern(cohort)
        return ranked.reverse() if descending else ranked
    order = [o.copy() for o in SORTS[key][1]]
    if descending:
        # Reversed, patients without the value go last (unknown is not "lowest EDSS").
        for expression in order:
            expression.descending = not expression.descending
            expression.nulls_first, expression.nulls_last = None, True
    return cohort.order_by(*order, "pk")


def _open_counts(ids: list[int]) -> dict[int, dict[str, int]]:
    """Open alerts by severity of the page's patients, in one query."""
    counts: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    rows = (
        Alert.objects.filter(patient_id__in=ids)
        .exclude(state=AlertState.RESOLVED)
        .values_list("patient_id", "severity")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for patient_id, severity, n in rows:
        counts[patient_id][severity] = n
    return counts


def _neda3_rates(cohort: QuerySet) -> list[dict[str, Any]]:
    """NEDA-3 over the last 12 months per current therapy: met / known, with unknown apart."""
    rows = (
        cohort.order_by()
        .values("status__therapy_course__therapy__name")
        .annotate(
            met=Count("pk", filter=Q(status__neda3=NedaState.MET)),
            not_met=Count("pk", filter=Q(status__neda3=NedaState.NOT_MET)),
            total=Count("pk"),
        )
        .order_by("status__therapy_course__therapy__name")
    )
    rates = []
    for row in rows:
        known = row["met"] + row["not_met"]
        rates.append(
            {
                "therapy": row["status__therapy_course__therapy__name"] or "no therapy",
                "met": row["met"],
                "known": known,
                "unknown": row["total"] - known,  # unknown NEDA, or not yet evaluated
                "rate": round(100 * row["met"] / known) if known else None,
                "patients": row["total"],
            }
        )
    return rates


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    cohort, refused = _filtered(request, patients_for(request))
    sort = request.GET.get("sort") or "concern"
    if sort.lstrip("-") not in SORTS:
        refused.append(f"Sorting by “{sort}” is not possible; sorted by concern instead.")
        sort = "concern"
    for message in refused:
        messages.warning(request, message)
    # Rank ids only, then fetch the page's rows with their status: sorting 100,000 patients
    # should not carry their JSON status along.
    paginator = CappedPaginator(_sorted(cohort, sort).values_list("pk", flat=True), 50)
    page = paginator.get_page(request.GET.get("page"))
    ids = list(page.object_list)
    counts = _open_counts(ids)
    rows = (
        cohort.filter(pk__in=ids)
        .select_related("site", "status", "status__therapy_course__therapy")
        .defer("status__scores", "status__brain_volume", "status__definition")
        .in_bulk()
    )
    today = timezone.localdate()
    page.object_list = [rows[pk] for pk in ids]
    for patient in page.object_list:
        open_alerts = counts[patient.pk]
        patient.high, patient.medium, patient.low = (
            open_alerts.get(Severity.HIGH, 0),
            open_alerts.get(Severity.MEDIUM, 0),
            open_alerts.get(Severity.LOW, 0),
        )
        patient.age = patient.age_on(today)
    annotate_safety(page.object_list)
    actor = Actor.of(request.user)
    record_reads(page.object_list, actor=actor, what="dashboard", query=request.GET)
    query = request.GET.copy()
    query.pop("page", None)
    by_sort = request.GET.copy()
    by_sort.pop("page", None)
    by_sort.pop("sort", None)
    return render(
        request,
        "clinic/dashboard.html",
        {
            "page": page,
            "today": today,
            "query": query.urlencode(),
            "sort_query": by_sort.urlencode(),
            "sort": sort,
            "sorts": {key: label for key, (label, _) in SORTS.items()},
            "therapies": Therapy.objects.order_by("name"),
            "rules": Rule.choices,
            "states": NedaState.choices,
            "chosen": request.GET,
            "search": request.GET.get("q", ""),
        },
    )


@login_required
def rates(request: HttpRequest) -> HttpResponse:
    """The cohort's NEDA-3 by current therapy, on a page of its own: counting the whole
    cohort is not the dashboard's first screen."""
    cohort, refused = _filtered(request, patients_for(request))
    for message in refused:
        messages.warning(request, message)
    return render(
        request,
        "clinic/rates.html",
        {
            "rates": _neda3_rates(cohort),
            "therapies": Therapy.objects.order_by("name"),
            "states": NedaState.choices,
            "chosen": request.GET,
        },
    )


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """The worklist: unresolved alerts grouped by patient, most severe first."""
    patients = patients_for(request)
    sites = list(Site.objects.visible_to(request.user).order_by("code"))
    checks = (
        ("state", [*AlertState.values, "active", "all"], "Alert state"),
        ("severity", Severity.values, "Severity"),
        ("rule", Rule.values, "Alert"),
        ("site", [s.code for s in sites], "Site"),
    )
    chosen = {"state": "active", "patient": request.GET.get("patient", "").strip()}
    for name, allowed, what in checks:
        try:
            chosen[name] = _choice(request, name, set(allowed), what) or chosen.get(name, "")
        except Refused as error:
            messages.warning(request, str(error))
    if chosen.get("site"):
        patients = patients.filter(site__code=chosen["site"])
    if chosen["patient"]:
        patients = patients.filter(search.matching(chosen["patient"]))
    alerts = Alert.objects.filter(patient__in=patients)
    if chosen["state"] == "active":
        # With those cleared before a neurologist saw them, until one acknowledges them.
        alerts = alerts.filter(~Q(state=AlertState.RESOLVED) | Q(cleared_unseen=True))
    elif chosen["state"] != "all":
        alerts = alerts.filter(state=chosen["state"])
    if chosen.get("severity"):
        alerts = alerts.filter(severity=chosen["severity"])
    if chosen.get("rule"):
        alerts = alerts.filter(rule=chosen["rule"])
    # Rank ids only, then fetch the page's alerts: the sort should not carry every alert's
    # evidence along.
    ranked = alerts.order_by("severity_rank", "-raised_at", "-id")  # the index alert_worklist
    # The page of ids becomes the page of their alerts.
    page: Page[Any] = CappedPaginator(ranked.values_list("pk", flat=True), 50).get_page(
        request.GET.get("page")
    )
    rows = Alert.objects.select_related(
        "patient", "patient__site", "acknowledged_by", "resolved_by"
    ).in_bulk(list(page.object_list))
    on_page = [rows[pk] for pk in page.object_list]
    page.object_list = on_page
    mark_decidable(request.user, on_page)
    record_reads(on_page, actor=Actor.of(request.user), what="inbox", query=request.GET)
    # A patient's alerts together, the patients in the order of their most severe alert.
    groups: dict[int, dict[str, Any]] = {}
    for alert in on_page:
        groups.setdefault(alert.patient_id, {"patient": alert.patient, "alerts": []})
        groups[alert.patient_id]["alerts"].append(alert)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "clinic/inbox.html",
        {
            "page": page,
            "groups": list(groups.values()),
            "chosen": chosen,
            "query": query.urlencode(),
            "states": AlertState.choices,
            "severities": [(value, label) for value, label in reversed(Severity.choices)],
            "rules": Rule.choices,
            "sites": sites,
        },
    )


@login_required
@require_POST
def acknowledge_many(request: HttpRequest) -> HttpResponse:
    """Acknowledge the alerts ticked on the worklist, each through the one action (audited,
    checked for the role)."""
    chosen = request.POST.getlist("alert")
    try:
        wanted = [uuid.UUID(value) for value in chosen]
    except ValueError:
        messages.error(request, "The selection named an alert that does not exist.")
        return _back(request)
    alerts = Alert.objects.filter(patient__in=patients_for(request), public_id__in=wanted)
    done = refused = 0
    for alert in alerts.select_related("patient"):
        try:
            acknowledge_alert(alert, actor=Actor.of(request.user))
        except PermissionDenied:
            refused += 1
        else:
            done += 1
    if not wanted:
        messages.warning(request, "No alert was selected.")
    else:
        messages.success(request, f"{done} alert{pluralize(done)} acknowledged.")
    if refused or len(wanted) > done + refused:
        messages.error(
            request, f"{len(wanted) - done} selected alert(s) could not be acknowledged by you."
        )
    return _back(request)


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = "/alerts/"
    return redirect(target or "/alerts/")


def _alert(request: HttpRequest, public_id: Any) -> Alert:
    return get_object_or_404(
        Alert.objects.filter(patient__in=patients_for(request)), public_id=public_id
    )


@login_required
@require_POST
def acknowledge(request: HttpRequest, public_id: Any) -> HttpResponse:
    try:
        acknowledge_alert(_alert(request, public_id), actor=Actor.of(request.user))
    except PermissionDenied as denied:
        messages.error(request, str(denied))
    return _back(request)


@login_required
@require_POST
def resolve(request: HttpRequest, public_id: Any) -> HttpResponse:
    try:
        resolve_alert(
            _alert(request, public_id),
            actor=Actor.of(request.user),
            note=request.POST.get("resolution_note", ""),
        )
    except (PermissionDenied, ValidationError) as refused:
        messages.error(request, "; ".join(getattr(refused, "messages", [str(refused)])))
    return _back(request)
