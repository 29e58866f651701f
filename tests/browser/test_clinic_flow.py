"""End to end in Debian's Chromium: a nurse enters a relapse and a visit, a neurologist sees
the alert on the dashboard, opens the patient and acknowledges it.

Screenshots of the dashboard, the patient page and the inbox go to the test's temporary
folder, or to $MSTRACK_SCREENSHOTS (`make screenshots` refreshes docs/screenshots/).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from alerts.evaluation import evaluate
from alerts.models import Alert
from patients.actions import Actor, save_record
from patients.models import Therapy, TherapyCourse
from tests import factories as f

CHROMIUM = "/usr/bin/chromium"
# serialized_rollback: an earlier transactional test may have flushed the therapy catalogue
# that a data migration loads.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser test: install Debian's chromium ({CHROMIUM})")
        pytest.skip(f"needs Debian's chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls of the test
    # itself are synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def _log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-Clinic-2026")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_relapse_entered_by_nurse_reaches_neurologist(live_server, browser, site_a, tmp_path):
    shots = Path(os.environ.get("MSTRACK_SCREENSHOTS") or tmp_path)
    today = timezone.localdate()
    nurse = f.make_user("nurse-ann", site=site_a, role="nurse")
    f.make_user("dr-bea", site=site_a, role="neurologist")
    patient = f.make_patient(site_a, mrn="MS-0042", display_name="Alex Example")
    system = Actor.system("test")
    save_record(
        TherapyCourse(
            patient=patient,
            therapy=Therapy.objects.get(code="ocrelizumab"),
            start=today - dt.timedelta(days=900),
        ),
        actor=system,
    )
    for months_ago, edss in ((24, "2.0"), (18, "2.0"), (12, "2.0"), (6, "2.0")):
        save_record(
            f.visit(patient, date=today - dt.timedelta(days=30 * months_ago), edss=Decimal(edss)),
            actor=system,
        )
    evaluate([patient.pk])
    base = live_server.url
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    # Chromium reports what the Content-Security-Policy refused on the console.
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    _log_in(page, base, nurse.username)
    page.goto(f"{base}/patients/")
    page.fill("#q", "MS-0042")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=MS-0042**")
    page.get_by_role("link", name="MS-0042").click()
    page.wait_for_url(f"**/patients/{patient.public_id}/")
    page.get_by_role("link", name="Relapse", exact=True).click()
    page.fill("#id_onset", (today - dt.timedelta(days=12)).isoformat())
    page.select_option("#id_severity", "moderate")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/patients/{patient.public_id}/")
    page.get_by_role("link", name="New visit").click()
    page.fill("#id_date", today.isoformat())
    page.select_option("#id_edss", "3.0")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/patients/{patient.public_id}/")
    page.wait_for_selector("#alerts .alert-row")
    assert Alert.objects.filter(patient=patient, rule="relapse_on_therapy").count() == 1
    page.get_by_role("button", name="Log out").click()

    _log_in(page, base, "dr-bea")
    page.goto(f"{base}/dashboard/")
    row = page.locator(f"tr[data-patient='{patient.public_id}']")
    assert "high" in row.inner_text()
    assert page.locator("table.cohort tbody tr").first.get_attribute("data-patient") == str(
        patient.public_id
    )
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
    row.locator("a").first.click()
    alert = Alert.objects.get(patient=patient, rule="relapse_on_therapy")
    alert_row = page.locator(f"tr[data-alert='{alert.public_id}']")
    assert "Relapse on therapy" in alert_row.inner_text()
    alert_row.locator("button:has-text('Acknowledge')").click()
    page.wait_for_selector(f"tr[data-alert='{alert.public_id}'] >> text=ack. dr-bea")
    alert.refresh_from_db()
    assert alert.state == "acknowledged" and alert.acknowledged_by.username == "dr-bea"
    page.screenshot(path=str(shots / "patient.png"), full_page=True)
    page.goto(f"{base}/alerts/")
    assert "MS-0042" in page.inner_text("main")
    page.screenshot(path=str(shots / "inbox.png"), full_page=True)
    # The stylesheet and the select's script are files the policy allows.
    assert page.eval_on_selector("header", "e => getComputedStyle(e).display") == "flex"
    page.select_option("#state", "all")
    page.wait_for_url("**state=all**")
    assert refused == []
