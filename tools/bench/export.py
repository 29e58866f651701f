"""Benchmark of the FHIR bulk export (`Group/DEMO/$export`) of a whole site.

Loads the DEMO site up to `--patients` patients (seed_demo) if it has fewer, then runs the
export the worker runs (`api.bulk_export.run`, in this process), timed; then checks every
line of every file parses as its resource type (fhir.resources R4B), timed apart; then
exports as a neurologist of another site, who must get nothing.
"""

from __future__ import annotations

import resource
import shutil
import sys
import time
from typing import Any

import orjson

from tools.bench import setup_django

setup_django()

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from fhir.resources.R4B import get_fhir_model_class

from api import bulk_export
from api.models import BulkExport, BulkExportStatus
from patients.models import Membership, Patient, Role, Site


def ensure_neurologist(site: Site, username: str) -> Any:
    user, _ = get_user_model().objects.get_or_create(username=username)
    Membership.objects.update_or_create(user=user, site=site, defaults={"role": Role.NEUROLOGIST})
    return user


class Command(BaseCommand):
    help = "Time $export of the DEMO site (seeded up to --patients) and check its files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, default=10_000, help="default 10,000")
        parser.add_argument(
            "--keep", action="store_true", help="keep the NDJSON files (FHIR_EXPORT_DIR)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        wanted = options["patients"]
        demo = Site.objects.filter(code="DEMO").first()
        have = Patient.objects.filter(site=demo).count() if demo else 0
        if have < wanted:
            call_command("seed_demo", patients=wanted - have, stdout=self.stdout)
            demo = Site.objects.get(code="DEMO")
        assert demo is not None  # found, or made by seed_demo
        patients = Patient.objects.filter(site=demo).count()

        neurologist = ensure_neurologist(demo, "bench-export-neurologist")
        export = bulk_export.request_export(
            user=neurologist,
            actor_label=neurologist.username,
            request_url="manage.py bench_export",
            group=demo,
        )
        started = time.perf_counter()
        bulk_export.run(export.pk)
        seconds = time.perf_counter() - started
        export.refresh_from_db()
        if export.status != BulkExportStatus.COMPLETED:
            raise CommandError(f"the export ended {export.status}: {export.error}")

        started = time.perf_counter()
        lines, size = self._check(export)
        checking = time.perf_counter() - started

        other = Site.objects.get_or_create(code="BENCH-OTHER", defaults={"name": "Elsewhere"})[0]
        outsider = ensure_neurologist(other, "bench-export-outsider")
        elsewhere = bulk_export.request_export(
            user=outsider, actor_label=outsider.username, request_url="manage.py bench_export"
        )
        bulk_export.run(elsewhere.pk)
        elsewhere.refresh_from_db()
        if elsewhere.output:
            raise CommandError(f"a user of another site got {elsewhere.output}")

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        counts = ", ".join(f"{o['type']} {o['count']:,}" for o in export.output)
        self.stdout.write(
            f"$export of {patients:,} patients: {seconds:.1f} s "
            f"({patients / seconds:,.0f} patients/s, {lines / seconds:,.0f} resources/s), "
            f"{size / 2**20:,.1f} MiB NDJSON ({counts}); peak RSS {peak} MiB\n"
            f"every line parses as its resource type: {lines:,} lines in {checking:.1f} s\n"
            "a neurologist of another site: no file"
        )
        if not options["keep"]:
            for done in (export, elsewhere):
                shutil.rmtree(bulk_export.directory(done), ignore_errors=True)
        BulkExport.objects.filter(pk__in=[export.pk, elsewhere.pk]).delete()

    def _check(self, export: BulkExport) -> tuple[int, int]:
        lines = size = 0
        for output in export.output:
            path = bulk_export.directory(export) / f"{output['type']}.ndjson"
            size += path.stat().st_size
            model = get_fhir_model_class(output["type"])
            with path.open("rb") as ndjson:
                for line in ndjson:
                    parsed = orjson.loads(line)
                    if parsed["resourceType"] != output["type"]:
                        raise CommandError(f"{path}: a {parsed['resourceType']} line")
                    model.model_validate(parsed)
                    lines += 1
        return lines, size


if __name__ == "__main__":
    Command().run_from_argv([sys.argv[0], "bench_export", *sys.argv[1:]])
