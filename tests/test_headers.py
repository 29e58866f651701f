"""Security headers of the pages and the API: a Content-Security-Policy the pages keep (no
inline script or style), a Permissions-Policy, and no caching of anything behind a login."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders

from alerts.evaluation import evaluate
from api.models import IntegrationToken
from patients.models import Membership
from tests import factories as f

pytestmark = pytest.mark.django_db


class _Inline(HTMLParser):
    """What a strict CSP would refuse in a page, and the static files it loads."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []
        self.assets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        for name, _ in attrs:
            if name == "style" or name.startswith("on"):
                self.refused.append(f"<{tag} {name}=…>")
        if tag == "style":
            self.refused.append("<style>")
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.refused.append("inline <script>")
        src = names.get("src") if tag == "script" else names.get("href") if tag == "link" else None
        if src and src.startswith("/static/"):
            self.assets.append(src.removeprefix("/static/"))


def _inline(html: str) -> _Inline:
    parser = _Inline()
    parser.feed(html)
    return parser


@pytest.fixture
def clinic(site_a, site_b, neurologist_a):
    # Two sites show the site switcher; an old visit raises an overdue alert for the inbox.
    Membership.objects.create(user=neurologist_a, site=site_b, role="neurologist")
    patient = f.make_patient(site_a)
    f.visit(patient, date=dt.date(2020, 1, 1), edss="2.0")
    f.visit(patient, date=dt.date(2020, 7, 1), edss="3.0")
    f.relapse(patient, onset=dt.date(2020, 3, 1))
    evaluate([patient.pk])
    return neurologist_a, patient


def _pages(patient) -> list[str]:
    return [
        "/",
        "/dashboard/",
        "/alerts/",
        "/patients/",
        f"/patients/{patient.public_id}/",
        f"/patients/{patient.public_id}/new/visit/",
    ]


def test_pages_carry_a_strict_csp_and_nothing_inline_it_would_refuse(client, clinic):
    user, patient = clinic
    client.force_login(user)
    for url in ["/accounts/login/", *_pages(patient)]:
        response = client.get(url)
        assert response.status_code == 200, url
        policy = response["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        # Scripts only from this server's files; styles may be inline for Plotly's charts.
        assert directives["script-src"] == "'self'", url
        assert directives["style-src"] == "'self' 'unsafe-inline'", url
        page = _inline(response.content.decode())
        assert page.refused == [], url
        assert page.assets, url
        for asset in page.assets:
            assert finders.find(asset), (url, asset)


def test_no_select_acts_on_change_alone(client, clinic):
    """WCAG 2.2 3.2.2: a choice is applied by its button, never by the change itself."""
    user, patient = clinic
    client.force_login(user)
    html = client.get(f"/patients/{patient.public_id}/").content.decode()
    assert "autosubmit" not in html and "onchange" not in html
    form = html[html.index('id="definition"') :]
    assert "<button" in form[: form.index("</form>")]


def test_api_docs_load_their_scripts_from_files(client, neurologist_a):
    client.force_login(neurologist_a)
    for url in ("/api/docs/", "/api/redoc/"):
        response = client.get(url)
        assert response.status_code == 200, url
        refused = _inline(response.content.decode()).refused
        assert [r for r in refused if "script" in r or " on" in r] == [], url
        assert "script-src 'self'" in response["Content-Security-Policy"]
    script = client.get("/api/docs/?script")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")


def test_permissions_policy_refuses_devices(client):
    policy = client.get("/accounts/login/")["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in policy


def test_patient_pages_and_api_answers_are_not_stored(client, clinic, site_a):
    user, patient = clinic
    client.force_login(user)
    for url in _pages(patient):
        assert "no-store" in client.get(url)["Cache-Control"], url
    client.logout()
    _, token = IntegrationToken.issue(site=site_a, name="lab", days=1)
    for url in ("/api/v1/patients/", f"/api/v1/status/{patient.public_id}/", "/api/v1/visits/"):
        response = client.get(url, HTTP_AUTHORIZATION=f"Token {token}")
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
    assert "no-store" in client.get("/api/v1/patients/")["Cache-Control"]  # a 401 too
