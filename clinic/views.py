"""The clinic in the browser: find a patient, enter data, see the patient's course."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from alerts import words
from alerts.actions import mark_decidable
from alerts.models import Alert, AlertState
from clinic import forms, plots, safety_forms
from clinic.safety_card import safety_card
from monitoring.clinical.definitions import DEFAULT_PRESET, PRESETS, definition
from monitoring.clinical.explain import explain_definition, explain_treatment_rules
from monitoring.clinical.safety import (
    BRAIN_MRI,
    JCV_INDEX,
    THERAPY_ACTION_WORDS,
    TherapyAction,
)
from monitoring.clinical.safety import Pregnancy as EnginePregnancy
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
from outcomes.documents import NedaWindowDocument, ProgressionEvent, StatusDocuments
from outcomes.events import computed_events, stored_events
from outcomes.models import ChangeKind, PatientStatus, StatusChange
from patients import search
from patients.actions import Actor, mark_entered_in_error, record_read, save_record
from patients.models import ClinicalRecord, Patient, Site, TherapyCourse
from patients.policy import Action, can
from patients.reads import record_reads


@dataclass(frozen=True, slots=True)
class RecordKind:
    """A kind of clinical record as the patient page lists, enters and corrects it."""

    model: type[ClinicalRecord]
    new_form: type[ModelForm]
    edit_form: type[ModelForm]
    name: str


RECORD_KINDS: dict[str, RecordKind] = {
    "visit": RecordKind(Visit, forms.VisitForm, forms.VisitForm, "visit"),
    "relapse": RecordKind(Relapse, forms.RelapseForm, forms.RelapseForm, "relapse"),
    "mri": RecordKind(MriScan, forms.MriScanForm, forms.MriScanForm, "MRI result"),
    "nfl": RecordKind(NflSample, forms.NflSampleForm, forms.NflSampleForm, "NfL result"),
    "therapy": RecordKind(
        TherapyCourse, forms.TherapyStartForm, forms.TherapyEditForm, "therapy course"
    ),
    "jcv": RecordKind(
        LabResult, safety_forms.JcvResultForm, safety_forms.LabResultForm, "JCV antibody result"
    ),
    "lab": RecordKind(
        LabResult, safety_forms.LabResultForm, safety_forms.LabResultForm, "lab result"
    ),
    "adverse-event": RecordKind(
        AdverseEvent, safety_forms.AdverseEventForm, safety_forms.AdverseEventForm, "adverse event"
    ),
    "pregnancy": RecordKind(
        Pregnancy, safety_forms.PregnancyForm, safety_forms.PregnancyForm, "pregnancy"
    ),
    "comorbidity": RecordKind(
        Comorbidity, safety_forms.ComorbidityForm, safety_forms.ComorbidityForm, "comorbidity"
    ),
}
NEW_TITLES = {
    "visit": "New visit",
    "relapse": "New relapse",
    "mri": "New MRI result",
    "nfl": "New NfL result",
    "therapy": "Start a therapy",
    "jcv": "New JCV antibody result",
    "lab": "New lab result",
    "adverse-event": "New adverse event",
    "pregnancy": "New pregnancy",
    "comorbidity": "New comorbidity",
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
        patients = patients.filter(search.matching(query))
    page = Paginator(patients, 50).get_page(request.GET.get("page"))
    record_reads(page.object_list, actor=Actor.of(request.user), what="patients", query=request.GET)
    return render(request, "clinic/patient_list.html", {"page": page, "query": query})


@login_required
def patient_new(request: HttpRequest) -> HttpResponse:
    sites = Site.objects.visible_to(request.user).order_by("code")
    form = forms.PatientForm(request.POST or None, sites=sites)
    if (patient := _saved(request, form)) is not None:
        messages.success(request, f"Patient {patient.mrn} registered.")
        return redirect("patient-page", public_id=patient.public_id)
    return render(
        request, "clinic/patient_form.html", {"form": form, "title": "Register a patient"}
    )


@login_required
def patient_edit(request: HttpRequest, public_id: Any) -> HttpResponse:
    patient = _patient(request, public_id)
    form = forms.PatientForm(request.POST or None, instance=patient, sites=Site.objects.none())
    if _saved(request, form) is not None:
        messages.success(request, f"Details of {patient.mrn} saved.")
        return redirect("patient-page", public_id=patient.public_id)
    return render(
        request,
        "clinic/patient_form.html",
        {"form": form, "patient": patient, "title": f"Details of {patient.mrn}"},
    )


def _kind(kind: str) -> RecordKind:
    if kind not in RECORD_KINDS:
        raise Http404("unknown record kind")
    return RECORD_KINDS[kind]


def _record(patient: Patient, kind: RecordKind, record_id: Any) -> ClinicalRecord:
    """A record of the patient that is still in use (one in error is not corrected)."""
    return get_object_or_404(kind.model.objects.filter(patient=patient), public_id=record_id)


@login_required
def record_new(request: HttpRequest, public_id: Any, kind: str) -> HttpResponse:
    record_kind = _kind(kind)
    patient = _patient(request, public_id)
    instance = record_kind.model(patient=patient)
    form = record_kind.new_form(request.POST or None, instance=instance)
    return _save_form(request, patient, form, NEW_TITLES[kind], f"{record_kind.name} saved")


@login_required
def record_edit(request: HttpRequest, public_id: Any, kind: str, record_id: Any) -> HttpResponse:
    record_kind = _kind(kind)
    patient = _patient(request, public_id)
    record = _record(patient, record_kind, record_id)
    form = record_kind.edit_form(request.POST or None, instance=record)
    return _save_form(request, patient, form, f"Correct {record}", "correction saved")


@login_required
def record_error(request: HttpRequest, public_id: Any, kind: str, record_id: Any) -> HttpResponse:
    """Mark a record entered in error: kept, with who, when and why, out of every result."""
    record_kind = _kind(kind)
    patient = _patient(request, public_id)
    record = _record(patient, record_kind, record_id)
    form = forms.EnteredInErrorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            mark_entered_in_error(
                record, actor=Actor.of(request.user), reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            form.add_error("reason", error.message_dict["entered_in_error_reason"])
        else:
            messages.success(request, f"{_sentence(str(record))} marked entered in error.")
            return redirect("patient-page", public_id=patient.public_id)
    return render(
        request,
        "clinic/record_form.html",
        {
            "patient": patient,
            "form": form,
            "title": f"Mark {record} entered in error",
            "button": "Mark entered in error",
        },
    )


@login_required
def therapy_stop(request: HttpRequest, public_id: Any, course_id: Any) -> HttpResponse:
    patient = _patient(request, public_id)
    course: TherapyCourse = get_object_or_404(patient.therapy_courses, public_id=course_id)
    form = forms.TherapyStopForm(request.POST or None, instance=course)
    return _save_form(request, patient, form, f"Stop {course.therapy}", "therapy stop saved")


def _saved(request: HttpRequest, form: ModelForm) -> Any:
    """A posted form's record saved through the one write action (validated, audited,
    evaluated), or None with the reasons on the form."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return save_record(form.instance, actor=Actor.of(request.user))
    except ValidationError as error:
        form.add_error(None, error)
        return None


def _sentence(text: str) -> str:
    """The first letter in capitals, the rest as written (str.capitalize would write "Mri"
    and lower a term's own capitals)."""
    return text[:1].upper() + text[1:]


def _save_form(
    request: HttpRequest, patient: Patient, form: ModelForm, title: str, saved: str
) -> HttpResponse:
    if _saved(request, form) is not None:
        messages.success(request, f"{_sentence(saved)} for {patient.mrn}.")
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
    pregnancies = list(patient.pregnancies.order_by("start"))
    adverse_events = list(
        patient.adverse_events.select_related("suspected_therapy").order_by("date")
    )
    comorbidities = list(patient.comorbidities.order_by("onset"))
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
        (r.updated_at for r in [*visits, *relapses, *scans, *nfl, *courses, *pregnancies]),
        default=None,
    )
    current = next((c for c in reversed(courses) if c.end is None), None)
    functional = request.GET.get("functional") == "1"
    labs = request.GET.get("labs") == "1"
    safety = safety_card(patient, today, nfl)
    status_changes = list(patient.status_changes.all())
    window = documents.neda.rolling_12_months if documents else None
    context = {
        "patient": patient,
        "age": patient.age_on(today),
        "onset": patient.symptom_onset or patient.diagnosis_date,
        "visits": visits,
        "last_visit": visits[-1] if visits else None,
        "relapses": relapses,
        "scans": scans,
        "nfl": nfl,
        "courses": courses,
        "pregnancies": pregnancies,
        "adverse_events": adverse_events,
        "comorbidities": comorbidities,
        "safety": safety,
        "current": current,
        "status": status,
        "unknown3": words.unknown_parts(window, ("relapse", "disability", "mri")),
        "unknown4": words.unknown_parts(window, ("relapse", "disability", "mri", "atrophy")),
        "open_alerts": _open_by_severity(alerts),
        "due": _due(status, safety),
        "status_windows": _windows(documents) if documents else [],
        "documents": documents,
        "status_changes": status_changes[:20],
        "recomputing": changed is not None and (status is None or status.computed_at < changed),
        "alerts": alerts,
        "events": events,
        "from_status": status is not None and chosen == stored,
        "definitions": list(PRESETS),
        "chosen": chosen,
        "decides": decides,
        "functional": functional,
        "labs": labs,
        "definition_text": "\n".join(
            (explain_definition(definition(chosen)), explain_treatment_rules())
        ),
        "timeline": plots.timeline(
            _timeline(
                patient,
                visits,
                relapses,
                scans,
                nfl,
                courses,
                pregnancies,
                status,
                events,
                today,
                safety=Safety(adverse_events, comorbidities, status_changes, safety["labs"]),
            ),
            functional=functional,
            labs=labs,
        ),
    }
    return render(request, "clinic/patient_detail.html", context)


def _windows(documents: StatusDocuments) -> list[NedaWindowDocument]:
    """The windows a clinician reads first: the last 12 months, since re-baseline, then the
    three latest calendar years, newest first."""
    neda = documents.neda
    leading = [w for w in (neda.rolling_12_months, neda.since_rebaseline) if w is not None]
    return leading + documents.calendar_years[-3:][::-1]


def _open_by_severity(alerts: list[Alert]) -> list[tuple[str, int]]:
    """Counts of unresolved alerts, high first, leaving out severities with none."""
    counts = Counter(a.severity for a in alerts if a.state != AlertState.RESOLVED)
    return [
        (severity, counts[severity]) for severity in ("high", "medium", "low") if counts[severity]
    ]


# The overview's first screen names this many of the safety protocol's tests; the safety
# card lists them all.
SAFETY_DUE_SHOWN = 3


def _due(status: PatientStatus | None, safety: dict[str, Any]) -> list[tuple[dt.date, str]]:
    """What monitoring is due, soonest first: MRI, EDSS and JCV from the stored status, and
    the soonest other tests of the therapy's safety protocol (MRI and JCV are the status's)."""
    due = (
        [(status.mri_due, "MRI"), (status.edss_due, "EDSS visit"), (status.jcv_due, "JCV test")]
        if status
        else []
    )
    tests = [
        (d.due, d.item.label or d.item.analyte)
        for d in safety["due"]
        if d.item.analyte not in (JCV_INDEX, BRAIN_MRI)
    ]
    return sorted(
        [*((day, what) for day, what in due if day is not None), *tests[:SAFETY_DUE_SHOWN]]
    )


@dataclass(frozen=True, slots=True)
class Safety:
    """What the timeline draws beside the course: adverse events, comorbidities, the stored
    status's changes (newest first, as read for the page) and the safety card's lab rows."""

    adverse_events: list[AdverseEvent]
    comorbidities: list[Comorbidity]
    status_changes: list[StatusChange]
    lab_rows: list[dict[str, Any]]


# A change of status that is bad news: drawn pointing down.
WORSE = {
    ChangeKind.NEDA3_LOST,
    ChangeKind.NEDA4_LOST,
    ChangeKind.PIRA_SEEN,
    ChangeKind.RAW_SEEN,
    ChangeKind.CDW_SEEN,
}


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _postpartum_end(p: Pregnancy) -> dt.date | None:
    """The engine's last day of the gap in therapy a pregnancy explains [§7.2], if any."""
    gap = EnginePregnancy(p.start, p.end, TherapyAction(p.therapy_action))
    return gap.gap_end if gap.explains_gaps else None


def _timeline(
    patient: Patient,
    visits: list[Visit],
    relapses: list[Relapse],
    scans: list[MriScan],
    nfl: list[NflSample],
    courses: list[TherapyCourse],
    pregnancies: list[Pregnancy],
    status: PatientStatus | None,
    events: list[ProgressionEvent],
    today: dt.date,
    safety: Safety,
) -> plots.Timeline:
    dates = [v.date for v in visits] + [s.date for s in scans] + [n.date for n in nfl]
    dates += [c.start for c in courses] + [p.start for p in pregnancies]
    dates += [e.date for e in safety.adverse_events] + [row["date"] for row in safety.lab_rows]
    # Not the comorbidities' onsets: one that began decades before the MS would squeeze the
    # course into a corner (the records table lists them all).
    start = min(dates, default=today - dt.timedelta(days=365))
    start = dt.date(start.year, 1, 1)
    # The re-baseline the engine stored with the status: one source for page and alerts.
    rebaseline = status.rebaseline_date if status else None
    edss = {v.date: float(v.edss) for v in visits}
    return plots.Timeline(
        start=start,
        end=today,
        birth_date=patient.birth_date,
        edss=list(edss.items()),
        relapses=[r.onset for r in relapses],
        courses=[plots.Course(c.start, c.end, str(c.therapy)) for c in courses],
        rebaseline=rebaseline,
        # Drawn on the EDSS panel: events of another outcome (T25FW, 9HPT) are in the table.
        changes=[
            plots.Change(
                e.cdw_type or "CDI",
                (e.baseline.date, edss[e.baseline.date]),
                (e.onset.date, edss[e.onset.date]),
                (e.confirmation.date, edss.get(e.confirmation.date, edss[e.onset.date])),
            )
            for e in events
            if e.baseline.date in edss
            and e.onset.date in edss
            and edss[e.onset.date] == e.onset.value
        ],
        scans=[
            plots.Scan(
                s.date,
                s.new_t2,
                s.gd_enhancing,
                float(s.pbvc) if s.pbvc is not None else None,
            )
            for s in scans
        ],
        nfl=[plots.Nfl(n.date, float(n.value), n.matrix, n.assay) for n in nfl],
        pregnancies=[
            plots.Pregnancy(
                p.start,
                p.end,
                p.due_date,
                p.get_outcome_display(),
                THERAPY_ACTION_WORDS[TherapyAction(p.therapy_action)],
                _postpartum_end(p),
            )
            for p in pregnancies
        ],
        functional=[
            plots.Functional(
                v.date,
                float(v.t25fw) if v.t25fw is not None else None,
                float(v.nhpt) if v.nhpt is not None else None,
                v.sdmt,
            )
            for v in visits
        ],
        status_flips=[
            plots.StatusFlip(c.as_of, c.get_kind_display(), c.explanation, c.kind in WORSE)
            for c in reversed(safety.status_changes)  # oldest first: a day's in order
        ],
        adverse_events=[
            plots.AdverseEvent(
                e.date,
                e.term,
                e.serious,
                str(e.suspected_therapy) if e.suspected_therapy else "",
                e.get_outcome_display(),
            )
            for e in safety.adverse_events
        ],
        comorbidities=[
            plots.Comorbidity(m.onset, m.resolved, m.condition) for m in safety.comorbidities
        ],
        labs=[
            plots.Lab(
                lab.date,
                lab.analyte.name,
                lab.unit,
                float(lab.value),
                _number(lab.lower_limit),
                _number(lab.upper_limit),
                row["text"],
                row["out_of_range"],
                row["reason"],
            )
            for row in safety.lab_rows
            if (lab := row["record"]) is not None and lab.value is not None
        ],
    )
