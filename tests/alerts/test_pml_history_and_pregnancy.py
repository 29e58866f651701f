"""Natalizumab PML risk from the therapy history, the MRI of high risk, and pregnancies that
explain gaps [spec §7.1, §7.2], through the evaluation: records saved through
patients.actions, evaluated, and the stored status and alerts read back. Time is frozen on
2025-06-01."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from alerts.models import AlertState, Rule, Severity
from monitoring.models import Pregnancy
from outcomes.models import PatientStatus
from patients.actions import mark_entered_in_error, save_therapy
from patients.models import Therapy
from tests.alerts.conftest import SYSTEM, add, alerts, course, run
from tests.factories import lab_result, mri_scan, relapse

pytestmark = pytest.mark.django_db

D = dt.date
PML_MRI = "natalizumab-pml-high-risk-mri"
JCV_DAY = D(2025, 3, 1)


def jcv(patient, index: str, day: dt.date = JCV_DAY, text: str = "positive"):
    return add(lab_result(patient, "jcv-index", date=day, value=Decimal(index), text=text))


def mri_alerts(patient, **kw):
    found = alerts(patient, Rule.SAFETY_TEST_OVERDUE, **kw)
    return [a for a in found if a.evidence["item"]["code"] == PML_MRI]


def mri_due(patient) -> dt.date | None:
    return PatientStatus.objects.get(patient=patient).mri_due


# --- Prior immunosuppressant from the therapy history -------------------------------------


def test_the_catalogue_marks_the_immunosuppressants_and_nothing_else():
    marked = Therapy.objects.filter(immunosuppressant=True)
    assert {(t.code, t.therapy_class) for t in marked} == {
        ("mitoxantrone", "induction"),
        ("cyclophosphamide", "induction"),
        ("azathioprine", "platform"),
        ("methotrexate", "platform"),
        ("mycophenolate-mofetil", "platform"),
    }


def test_a_course_of_an_immunosuppressant_before_natalizumab_counts(today, patient):
    # Index 0.5, more than 24 months: low without prior immunosuppressant, high with.
    course(patient, "mitoxantrone", start=D(2019, 1, 7), end=D(2019, 1, 7))
    course(patient, "natalizumab", start=D(2022, 3, 1))
    jcv(patient, "0.5")
    run(patient)
    [alert] = alerts(patient, Rule.PML_HIGH_RISK)
    assert alert.severity == Severity.HIGH
    assert alert.evidence["prior_immunosuppressant"] is True
    assert "with prior immunosuppressant: PML risk high" in alert.explanation


def test_another_therapy_before_natalizumab_does_not_count(today, patient):
    course(patient, "interferon-beta", start=D(2019, 1, 7), end=D(2022, 2, 1))
    course(patient, "natalizumab", start=D(2022, 3, 1))
    jcv(patient, "0.5")
    run(patient)
    assert alerts(patient, Rule.PML_HIGH_RISK) == []
    assert mri_alerts(patient) == []


def test_the_mark_is_catalogue_data_an_admin_may_change(today, patient):
    course(patient, "azathioprine", start=D(2018, 1, 7), end=D(2021, 12, 1))
    course(patient, "natalizumab", start=D(2022, 3, 1))
    jcv(patient, "0.5")
    run(patient)
    [alert] = alerts(patient, Rule.PML_HIGH_RISK)
    azathioprine = Therapy.objects.get(code="azathioprine")
    azathioprine.immunosuppressant = False
    save_therapy(azathioprine, actor=SYSTEM)
    run(patient)
    assert alerts(patient, Rule.PML_HIGH_RISK) == []
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED


# --- High PML risk: MRI every 3-4 months --------------------------------------------------


@pytest.mark.parametrize(
    ("start", "index", "prior", "high"),
    [
        (D(2023, 6, 1), "1.6", False, False),  # exactly 24 months on 2025-06-01: moderate
        (D(2023, 5, 31), "1.6", False, True),  # a day more: high
        (D(2022, 3, 1), "1.5", False, False),  # index exactly 1.5: moderate
        (D(2022, 3, 1), "1.51", False, True),
        (D(2022, 3, 1), "0.9", False, False),  # index exactly 0.9: low
        (D(2022, 3, 1), "0.9", True, True),  # any index with prior immunosuppressant
    ],
)
def test_high_risk_asks_for_an_mri_every_3_to_4_months(today, patient, start, index, prior, high):
    if prior:
        course(patient, "methotrexate", start=D(2017, 1, 7), end=D(2020, 1, 1))
    course(patient, "natalizumab", start=start)
    jcv(patient, index)
    add(mri_scan(patient, date=D(2025, 1, 15)))
    run(patient)
    assert len(alerts(patient, Rule.PML_HIGH_RISK)) == high
    assert len(mri_alerts(patient)) == high
    # The next MRI: 4 months after the last at high risk, else the yearly follow-up.
    assert mri_due(patient) == (D(2025, 5, 15) if high else D(2026, 1, 15))


def test_the_mri_alert_names_item_and_source_and_an_mri_clears_it(today, patient):
    course(patient, "natalizumab", start=D(2022, 3, 1))
    jcv(patient, "1.6")
    last = add(mri_scan(patient, date=D(2025, 1, 15)))
    run(patient)
    [alert] = mri_alerts(patient)
    assert alert.severity == Severity.MEDIUM
    assert alert.explanation.startswith(
        "Brain MRI every 3-4 months at high PML risk on natalizumab was due on 2025-05-15 "
        "(the last on 2025-01-15)."
    )
    assert "Tysabri (natalizumab) SmPC section 4.4" in alert.explanation
    assert "McGuigan" in alert.explanation
    assert alert.evidence["records"] == [
        {"model": "monitoring.mriscan", "id": str(last.public_id), "date": "2025-01-15"}
    ]
    add(mri_scan(patient, date=D(2025, 5, 30)))
    run(patient)
    assert mri_alerts(patient) == []
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    assert mri_due(patient) == D(2025, 9, 30)
    # The PML alert stays: the risk is still high.
    assert len(alerts(patient, Rule.PML_HIGH_RISK)) == 1


def test_a_brain_mri_is_not_entered_as_a_lab_result(patient):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        add(lab_result(patient, "brain-mri", date=D(2025, 1, 15), text="normal"))
    assert "recorded as an MRI scan" in " ".join(refused.value.message_dict["analyte"])


# --- Pregnancies explain gaps [§7.2] -------------------------------------------------------


def on_natalizumab_jcv_due_2025_04_01(patient) -> None:
    course(patient, "natalizumab", start=D(2023, 1, 10))
    jcv(patient, "0.2", day=D(2024, 10, 1), text="negative")


def pregnancy(patient, start: dt.date, **fields) -> Pregnancy:
    fields.setdefault("therapy_action", "paused")
    return add(Pregnancy(patient=patient, start=start, **fields))


def test_an_overdue_test_that_fell_due_during_a_pregnancy_says_so(today, patient):
    on_natalizumab_jcv_due_2025_04_01(patient)
    p = pregnancy(patient, D(2025, 1, 20), due_date=D(2025, 10, 27))
    run(patient)
    [alert] = alerts(patient, Rule.JCV_OVERDUE)
    assert "was due on 2025-04-01" in alert.explanation
    assert (
        "A pregnancy explains the gap: a pregnancy from 2025-01-20, ongoing (therapy paused); "
        "the test may have been deferred while the therapy was not given."
    ) in alert.explanation
    assert alert.evidence["pregnancy"]["id"] == str(p.public_id)


def test_a_continued_therapy_or_a_later_pregnancy_explains_nothing(today, patient):
    on_natalizumab_jcv_due_2025_04_01(patient)
    pregnancy(patient, D(2024, 7, 20), end=D(2025, 4, 20), therapy_action="continued")
    pregnancy(patient, D(2025, 4, 25), therapy_action="paused")  # the test was late already
    run(patient)
    [alert] = alerts(patient, Rule.JCV_OVERDUE)
    assert "pregnancy" not in alert.explanation and "pregnancy" not in alert.evidence


def test_a_pregnancy_recorded_after_the_alert_explains_it_anew_and_its_removal_too(today, patient):
    on_natalizumab_jcv_due_2025_04_01(patient)
    run(patient)
    [alert] = alerts(patient, Rule.JCV_OVERDUE)
    assert "pregnancy" not in alert.explanation
    p = pregnancy(patient, D(2025, 2, 1), end=D(2025, 5, 2), outcome="miscarriage")
    run(patient)
    # The same alert, explained with what is known now; nothing resolved, nothing new.
    [same] = alerts(patient, Rule.JCV_OVERDUE, unresolved=False)
    assert same.pk == alert.pk and same.state == AlertState.OPEN
    assert "a pregnancy from 2025-02-01 to 2025-05-02 (therapy paused)" in same.explanation
    mark_entered_in_error(p, actor=SYSTEM, reason="another patient's")
    run(patient)
    [same] = alerts(patient, Rule.JCV_OVERDUE, unresolved=False)
    assert same.pk == alert.pk and same.state == AlertState.OPEN
    assert "pregnancy" not in same.explanation and "pregnancy" not in same.evidence


def test_a_relapse_in_a_pregnancy_without_therapy_says_the_therapy_was_not_given(today, patient):
    course(patient, "ocrelizumab", start=D(2023, 1, 10))
    pregnancy(patient, D(2024, 5, 1), end=D(2025, 1, 20), outcome="live_birth")
    during = add(relapse(patient, onset=D(2024, 12, 1)))
    postpartum = add(relapse(patient, onset=D(2025, 4, 20)))  # the last postpartum day
    after = add(relapse(patient, onset=D(2025, 5, 21)))
    run(patient)
    by_relapse = {
        a.evidence["records"][0]["id"]: a for a in alerts(patient, Rule.RELAPSE_ON_THERAPY)
    }
    assert (
        "A pregnancy explains the gap in therapy: the onset falls in a pregnancy from "
        "2024-05-01 to 2025-01-20 (therapy paused), when the therapy was not being given."
    ) in by_relapse[str(during.public_id)].explanation
    assert (
        "A pregnancy explains the gap in therapy: the onset falls in the 3 months after a "
        "pregnancy from 2024-05-01 to 2025-01-20 (therapy paused), when the therapy was not "
        "being given."
    ) in by_relapse[str(postpartum.public_id)].explanation
    assert "pregnancy" not in by_relapse[str(after.public_id)].explanation


def test_neda3_lost_by_a_relapse_in_a_pregnancy_without_therapy_says_so(today, patient):
    """NEDA-3 lost on a therapy, by activity during a pregnancy when the therapy was paused:
    the alert names the pregnancy; the same loss outside a pregnancy names none."""
    course(patient, "ocrelizumab", start=D(2023, 1, 10))
    p = pregnancy(patient, D(2024, 8, 1), end=D(2025, 4, 20), outcome="live_birth")
    add(relapse(patient, onset=D(2025, 3, 1)))
    run(patient)
    [alert] = alerts(patient, Rule.NEDA3_LOST)
    assert (
        "A pregnancy explains the gap in therapy: the relapse of 2025-03-01 falls in a "
        "pregnancy from 2024-08-01 to 2025-04-20 (therapy paused), when the therapy was not "
        "being given."
    ) in alert.explanation
    assert alert.evidence["pregnancy"]["id"] == str(p.public_id)
    # Recorded in error, the pregnancy explains nothing: the same alert, explained anew.
    mark_entered_in_error(p, actor=SYSTEM, reason="another patient's")
    run(patient)
    [same] = alerts(patient, Rule.NEDA3_LOST)
    assert same.pk == alert.pk
    assert "pregnancy" not in same.explanation and "pregnancy" not in same.evidence


def test_a_first_year_score_from_relapses_in_a_pregnancy_without_therapy_says_so(today, patient):
    course(patient, "ocrelizumab", start=D(2024, 9, 1))
    pregnancy(patient, D(2024, 10, 1), end=D(2025, 5, 1), therapy_action="washed_out")
    for onset in (D(2024, 12, 1), D(2025, 3, 1)):
        add(relapse(patient, onset=onset))
    run(patient)
    [alert] = alerts(patient, Rule.FIRST_YEAR_SCORE)
    assert "the relapse of 2024-12-01 falls in a pregnancy from 2024-10-01" in alert.explanation
    assert "pregnancy" in alert.evidence
