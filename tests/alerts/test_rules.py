"""Every alert rule in eager mode: fires, stays quiet, resolves itself, raises once per
evidence and again on new evidence. Time is frozen on 2025-06-01."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from alerts.models import AlertState, Rule, Severity
from outcomes.models import PatientStatus
from patients.actions import mark_entered_in_error
from tests.alerts.conftest import SYSTEM, add, alerts, course, run
from tests.factories import lab_result, mri_scan, nfl_sample, relapse, visit

pytestmark = pytest.mark.django_db

D = dt.date


def visits(patient, *pairs):
    for day, edss in pairs:
        add(visit(patient, date=day, edss=Decimal(edss)))


# --- relapse on therapy after re-baseline --------------------------------------------------


def test_relapse_after_rebaseline_raises_one_high_alert(today, patient):
    course(patient)  # ocrelizumab from 2023-01-10: re-baseline 2023-07-10
    onset = add(relapse(patient, onset=D(2024, 2, 1)))
    run(patient)
    run(patient)  # idempotent
    [alert] = alerts(patient, Rule.RELAPSE_ON_THERAPY)
    assert alert.severity == Severity.HIGH
    assert alert.evidence["records"][0]["id"] == str(onset.public_id)
    assert "2024-02-01" in alert.explanation and "2023-07-10" in alert.explanation


def test_relapse_before_rebaseline_is_not_failure(today, patient):
    course(patient)
    add(relapse(patient, onset=D(2023, 3, 1)))
    run(patient)
    assert alerts(patient, Rule.RELAPSE_ON_THERAPY) == []


def test_relapse_older_than_the_lookback_is_history(today, patient):
    course(patient, start=D(2020, 1, 10))
    add(relapse(patient, onset=D(2023, 5, 1)))  # after re-baseline, before 2023-06-01
    run(patient)
    assert alerts(patient, Rule.RELAPSE_ON_THERAPY) == []


def test_new_relapse_is_new_evidence(today, patient):
    course(patient)
    add(relapse(patient, onset=D(2024, 2, 1)))
    run(patient)
    add(relapse(patient, onset=D(2025, 1, 5)))
    outcome = run(patient)
    assert len(alerts(patient, Rule.RELAPSE_ON_THERAPY)) == 2
    assert [a.rule for a in outcome.raised].count(Rule.RELAPSE_ON_THERAPY) == 1


def test_relapse_entered_in_error_resolves_its_alert(today, patient):
    course(patient)
    onset = add(relapse(patient, onset=D(2024, 2, 1)))
    run(patient)
    mark_entered_in_error(onset, actor=SYSTEM, reason="wrong patient")
    run(patient)
    [alert] = alerts(patient, Rule.RELAPSE_ON_THERAPY, unresolved=False)
    assert alert.state == AlertState.RESOLVED and alert.resolved_by is None
    assert "entered in error" in alert.resolution_note


def test_therapy_switch_resolves_with_the_reason(today, patient):
    first = course(patient)
    add(relapse(patient, onset=D(2024, 2, 1)))
    run(patient)
    first.end = D(2024, 3, 1)
    first.stop_reason = "inefficacy"
    add(first)
    course(patient, "natalizumab", start=D(2024, 3, 2))
    run(patient)
    [alert] = alerts(patient, Rule.RELAPSE_ON_THERAPY, unresolved=False)
    assert alert.state == AlertState.RESOLVED
    assert alert.resolution_note.startswith("Therapy changed: Natalizumab since 2024-03-02")


# --- MRI activity after re-baseline --------------------------------------------------------


def test_mri_activity_after_the_reference_scan(today, patient):
    course(patient)
    add(mri_scan(patient, date=D(2022, 12, 1)))
    add(mri_scan(patient, date=D(2023, 8, 1), new_t2=3))  # reference: its new T2 do not count
    run(patient)
    assert alerts(patient, Rule.MRI_ACTIVITY_ON_THERAPY) == []
    active = add(mri_scan(patient, date=D(2024, 8, 1), new_t2=2))
    run(patient)
    [alert] = alerts(patient, Rule.MRI_ACTIVITY_ON_THERAPY)
    assert alert.severity == Severity.HIGH
    assert alert.evidence["records"][0]["id"] == str(active.public_id)
    mark_entered_in_error(active, actor=SYSTEM, reason="another patient's scan")
    run(patient)
    assert alerts(patient, Rule.MRI_ACTIVITY_ON_THERAPY) == []


# --- MAGNIMS / modified Rio in the first year ----------------------------------------------


def test_magnims_one_in_the_first_year(today, patient):
    course(patient, start=D(2024, 1, 10))  # first year 2024-01-10 .. 2025-01-09
    add(relapse(patient, onset=D(2024, 9, 1)))
    run(patient)
    [alert] = alerts(patient, Rule.FIRST_YEAR_SCORE)
    assert alert.severity == Severity.MEDIUM
    assert alert.evidence["magnims"] == 1 and alert.evidence["rio"] == 1


def test_rio_two_supersedes_with_high_severity(today, patient):
    course(patient, start=D(2024, 1, 10))  # first year 2024-01-10 .. 2025-01-09
    add(relapse(patient, onset=D(2024, 9, 1)))
    run(patient)
    add(relapse(patient, onset=D(2024, 12, 1)))
    run(patient)
    [old, new] = alerts(patient, Rule.FIRST_YEAR_SCORE, unresolved=False)
    assert old.state == AlertState.RESOLVED
    assert old.resolution_note.startswith("Superseded by new evidence")
    assert new.severity == Severity.HIGH and new.evidence["rio"] == 2


def test_no_score_alert_without_activity(today, patient):
    course(patient, start=D(2024, 1, 10))
    run(patient)
    assert alerts(patient, Rule.FIRST_YEAR_SCORE) == []


# --- confirmed RAW and PIRA ----------------------------------------------------------------


def test_confirmed_raw(today, patient):
    add(relapse(patient, onset=D(2024, 1, 1)))
    visits(patient, (D(2023, 9, 1), "2.0"), (D(2024, 2, 1), "3.0"), (D(2024, 5, 1), "3.0"))
    run(patient)
    [alert] = alerts(patient, Rule.CONFIRMED_RAW)
    assert alert.severity == Severity.HIGH
    assert alert.evidence["definition"]["name"] == "muller2023"
    assert len(alert.evidence["records"]) == 3
    assert alerts(patient, Rule.CONFIRMED_PIRA) == []


def test_confirmed_pira_and_its_status(today, patient):
    visits(patient, (D(2023, 9, 1), "2.0"), (D(2024, 3, 1), "3.0"), (D(2024, 6, 1), "3.0"))
    run(patient)
    [alert] = alerts(patient, Rule.CONFIRMED_PIRA)
    assert "PIRA" in alert.explanation
    status = PatientStatus.objects.get(patient=patient)
    assert [e["cdw_type"] for e in status.worsening] == ["PIRA"]


def test_unconfirmed_worsening_raises_nothing(today, patient):
    visits(patient, (D(2023, 9, 1), "2.0"), (D(2024, 3, 1), "3.0"), (D(2024, 6, 1), "2.0"))
    run(patient)
    assert alerts(patient, Rule.CONFIRMED_PIRA) == alerts(patient, Rule.CONFIRMED_RAW) == []


def test_old_worsening_is_history_not_an_alert(today, patient):
    visits(patient, (D(2019, 9, 1), "2.0"), (D(2020, 3, 1), "3.0"), (D(2020, 6, 1), "3.0"))
    run(patient)
    assert alerts(patient, Rule.CONFIRMED_PIRA) == []
    # Still part of the stored course, for the patient page and the API.
    stored = PatientStatus.objects.get(patient=patient).worsening
    assert [(e["onset"]["date"], e["cdw_type"], e["recent"]) for e in stored] == [
        ("2020-03-01", "PIRA", False)
    ]


def test_worsening_setting_changes_the_lookback(today, patient, settings):
    settings.ALERT_LOOKBACK_MONTHS = 72
    visits(patient, (D(2019, 9, 1), "2.0"), (D(2020, 3, 1), "3.0"), (D(2020, 6, 1), "3.0"))
    run(patient)
    assert len(alerts(patient, Rule.CONFIRMED_PIRA)) == 1


# --- NEDA-3 lost and NEDA-4 lost by atrophy -------------------------------------------------


def test_neda3_lost_in_the_last_12_months_without_therapy(today, patient):
    visits(patient, (D(2024, 1, 10), "2.0"), (D(2024, 10, 1), "2.0"))
    add(relapse(patient, onset=D(2024, 9, 1)))
    run(patient)
    [alert] = alerts(patient, Rule.NEDA3_LOST)
    assert alert.severity == Severity.MEDIUM
    assert alert.evidence["window"]["kind"] == "rolling_12_months"
    assert PatientStatus.objects.get(patient=patient).neda3 == "not_met"


def test_neda3_lost_clears_when_the_relapse_leaves_the_window(today, patient):
    visits(patient, (D(2024, 1, 10), "2.0"), (D(2024, 10, 1), "2.0"))
    add(relapse(patient, onset=D(2024, 9, 1)))
    run(patient)
    run(patient, as_of=D(2025, 9, 2))
    [alert] = alerts(patient, Rule.NEDA3_LOST, unresolved=False)
    assert alert.state == AlertState.RESOLVED
    assert "NEDA-3 is no longer lost" in alert.resolution_note


def test_neda4_lost_by_atrophy_beyond_noise(today, patient):
    course(patient)
    add(mri_scan(patient, date=D(2023, 8, 1)))  # reference scan after re-baseline
    add(mri_scan(patient, date=D(2024, 8, 1), pbvc=Decimal("-1.50")))
    add(mri_scan(patient, date=D(2025, 5, 1), pbvc=Decimal("-1.20")))
    run(patient)
    [alert] = alerts(patient, Rule.NEDA4_ATROPHY)
    assert alert.evidence["pbvc_per_year"] < -0.4
    assert len(alert.evidence["records"]) == 2


def test_atrophy_within_noise_raises_nothing(today, patient):
    course(patient)
    add(mri_scan(patient, date=D(2023, 8, 1)))
    add(mri_scan(patient, date=D(2024, 8, 1), pbvc=Decimal("-0.50")))
    run(patient)
    window = PatientStatus.objects.get(patient=patient).neda["since_rebaseline"]
    assert window["atrophy"]["state"] == "not_met" and window["atrophy"]["within_noise"]
    assert alerts(patient, Rule.NEDA4_ATROPHY) == []


# --- NfL -------------------------------------------------------------------------------------


def test_nfl_elevated(today, patient):
    add(nfl_sample(patient, date=D(2025, 1, 1), value=Decimal("30")))
    run(patient)
    [alert] = alerts(patient, Rule.NFL)
    assert alert.severity == Severity.MEDIUM and alert.evidence["elevated"] is True


def test_nfl_elevated_and_rising_is_new_high_evidence(today, patient):
    add(nfl_sample(patient, date=D(2024, 6, 1), value=Decimal("8")))
    run(patient)
    assert alerts(patient, Rule.NFL) == []
    add(nfl_sample(patient, date=D(2025, 1, 1), value=Decimal("30")))
    run(patient)
    [alert] = alerts(patient, Rule.NFL)
    assert alert.severity == Severity.HIGH and alert.evidence["rising"] is True


def test_nfl_back_to_normal_resolves(today, patient):
    add(nfl_sample(patient, date=D(2024, 6, 1), value=Decimal("30")))
    run(patient)
    add(nfl_sample(patient, date=D(2025, 1, 1), value=Decimal("8")))
    run(patient)
    [alert] = alerts(patient, Rule.NFL, unresolved=False)
    assert alert.state == AlertState.RESOLVED


# --- monitoring overdue ---------------------------------------------------------------------


def test_mri_overdue_and_resolved_by_a_scan(today, patient):
    add(mri_scan(patient, date=D(2024, 5, 1)))
    run(patient)
    [alert] = alerts(patient, Rule.MRI_OVERDUE)
    assert alert.severity == Severity.LOW and alert.evidence["due"] == "2025-05-01"
    add(mri_scan(patient, date=D(2025, 5, 20)))
    run(patient)
    assert alerts(patient, Rule.MRI_OVERDUE) == []
    [resolved] = alerts(patient, Rule.MRI_OVERDUE, unresolved=False)
    assert "An MRI has been recorded" in resolved.resolution_note


def test_mri_not_overdue_on_its_due_day(today, patient):
    add(mri_scan(patient, date=D(2024, 6, 1)))
    run(patient)
    assert alerts(patient, Rule.MRI_OVERDUE) == []


def test_edss_overdue_after_six_months(today, patient):
    visits(patient, (D(2024, 12, 1), "2.0"))
    run(patient)
    assert alerts(patient, Rule.EDSS_OVERDUE) == []  # due today
    run(patient, as_of=D(2025, 6, 2))  # the nightly sweep, a day later
    [alert] = alerts(patient, Rule.EDSS_OVERDUE)
    assert PatientStatus.objects.get(patient=patient).edss_due == D(2025, 6, 1)
    assert "2024-12-01" in alert.explanation


def test_jcv_due_every_six_months_on_natalizumab(today, patient):
    course(patient, "natalizumab", start=D(2024, 1, 10))
    add(lab_result(patient, "jcv-index", date=D(2024, 10, 1), text="negative"))
    run(patient)
    [alert] = alerts(patient, Rule.JCV_OVERDUE)
    assert alert.severity == Severity.MEDIUM
    add(lab_result(patient, "jcv-index", date=D(2025, 5, 2), text="positive", value=Decimal("0.9")))
    run(patient)
    assert alerts(patient, Rule.JCV_OVERDUE) == []
    assert PatientStatus.objects.get(patient=patient).jcv_due == D(2025, 11, 2)


def test_no_jcv_reminder_off_natalizumab(today, patient):
    course(patient, "ocrelizumab", start=D(2024, 1, 10))
    run(patient)
    assert alerts(patient, Rule.JCV_OVERDUE) == []
    assert PatientStatus.objects.get(patient=patient).jcv_due is None


def test_overdue_threshold_comes_from_settings(today, patient, settings):
    settings.ALERT_MRI_OVERDUE_MONTHS = 18
    add(mri_scan(patient, date=D(2024, 5, 1)))
    run(patient)
    assert alerts(patient, Rule.MRI_OVERDUE) == []


# --- the stored status ----------------------------------------------------------------------


def test_status_holds_every_part_with_its_definition(today, patient):
    c = course(patient, start=D(2024, 1, 10))
    visits(patient, (D(2024, 1, 10), "2.0"), (D(2025, 3, 1), "2.0"))
    add(mri_scan(patient, date=D(2024, 1, 5)))
    add(mri_scan(patient, date=D(2024, 8, 1), pbvc=Decimal("-0.2")))
    add(nfl_sample(patient, date=D(2025, 1, 1)))
    run(patient)
    status = PatientStatus.objects.get(patient=patient)
    assert status.therapy_course_id == c.pk and status.rebaseline_date == D(2024, 7, 10)
    assert status.as_of == D(2025, 6, 1)
    assert status.definition["name"] == "muller2023" and status.engine_version
    assert [w.label[:4] for w in status.documents.calendar_years] == [
        "2024",
        "2025",
    ]
    assert [w["label"][:4] for w in status.closed_years] == ["2024"]
    assert status.neda["since_rebaseline"]["kind"] == "since_rebaseline"
    assert status.magnims == 0 and status.rio == 0
    assert status.nfl["elevated"] is False
    assert status.brain_volume["scans"]
    assert (status.mri_due, status.edss_due) == (D(2025, 8, 1), D(2025, 9, 1))
