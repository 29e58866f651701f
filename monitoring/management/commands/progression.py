"""`manage.py progression VISITS.csv [...]`: the CSV progression command, no database.

The command line is parsed by the pure CLI (`monitoring.progression_cli`) so that the
flags, the messages and the exit status (2 on bad input) are the same either way.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.progression_cli import main


class Command(BaseCommand):
    help = (
        "Confirmed disability worsening/improvement (CDW/CDI, RAW/PIRA) of every patient in a "
        "CSV file; see `manage.py progression --help`."
    )
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("argv", nargs=argparse.REMAINDER, help="arguments of the CLI")

    def run_from_argv(self, argv: list[str]) -> None:
        sys.exit(main(argv[2:], sys.stdout, sys.stderr))

    def handle(self, *args: Any, **options: Any) -> None:
        argv = [*args, *options.get("argv", [])]
        # OutputWrapper appends newlines; the CLI writes whole lines and a \r progress bar.
        stdout = getattr(self.stdout, "_out", sys.stdout)
        stderr = getattr(self.stderr, "_out", sys.stderr)
        status = main(argv, stdout, stderr)
        if status:
            raise CommandError("progression: bad input (see the message above)", returncode=status)
