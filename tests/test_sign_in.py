"""Signing in: the lockout (django-axes) by user name and address with a cool-off, the
throttle of many names from one address, and two-factor sign-in where a site requires it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from api.models import IntegrationToken
from tests import factories as f
from tests.factories import signs_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    # Each failed sign-in hashes a password; these tests make hundreds of them.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


PASSWORD = "pw-Clinic-2026"
ATTACKER, WARD = "203.0.113.7", "10.1.2.3"


def _fail(client, username: str, address: str, times: int) -> list[int]:
    return [
        client.post(
            "/accounts/login/", {"username": username, "password": "wrong"}, REMOTE_ADDR=address
        ).status_code
        for _ in range(times)
    ]


def test_failures_lock_the_name_at_that_address_only(client, nurse_a, settings):
    codes = _fail(client, "nurse-a", ATTACKER, settings.AXES_FAILURE_LIMIT)
    assert codes[-1] == 429  # the last failure locks
    # The right password no longer works from there while the lockout lasts ...
    assert not signs_in(client, "nurse-a", PASSWORD, ATTACKER)
    # ... but a stranger's guesses do not lock the nurse out of her own ward.
    assert signs_in(client, "nurse-a", PASSWORD, WARD)


def test_lockout_cools_off_and_success_clears_the_count(client, nurse_a, settings):
    _fail(client, "nurse-a", WARD, settings.AXES_FAILURE_LIMIT)
    assert not signs_in(client, "nurse-a", PASSWORD, WARD)
    later = timezone.now() + settings.AXES_COOLOFF_TIME + dt.timedelta(seconds=1)
    with time_machine.travel(later):
        assert signs_in(client, "nurse-a", PASSWORD, WARD)
        _fail(client, "nurse-a", WARD, settings.AXES_FAILURE_LIMIT - 1)
        assert signs_in(client, "nurse-a", PASSWORD, WARD)
        _fail(client, "nurse-a", WARD, settings.AXES_FAILURE_LIMIT - 1)
        assert signs_in(client, "nurse-a", PASSWORD, WARD)


def test_many_names_from_one_address_are_throttled(client, nurse_a, settings):
    # 160 guesses over 40 names, four each: below the lockout of any one name.
    codes = [_fail(client, f"guess{n}", ATTACKER, 1)[0] for _ in range(4) for n in range(40)]
    assert codes.index(429) == settings.LOGIN_ADDRESS_FAILURES - 1
    assert set(codes[settings.LOGIN_ADDRESS_FAILURES - 1 :]) == {429}
    assert not signs_in(client, "nurse-a", PASSWORD, ATTACKER)
    assert signs_in(client, "nurse-a", PASSWORD, WARD)


def test_an_overlong_user_name_is_a_failed_sign_in_not_an_error(client):
    response = client.post("/accounts/login/", {"username": "x" * 300, "password": "wrong"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.count() <= 1


@pytest.fixture
def two_factor_site(site_a):
    site_a.require_two_factor = True
    site_a.save()
    return site_a


def test_a_site_requiring_two_factor_shows_nothing_before_enrolment(
    client, two_factor_site, nurse_a, patient
):
    client.force_login(nurse_a)
    page = client.get(f"/patients/{patient.public_id}/")
    assert page.status_code == 302
    assert page["Location"].startswith("/accounts/two-factor/?next=")
    api = client.get("/api/v1/patients/")
    assert api.status_code == 403 and "two-factor" in api.json()["detail"]
    assert patient.mrn not in client.get("/dashboard/", follow=True).content.decode()


def test_enrolment_then_verification_at_each_sign_in(client, two_factor_site, nurse_a, patient):
    assert signs_in(client, "nurse-a", PASSWORD)
    page = f"/patients/{patient.public_id}/"
    enrol = client.get(f"/accounts/two-factor/?next={page}")
    device = TOTPDevice.objects.get(user=nurse_a, confirmed=False)
    assert enrol.status_code == 200 and "otpauth://" in enrol.content.decode()
    wrong = client.post("/accounts/two-factor/", {"token": "000000", "next": page})
    assert wrong.status_code == 200 and "not right" in wrong.content.decode()
    # A wrong code holds the device back for a second (django-otp's throttle against guessing).
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=5)):
        token = f"{totp(device.bin_key):06d}"
        done = client.post("/accounts/two-factor/", {"token": token, "next": page})
    assert done.status_code == 302 and done["Location"] == page
    assert client.get(page).status_code == 200
    assert client.get("/api/v1/patients/").status_code == 200

    # The next sign-in asks for a code again, from the enrolled device; no new secret.
    assert signs_in(client, "nurse-a", PASSWORD)
    assert client.get(page).status_code == 302
    verify = client.get("/accounts/two-factor/")
    assert "otpauth://" not in verify.content.decode()
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=60)):
        token = f"{totp(device.bin_key):06d}"
        assert client.post("/accounts/two-factor/", {"token": token}).status_code == 302
        assert client.get(page).status_code == 200
    assert TOTPDevice.objects.filter(user=nurse_a).count() == 1


def test_sites_without_the_flag_and_integration_tokens_are_not_asked(
    client, site_a, two_factor_site, site_b, user_b
):
    patient_b = f.make_patient(site_b)
    client.force_login(user_b)
    assert client.get(f"/patients/{patient_b.public_id}/").status_code == 200
    client.logout()
    _, token = IntegrationToken.issue(site=two_factor_site, name="lab", days=1)
    response = client.get("/api/v1/patients/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200
