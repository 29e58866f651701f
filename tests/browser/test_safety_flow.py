"""End to end in Debian's Chromium: a nurse enters a JCV result for a natalizumab patient
whose JCV test is overdue, and the alert clears."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.utils import timezone

from alerts.evaluation import evaluate
from alerts.models import Alert, AlertState, Rule
from patients.actions import Actor, save_record
from patients.models import Therapy, TherapyCourse
from tests import factories as f
from tests.browser.conftest import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_nurse_enters_a_jcv_result_and_the_alert_clears(live_server, browser, site_a):
    today = timezone.localdate()
    nurse = f.make_user("nurse-jo", site=site_a, role="nurse")
    patient = f.make_patient(site_a, mrn="MS-0077", display_name="Jamie Example")
    system = Actor.system("test")
    start = today - dt.timedelta(days=400)
    save_record(
        TherapyCourse(
            patient=patient, therapy=Therapy.objects.get(code="natalizumab"), start=start
        ),
        actor=system,
    )
    save_record(
        f.lab_result(patient, "jcv-index", date=start - dt.timedelta(days=7), text="negative"),
        actor=system,
    )
    evaluate([patient.pk])
    alert = Alert.objects.get(patient=patient, rule=Rule.JCV_OVERDUE)
    base = live_server.url
    page = browser.new_page(viewport={"width": 1366, "height": 900})

    log_in(page, base, nurse.username)
    page.goto(f"{base}/patients/{patient.public_id}/")
    row = page.locator(f"tr[data-alert='{alert.public_id}']")
    assert "not yet seen" in row.inner_text()  # the open state, in words
    page.get_by_role("link", name="JCV result").click()
    page.fill("#id_date", today.isoformat())
    page.select_option("#id_text", "negative")
    page.fill("#id_value", "0.12")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/patients/{patient.public_id}/")
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    page.reload()
    assert "cleared: Condition cleared. A JCV test has been recorded" in row.inner_text()
    assert "0.12" in page.inner_text("#safety")


def test_nurse_enters_a_pregnancy_seen_on_the_timeline_and_in_the_overdue_alert(
    live_server, browser, site_a
):
    today = timezone.localdate()
    nurse = f.make_user("nurse-kim", site=site_a, role="nurse")
    patient = f.make_patient(site_a, mrn="MS-0078", display_name="Robin Example")
    system = Actor.system("test")
    start = today - dt.timedelta(days=400)
    save_record(
        TherapyCourse(
            patient=patient, therapy=Therapy.objects.get(code="natalizumab"), start=start
        ),
        actor=system,
    )
    save_record(
        f.lab_result(patient, "jcv-index", date=start - dt.timedelta(days=7), text="negative"),
        actor=system,
    )
    save_record(f.visit(patient, date=start, edss="2.0"), actor=system)
    base = live_server.url
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    log_in(page, base, nurse.username)
    page.goto(f"{base}/patients/{patient.public_id}/")
    page.get_by_role("link", name="Pregnancy").click()
    conceived = today - dt.timedelta(days=250)  # before the JCV test fell due
    page.fill("#id_start", conceived.isoformat())
    page.fill("#id_due_date", (conceived + dt.timedelta(days=280)).isoformat())
    page.select_option("#id_therapy_action", "paused")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/patients/{patient.public_id}/")
    page.wait_for_selector("#timeline[data-drawn='true']")

    # Point at the middle of the pregnancy strip: its dates, and the therapy paused.
    middle = (conceived + dt.timedelta(days=125)).isoformat()
    x, y = page.evaluate(
        """([day, edss]) => {
            const plot = document.getElementById("timeline");
            const layout = plot._fullLayout, box = plot.getBoundingClientRect();
            return [box.left + layout.xaxis._offset + layout.xaxis.d2p(day),
                    box.top + layout.yaxis._offset + layout.yaxis.l2p(edss)];
        }""",
        [middle, 9.6],
    )
    page.mouse.move(x, y)
    label = page.wait_for_selector(".hoverlayer .hovertext").text_content() or ""
    assert f"Pregnancy from {conceived.isoformat()}, ongoing" in label
    assert label.endswith("; therapy paused")
    assert "Paused" in page.inner_text("#pregnancies + table")
    alert = Alert.objects.get(patient=patient, rule=Rule.JCV_OVERDUE)
    assert "A pregnancy explains the gap" in alert.explanation
    assert "A pregnancy explains the gap" in page.inner_text("#alerts")
    if shots := os.environ.get("MSTRACK_SHOTS_DIR"):
        page.screenshot(path=f"{shots}/pregnancy-timeline.png")
