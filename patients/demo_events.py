"""Adverse events, pregnancies and comorbidities of the demo cohort [spec §7.2].

Pure Python like `patients.demo`: rows keyed by the columns of the models (and of the
registry import's files). Frequencies are of the order the literature reports, not fitted:
comorbidities after Marrie et al., Mult Scler 2015 (a systematic review of their prevalence
in MS: depression, anxiety, hypertension, hyperlipidaemia, chronic lung disease, thyroid
disease, diabetes, migraine); adverse events the common ones of each therapy's label.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

# (condition, SNOMED CT code, share of patients, share of those resolved since)
COMORBIDITIES = (
    ("Depressive disorder", "35489007", 0.22, 0.4),
    ("Anxiety disorder", "197480006", 0.18, 0.3),
    ("Hypertension", "38341003", 0.15, 0.0),
    ("Hyperlipidaemia", "55822004", 0.10, 0.0),
    ("Asthma", "195967001", 0.07, 0.1),
    ("Hypothyroidism", "40930008", 0.06, 0.0),
    ("Type 2 diabetes mellitus", "44054006", 0.05, 0.0),
    ("Migraine", "37796009", 0.10, 0.2),
)
# therapy: (term, share of courses, serious) of its commonest adverse events
ADVERSE_EVENTS = {
    "interferon-beta": [
        ("Injection site reaction", 0.3, False),
        ("Influenza-like illness", 0.3, False),
    ],
    "glatiramer-acetate": [("Injection site reaction", 0.3, False)],
    "teriflunomide": [("Alopecia", 0.1, False), ("Alanine aminotransferase increased", 0.1, False)],
    "dimethyl-fumarate": [("Flushing", 0.3, False), ("Lymphopenia", 0.1, False)],
    "fingolimod": [("Lymphopenia", 0.15, False), ("Herpes zoster", 0.03, False)],
    "ozanimod": [("Lymphopenia", 0.1, False)],
    "siponimod": [("Lymphopenia", 0.1, False)],
    "natalizumab": [("Infusion related reaction", 0.1, False)],
    "ocrelizumab": [
        ("Infusion related reaction", 0.3, False),
        ("Urinary tract infection", 0.1, False),
    ],
    "ofatumumab": [("Injection related reaction", 0.2, False)],
    "rituximab": [("Infusion related reaction", 0.3, False), ("Pneumonia", 0.02, True)],
    "cladribine": [("Lymphopenia", 0.2, False), ("Herpes zoster", 0.03, False)],
    "alemtuzumab": [("Infusion related reaction", 0.5, False), ("Hyperthyroidism", 0.1, True)],
}
PREGNANCY_YEARLY = 0.05  # of women aged 20 to 42, per year of follow-up
MISCARRIAGE = 0.12
# Teriflunomide is washed out before a pregnancy (its label); natalizumab is continued in
# some highly active women; other therapies are paused.
WASHED_OUT = {"teriflunomide"}
CONTINUED_SOMETIMES = {"natalizumab"}


def demo_events(
    rng: random.Random,
    *,
    sex: str,
    birth: dt.date,
    courses: list[dict],
    therapy_on: Callable[[dt.date], str | None],
    start: dt.date,
    end: dt.date,
) -> tuple[list[dict], list[dict], list[dict]]:
    """Adverse events, pregnancies and comorbidities of one patient followed from `start` to
    `end`, on `courses` (the demo's own course rows; `therapy_on` a day's therapy, as the
    demo decides it)."""
    return (
        _adverse_events(rng, courses, end),
        _pregnancies(rng, birth, therapy_on, start, end) if sex == "female" else [],
        _comorbidities(rng, birth, end),
    )


def _days(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, max(0, (last - first).days)))


def _adverse_events(rng: random.Random, courses: list[dict], end: dt.date) -> list[dict]:
    rows = []
    for course in courses:
        last = min(course["end"] or end, end)
        for term, share, serious in ADVERSE_EVENTS.get(course["therapy"], ()):
            if rng.random() >= share:
                continue
            day = _days(rng, course["start"], min(last, course["start"] + dt.timedelta(days=365)))
            recent = (end - day).days < 60
            rows.append(
                {
                    "date": day,
                    "term": term,
                    "serious": serious,
                    "suspected_therapy": course["therapy"],
                    "outcome": "recovering" if recent else "resolved",
                }
            )
    return sorted(rows, key=lambda row: row["date"])


def _pregnancies(
    rng: random.Random,
    birth: dt.date,
    therapy_on: Callable[[dt.date], str | None],
    start: dt.date,
    end: dt.date,
) -> list[dict]:
    rows: list[dict] = []
    day = start
    while day <= end:
        age = (day - birth).days / 365.25
        if 20 <= age <= 42 and rng.random() < PREGNANCY_YEARLY:
            begun = _days(rng, day, min(end, day + dt.timedelta(days=364)))
            due = begun + dt.timedelta(days=280)
            if rng.random() < MISCARRIAGE:
                ended: dt.date | None = begun + dt.timedelta(days=rng.randint(49, 90))
                outcome = "miscarriage"
            else:
                ended = due + dt.timedelta(days=rng.randint(-21, 10))
                outcome = "live_birth"
            if ended is not None and ended > end:
                ended, outcome = None, "ongoing"
            therapy = therapy_on(begun)
            if therapy is None:
                action = "none"
            elif therapy in WASHED_OUT:
                action = "washed_out"
            elif therapy in CONTINUED_SOMETIMES and rng.random() < 0.3:
                action = "continued"
            else:
                action = "paused"
            rows.append(
                {
                    "start": begun,
                    "due_date": due,
                    "end": ended,
                    "outcome": outcome,
                    "therapy_action": action,
                }
            )
            if ended is None:
                break
            # The next one no sooner than a year after the end.
            day = ended + dt.timedelta(days=365)
            continue
        day += dt.timedelta(days=365)
    return rows


def _comorbidities(rng: random.Random, birth: dt.date, end: dt.date) -> list[dict]:
    rows = []
    adult = birth + dt.timedelta(days=int(16 * 365.25))
    for condition, code, share, resolved_share in COMORBIDITIES:
        if rng.random() >= share or adult >= end:
            continue
        onset = _days(rng, adult, end)
        resolved = None
        if rng.random() < resolved_share and (end - onset).days > 200:
            resolved = _days(rng, onset + dt.timedelta(days=180), end)
        rows.append(
            {
                "condition": condition,
                "code": code,
                "onset": onset,
                "resolved": resolved,
                "notes": "",
            }
        )
    return sorted(rows, key=lambda row: row["onset"])
