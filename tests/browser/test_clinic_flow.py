"""End to end in Debian's Chromium, every page checked with axe-core.

A nurse registers a patient, enters a visit, corrects it and marks an MRI entered in error;
a nurse's relapse reaches the neurologist; a neurologist sorts and searches the dashboard,
reads the NEDA-3 rates of the patients found and of all on their own page, opens a patient
whose status and chart (with a pregnancy, an adverse event and the status changes on its
time axis) fit the first 1366x900 screen, reads her comorbidities, shows the safety labs,
and acknowledges three alerts at once.

Screenshots (1366x768) go to the test's temporary folder, or to $MSTRACK_SCREENSHOTS
(`make screenshots` refreshes docs/screenshots/).
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from alerts.evaluation import evaluate
from alerts.models import Alert
from monitoring.models import AdverseEvent, Comorbidity, MriScan, Pregnancy, Visit
from patients.actions import Actor, save_record
from patients.models import AuditEvent, Patient, Therapy, TherapyCourse
from tests import factories as f
from tests.browser.conftest import log_in

# serialized_rollback: an earlier transactional test may have flushed the therapy catalogue
# that a data migration loads.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def shoot(tmp_path):
    shots = Path(os.environ.get("MSTRACK_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, at: str = "", block: str = "start") -> None:
        """The page at 1366x768: from its top, or scrolled to put the element `at` at the
        window's start or end (`block`)."""
        size = page.viewport_size
        page.set_viewport_size({"width": 1366, "height": 768})
        page.wait_for_timeout(300)  # the chart redraws at the new size
        if at:
            page.locator(at).evaluate("(e, block) => e.scrollIntoView({block})", block)
        else:
            page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(shots / f"{name}.png"))
        page.set_viewport_size(size)

    return take


def _ocrelizumab_patient(site, **fields) -> Patient:
    today = timezone.localdate()
    patient = f.make_patient(site, **fields)
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
    return patient


def test_nurse_registers_enters_corrects_and_withdraws(
    live_server, new_page, site_a, check_accessibility, shoot
):
    today = timezone.localdate()
    f.make_user("nurse-ann", site=site_a, role="nurse")
    base = live_server.url
    page = new_page()
    page.goto(f"{base}/accounts/login/")
    check_accessibility(page)
    shoot(page, "login")
    log_in(page, base, "nurse-ann")
    check_accessibility(page)

    page.get_by_role("link", name="Patients", exact=True).click()
    page.get_by_role("link", name="Register a patient").click()
    check_accessibility(page)
    page.fill("#id_mrn", "MS-0777")
    page.fill("#id_display_name", "Müller, Anna")
    page.fill("#id_birth_date", "1984-02-11")
    page.select_option("#id_sex", "female")
    page.select_option("#id_phenotype", "RRMS")
    page.fill("#id_symptom_onset", "2012-05-01")
    shoot(page, "register")
    page.get_by_role("button", name="Save").click()
    patient = Patient.objects.get(mrn="MS-0777")
    page.wait_for_url(f"**/patients/{patient.public_id}/")
    assert "Patient MS-0777 registered." in page.inner_text("[role=status]")

    page.get_by_role("link", name="New visit").click()
    check_accessibility(page)
    page.fill("#id_date", (today - dt.timedelta(days=3)).isoformat())
    page.select_option("#id_edss", "5.0")
    page.fill("#id_sdmt", "48")
    shoot(page, "visit-form")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/patients/{patient.public_id}/")
    assert "Visit saved for MS-0777." in page.inner_text("[role=status]")
    visit = Visit.objects.get(patient=patient)

    page.locator(f"tr[data-record='{visit.public_id}']").get_by_role("link", name="correct").click()
    check_accessibility(page)
    page.select_option("#id_edss", "3.5")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/patients/{patient.public_id}/")
    assert "Correction saved for MS-0777." in page.inner_text("[role=status]")
    visit.refresh_from_db()
    assert visit.edss == Decimal("3.5")
    assert "3.5" in page.inner_text(f"tr[data-record='{visit.public_id}']")

    scan = save_record(
        f.mri_scan(patient, date=today - dt.timedelta(days=2), new_t2=4),
        actor=Actor.system("import"),
    )
    page.reload()
    page.locator(f"tr[data-record='{scan.public_id}']").get_by_role(
        "link", name="entered in error"
    ).click()
    check_accessibility(page)
    page.fill("#id_reason", "scan of another patient")
    shoot(page, "entered-in-error")
    page.get_by_role("button", name="Mark entered in error").click()
    page.wait_for_url(f"**/patients/{patient.public_id}/")
    assert "marked entered in error" in page.inner_text("[role=status]")
    assert page.locator(f"tr[data-record='{scan.public_id}']").count() == 0
    assert not MriScan.objects.filter(pk=scan.pk).exists()
    assert MriScan.all_records.get(pk=scan.pk).entered_in_error_reason == (
        "scan of another patient"
    )
    assert AuditEvent.objects.filter(patient=patient, actor_label="nurse-ann").count() >= 4
    page.get_by_role("link", name="details").click()
    check_accessibility(page)

    page.goto(f"{base}/accounts/logout/")
    check_accessibility(page)
    page.get_by_role("button", name="Log out").last.click()
    page.wait_for_url("**/accounts/login/")


def test_relapse_entered_by_nurse_reaches_neurologist(live_server, new_page, site_a):
    today = timezone.localdate()
    f.make_user("nurse-ann", site=site_a, role="nurse")
    f.make_user("dr-bea", site=site_a, role="neurologist")
    patient = _ocrelizumab_patient(site_a, mrn="MS-0042", display_name="Alex Example")
    evaluate([patient.pk])
    base = live_server.url
    page = new_page()

    log_in(page, base, "nurse-ann")
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
    page.wait_for_selector("#alerts .alert-row")
    assert Alert.objects.filter(patient=patient, rule="relapse_on_therapy").count() == 1
    page.get_by_role("button", name="Log out").click()

    log_in(page, base, "dr-bea")
    page.goto(f"{base}/dashboard/")
    row = page.locator(f"tr[data-patient='{patient.public_id}']")
    assert "high" in row.inner_text()
    row.locator("a").first.click()
    alert = Alert.objects.get(patient=patient, rule="relapse_on_therapy")
    alert_row = page.locator(f"tr[data-alert='{alert.public_id}']")
    assert "Relapse on therapy" in alert_row.inner_text()
    alert_row.locator("button:has-text('Acknowledge')").click()
    page.wait_for_selector(f"tr[data-alert='{alert.public_id}'] >> text=ack. dr-bea")
    alert.refresh_from_db()
    assert alert.state == "acknowledged" and alert.acknowledged_by.username == "dr-bea"


def _safety_records(patient) -> None:
    """An ended pregnancy before the therapy, an infusion reaction on it, labs on schedule
    and one IgG below the lab's range; asthma since childhood (in the records table, before
    the chart's time axis)."""
    today = timezone.localdate()
    system = Actor.system("test")
    conceived = today - dt.timedelta(days=1400)
    save_record(
        Pregnancy(
            patient=patient,
            start=conceived,
            due_date=conceived + dt.timedelta(days=280),
            end=conceived + dt.timedelta(days=275),
            outcome="live_birth",
            therapy_action="none",
        ),
        actor=system,
    )
    save_record(
        AdverseEvent(
            patient=patient,
            date=today - dt.timedelta(days=880),
            term="Infusion-related reaction",
            suspected_therapy=Therapy.objects.get(code="ocrelizumab"),
            outcome="resolved",
        ),
        actor=system,
    )
    save_record(
        Comorbidity(
            patient=patient, condition="Asthma", code="195967001", onset=dt.date(1992, 5, 1)
        ),
        actor=system,
    )
    for days, value in ((910, "10.5"), (720, "9.1"), (540, "8.0"), (360, "7.4"), (180, "6.6")):
        save_record(
            f.lab_result(
                patient,
                "igg",
                date=today - dt.timedelta(days=days),
                value=Decimal(value),
                lower_limit=Decimal(7),
                upper_limit=Decimal(16),
            ),
            actor=system,
        )


def _alert(patient, rule: str, severity: str, records: list[dict]) -> Alert:
    return Alert.objects.create(
        patient=patient,
        rule=rule,
        severity=severity,
        evidence_key=rule,
        evidence={"records": records},
        explanation=f"{rule.replace('_', ' ')} found for {patient.mrn}",
        raised_at=timezone.now(),
    )


def test_neurologist_sorts_searches_reads_one_screen_and_acknowledges_three(
    live_server, new_page, site_a, check_accessibility, shoot
):
    today = timezone.localdate()
    f.make_user("dr-bea", site=site_a, role="neurologist")
    anna = _ocrelizumab_patient(site_a, mrn="MS-0100", display_name="Anna Müller")
    evaluate([anna.pk])  # her first status: what follows changes it, on the timeline
    system = Actor.system("test")
    _safety_records(anna)
    save_record(f.relapse(anna, onset=today - dt.timedelta(days=40)), actor=system)
    save_record(
        f.visit(anna, date=today - dt.timedelta(days=10), edss=Decimal("3.5"), t25fw=6),
        actor=system,
    )
    save_record(
        f.mri_scan(anna, date=today - dt.timedelta(days=400), new_t2=0, pbvc=None),
        actor=system,
    )
    save_record(
        f.mri_scan(anna, date=today - dt.timedelta(days=30), new_t2=2, pbvc=Decimal("-0.6")),
        actor=system,
    )
    for days, value, assay in ((500, "9.5", "simoa"), (200, "14.0", "simoa"), (20, "22", "ella")):
        save_record(
            f.nfl_sample(
                anna, date=today - dt.timedelta(days=days), value=Decimal(value), assay=assay
            ),
            actor=system,
        )
    calm = _ocrelizumab_patient(site_a, mrn="MS-0200", display_name="Bo Berg")
    evaluate([anna.pk, calm.pk])
    for rule, severity in (("mri_overdue", "low"), ("edss_overdue", "low"), ("nfl", "medium")):
        _alert(calm, rule, severity, [])
    base = live_server.url
    page = new_page()
    log_in(page, base, "dr-bea")

    page.get_by_role("link", name="Dashboard").click()
    check_accessibility(page)
    page.get_by_role("link", name="current EDSS").click()
    page.wait_for_url("**sort=edss**")
    rows = page.locator("table.cohort tbody tr")
    assert rows.first.get_attribute("data-patient") == str(anna.public_id)
    page.get_by_role("link", name="current EDSS").click()
    page.wait_for_url("**sort=-edss**")
    assert rows.first.get_attribute("data-patient") == str(calm.public_id)
    page.fill("#f-q", "muller anna")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**q=muller**")
    assert rows.count() == 1 and "MS-0100" in rows.first.inner_text()
    # The rates of the patients found, on their own page (and of all of them).
    page.get_by_role("link", name="NEDA-3 of these patients by current therapy").click()
    page.wait_for_url("**/dashboard/rates/?**q=muller**")
    check_accessibility(page)
    [rate] = page.locator("table.rates tbody tr").all_inner_texts()
    assert rate.split("\t")[:2] == ["Ocrelizumab", "1"]
    page.get_by_role("link", name="all patients").click()
    page.wait_for_url("**/dashboard/rates/")
    assert "Ocrelizumab\t2" in page.inner_text("table.rates tbody")
    check_accessibility(page)
    shoot(page, "rates")
    page.get_by_role("link", name="back to the patients").click()
    page.wait_for_url("**/dashboard/")
    page.goto(f"{base}/dashboard/?alert=pira")
    assert "not one of the choices" in page.inner_text("[role=status]")
    page.goto(f"{base}/dashboard/")
    shoot(page, "dashboard")

    rows.filter(has_text="MS-0100").get_by_role("link", name="MS-0100").click()
    page.wait_for_url(f"**/patients/{anna.public_id}/")
    page.wait_for_selector("#timeline[data-drawn=true]")
    check_accessibility(page)
    # The status and the chart are on the first 1366x900 screen.
    for selector in (".overview", "#timeline .main-svg"):
        box = page.locator(selector).first.bounding_box()
        assert box["y"] + box["height"] <= 900 and box["x"] + box["width"] <= 1366, selector
    overview = page.inner_text(".overview")
    for words in ("Anna Müller", "Ocrelizumab", "Last EDSS", "NEDA-3", "Open alerts", "Due next"):
        assert words in overview
    legend = page.locator("#timeline .legendtext")
    for entry in ("NfL serum, ella", "Pregnancy", "NEDA lost or worsening seen", "Adverse event"):
        assert legend.filter(has_text=entry).count() >= 1, entry
    shoot(page, "patient")
    assert "Infusion-related reaction" in page.inner_text("#adverse-events + table")
    assert "Asthma" in page.inner_text("#comorbidities + table")
    shoot(page, "patient-records", at="#records")
    page.get_by_role("button", name="Show T25FW, 9HPT and SDMT").click()
    page.wait_for_url("**functional=1**")
    page.wait_for_selector("#timeline[data-drawn=true]")
    assert page.locator("#timeline .legendtext", has_text="T25FW").count() == 1
    page.get_by_role("button", name="Hide T25FW, 9HPT and SDMT").click()
    page.wait_for_url("**functional=0**")
    page.get_by_role("button", name="Show safety labs").click()
    page.wait_for_url("**labs=1**")
    page.wait_for_selector("#timeline[data-drawn=true]")
    assert legend.filter(has_text="Lab result out of range").count() == 1
    check_accessibility(page)
    shoot(page, "patient-labs", at="#timeline", block="end")

    page.get_by_role("link", name="Alerts", exact=True).click()
    check_accessibility(page)
    page.fill("#f-patient", "MS-0200")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**patient=MS-0200**")
    boxes = page.locator("input[name=alert][form=bulk]")
    assert boxes.count() >= 3  # the evaluation may have raised some of its own
    for index in range(3):
        boxes.nth(index).check()
    shoot(page, "inbox")
    page.get_by_role("button", name="Acknowledge the selected alerts").click()
    page.wait_for_selector("text=3 alerts acknowledged.")
    assert Alert.objects.filter(patient=calm, state="acknowledged").count() == 3
    check_accessibility(page)
    page.goto(f"{base}/")
    check_accessibility(page)
    page.goto(f"{base}/patients/")
    check_accessibility(page)
    shoot(page, "patients")
