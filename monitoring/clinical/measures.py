"""Validation of single measurements, written once.

Model `clean()` methods, forms, API serializers, FHIR and CSV imports all call these, so a
value refused in one place is refused everywhere with the same words. Values are never
rounded: EDSS 3.25 is an error, not 3.0 or 3.5.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from monitoring.clinical import thresholds as t


class MeasurementError(ValueError):
    """A measurement that cannot be stored; `field` names what was wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _decimal(field: str, value: object) -> Decimal:
    if isinstance(value, bool):
        raise MeasurementError(field, "must be a number")
    try:
        number = Decimal(str(value).strip()) if isinstance(value, str | float) else Decimal(value)  # type: ignore[arg-type]
    except (InvalidOperation, TypeError, ValueError):
        raise MeasurementError(field, f"{value!r} is not a number") from None
    if not number.is_finite():
        raise MeasurementError(field, f"{value!r} is not a finite number")
    return number


def edss(value: object, field: str = "edss") -> Decimal:
    number = _decimal(field, value)
    if number not in t.EDSS_VALUES:
        raise MeasurementError(
            field, f"{value} is not an EDSS step (0, 1.0, 1.5, ... 10.0; there is no 0.5)"
        )
    return number.quantize(Decimal("0.1"))


def _positive_seconds(field: str, value: object, maximum: Decimal) -> Decimal:
    number = _decimal(field, value)
    if number <= 0:
        raise MeasurementError(field, "must be more than 0 seconds")
    if number > maximum:
        raise MeasurementError(field, f"{value} s is above the plausible {maximum} s")
    return number


def t25fw(value: object, field: str = "t25fw") -> Decimal:
    return _positive_seconds(field, value, t.T25FW_MAX_SECONDS)


def nhpt(value: object, field: str = "nhpt") -> Decimal:
    return _positive_seconds(field, value, t.NHPT_MAX_SECONDS)


def sdmt(value: object, field: str = "sdmt") -> int:
    number = _decimal(field, value)
    if number != number.to_integral_value():
        raise MeasurementError(field, f"{value} is not a whole number of correct answers")
    if not t.SDMT_MIN <= number <= t.SDMT_MAX:
        raise MeasurementError(field, f"{value} is outside {t.SDMT_MIN}-{t.SDMT_MAX}")
    return int(number)


def lesion_count(value: object, field: str) -> int:
    number = _decimal(field, value)
    if number != number.to_integral_value():
        raise MeasurementError(field, f"{value} is not a whole number of lesions")
    if number < 0:
        raise MeasurementError(field, "a lesion count cannot be negative")
    if number > t.LESION_COUNT_MAX:
        raise MeasurementError(field, f"{value} is above the plausible {t.LESION_COUNT_MAX}")
    return int(number)


def pbvc(value: object, field: str = "pbvc") -> Decimal:
    number = _decimal(field, value)
    if abs(number) > t.PBVC_ABS_MAX:
        raise MeasurementError(
            field,
            f"{value} % is beyond ±{t.PBVC_ABS_MAX} % for one scan pair: implausible, "
            "re-check the report",
        )
    return number


def nfl_value(value: object, field: str = "value") -> Decimal:
    number = _decimal(field, value)
    if number <= 0:
        raise MeasurementError(field, "an NfL concentration must be more than 0 pg/mL")
    if number > t.NFL_MAX_PG_ML:
        raise MeasurementError(field, f"{value} pg/mL is above the plausible {t.NFL_MAX_PG_ML}")
    return number


def nfl_z_score(value: object, field: str = "z_score") -> Decimal:
    number = _decimal(field, value)
    if not t.NFL_Z_MIN <= number <= t.NFL_Z_MAX:
        raise MeasurementError(
            field, f"{value} is outside the plausible z-score range {t.NFL_Z_MIN} to +{t.NFL_Z_MAX}"
        )
    return number


def clinical_date(
    value: object,
    field: str,
    *,
    today: dt.date,
    birth_date: dt.date | None = None,
) -> dt.date:
    """A date of a clinical record (or a birth date): not in the future, not before 1900,
    not before the patient's birth."""
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        # full_clean() runs the model's rules even after a field failed to parse.
        raise MeasurementError(field, f"{value!r} is not a calendar date (YYYY-MM-DD)")
    if value > today:
        raise MeasurementError(field, f"{value.isoformat()} is in the future")
    if value < t.EARLIEST_DATE:
        raise MeasurementError(
            field, f"{value.isoformat()} is before {t.EARLIEST_DATE.year}: a typing error?"
        )
    if birth_date is not None and value < birth_date:
        raise MeasurementError(
            field, f"{value.isoformat()} is before the patient's birth ({birth_date.isoformat()})"
        )
    return value
