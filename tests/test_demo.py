from __future__ import annotations

import io
import itertools
import random

import pytest
from django.core.management import call_command
from django.utils import timezone

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
from patients.demo import INDUCTION, PLATFORM, demo_patient, edss_step
from patients.models import AuditEvent, Membership, Patient, TherapyCourse
from tests.factories import signs_in

pytestmark = pytest.mark.django_db
MODELS = [
    Visit,
    Relapse,
    MriScan,
    NflSample,
    TherapyCourse,
    LabResult,
    AdverseEvent,
    Pregnancy,
    Comorbidity,
]


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def test_seed_loads_a_valid_cohort_with_users(client):
    message = seed(patients=40, seed=7, chunk=15)
    assert "Loaded 40 demo patients" in message
    patients = Patient.objects.filter(site__code="DEMO")
    assert patients.count() == 40
    for model in MODELS:
        assert model.objects.exists(), model
    # Every generated record meets every model rule, though the bulk load skips full_clean.
    for patient in patients:
        patient.full_clean()
    for model in MODELS:
        for record in model.objects.select_related("patient"):
            record.full_clean()
    assert AuditEvent.objects.filter(action="create", model="patients.patient").count() == 40
    roles = dict(Membership.objects.values_list("user__username", "role"))
    assert roles == {"demo-nurse": "nurse", "demo-neurologist": "neurologist"}
    assert signs_in(client, "demo-neurologist", "demo")


def test_seed_if_empty_loads_once_and_plain_seed_appends():
    seed(patients=5)
    assert "nothing loaded" in seed(patients=5, if_empty=True)
    seed(patients=3)
    mrns = sorted(Patient.objects.values_list("mrn", flat=True))
    assert mrns == [f"DEMO{n:06d}" for n in range(1, 9)]


def test_demo_password_from_environment(monkeypatch, client):
    monkeypatch.setenv("DEMO_PASSWORD", "another-Secret-9")
    seed(patients=1)
    assert signs_in(client, "demo-nurse", "another-Secret-9")
    assert not signs_in(client, "demo-nurse", "demo")


def test_same_seed_same_cohort():
    today = timezone.localdate()
    first = [demo_patient(random.Random(3), n, today) for n in range(1, 4)]
    second = [demo_patient(random.Random(3), n, today) for n in range(1, 4)]
    assert first == second


def test_cohort_shows_the_courses_a_clinic_sees():
    today = timezone.localdate()
    rng = random.Random(11)
    cohort = [demo_patient(rng, n, today) for n in range(300)]
    assert any(p.relapses for p in cohort)
    assert any(c["stop_reason"] == "inefficacy" for p in cohort for c in p.courses)
    assert any(len(p.courses) > 1 for p in cohort)
    assert any(s["new_t2"] > 0 for p in cohort for s in p.scans)
    gaps = [
        (b["date"] - a["date"]).days
        for p in cohort
        for a, b in itertools.pairwise(p.visits)
        if a["scheduled"] and b["scheduled"]
    ]
    assert min(gaps) >= 60 and max(gaps) <= 380
    worsened = sum(1 for p in cohort if p.visits[-1]["edss"] > p.visits[0]["edss"])
    assert 0.2 < worsened / len(cohort) < 0.95


@pytest.mark.parametrize(
    ("level", "step"), [(0.2, 0.0), (0.8, 1.0), (1.2, 1.0), (3.3, 3.5), (9.9, 9.5), (-1, 0.0)]
)
def test_edss_step(level, step):
    assert edss_step(level) == step


def test_seed_refuses_a_negative_cohort():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--patients must be 0 or more"):
        seed(patients=-1)
    assert not Patient.objects.exists()


def test_cohort_is_clinically_plausible():
    """Issue 11: therapy by phenotype (no CIS on an induction or high-efficacy therapy),
    induction courses as one episode a year apart, some scans without contrast."""
    today = timezone.localdate()
    rng = random.Random(5)
    cohort = [demo_patient(rng, n, today) for n in range(400)]
    for p in cohort:
        therapies = {c["therapy"] for c in p.courses}
        if p.phenotype == "CIS":
            assert therapies <= set(PLATFORM), (p.mrn, therapies)
        if p.phenotype != "RRMS":
            assert not therapies & set(INDUCTION), (p.mrn, therapies)
    episodes = [
        [c for c in p.courses if c["therapy"] == drug]
        for p in cohort
        for drug in INDUCTION
        if any(c["therapy"] == drug for c in p.courses)
    ]
    assert any(len(courses) == 2 for courses in episodes)
    for courses in episodes:
        assert all(c["end"] is not None and c["stop_reason"] == "" for c in courses)
        if len(courses) == 2:
            assert (courses[1]["start"] - courses[0]["start"]).days == 365
    scans = [s for p in cohort for s in p.scans]
    assert 0 < sum(s["gd_enhancing"] is None for s in scans) < len(scans) / 4


def test_adverse_events_pregnancies_and_comorbidities_are_plausible(monkeypatch):
    """Spec §7.2 in the demo: adverse events within a course of the suspected therapy,
    pregnancies of women of child-bearing age with the therapy paused, washed out or (for
    natalizumab) continued, comorbidities from adolescence on; the other records are what
    the same seed gave before these were added (they have a generator of their own)."""
    today = timezone.localdate()
    rng = random.Random(5)
    cohort = [demo_patient(rng, n, today) for n in range(1, 301)]
    events = [e for p in cohort for e in p.adverse_events]
    pregnancies = [(p, x) for p in cohort for x in p.pregnancies]
    comorbidities = [(p, c) for p in cohort for c in p.comorbidities]
    assert events and pregnancies and comorbidities
    for p in cohort:
        for e in p.adverse_events:
            assert any(
                c["therapy"] == e["suspected_therapy"] and c["start"] <= e["date"]
                for c in p.courses
            )
    for p, x in pregnancies:
        assert p.sex == "female"
        assert 20 <= (x["start"] - p.birth_date).days / 365.25 <= 43
        assert (x["end"] is None) == (x["outcome"] == "ongoing")
        assert x["start"] <= (x["end"] or today) <= today
        on = [c["therapy"] for c in p.courses if c["start"] <= x["start"] <= (c["end"] or today)]
        if x["therapy_action"] == "continued":
            assert on == ["natalizumab"]
        if x["therapy_action"] == "washed_out":
            assert on == ["teriflunomide"]
        if x["therapy_action"] == "none":
            assert on == []
    for p, c in comorbidities:
        assert (c["onset"] - p.birth_date).days >= 16 * 365
        assert c["onset"] <= (c["resolved"] or c["onset"]) <= today
    # Without them, the same seed gives the same cohort: they draw from a generator of their
    # own, not from the cohort's.
    monkeypatch.setattr("patients.demo.demo_events", lambda *args, **kwargs: ([], [], []))
    rng = random.Random(5)
    without = [demo_patient(rng, n, today) for n in range(1, 301)]
    assert [(p.visits, p.courses, p.labs) for p in without] == [
        (p.visits, p.courses, p.labs) for p in cohort
    ]
