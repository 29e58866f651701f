"""Safety alerts through the evaluation: raised with the protocol item and its source, and
cleared by the result that answers them. Time is frozen on 2025-06-01."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from alerts.models import AlertState, Rule, Severity
from tests.alerts.conftest import add, alerts, course, run
from tests.factories import lab_result

pytestmark = pytest.mark.django_db

D = dt.date


def test_overdue_lab_raises_and_the_result_clears_it(today, patient):
    course(patient, "dimethyl-fumarate", start=D(2025, 1, 1))
    add(lab_result(patient, date=D(2024, 12, 20), value=Decimal(1500)))
    run(patient)
    [alert] = alerts(patient, Rule.SAFETY_TEST_OVERDUE)
    assert alert.severity == Severity.MEDIUM
    assert alert.evidence["item"]["code"] == "fumarate-lymphocytes"
    assert "was due on 2025-04-01" in alert.explanation
    assert "Tecfidera/Vumerity (fumarate) SmPC section 4.4" in alert.explanation
    add(lab_result(patient, date=D(2025, 5, 20), value=Decimal(1100)))
    run(patient)
    assert alerts(patient, Rule.SAFETY_TEST_OVERDUE) == []
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    assert "The test has been recorded" in alert.resolution_note


def test_alemtuzumab_low_platelets_high_alert_cleared_by_a_normal_count(today, patient):
    course(patient, "alemtuzumab", start=D(2024, 5, 6), end=D(2024, 5, 10))
    low = add(lab_result(patient, "platelets", date=D(2025, 5, 25), value=Decimal(85)))
    run(patient)
    [alert] = alerts(patient, Rule.LAB_OUT_OF_RANGE)
    assert alert.severity == Severity.HIGH
    assert alert.evidence["records"][0]["id"] == str(low.public_id)
    assert "85, below 100 on 2025-05-25 (alemtuzumab)" in alert.explanation
    assert "Lemtrada (alemtuzumab) SmPC section 4.4" in alert.explanation
    add(lab_result(patient, "platelets", date=D(2025, 5, 31), value=Decimal(160)))
    run(patient)
    assert alerts(patient, Rule.LAB_OUT_OF_RANGE) == []


def test_pml_high_risk_on_natalizumab(today, patient):
    course(patient, "natalizumab", start=D(2022, 3, 1))
    add(lab_result(patient, "jcv-index", date=D(2025, 3, 1), value=Decimal("1.6"), text="positive"))
    run(patient)
    [alert] = alerts(patient, Rule.PML_HIGH_RISK)
    assert alert.severity == Severity.HIGH
    assert "PML risk high" in alert.explanation and "MRI every 3-4 months" in alert.explanation


def test_pml_moderate_raises_nothing(today, patient):
    course(patient, "natalizumab", start=D(2022, 3, 1))
    add(lab_result(patient, "jcv-index", date=D(2025, 3, 1), value=Decimal("1.5"), text="positive"))
    run(patient)
    assert alerts(patient, Rule.PML_HIGH_RISK) == []


def test_cladribine_year2_blocked_until_lymphocytes_recover(today, patient):
    course(patient, "cladribine", start=D(2024, 8, 1), end=D(2024, 8, 5))
    add(lab_result(patient, date=D(2025, 5, 15), value=Decimal(700), lower_limit=Decimal(1000)))
    run(patient)
    [alert] = alerts(patient, Rule.CLADRIBINE_YEAR2_BLOCKED)
    assert alert.severity == Severity.HIGH
    assert "must not be given now" in alert.explanation and "2026-02-01" in alert.explanation
    add(lab_result(patient, date=D(2025, 5, 30), value=Decimal(800), lower_limit=Decimal(1000)))
    run(patient)
    assert alerts(patient, Rule.CLADRIBINE_YEAR2_BLOCKED) == []
