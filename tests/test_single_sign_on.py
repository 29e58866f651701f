"""Single sign-on against a real OpenID Connect provider (django-oauth-toolkit, started by
the test in a process of its own): the hospital's groups become sites and roles."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
import requests

from patients.models import Membership
from tests import factories as f
from tests.oidc_provider import PASSWORD

ROOT = Path(__file__).resolve().parents[1]
SECRET = "client-secret-of-the-test-only-7f2b"

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def provider_port(live_server, tmp_path_factory) -> Iterator[int]:
    port = _free_port()
    callback = f"{live_server.url}/accounts/oidc/callback/"
    directory = tmp_path_factory.mktemp("provider")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.oidc_provider", str(port), callback, str(directory), SECRET],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def provider(live_server, provider_port, settings) -> str:
    """mstrack's address, configured for the provider's single sign-on."""
    base = f"http://127.0.0.1:{provider_port}/o"
    settings.OIDC_RP_CLIENT_ID = "mstrack"
    settings.OIDC_RP_CLIENT_SECRET = SECRET
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{base}/authorize/"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{base}/token/"
    settings.OIDC_OP_USER_ENDPOINT = f"{base}/userinfo/"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{base}/.well-known/jwks.json"
    settings.OIDC_GROUPS = (
        "ms-neurology-a=A:neurologist;ms-nurses-a=A:nurse;ms-nurses-b=B:nurse;"
        "ms-neurology-c=C:neurologist"
    )
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "mstrack.oidc.HospitalBackend",
    ]
    return live_server.url


def _roles(username: str) -> set[tuple[str, str]]:
    return set(Membership.objects.filter(user__username=username).values_list("site__code", "role"))


def _sign_in(
    base: str, username: str, next_page: str = "/"
) -> tuple[requests.Response, requests.Session]:
    """A browser's round trip: mstrack -> the provider's sign-in form -> back to mstrack."""
    browser = requests.Session()
    form = browser.get(f"{base}/accounts/login/?next={next_page}")
    link = re.search(r'href="(/accounts/oidc/authenticate/[^"]*)"', form.text)
    assert link, "the login page offers the hospital sign-in"
    login = browser.get(base + unescape(link.group(1)))
    assert "/login/" in login.url  # the provider's own page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
    assert token
    answer = browser.post(
        login.url,
        data={
            "csrfmiddlewaretoken": token.group(1),
            "username": username,
            "password": PASSWORD,
            "next": unescape(re.search(r'name="next" value="([^"]*)"', login.text).group(1)),
        },
        headers={"Referer": login.url},
    )
    return answer, browser


def test_hospital_groups_become_sites_and_roles(provider, site_a, site_b):
    patient = f.make_patient(site_a)
    page = f"/patients/{patient.public_id}/"
    answer, _ = _sign_in(provider, "dr-sso", page)
    assert answer.status_code == 200, (answer.url, answer.text[:500])
    assert answer.url == provider + page
    assert patient.mrn in answer.text
    roles = set(
        Membership.objects.filter(user__username="dr-sso").values_list("site__code", "role")
    )
    assert roles == {("A", "neurologist")}

    nurse, _ = _sign_in(provider, "nurse-sso")
    assert nurse.url == provider + "/"
    roles = set(
        Membership.objects.filter(user__username="nurse-sso").values_list("site__code", "role")
    )
    assert roles == {("A", "nurse"), ("B", "nurse")}


def test_groups_are_read_again_at_each_sign_in(provider, site_a, site_b, settings):
    _sign_in(provider, "nurse-sso")
    settings.OIDC_GROUPS = "ms-nurses-a=A:neurologist"  # the hospital changed its groups
    _sign_in(provider, "nurse-sso")
    roles = set(
        Membership.objects.filter(user__username="nurse-sso").values_list("site__code", "role")
    )
    assert roles == {("A", "neurologist")}


def test_no_mapped_group_or_a_local_name_means_no_sign_in(provider, site_a):
    porter, browser = _sign_in(provider, "porter")
    assert "/accounts/login/" in porter.url
    home = browser.get(provider + "/")
    assert "/accounts/login/" in home.url
    assert not Membership.objects.filter(user__username="porter").exists()
    # A local account of the same name is never taken over by the provider's person.
    f.make_user("dr-sso", site=site_a, role="nurse")
    taken, _ = _sign_in(provider, "dr-sso")
    assert "/accounts/login/" in taken.url
    assert set(
        Membership.objects.filter(user__username="dr-sso").values_list("role", flat=True)
    ) == {"nurse"}


def test_single_sign_on_users_are_not_asked_for_a_local_second_factor(provider, site_a):
    site_a.require_two_factor = True
    site_a.save()
    patient = f.make_patient(site_a)
    page = f"/patients/{patient.public_id}/"
    answer, _ = _sign_in(provider, "dr-sso", page)
    assert answer.url == provider + page and patient.mrn in answer.text
