"""A synthetic but clinically plausible MS cohort for demos, tests and benchmarks.

Pure Python (no database): `demo_patient()` returns plain records that the `seed_demo`
command inserts in bulk. Courses follow what an MS clinic sees: visits every 3-12 months,
relapses with partial recovery (relapse-associated worsening), slow relapse-independent
worsening in some people (PIRA), therapy by phenotype and escalation after failure (CIS
stays on platform therapies; induction therapies only for relapsing MS, given as courses of
one episode: cladribine in two yearly courses, alemtuzumab 5 days then 3 days a year later),
yearly MRIs with new lesions and brain volume loss (some without contrast: Gd unknown),
serum NfL that rises around relapses, safety labs (`patients.demo_labs`), and adverse events,
pregnancies and comorbidities (`patients.demo_events`).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from functools import partial

from patients.demo_events import demo_events
from patients.demo_labs import demo_labs

PLATFORM = [
    "interferon-beta",
    "glatiramer-acetate",
    "teriflunomide",
    "dimethyl-fumarate",
    "fingolimod",
    "ozanimod",
]
HIGH_EFFICACY = ["natalizumab", "ocrelizumab", "ofatumumab", "rituximab"]
INDUCTION = ["cladribine", "alemtuzumab"]
# Days of dosing of each yearly induction course (spec §7): cladribine two treatment weeks of
# 4-5 days (the first given here), alemtuzumab 5 days in year 1 and 3 days in year 2.
INDUCTION_DOSING_DAYS = {"cladribine": (4, 4), "alemtuzumab": (4, 2)}
NO_CONTRAST_SHARE = 0.1  # scans without gadolinium (pregnancy, renal function, choice)
FIRST_NAMES = [
    "Alex",
    "Sam",
    "Maria",
    "Jon",
    "Aisha",
    "Lena",
    "Tomas",
    "Ines",
    "Kai",
    "Noor",
    "Eva",
    "Luca",
    "Mei",
    "Omar",
    "Sara",
    "Femi",
    "Ana",
    "Piet",
    "Yara",
    "Hugo",
]
SURNAMES = [
    "Smith",
    "Garcia",
    "Müller",
    "Rossi",
    "Novak",
    "Okafor",
    "Silva",
    "Kowalski",
    "Jensen",
    "Dubois",
    "Haddad",
    "Tanaka",
    "Byrne",
    "Costa",
    "Larsen",
    "Nilsson",
]


@dataclass(slots=True)
class DemoPatient:
    mrn: str
    display_name: str
    birth_date: dt.date
    sex: str
    phenotype: str
    symptom_onset: dt.date
    diagnosis_date: dt.date
    visits: list[dict] = field(default_factory=list)
    relapses: list[dict] = field(default_factory=list)
    courses: list[dict] = field(default_factory=list)
    scans: list[dict] = field(default_factory=list)
    nfl: list[dict] = field(default_factory=list)
    labs: list[dict] = field(default_factory=list)
    adverse_events: list[dict] = field(default_factory=list)
    pregnancies: list[dict] = field(default_factory=list)
    comorbidities: list[dict] = field(default_factory=list)


def edss_step(level: float) -> float:
    """The nearest valid EDSS value (0, 1.0, 1.5 ... 9.5) to a latent disability level."""
    if level < 0.75:
        return 0.0
    return min(9.5, max(1.0, round(level * 2) / 2))


def _add_days(day: dt.date, days: float) -> dt.date:
    return day + dt.timedelta(days=int(days))


def demo_patient(rng: random.Random, number: int, today: dt.date) -> DemoPatient:
    age = rng.randint(20, 72)
    birth = today - dt.timedelta(days=age * 365 + rng.randint(0, 364))
    phenotype = rng.choices(["RRMS", "SPMS", "PPMS", "CIS"], weights=[75, 12, 8, 5])[0]
    onset_age = rng.uniform(18, min(age - 1, 50))
    symptom_onset = min(_add_days(birth, onset_age * 365.25), today - dt.timedelta(days=200))
    diagnosis = min(_add_days(symptom_onset, rng.uniform(30, 720)), today - dt.timedelta(days=150))
    progressive = phenotype in ("SPMS", "PPMS")
    patient = DemoPatient(
        mrn=f"DEMO{number:06d}",
        display_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}",
        birth_date=birth,
        sex=rng.choices(["female", "male"], weights=[70, 30])[0],
        phenotype=phenotype,
        symptom_onset=symptom_onset,
        diagnosis_date=diagnosis,
    )

    start = max(diagnosis, today - dt.timedelta(days=int(rng.uniform(3, 11) * 365.25)))
    end = today - dt.timedelta(days=rng.randint(0, 90))
    if (end - start).days < 120:
        start = end - dt.timedelta(days=120)

    # Disability: a latent level drifting upwards (PIRA) plus relapse bumps that recover
    # only partly (RAW).
    level = rng.uniform(3.0, 6.0) if progressive else rng.choice([0.0, 1.0, 1.5, 2.0, 2.5, 3.0])
    drift = (
        rng.uniform(0.15, 0.4)
        if progressive
        else (rng.uniform(0.1, 0.3) if rng.random() < 0.3 else rng.uniform(0.0, 0.03))
    )
    base_rate = {"RRMS": 0.45, "CIS": 0.3, "SPMS": 0.1, "PPMS": 0.0}[phenotype]

    therapy = _first_therapy(rng, phenotype)
    course_start = start
    if therapy:
        _start_therapy(patient.courses, therapy, course_start, end)

    # Relapses: a Poisson process whose rate the current therapy lowers; failure on a
    # platform therapy leads to escalation.
    day = start
    relapse_days: list[dt.date] = []
    while True:
        rate = base_rate * _efficacy(therapy)
        if rate <= 0:
            break
        day = _add_days(day, rng.expovariate(rate) * 365.25)
        if day >= end:
            break
        if relapse_days and (day - relapse_days[-1]).days < 30:
            continue
        relapse_days.append(day)
        patient.relapses.append(
            {
                "onset": day,
                "end": min(_add_days(day, rng.randint(14, 60)), today)
                if rng.random() < 0.7
                else None,
                "severity": rng.choices(["mild", "moderate", "severe"], weights=[40, 45, 15])[0],
                "steroids": rng.random() < 0.6,
                "confirmed_by_clinician": rng.random() < 0.9,
            }
        )
        on_therapy_days = (day - course_start).days
        if therapy in PLATFORM and on_therapy_days > 180 and rng.random() < 0.6:
            switch = min(_add_days(day, rng.randint(30, 120)), end)
            patient.courses[-1].update(end=switch, stop_reason="inefficacy")
            if patient.phenotype == "CIS":
                patient.phenotype = "RRMS"  # a second attack: MS (McDonald 2017)
            # Escalation: high-efficacy therapy; induction for relapsing MS only.
            therapy = rng.choice(HIGH_EFFICACY + (INDUCTION if phenotype == "RRMS" else []))
            course_start = _add_days(switch, 1)
            if course_start < end:
                _start_therapy(patient.courses, therapy, course_start, end)
            else:
                therapy = None
    if therapy and therapy not in INDUCTION and patient.courses and rng.random() < 0.05:
        last = patient.courses[-1]
        stop = _add_days(last["start"], rng.randint(60, 400))
        if stop < end:
            last.update(
                end=stop,
                stop_reason=rng.choice(["tolerability", "pregnancy", "patient_choice", "safety"]),
            )

    visit_days = [start]
    while True:
        step = rng.choice([91, 120, 182, 182, 182, 273, 365])
        nxt = _add_days(visit_days[-1], step + rng.randint(-14, 14))
        if nxt > end:
            break
        visit_days.append(nxt)
    unscheduled = {
        _add_days(onset, rng.randint(5, 25)) for onset in relapse_days if rng.random() < 0.5
    }
    unscheduled = {d for d in unscheduled if d <= end}
    sdmt_base = rng.randint(45, 70)
    for visit_day in sorted(set(visit_days) | unscheduled):
        years = (visit_day - start).days / 365.25
        bump = 0.0
        for onset in relapse_days:
            since = (visit_day - onset).days
            if since < 0:
                continue
            acute = 1.5 if since < 60 else 0.0
            bump += acute + 0.5  # the residual half point that never recovers
        latent = level + drift * years + bump + rng.gauss(0, 0.25)
        edss = edss_step(latent)
        patient.visits.append(
            {
                "date": visit_day,
                "edss": edss,
                "t25fw": round(4.5 * (1 + 0.18 * max(0.0, edss - 2.0)) * rng.uniform(0.9, 1.1), 1)
                if edss <= 6.5
                else None,
                "nhpt": round((18 + 1.8 * edss) * rng.uniform(0.9, 1.1), 1),
                "sdmt": max(0, min(110, int(sdmt_base - 1.5 * edss + rng.gauss(0, 3)))),
                "scheduled": visit_day not in unscheduled,
            }
        )

    scan_day = _add_days(start, rng.randint(-30, 30))
    total_t2 = rng.randint(3, 30)
    previous_scan: dt.date | None = None
    atrophy = rng.uniform(0.2, 0.5) + (0.3 if progressive else 0.0)
    while scan_day <= end:
        recent = sum(
            1
            for onset in relapse_days
            if previous_scan is not None and previous_scan < onset <= scan_day
        )
        current = _therapy_on(patient.courses, scan_day)
        new_t2 = (
            0
            if previous_scan is None
            else _poisson(
                rng, (0.6 + 1.5 * recent) * _efficacy(current) * (2 if not progressive else 0.5)
            )
        )
        gd: int | None = (
            _poisson(rng, 0.8 * recent) if recent else (1 if rng.random() < 0.03 else 0)
        )
        if rng.random() < NO_CONTRAST_SHARE:
            gd = None
        total_t2 += new_t2
        pbvc = None
        if previous_scan is not None:
            interval = (scan_day - previous_scan).days / 365.25
            pbvc = round(-atrophy * interval + rng.gauss(0, 0.28), 2)
        patient.scans.append(
            {
                "date": scan_day,
                "new_t2": new_t2,
                "gd_enhancing": gd,
                "total_t2": total_t2,
                "pbvc": pbvc,
                "field_strength": rng.choice(["1.5T", "3T", "3T"]),
            }
        )
        previous_scan = scan_day
        scan_day = _add_days(scan_day, 365 + rng.randint(-45, 60))

    nfl_day = _add_days(start, rng.randint(0, 120))
    while nfl_day <= end:
        age_years = (nfl_day - birth).days / 365.25
        value = 4.0 + 0.12 * age_years
        if any(0 <= (nfl_day - onset).days <= 120 for onset in relapse_days):
            value *= rng.uniform(2.0, 4.0)
        patient.nfl.append(
            {
                "date": nfl_day,
                "matrix": "serum",
                "value": round(value * rng.uniform(0.8, 1.25), 1),
                "assay": "simoa",
                "lab": "Demo neurochemistry lab",
            }
        )
        nfl_day = _add_days(nfl_day, rng.choice([182, 365, 365]))
    patient.labs = demo_labs(rng, patient.courses, patient.sex, birth, end)
    # A generator of their own, seeded from the patient: the cohort's other records stay
    # what the same seed gave before these were added.
    events = random.Random(f"{patient.mrn}:{birth.isoformat()}:{patient.display_name}")
    patient.adverse_events, patient.pregnancies, patient.comorbidities = demo_events(
        events,
        sex=patient.sex,
        birth=birth,
        courses=patient.courses,
        therapy_on=partial(_therapy_on, patient.courses),
        start=start,
        end=end,
    )
    return patient


def _first_therapy(rng: random.Random, phenotype: str) -> str | None:
    """By phenotype: ocrelizumab is the one therapy licensed for PPMS; SPMS siponimod or an
    anti-CD20; CIS a platform therapy or none; RRMS mostly platform first, a quarter on a
    high-efficacy therapy from the start, a few (highly active) on an induction therapy."""
    if phenotype == "PPMS":
        return "ocrelizumab" if rng.random() < 0.5 else None
    if phenotype == "SPMS":
        return "siponimod" if rng.random() < 0.4 else rng.choice([None, "ocrelizumab"])
    choice = rng.random()
    if phenotype == "CIS":
        return rng.choice(PLATFORM) if choice < 0.6 else None
    if choice < 0.6:
        return rng.choice(PLATFORM)
    if choice < 0.85:
        return rng.choice(HIGH_EFFICACY)
    if choice < 0.9:
        return rng.choice(INDUCTION)
    return None


def _start_therapy(courses: list[dict], therapy: str, start: dt.date, end: dt.date) -> None:
    """A maintenance course, open; or the yearly courses of an induction episode given by
    `end` (each ends on its last day of dosing: the episode stays open, spec §7)."""
    dosing = INDUCTION_DOSING_DAYS.get(therapy)
    if dosing is None:
        courses.append({"therapy": therapy, "start": start, "end": None, "stop_reason": ""})
        return
    for year, days in enumerate(dosing):
        course_start = _add_days(start, 365 * year)
        if course_start > end:
            break
        courses.append(
            {
                "therapy": therapy,
                "start": course_start,
                "end": min(_add_days(course_start, days), end),
                "stop_reason": "",
            }
        )


def _efficacy(therapy: str | None) -> float:
    if therapy in PLATFORM or therapy == "siponimod":
        return 0.6
    if therapy in HIGH_EFFICACY or therapy in INDUCTION:
        return 0.25
    return 1.0


def _therapy_on(courses: list[dict], day: dt.date) -> str | None:
    """The therapy on `day`: an induction episode runs past its last dose (spec §7)."""
    for course in reversed(courses):
        if course["start"] <= day and (
            course["end"] is None or day <= course["end"] or course["therapy"] in INDUCTION
        ):
            return course["therapy"]
    return None


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k
