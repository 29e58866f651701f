"""The clinic in the browser: find a patient, enter data, see the patient's course."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from alerts.actions import mark_decidable
from clinic import forms, plots, safety_forms
from monitoring.clinical import thresholds as t
from monitoring.clinical.definitions import DEFAULT_PRESET, PRESETS, definition
from monitoring.clinical.explain import explain_definition
from monitoring.clinical.nfl import simren_limit
from monitoring.models import MriScan, NflSample, Relapse, Visit
from outcomes.documents import NedaWindowDocument, ProgressionEvent, StatusDocuments
from outcomes.events import computed_events, stored_events
from outcomes.models import PatientStatus
from patients.actions import Actor, record_read, save_record
from patients.models import Patient, TherapyCourse
from patients.policy import Action, can

ENTRY_FORMS: dict[str, tuple[type[ModelForm], str]] = {
    "visit": (forms.VisitForm, "New visit"),
    "relapse": (forms.RelapseForm, "New relapse"),
    "mri": (forms.MriScanForm, "New MRI result"),
    "nfl": (forms.NflSampleForm, "New NfL result"),
    "therapy": (forms.TherapyStartForm, "Start a therapy"),
    "jcv": (safety_forms.JcvResultForm, "New JCV antibody result"),
    "lab": (safety_forms.LabResultForm, "New lab result"),
    "adverse-event": (safety_forms.AdverseEventForm, "New adverse event"),
    "pregnancy": (safety_forms.PregnancyForm, "New pregnancy"),
}


def patients_for(request: HttpRequest) -> QuerySet[Patient]:
    """The user's patients, narrowed to the site chosen in the site switcher."""
    patients = Patient.objects.visible_to(request.user)
    site = request.session.get("site")
    return patients.filter(site__code=site) if site else patients


def _patient(request: HttpRequest, public_id: Any) -> Patient:
    return get_object_or_404(patients_for(request).select_related("site"), public_id=public_id)


@login_required
def patient_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    patients = patients_for(request).select_related("site").order_by("mrn")
    if query:
        patients = patients.filter(Q(mrn__icontains=query) | Q(display_name__icontains=query))
    page = Paginator(patients, 50).get_page(request.GET.get("page"))
    return render(request, "clinic/patient_list.html", {"page": page, "query": query})


@login_required
def record_new(request: HttpRequest, public_id: Any, kind: str) -> HttpResponse:
    if kind not in ENTRY_FORMS:
        raise Http404("unknown record kind")
    patient = _patient(request, public_id)
    form_class, title = ENTRY_FORMS[kind]
    instance = form_class._meta.model(patient=patient)
    return _save_form(request, patient, form_class(request.POST or None, instance=instance), title)


@login_required
def therapy_stop(request: HttpRequest, public_id: Any, course_id: Any) -> HttpResponse:
    patient = _patient(request, public_id)
    course = get_object_or_404(patient.therapy_courses, public_id=course_id)
    form = forms.TherapyStopForm(request.POST or None, instance=course)
    return _save_form(request, patient, form, f"Stop {course.therapy}")


def _save_form(request: HttpRequest, patient: Patient, form: ModelForm, title: str) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        try:
            save_record(form.instance, actor=Actor.of(request.user))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("patient-page", public_id=patient.public_id)
    return render(
        request, "clinic/record_form.html", {"patient": patient, "form": form, "title": title}
    )


@login_required
def patient_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    patient = _patient(request, public_id)
    record_read(patient, actor=Actor.of(request.user))
    visits = list(patient.visits.order_by("date"))
    relapses = list(patient.relapses.order_by("onset"))
    scans = list(patient.mri_scans.order_by("date"))
    nfl = list(patient.nfl_samples.order_by("date"))
    courses = list(patient.therapy_courses.select_related("therapy").order_by("start"))
    status = PatientStatus.objects.filter(patient=patient).first()
    documents = StatusDocuments.of(status) if status else None
    alerts = list(
        patient.alerts.select_related("acknowledged_by", "resolved_by").order_by(
            "state", "-raised_at"
        )
    )
    mark_decidable(request.user, alerts)
    decides = can(request.user, Action.CHOOSE_DEFINITION, patient)
    today = timezone.localdate()
    stored = status.definition.get("name") if status else None
    asked = request.GET.get("definition")
    if asked and asked not in PRESETS:
        return HttpResponseBadRequest(
            f"Unknown definition {asked!r}; known: {', '.join(PRESETS)}".encode()
        )
    # Choosing another definition is a neurologist's decision, refused as the API refuses it.
    if asked and asked not in (stored, DEFAULT_PRESET) and not decides:
        raise PermissionDenied("only a neurologist may choose a progression definition")
    chosen = asked or stored or DEFAULT_PRESET
    # Reads show the stored status; only another definition, asked for, is computed here.
    if status is not None and chosen == stored:
        events = stored_events(status)
    else:
        events = computed_events(visits, relapses, definition(chosen))
    changed = max(
        (r.updated_at for r in [*visits, *relapses, *scans, *nfl, *courses]), default=None
    )
    context = {
        "patient": patient,
        "age": patient.age_on(today),
        "visits": visits,
        "courses": courses,
        "status": status,
        "status_windows": _windows(documents) if documents else [],
        "documents": documents,
        "status_changes": list(patient.status_changes.all()[:20]),
        "recomputing": changed is not None and (status is None or status.computed_at < changed),
        "alerts": alerts,
        "events": events,
        "from_status": status is not None and chosen == stored,
        "definitions": list(PRESETS),
        "chosen": chosen,
        "decides": decides,
        "definition_text": explain_definition(definition(chosen)),
        "plots": _plots(
            patient,
            visits,
            relapses,
            scans,
            nfl,
            courses,
            events,
            status.rebaseline_date if status else None,
            today,
        ),
    }
    return render(request, "clinic/patient_detail.html", context)


def _windows(documents: StatusDocuments) -> list[NedaWindowDocument]:
    """The windows a clinician reads first: the last 12 months, since re-baseline, then the
    three latest calendar years, newest first."""
    neda = documents.neda
    leading = [w for w in (neda.rolling_12_months, neda.since_rebaseline) if w is not None]
    return leading + documents.calendar_years[-3:][::-1]


def _plots(
    patient: Patient,
    visits: list[Visit],
    relapses: list[Relapse],
    scans: list[MriScan],
    nfl: list[NflSample],
    courses: list[TherapyCourse],
    events: list[ProgressionEvent],
    rebaseline: dt.date | None,
    today: dt.date,
) -> dict[str, str]:
    dates = [v.date for v in visits] + [s.date for s in scans] + [n.date for n in nfl]
    start = min(dates + [c.start for c in courses], default=today - dt.timedelta(days=365))
    start = dt.date(start.year, 1, 1)
    bands = [plots.Band(c.start, c.end or today, str(c.therapy)) for c in courses]
    markers = [plots.Marker(r.onset, "relapse", "relapse") for r in relapses]
    if rebaseline is not None:
        markers.append(plots.Marker(rebaseline, "re-baseline", "rebaseline"))
    limit = simren_limit(patient.age_on(today))
    return {
        "edss": plots.timeline(
            [(v.date, float(v.edss)) for v in visits],
            changes=[
                plots.Change(
                    (e.baseline.date, e.baseline.value or 0.0),
                    (e.onset.date, e.onset.value or 0.0),
                    e.confirmation.date,
                    e.cdw_type or "CDI",
                    (e.cdw_type or "improvement").lower(),
                )
                for e in events
            ],
            title="EDSS",
            start=start,
            end=today,
            low=0,
            high=10,
            ticks=[0, 2, 4, 6, 8, 10],
            bands=bands,
            markers=markers,
        ),
        "mri": plots.bars(
            [(s.date, s.new_t2 + s.gd_enhancing) for s in scans],
            title="MRI activity (new/enlarging T2 + Gd-enhancing lesions)",
            start=start,
            end=today,
            ticks=[0, 2, 4, 6],
        ),
        "pbvc": plots.timeline(
            [(s.date, float(s.pbvc)) for s in scans if s.pbvc is not None],
            title="Brain volume change per scan (%)",
            start=start,
            end=today,
            low=-2.0,
            high=1.0,
            ticks=[-2, -1, 0, 1],
            unit="%",
            reference=t.NEDA4_PBVC_PER_YEAR,
            reference_label="-0.4 %/year (NEDA-4)",
        ),
        "nfl": plots.timeline(
            [(n.date, float(n.value)) for n in nfl if n.matrix != "csf"],
            title="Serum NfL (pg/mL)",
            start=start,
            end=today,
            low=0,
            high=max([40.0] + [float(n.value) * 1.1 for n in nfl if n.matrix != "csf"]),
            ticks=[0, 10, 20, 30, 40],
            reference=limit,
            reference_label=f"age limit {limit:g} pg/mL" if limit else "",
        ),
    }
