from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from api.models import IntegrationToken


class Command(BaseCommand):
    help = "Revoke an integration's token at once (kept for the record)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        updated = IntegrationToken.objects.filter(name=name, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if not updated:
            raise CommandError(f"no active integration named {name!r}")
        self.stdout.write(f"Integration {name} revoked.")
