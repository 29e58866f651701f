"""Re-baseline of a therapy course: activity before a drug can work is not failure [§3]."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from functools import lru_cache

from monitoring.clinical import thresholds as t
from monitoring.clinical.records import MriScan, TherapyClass, TherapyCourse

_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


# Cached: a patient's assessment asks for ~30 of these, mostly of the same few days (the
# evaluation date, a course start, a scan) and months.
@lru_cache(maxsize=1 << 16)
def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar-month arithmetic; a day missing in the target month becomes its last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    if day.day <= 28:  # every month has it; the common case skips the month-length lookup
        return dt.date(year, month, day.day)
    # Not calendar.monthrange: it also works out the weekday, and this runs per window.
    last = 29 if month == 2 and calendar.isleap(year) else _MONTH_DAYS[month - 1]
    return dt.date(year, month, min(day.day, last))


def rebaseline_months(therapy_class: TherapyClass) -> int:
    if therapy_class == "induction":
        return t.REBASELINE_MONTHS_INDUCTION
    return t.REBASELINE_MONTHS_MAINTENANCE


def rebaseline_date(course: TherapyCourse) -> dt.date:
    """Start plus 6 months (platform, high-efficacy) or 24 months (induction)."""
    return add_months(course.start, rebaseline_months(course.therapy_class))


def reference_scan(scans: Sequence[MriScan], rebaseline: dt.date) -> MriScan | None:
    """The first scan on or after the re-baseline date: activity is counted after it.

    A scan on the re-baseline day itself is the reference: it is the re-baseline MRI.
    """
    return min((scan for scan in scans if scan.date >= rebaseline), key=_date, default=None)


def _date(scan: MriScan) -> dt.date:
    return scan.date
