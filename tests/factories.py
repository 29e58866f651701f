"""Small factories: plain functions with keyword overrides, valid by default."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model

from monitoring.models import (
    Analyte,
    Comorbidity,
    LabResult,
    MriScan,
    NflSample,
    Relapse,
    Visit,
)
from patients.models import Membership, Patient, Role, Site, Therapy, TherapyCourse

_numbers = itertools.count(1)


def make_site(code: str | None = None, **fields: Any) -> Site:
    code = code or f"S{next(_numbers)}"
    return Site.objects.create(code=code, name=fields.pop("name", f"Clinic {code}"), **fields)


def make_user(
    username: str | None = None,
    *,
    site: Site | None = None,
    role: str = Role.NURSE,
    password: str = "pw-Clinic-2026",
    **fields: Any,
):
    user = get_user_model().objects.create_user(
        username=username or f"user{next(_numbers)}", password=password, **fields
    )
    if site is not None:
        Membership.objects.create(user=user, site=site, role=role)
    return user


def make_patient(site: Site, **fields: Any) -> Patient:
    values = {
        "mrn": f"MRN{next(_numbers):05d}",
        "birth_date": dt.date(1985, 3, 14),
        "sex": "female",
        "phenotype": "RRMS",
        "symptom_onset": dt.date(2015, 6, 1),
        "diagnosis_date": dt.date(2016, 1, 10),
    }
    values.update(fields)
    return Patient.objects.create(site=site, **values)


def visit(patient: Patient, **fields: Any) -> Visit:
    return Visit(
        **{"patient": patient, "date": dt.date(2024, 5, 2), "edss": Decimal("2.0"), **fields}
    )


def relapse(patient: Patient, **fields: Any) -> Relapse:
    return Relapse(**{"patient": patient, "onset": dt.date(2024, 2, 1), **fields})


def mri_scan(patient: Patient, **fields: Any) -> MriScan:
    return MriScan(
        **{
            "patient": patient,
            "date": dt.date(2024, 3, 1),
            "new_t2": 0,
            "gd_enhancing": 0,
            **fields,
        }
    )


def nfl_sample(patient: Patient, **fields: Any) -> NflSample:
    return NflSample(
        **{
            "patient": patient,
            "date": dt.date(2024, 3, 1),
            "matrix": "serum",
            "value": Decimal("8.5"),
            "assay": "simoa",
            **fields,
        }
    )


def therapy_course(patient: Patient, **fields: Any) -> TherapyCourse:
    therapy = fields.pop("therapy", None) or Therapy.objects.get(code="ocrelizumab")
    return TherapyCourse(
        **{"patient": patient, "therapy": therapy, "start": dt.date(2023, 1, 10), **fields}
    )


def signs_in(client: Any, username: str, password: str, address: str = "127.0.0.1") -> bool:
    """Sign in through the login page, as a person does (the lockout needs the request): True
    when the session is then signed in."""
    client.logout()
    client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address
    )
    return "_auth_user_id" in client.session


def lab_result(patient: Patient, analyte: str = "lymphocytes", **fields: Any) -> LabResult:
    fields.setdefault("date", dt.date(2024, 1, 10))
    return LabResult(patient=patient, analyte=Analyte.objects.get(code=analyte), **fields)


def comorbidity(patient: Patient, **fields: Any) -> Comorbidity:
    return Comorbidity(
        **{
            "patient": patient,
            "condition": "Type 2 diabetes",
            "code": "44054006",
            "onset": dt.date(2019, 6, 1),
            **fields,
        }
    )
