#!/usr/bin/env python
import os
import sys


def main() -> None:
    if sys.argv[1:2] == ["progression"]:
        # The CSV progression command is pure Python and needs no database: run it before
        # Django starts (about a second of imports), which is most of its time on a file of
        # 20,000 patients. `monitoring/management/commands/progression.py` runs the same CLI
        # for `manage.py help` and call_command.
        from monitoring.progression_cli import main as progression

        sys.exit(progression(sys.argv[2:], sys.stdout, sys.stderr))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mstrack.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
