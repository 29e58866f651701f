"""The neurologist's pages: the cohort dashboard and the alert inbox. They read the stored
status and alerts and never compute; each page runs a fixed number of queries."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from alerts.actions import acknowledge_alert, mark_decidable, resolve_alert
from alerts.models import SEVERITY_ORDER, Alert, AlertState, Rule, Severity
from clinic.safety_worklist import annotate_safety
from clinic.views import patients_for
from outcomes.models import NedaState
from patients.actions import Actor
from patients.models import Therapy

OPEN = ~Q(alerts__state=AlertState.RESOLVED)


def _open_alerts(severity: str) -> Count:
    """The number of the patient's open or acknowledged alerts of one severity."""
    return Count("alerts", filter=OPEN & Q(alerts__severity=severity))


def _by_concern(cohort: QuerySet) -> QuerySet:
    """Open high-severity alerts first, then medium, then NEDA-3 lost or unknown. Select
    only ids and counts from it: the GROUP BY of the alert join takes in every selected
    column, and JSON status columns would make it slow."""
    return cohort.annotate(
        high=_open_alerts(Severity.HIGH),
        medium=_open_alerts(Severity.MEDIUM),
        low=_open_alerts(Severity.LOW),
        neda3_rank=Case(
            When(status__neda3=NedaState.NOT_MET, then=Value(0)),
            When(status__neda3=NedaState.UNKNOWN, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        ),
    ).order_by("-high", "-medium", "neda3_rank", "-low", "mrn")


def _filtered(request: HttpRequest, cohort: QuerySet) -> QuerySet:
    therapy = request.GET.get("therapy")
    if therapy:
        cohort = cohort.filter(status__therapy_course__therapy__code=therapy)
    neda3 = request.GET.get("neda3")
    if neda3 in NedaState.values:
        cohort = cohort.filter(status__neda3=neda3)
    rule = request.GET.get("alert")
    if rule in Rule.values:
        cohort = cohort.filter(
            pk__in=Alert.objects.filter(rule=rule)
            .exclude(state=AlertState.RESOLVED)
            .values("patient_id")
        )
    elif rule == "any":
        cohort = cohort.filter(
            pk__in=Alert.objects.exclude(state=AlertState.RESOLVED).values("patient_id")
        )
    return cohort


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
    cohort = _filtered(request, patients_for(request))
    # Rank ids only, then fetch the page's rows with their status: sorting 10,000 patients
    # should not carry their JSON status along.
    rates = _neda3_rates(cohort)
    paginator = Paginator(_by_concern(cohort).values_list("pk", "high", "medium", "low"), 50)
    # The rates per therapy already counted the cohort: no second count over the alert join.
    paginator.count = sum(rate["patients"] for rate in rates)
    page = paginator.get_page(request.GET.get("page"))
    counts = {pk: (high, medium, low) for pk, high, medium, low in page.object_list}
    rows = (
        cohort.filter(pk__in=counts)
        .select_related("site", "status", "status__therapy_course__therapy")
        .defer("status__scores", "status__brain_volume", "status__definition")
        .in_bulk()
    )
    page.object_list = [rows[pk] for pk in counts]
    for patient in page.object_list:
        patient.high, patient.medium, patient.low = counts[patient.pk]
    annotate_safety(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "clinic/dashboard.html",
        {
            "page": page,
            "query": query.urlencode(),
            "rates": rates,
            "therapies": Therapy.objects.order_by("name"),
            "rules": Rule.choices,
            "states": NedaState.choices,
            "chosen": request.GET,
        },
    )


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "active")
    alerts = Alert.objects.filter(patient__in=patients_for(request))
    if state == "active":
        alerts = alerts.exclude(state=AlertState.RESOLVED)
    elif state in AlertState.values:
        alerts = alerts.filter(state=state)
    # Rank ids only, then fetch the page's alerts: the sort should not carry every alert's
    # evidence along.
    ranked = alerts.annotate(severity_rank=SEVERITY_ORDER).order_by(
        "severity_rank", "-raised_at", "-id"
    )
    page = Paginator(ranked.values_list("pk", flat=True), 50).get_page(request.GET.get("page"))
    rows = Alert.objects.select_related(
        "patient", "patient__site", "acknowledged_by", "resolved_by"
    ).in_bulk(list(page.object_list))
    page.object_list = [rows[pk] for pk in page.object_list]
    mark_decidable(request.user, page.object_list)
    return render(
        request, "clinic/inbox.html", {"page": page, "state": state, "states": AlertState.choices}
    )


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
