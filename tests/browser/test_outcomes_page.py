"""End to end in Debian's Chromium: a neurologist opens the outcomes page of a seeded cohort,
sees its Kaplan-Meier charts drawn by Plotly and its tables, and downloads a table as CSV.

The screenshots go to the test's temporary folder, or to $MSTRACK_SCREENSHOTS
(`make screenshots` refreshes docs/screenshots/outcomes.png and outcomes-tables.png).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.browser.conftest import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_neurologist_opens_the_outcomes_page(live_server, browser, tmp_path, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "pw-Clinic-2026")
    call_command("seed_demo", patients=200, seed=1, stdout=io.StringIO())
    shots = Path(os.environ.get("MSTRACK_SCREENSHOTS") or tmp_path)
    base = live_server.url
    page = browser.new_page(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    log_in(page, base, "demo-neurologist")
    page.goto(f"{base}/outcomes/")
    page.wait_for_selector("#km-cdw[data-drawn='1']")
    assert page.locator(".km-plot[data-drawn='1']").count() >= 3
    assert page.locator("#km-cdw .modebar-btn[data-title='Download plot as SVG']").count() == 1
    assert "PIRA share of confirmed worsening events" in page.inner_text("#table-pira_share")
    assert "Denominator" in page.inner_text("#table-neda_years")
    with page.expect_download() as download:
        page.locator("#table-pira_share a.csv").click()
    assert download.value.suggested_filename.startswith("mstrack-pira_share-")
    assert errors == []
    shots.mkdir(parents=True, exist_ok=True)
    # At 1366x768 as every screenshot: the first chart, then a table, each from its title.
    page.locator("#km-title").evaluate("title => title.scrollIntoView()")
    page.screenshot(path=str(shots / "outcomes.png"))
    page.locator("#table-pira_share").evaluate("table => table.scrollIntoView()")
    page.screenshot(path=str(shots / "outcomes-tables.png"))

    page.select_option("#id_therapy", "natalizumab")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**therapy=natalizumab**")
    page.wait_for_selector("#table-pira_by_duration")
    assert "PIRA on Natalizumab" in page.inner_text("#table-pira_by_duration")
