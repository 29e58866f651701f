"""The outcomes report through the API and the page, on a hand-made cohort worked out by hand.

Ten patients of site A start natalizumab on 2020-01-01 and are seen every six months to
2024-01-01, with a yearly clean MRI. Patients 1-2 worsen (EDSS 2.0 -> 3.0, confirmed) on
2021-01-01 (day 366), patient 3 on 2022-01-01 (day 731); patient 4 is last seen on
2021-07-01 (censored on day 547); patients 5-10 stay well. Two more patients take
ocrelizumab and relapse in their first year (MAGNIMS 1).

Kaplan-Meier of the first CDW on natalizumab, by hand:
  day 366: 10 at risk, 2 events -> S = 8/10 = 0.8
  day 547: patient 4 censored
  day 731: 7 at risk, 1 event  -> S = 0.8 * 6/7 = 0.685714
so the risk is 0 % at 1 year (365.25 days), 20.0 % at 2 years and 31.4 % at 3 years.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from monitoring.clinical.cohort import Filters
from outcomes import cohort
from outcomes.models import CohortReport
from outcomes.tasks import compute_report, refresh_reports
from patients.models import StopReason, Therapy
from tests import factories as f

pytestmark = pytest.mark.django_db
D = dt.date
NOW = dt.datetime(2024, 6, 30, 12, tzinfo=dt.UTC)
START = D(2020, 1, 1)
VISIT_DAYS = [D(2020 + i // 2, 1 + 6 * (i % 2), 1) for i in range(9)]  # to 2024-01-01
# The third scan closes the first year (month 12.5: the scores' 9-15 month window, spec §4).
SCAN_DAYS = [D(2019, 12, 15), D(2020, 7, 15), D(2021, 1, 15), D(2022, 6, 15), D(2023, 6, 15)]


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


LAST_VISIT = D(2024, 1, 1)


def add_patient(
    site, *, worsens_on=None, last_visit=LAST_VISIT, therapy="natalizumab", relapse=None,
    stop_reason="",
):  # fmt: skip
    patient = f.make_patient(site)
    course = f.therapy_course(
        patient,
        therapy=Therapy.objects.get(code=therapy),
        start=START,
        end=D(2021, 12, 1) if stop_reason else None,
        stop_reason=stop_reason,
    )
    course.save()
    for day in VISIT_DAYS:
        if day <= last_visit:
            edss = "3.0" if worsens_on and day >= worsens_on else "2.0"
            f.visit(patient, date=day, edss=Decimal(edss)).save()
    for i, day in enumerate(SCAN_DAYS):
        if day <= last_visit:
            pbvc = Decimal("-0.2") if i else None
            f.mri_scan(patient, date=day, new_t2=0, gd_enhancing=0, pbvc=pbvc).save()
    if relapse:
        f.relapse(patient, onset=relapse).save()
    return patient


@pytest.fixture
def cohort_a(site_a):
    patients = [add_patient(site_a, worsens_on=D(2021, 1, 1)) for _ in range(2)]
    patients.append(add_patient(site_a, worsens_on=D(2022, 1, 1)))
    patients.append(add_patient(site_a, last_visit=D(2021, 7, 1)))
    patients += [add_patient(site_a) for _ in range(6)]
    patients += [
        add_patient(site_a, therapy="ocrelizumab", relapse=D(2020, 10, 1)) for _ in range(2)
    ]
    return patients


def api_report(user, **params):
    client = APIClient()
    client.force_authenticate(user)
    return client.get("/api/v1/outcomes/", params)


def tables(body) -> dict:
    return {t["id"]: t for t in body["tables"]}


def row(table, *key):
    found = [r for r in table["rows"] if tuple(r[: len(key)]) == key]
    assert len(found) == 1, (key, table["rows"])
    return dict(zip(table["columns"], found[0], strict=True))


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return round(100 * (centre - half), 1), round(100 * (centre + half), 1)


def test_kaplan_meier_by_hand(cohort_a, neurologist_a) -> None:
    response = api_report(neurologist_a, therapy="natalizumab")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready" and body["patients"] == 12 and body["courses"] == 10
    cdw = row(tables(body)["time_to_event"], "cdw", "Natalizumab")
    assert (cdw["courses"], cdw["events"]) == (10, 3)
    assert cdw["1 y risk %"] == 0.0
    assert cdw["2 y risk %"] == 20.0
    assert cdw["3 y risk %"] == 31.4
    # The 95 % interval at 3 years, exponential Greenwood by hand:
    survival = 0.8 * 6 / 7
    variance = 2 / (10 * 8) + 1 / (7 * 6)
    c = 1.959963984540054 * math.sqrt(variance / math.log(survival) ** 2)
    low, high = survival ** math.exp(c), survival ** math.exp(-c)
    assert cdw["3 y 95% CI low"] == round(100 * (1 - high), 1)
    assert cdw["3 y 95% CI high"] == round(100 * (1 - low), 1)
    # No relapse on natalizumab: nobody has the event, the risk is 0.
    relapse = row(tables(body)["time_to_event"], "relapse", "Natalizumab")
    assert (relapse["events"], relapse["3 y risk %"]) == (0, 0.0)
    at_risk = row(tables(body)["numbers_at_risk"], "cdw", "Natalizumab")
    assert [at_risk[f"{y} y"] for y in range(6)] == [10, 10, 7, 6, 6, 0]
    (curve,) = [c for c in body["curves"] if c["endpoint"] == "cdw"]
    assert curve["years"][12] == 1.0 and curve["cumulative"][12] == 0.0
    assert curve["cumulative"][13] == 20.0 and curve["cumulative"][36] == 31.4
    # It stops at 4 years: the six courses still followed then leave at once.
    assert curve["years"][-1] == 4.0


def test_neda_rates_by_hand(cohort_a, neurologist_a) -> None:
    body = api_report(neurologist_a).json()
    neda = tables(body)["neda_years"]
    # 2020: everyone clean.
    year_2020 = row(neda, "Natalizumab", 2020)
    assert (year_2020["patients"], year_2020["NEDA-3 met"], year_2020["NEDA-3 % met"]) == (
        10,
        10,
        100.0,
    )
    # 2022: patient 3 worsens, patient 4 is no longer seen (unknown), 8 are met.
    year_2022 = row(neda, "Natalizumab", 2022)
    assert (year_2022["NEDA-3 met"], year_2022["NEDA-3 not met"]) == (8, 1)
    assert (year_2022["NEDA-3 unknown"], year_2022["NEDA-3 % unknown"]) == (1, 10.0)
    assert year_2022["NEDA-3 % met"] == 80.0
    assert (year_2022["NEDA-3 95% CI low"], year_2022["NEDA-3 95% CI high"]) == wilson(8, 10)
    # 2022's NEDA-4: the yearly PBVC of -0.2 % is inside the line.
    assert year_2022["NEDA-4 met"] == 8
    # Two ocrelizumab patients: counts only, no percentage.
    ocrelizumab = row(neda, "Ocrelizumab", 2020)
    assert ocrelizumab["NEDA-3 % met"] is None and "fewer than 10" in ocrelizumab["note"]
    assert ocrelizumab["NEDA-3 not met"] == 2


def test_scores_checked_by_hand(cohort_a, neurologist_a) -> None:
    body = api_report(neurologist_a).json()
    magnims = tables(body)["scores_magnims"]
    zero = row(magnims, "0")
    # The ten natalizumab courses: no relapse, no new T2 in the first year -> MAGNIMS 0.
    assert (zero["published 3-y risk %"], zero["courses"], zero["failures by 3 y"]) == (17, 10, 3)
    assert zero["observed 3-y risk %"] == 31.4
    one = row(magnims, "1")
    assert (one["courses"], one["observed 3-y risk %"]) == (2, None)
    assert "fewer than 10" in one["note"]


def test_stop_for_inefficacy_counts_as_failure(site_a, neurologist_a) -> None:
    for _ in range(10):
        add_patient(site_a, stop_reason=StopReason.INEFFICACY)
    body = api_report(neurologist_a).json()
    failure = row(tables(body)["time_to_event"], "failure", "Natalizumab")
    # Every course stopped for inefficacy on 2021-12-01 (day 700): all fail by 2 years.
    assert (failure["events"], failure["2 y risk %"]) == (10, 100.0)
    cdw = row(tables(body)["time_to_event"], "cdw", "Natalizumab")
    assert cdw["events"] == 0


def test_pira_share_under_every_definition(cohort_a, neurologist_a) -> None:
    share = tables(api_report(neurologist_a).json())["pira_share"]
    names = [r[0] for r in share["rows"]]
    assert names == [
        "muller2023",
        "muller2023-strict",
        "kappos2020",
        "cagol2022",
        "muller2025",
        "portaccio2025",
    ]
    # Three CDWs without any relapse near them: PIRA under every definition, too few to
    # give a percentage.
    for name in names:
        r = row(share, name)
        assert (r["CDW events"], r["PIRA"], r["PIRA % of CDW"]) == (3, 3, None)


def test_a_site_never_sees_another_sites_patients(cohort_a, site_b, neurologist_a, user_b) -> None:
    before = api_report(neurologist_a).json()
    # Site B: twelve patients of its own, all worsening with relapses on ocrelizumab.
    for _ in range(12):
        add_patient(
            site_b, therapy="ocrelizumab", worsens_on=D(2021, 1, 1), relapse=D(2020, 12, 20)
        )
    CohortReport.objects.all().delete()
    after = api_report(neurologist_a).json()
    assert after["tables"] == before["tables"] and after["curves"] == before["curves"]
    assert after["patients"] == 12
    mine = api_report(user_b).json()
    assert mine["patients"] == 12 and mine["courses"] == 12
    assert not [r for r in tables(mine)["neda_years"]["rows"] if r[0] == "Natalizumab"]
    # The page and its CSV too.
    client = Client()
    client.force_login(user_b)
    page = client.get(reverse("outcomes"))
    assert page.status_code == 200 and b"<td>Natalizumab</td>" not in page.content
    assert b"<td>Ocrelizumab</td>" in page.content
    csv = client.get(reverse("outcomes-csv", args=["time_to_event"]))
    assert b"Natalizumab" not in csv.content and b"Ocrelizumab" in csv.content


def test_bad_filters_are_400_naming_the_field(neurologist_a) -> None:
    response = api_report(neurologist_a, therapy="aspirin")
    assert response.status_code == 400 and "therapy" in response.json()
    response = api_report(neurologist_a, period_from=2023, period_to=2021)
    assert response.status_code == 400 and "period_to" in response.json()
    assert api_report(neurologist_a, period_to=2030).status_code == 400
    assert api_report(neurologist_a, age_band="teen").status_code == 400


def test_no_site_no_outcomes(db) -> None:
    stranger = f.make_user("stranger")
    assert api_report(stranger).status_code == 403


def test_filters_change_the_report(cohort_a, neurologist_a) -> None:
    body = api_report(neurologist_a, period_from=2022, period_to=2022).json()
    years = {r[1] for r in tables(body)["neda_years"]["rows"]}
    assert years == {2022}
    assert api_report(neurologist_a, sex="male").json()["patients"] == 0
    assert CohortReport.objects.count() == 2


def test_page_shows_tables_and_csv(cohort_a, neurologist_a, client) -> None:
    client.force_login(neurologist_a)
    page = client.get(reverse("outcomes"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "NEDA-3 and NEDA-4 per therapy and calendar year" in text
    assert 'id="km-cdw"' in text and "plotly/plotly.min.js" in text
    # Under a strict CSP: no inline style or script in the page's own part.
    mine = text.split("<h1>The clinic's outcomes</h1>")[1]
    assert " style=" not in mine and "<script>" not in mine and "<style" not in mine
    csv = client.get(reverse("outcomes-csv", args=["neda_years"]))
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().splitlines()
    assert lines[0].startswith("# NEDA-3 and NEDA-4")
    assert any(line.startswith("Natalizumab,2022,10,8,1,1,80.0,") for line in lines)
    assert client.get(reverse("outcomes-csv", args=["nothing"])).status_code == 404
    assert client.get(reverse("outcomes") + "?sex=x").status_code == 400


def test_report_is_computed_again_only_when_its_data_changed(cohort_a, site_a) -> None:
    sites = str(site_a.pk)
    everyone = cohort.filters_json(Filters())
    assert compute_report(sites, everyone) is True
    first = CohortReport.objects.get(sites=sites)
    assert compute_report(sites, everyone) is False  # same data, same day
    f.visit(cohort_a[5], date=D(2024, 6, 1), edss=Decimal("2.0")).save()
    assert compute_report(sites, everyone) is True
    assert CohortReport.objects.get(sites=sites).data_version != first.data_version
    # A new day is new data: the report says which day it is of.
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        assert compute_report(sites, everyone) is True
        assert CohortReport.objects.get(sites=sites).as_of == D(2024, 7, 1)


def test_nightly_refresh_covers_every_site_and_recent_filter_sets(
    cohort_a, site_a, site_b, neurologist_a, settings
) -> None:
    assert settings.CELERY_BEAT_SCHEDULE["outcomes-nightly-reports"]["task"] == (
        "outcomes.tasks.refresh_reports"
    )
    api_report(neurologist_a, therapy="natalizumab")
    CohortReport.objects.update(requested_at=timezone.now() - dt.timedelta(days=40))
    api_report(neurologist_a, sex="female")
    # Site A, site B, and the filter set asked for today (not the one of 40 days ago).
    assert refresh_reports() == 3
    keys = set(CohortReport.objects.values_list("sites", "filters_key"))
    assert (str(site_b.pk), "") in keys and (str(site_a.pk), "sex=female") in keys


def test_while_a_worker_computes_the_api_answers_202(cohort_a, neurologist_a, monkeypatch):
    monkeypatch.setattr(compute_report, "apply_async", lambda *args, **kwargs: None)
    response = api_report(neurologist_a)
    assert response.status_code == 202 and response.json()["status"] == "computing"
    client = Client()
    client.force_login(neurologist_a)
    page = client.get(reverse("outcomes"))
    assert page.status_code == 200 and b'id="computing"' in page.content


def test_pira_by_disease_duration_by_hand(cohort_a, neurologist_a) -> None:
    graf = tables(api_report(neurologist_a).json())["pira_by_duration"]
    assert "Natalizumab" in graf["title"]
    # Symptom onset 2015-06-01, natalizumab from 2020-01-01: 4 whole years, the < 5 band.
    # Three of the ten had a PIRA on it.
    band = row(graf, "<5")
    assert (band["patients"], band["with PIRA"], band["% with PIRA"]) == (10, 3, 30.0)
    assert (band["95% CI low"], band["95% CI high"]) == wilson(3, 10)
    # Follow-up to the first PIRA or the last visit: 366, 366, 547, 731 and six of 1461 days.
    assert band["median follow-up (years)"] == 4.0
    assert row(graf, "5-9")["patients"] == 0
