"""manage.py import --kind visits FILE.csv [--dry-run] [--site CODE]: docs/import.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from patients.actions import Actor
from patients.models import Site
from registry.imports import KINDS, import_file


class Command(BaseCommand):
    help = (
        "Import CSV or XLSX files of one record kind into a site: all of a file or none of it, "
        "every refused row named by file, line and field (docs/import.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", help="CSV or XLSX files, imported one by one")
        parser.add_argument("--kind", required=True, choices=list(KINDS), help="the record kind")
        parser.add_argument(
            "--site", help="the site's code (may be left out when there is one site)"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check every row and store nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        site = self._site(options["site"])
        actor = Actor.system("manage.py import")
        refused = 0
        for name in options["files"]:
            path = Path(name)
            try:
                data = path.read_bytes()
            except OSError as error:
                raise CommandError(f"{name}: {error.strerror}") from None
            with tqdm(total=0, unit="row", desc=path.name, file=self.stderr, leave=False) as bar:

                def progress(done: int, total: int, bar: tqdm = bar) -> None:
                    bar.total = total
                    bar.update(done - bar.n)

                outcome = import_file(
                    path.name,
                    data,
                    options["kind"],
                    site,
                    actor=actor,
                    dry_run=options["dry_run"],
                    progress=progress,
                )
            if outcome.refused:
                refused += 1
                for error in outcome.errors:
                    self.stderr.write(str(error))
                self.stderr.write(
                    f"{path.name}: refused, nothing stored ({len(outcome.errors)} error(s))"
                )
                continue
            verb = "would create" if options["dry_run"] else "created"
            self.stdout.write(
                f"{path.name}: {outcome.rows} rows; {verb} {outcome.created}, "
                f"{'would update' if options['dry_run'] else 'updated'} {outcome.updated}, "
                f"unchanged {outcome.unchanged}"
            )
        if refused:
            raise CommandError(f"{refused} file(s) refused")

    def _site(self, code: str | None) -> Site:
        if code:
            site = Site.objects.filter(code=code).first()
            if site is None:
                raise CommandError(f"no site {code!r}")
            return site
        sites = list(Site.objects.all()[:2])
        if len(sites) != 1:
            raise CommandError("say which site: --site CODE")
        return sites[0]
