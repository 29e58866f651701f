"""The patient page's safety card (`clinic/_safety.html`): the labs with those out of range
marked, what the monitoring protocols say is due, the PML risk and cladribine's year 2. The
timeline's lab panels read the same rows, so chart and table mark the same results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from monitoring.clinical.safety import JCV_INDEX
from monitoring.models import LabResult, NflSample
from monitoring.safety_records import protocol
from outcomes.assessment import safety_status
from outcomes.records import load
from patients.models import Patient


def _number(value: Decimal | None) -> str:
    """1200.0000 as 1200, 0.8500 as 0.85: as entered, without the column's padding."""
    return "" if value is None else f"{value.normalize():f}"


ABNORMAL_TEXT = {"positive", "abnormal", "trace"}


def safety_card(patient: Patient, today: dt.date, nfl: Sequence[NflSample]) -> dict[str, Any]:
    """Labs (NfL beside them) newest first with out-of-range values marked, and what the
    monitoring protocols say is due: the engine's answer for today, for this one patient.
    A lab row carries its `record` (for the correct and entered-in-error links); an NfL row
    has none (its links are in the NfL table)."""
    records = load([patient.pk])[patient.pk]
    status = safety_status(records, protocol(), as_of=today)
    flagged = {o.lab.public_id: o.reason for o in status.out_of_range}
    rows = []
    for lab in LabResult.objects.filter(patient=patient).select_related("analyte").order_by("date"):
        public_id = str(lab.public_id)
        low, high, value = lab.lower_limit, lab.upper_limit, lab.value
        outside = value is not None and (
            (low is not None and value < low) or (high is not None and value > high)
        )
        abnormal = lab.analyte.code != JCV_INDEX and lab.text in ABNORMAL_TEXT
        rows.append(
            {
                "record": lab,
                "date": lab.date,
                "name": lab.analyte.name,
                "loinc": lab.analyte.loinc,
                "value": _number(value),
                "unit": lab.unit if value is not None else "",
                "text": lab.get_text_display() if lab.text else "",
                "low": _number(low),
                "high": _number(high),
                "lab": lab.lab,
                "out_of_range": outside or abnormal or public_id in flagged,
                "reason": flagged.get(public_id, ""),
            }
        )
    for sample in nfl:
        high = sample.lab_upper_limit
        rows.append(
            {
                "record": None,
                "date": sample.date,
                "name": f"NfL ({sample.get_matrix_display()})",
                "loinc": "",
                "value": _number(sample.value),
                "unit": "pg/mL",
                "text": "",
                "low": "",
                "high": _number(high),
                "lab": sample.lab,
                "out_of_range": high is not None and sample.value > high,
                "reason": "",
            }
        )
    rows.sort(key=lambda row: row["date"], reverse=True)
    return {
        "labs": rows,
        "due": sorted(status.due, key=lambda d: d.due),
        "pml": status.pml,
        "cladribine": status.cladribine,
    }
