"""Load a synthetic demo cohort on the DEMO site, in bulk, with a progress bar."""

from __future__ import annotations

import os
import random
import time
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from monitoring.models import (
    AdverseEvent,
    Analyte,
    Comorbidity,
    LabResult,
    MriScan,
    NflSample,
    Pregnancy,
    Relapse,
    Visit,
)
from mstrack.db import load_rows
from patients.demo import demo_patient
from patients.models import (
    AuditAction,
    AuditEvent,
    Membership,
    Patient,
    Role,
    Site,
    Therapy,
    TherapyCourse,
)
from patients.search import search_text

DEMO_USERS = {"demo-nurse": Role.NURSE, "demo-neurologist": Role.NEUROLOGIST}


class Command(BaseCommand):
    help = "Load a synthetic demo cohort on the DEMO site (users demo-nurse, demo-neurologist)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, default=500, help="how many (default 500)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the DEMO site has patients"
        )
        parser.add_argument(
            "--chunk", type=int, default=1000, help="patients per transaction (default 1000)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["patients"]
        if count < 0:
            raise CommandError("--patients must be 0 or more")
        site, _ = Site.objects.get_or_create(code="DEMO", defaults={"name": "Demo MS clinic"})
        self._users(site)
        existing = Patient.objects.filter(site=site).count()
        if options["if_empty"] and existing:
            self.stdout.write(f"DEMO already has {existing} patients; nothing loaded.")
            return
        therapies = {therapy.code: therapy for therapy in Therapy.objects.all()}
        self.analytes = dict(Analyte.objects.values_list("code", "pk"))
        rng = random.Random(options["seed"])
        today = timezone.localdate()
        started = time.perf_counter()
        rows = 0
        chunk = max(1, options["chunk"])
        with tqdm(
            total=count, unit="patient", desc="seed_demo", file=self.stderr, disable=count < chunk
        ) as bar:
            for first in range(existing + 1, existing + count + 1, chunk):
                last = min(first + chunk, existing + count + 1)
                demo = [demo_patient(rng, number, today) for number in range(first, last)]
                rows += self._insert(site, demo, therapies)
                bar.update(len(demo))
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"Loaded {count} demo patients ({rows} rows) in {seconds:.1f} s"
            f" ({rows / seconds if seconds else 0:.0f} rows/s)."
        )

    def _users(self, site: Site) -> None:
        password = os.environ.get("DEMO_PASSWORD", "demo")
        User = get_user_model()
        for username, role in DEMO_USERS.items():
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
            Membership.objects.update_or_create(user=user, site=site, defaults={"role": role})

    @transaction.atomic
    def _insert(self, site: Site, demo: list, therapies: dict[str, Therapy]) -> int:
        # Generated values satisfy every model rule (tests/test_demo.py checks them with
        # full_clean); bulk inserts skip the per-row validation to load 100,000 patients in
        # minutes, and the database constraints still stand behind them.
        patients = Patient.objects.bulk_create(
            [
                Patient(
                    site=site,
                    mrn=p.mrn,
                    display_name=p.display_name,
                    birth_date=p.birth_date,
                    sex=p.sex,
                    phenotype=p.phenotype,
                    symptom_onset=p.symptom_onset,
                    diagnosis_date=p.diagnosis_date,
                    search_text=search_text(p.mrn, p.display_name),
                    **_latest_visit(p.visits),
                )
                for p in demo
            ]
        )
        records: dict[type, list[dict[str, Any]]] = {
            Visit: [],
            Relapse: [],
            MriScan: [],
            NflSample: [],
            TherapyCourse: [],
            LabResult: [],
            AdverseEvent: [],
            Pregnancy: [],
            Comorbidity: [],
        }
        for patient, p in zip(patients, demo, strict=True):
            pid = {"patient_id": patient.pk}
            records[Visit] += [
                {
                    **pid,
                    **v,
                    "edss": Decimal(str(v["edss"])),
                    "t25fw": None if v["t25fw"] is None else Decimal(str(v["t25fw"])),
                    "nhpt": Decimal(str(v["nhpt"])),
                }
                for v in p.visits
            ]
            records[Relapse] += [{**pid, **r} for r in p.relapses]
            records[MriScan] += [
                {**pid, **s, "pbvc": None if s["pbvc"] is None else Decimal(str(s["pbvc"]))}
                for s in p.scans
            ]
            records[NflSample] += [{**pid, **n, "value": Decimal(str(n["value"]))} for n in p.nfl]
            records[TherapyCourse] += [
                {
                    **pid,
                    "therapy_id": therapies[c["therapy"]].pk,
                    "start": c["start"],
                    "end": c["end"],
                    "stop_reason": c["stop_reason"],
                }
                for c in p.courses
            ]
            records[LabResult] += [
                {
                    **pid,
                    "analyte_id": self.analytes[lab["analyte"]],
                    "date": lab["date"],
                    "value": _decimal(lab["value"]),
                    "unit": lab["unit"],
                    "text": lab["text"],
                    "lower_limit": _decimal(lab["lower_limit"]),
                    "upper_limit": _decimal(lab["upper_limit"]),
                    "lab": lab["lab"],
                }
                for lab in p.labs
            ]
            records[AdverseEvent] += [
                {
                    **pid,
                    **{k: v for k, v in e.items() if k != "suspected_therapy"},
                    "suspected_therapy_id": therapies[e["suspected_therapy"]].pk,
                }
                for e in p.adverse_events
            ]
            records[Pregnancy] += [{**pid, **pregnancy} for pregnancy in p.pregnancies]
            records[Comorbidity] += [{**pid, **c} for c in p.comorbidities]
        load_rows(
            AuditEvent,
            [
                {
                    "actor_id": None,
                    "actor_label": "seed_demo",
                    "action": AuditAction.CREATE,
                    "model": "patients.patient",
                    "object_id": str(patient.public_id),
                    "patient_id": patient.pk,
                    "after": {"mrn": patient.mrn, "source": "synthetic demo cohort"},
                }
                for patient in patients
            ],
        )
        total = len(patients) * 2
        for model, rows in records.items():
            total += load_rows(model, rows)
        return total


def _latest_visit(visits: list[dict[str, Any]]) -> dict[str, Any]:
    """The dashboard's stored latest visit (monitoring.signals keeps it after later writes)."""
    if not visits:
        return {}
    latest = max(visits, key=lambda v: v["date"])
    return {"last_visit": latest["date"], "last_edss": Decimal(str(latest["edss"]))}


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))
