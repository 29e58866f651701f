from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from patients.models import Patient
from tests import factories as f

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[1]


def test_login_page_renders(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Log in" in response.content and b'name="password"' in response.content


def test_home_requires_login_and_shows_own_patients(client, site_a, site_b, nurse_a):
    assert client.get("/").status_code == 302
    f.make_patient(site_a)
    f.make_patient(site_b)
    client.force_login(nurse_a)
    response = client.get("/")
    assert response.status_code == 200
    assert response.context["patient_count"] == 1


def test_migrations_are_checked_in():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_settings_refuse_to_start_without_secret_key_when_debug_is_off():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    run = subprocess.run(
        [sys.executable, "-c", "import django; from django.conf import settings; settings.DEBUG"],
        env={**env, "DJANGO_SETTINGS_MODULE": "mstrack.settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode != 0
    assert "SECRET_KEY must be set" in run.stderr


def test_production_defaults_are_safe():
    transport = ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE")
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", *transport)}
    code = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS >= 31536000, s.ALLOWED_HOSTS == [], s.X_FRAME_OPTIONS)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "mstrack.settings", "SECRET_KEY": "x" * 60},
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.split() == ["False", "True", "True", "True", "True", "True", "DENY"]


def test_deployment_checklist_passes_with_production_settings():
    transport = ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE")
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", *transport)}
    run = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={
            **env,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "mstrack.example.org",
        },
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert run.returncode == 0, run.stdout + run.stderr


def _compose_environment(given: dict[str, str]) -> dict[str, str]:
    """The environment docker-compose.yml gives the app containers when the operator's
    environment holds `given`: `${NAME}`, `${NAME:-default}` and `${NAME:?error}` filled in
    as compose does."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())

    def fill(match: re.Match[str]) -> str:
        name, operator, word = match.group(1), match.group(2), match.group(3)
        value = given.get(name, "")
        if operator == ":?" and not value:
            raise AssertionError(f"compose refuses to start without {name}: {word}")
        return value or (word if operator == ":-" else "")

    return {
        name: re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", fill, str(value))
        for name, value in compose["x-app"]["environment"].items()
    }


def test_deployment_checklist_passes_with_the_compose_defaults():
    """The README says the secure settings are on when the variables are absent: with only
    SECRET_KEY given, the containers' settings pass `check --deploy`."""
    environment = _compose_environment({"SECRET_KEY": secrets.token_urlsafe(50)})
    run = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_patient_has_no_delete(client, site_a):
    admin = f.make_user("root", is_staff=True, is_superuser=True)
    patient = f.make_patient(site_a)
    client.force_login(admin)
    response = client.post(f"/admin/patients/patient/{patient.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Patient.objects.filter(pk=patient.pk).exists()


def test_logout_by_get_offers_the_button_and_post_logs_out(client, nurse_a):
    client.force_login(nurse_a)
    page = client.get("/accounts/logout/")
    assert (
        page.status_code == 200
        and b'<form method="post" action="/accounts/logout/"' in page.content
    )
    assert client.get("/").status_code == 200  # still logged in
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")
    assert b'rel="icon"' in client.get("/accounts/login/").content
