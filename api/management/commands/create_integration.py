from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.models import IntegrationToken
from patients.models import Site


class Command(BaseCommand):
    help = "Issue an API token for an integration of one site; the token is the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--site", required=True, help="site code")
        parser.add_argument("--name", required=True, help="unique name, shown in the audit trail")
        parser.add_argument("--days", type=int, help="expire after this many days (default never)")

    def handle(self, *args: Any, site: str, name: str, days: int | None, **options: Any) -> None:
        found = Site.objects.filter(code=site).first()
        if found is None:
            raise CommandError(f"no site with code {site!r}")
        if IntegrationToken.objects.filter(name=name).exists():
            raise CommandError(f"an integration named {name!r} exists; revoke it or pick another")
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1")
        row, token = IntegrationToken.issue(site=found, name=name, days=days)
        expiry = f"expires {row.expires_at:%Y-%m-%d %H:%M %Z}" if row.expires_at else "no expiry"
        self.stdout.write(f"Integration {name} for site {found.code}, {expiry}.")
        self.stdout.write("The token is shown once; it is stored only as a SHA-256 digest:")
        self.stdout.write(token)
