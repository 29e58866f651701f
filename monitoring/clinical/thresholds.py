"""Every clinical threshold of mstrack, in one place.

Each constant is a default taken from `docs/clinical.md` (section in brackets) and
its published source. Results store the definition they were computed with, so changing a
value here never silently rewrites history: recomputation records the new values.
Django settings may override the monitoring and alert values (see `mstrack/settings.py`);
the engine itself receives them as plain arguments.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

# --- Measurements [§1] ---------------------------------------------------------------
# Kurtzke 1983: 0, then 1.0 to 10.0 in half steps (there is no 0.5).
EDSS_VALUES: tuple[Decimal, ...] = (Decimal("0.0"), *(Decimal(n) / 2 for n in range(2, 21)))
T25FW_MAX_SECONDS = Decimal("180")  # timed 25-foot walk: above this is implausible
NHPT_MAX_SECONDS = Decimal("300")  # nine-hole peg test
SDMT_MIN = 0
SDMT_MAX = 110
LESION_COUNT_MAX = 1000  # beyond any real scan report: a typing error
# |PBVC| beyond 5 % for one scan pair is implausible: re-check the report. Rows stored before
# this rule may hold up to PBVC_STORED_MAX, which the database still enforces.
PBVC_ABS_MAX = Decimal("5")
PBVC_STORED_MAX = Decimal("20")
NFL_MAX_PG_ML = Decimal("100000")  # CSF NfL reaches tens of thousands, never more
NFL_Z_MIN = Decimal("-5")  # a lab z-score outside -5..+10 is a typing or export error
NFL_Z_MAX = Decimal("10")
EARLIEST_DATE = dt.date(1900, 1, 1)  # births and records before this are typing errors
RELAPSE_MIN_GAP_DAYS = 30  # an onset < 30 days after another is the same relapse

# --- Confirmed disability worsening [§2] ------------------------------------------------
# Minimum meaningful EDSS change, measured from the reference value [§2.1].
EDSS_DELTA_FROM_ZERO = 1.5
EDSS_DELTA_LOW = 1.0
EDSS_DELTA_HIGH = 0.5
EDSS_DELTA_EDGE = 5.0  # ref <= edge: LOW; above: HIGH (some trials put the edge at 5.5)
TIMED_TEST_DELTA_FRACTION = 0.2  # T25FW and 9HPT: 20 % of the reference
SDMT_DELTA_FRACTION = 0.2  # SDMT: the smaller of 20 % and 4 points
SDMT_DELTA_POINTS = 4.0

CONFIRM_DAYS = 84  # confirmation at 12 weeks [§2.3]
CONFIRM_TOLERANCE_DAYS = (7.0, 730.5)  # left, right; bounds inclusive
# No baseline within 30 days after a relapse onset; relapses more than this many days before
# the first visit are ignored, as the reference does [§2.2].
RELAPSE_TO_BASELINE_DAYS = 30
RELAPSE_TO_CONFIRMATION_DAYS = 30  # no confirmation within 30 days after an onset
RELAPSE_TO_EVENT_DAYS = 0  # onsets may follow a relapse directly
RAW_WINDOW_DAYS = 90  # a CDW onset <= 90 days after a relapse onset is RAW [§2.4]
# Relapse-free intervals of the PIRA definitions, days before/after each checkpoint [§2.4].
PIRA_MULLER2023_BEFORE_DAYS = 90  # Müller 2023: [onset - 90, onset + 30], same around confirmation
PIRA_MULLER2023_AFTER_DAYS = 30
PIRA_KAPPOS2020_CONFIRMATION_DAYS = 30  # Kappos 2020: [confirmation - 30, confirmation + 30]
PIRA_KAPPOS2020_ONSET_AFTER_DAYS = 30  # ... and [baseline, onset + 30]
PIRA_CAGOL2022_BEFORE_DAYS = 90  # Cagol 2022: [onset - 90, confirmation]
PORTACCIO2025_CONFIRM_DAYS = 168  # Portaccio 2025 confirms over 24 weeks
# Percentage thresholds are compared with this slack so that 23.5 -> 28.2 s counts as +20 %
# although 28.2 - 23.5 < 23.5 / 5 in binary floating point [§2.1].
DELTA_TOLERANCE = 1e-9

# --- NEDA [§3] -----------------------------------------------------------------------
NEDA4_PBVC_PER_YEAR = -0.4  # Kappos 2016: annualized loss beyond 0.4 %/year fails NEDA-4
REBASELINE_MONTHS_MAINTENANCE = 6
REBASELINE_MONTHS_INDUCTION = 24  # alemtuzumab, cladribine, aHSCT

# --- Treatment-response scores [§4] ----------------------------------------------------
MAGNIMS_NEW_T2 = 3  # >= 3 new T2 lesions in the first year scores
RIO_NEW_T2 = 4  # modified Rio: > 4 new T2 lesions scores 1
RIO_HIGH_RISK = 2
# When the first year runs [§4]: "year_one" (default, as published by Sormani 2013/2016: the
# 12 months from the start of the therapy, for induction from the first course) or
# "after_rebaseline" (the earlier reading: the 12 months after the re-baseline date).
SCORE_TIMING: Literal["year_one", "after_rebaseline"] = "year_one"
# year_one: new T2 on the scan closest to month 12 (9-15 months after the start), against the
# last earlier scan from month 3 on (the re-baseline scan MAGNIMS recommends).
SCORE_CLOSING_FROM_MONTHS = 9
SCORE_CLOSING_TO_MONTHS = 15
SCORE_REFERENCE_FROM_MONTHS = 3
# after_rebaseline: the closing MRI is rarely on the anniversary: a scan up to this many months
# either side of the year's last day still closes it (its new T2 are vs the previous scan, so a
# late closing scan adds a few weeks of lesions rather than losing the year).
SCORE_CLOSING_SCAN_GRACE_MONTHS = 3

# --- Neurofilament light [§5] ----------------------------------------------------------
# Serum/plasma upper reference limits by age, Simoa (Simrén 2022), pg/mL:
# (lowest age, highest age inclusive, limit).
NFL_AGE_LIMITS: tuple[tuple[int, int, float], ...] = (
    (5, 17, 7.0),
    (18, 50, 10.0),
    (51, 60, 15.0),
    (61, 70, 20.0),
    (71, 200, 35.0),
)
NFL_Z_ELEVATED = 1.5  # Benkert 2022: a lab z-score above this is elevated
# Rise against the patient's previous sample on the same assay and matrix. With z-scores on
# both samples: an increase of at least one SD of the age/BMI-adjusted reference (Benkert
# 2022 scale). Otherwise the value must rise by at least 50 %, about the reference change
# value of serum NfL (analytical CV ~5-10 % plus within-person CV ~15-20 %, times 2.77),
# and by at least 2 pg/mL, so that doublings near the lower limit of quantification
# (~1 pg/mL on Simoa) are not called a rise.
NFL_RISE_Z = 1.0
NFL_RISE_FRACTION = 0.5
NFL_RISE_MIN_PG_ML = 2.0

# --- Brain volume [§6] -----------------------------------------------------------------
PBVC_NOISE_SD = 0.28  # Opfer 2018: SD of PBVC per scan pair, in percent
# A total change over n scan pairs is within noise when |total| <= 2 SD sqrt(n): the sum of n
# independent pair errors has SD 0.28 sqrt(n), and 2 SD is about a 95 % two-sided limit.
PBVC_NOISE_MULTIPLIER = 2.0

# --- Monitoring intervals [§7, alerts] ---------------------------------------------------
MRI_OVERDUE_MONTHS = 12
EDSS_OVERDUE_MONTHS = 6

# --- Alerts [§3, §4] -------------------------------------------------------------------
MAGNIMS_ALERT_POINTS = 1  # Sormani 2016: MAGNIMS >= 1 in the first year (27 % 3-year failure)
MAGNIMS_HIGH_POINTS = 2  # Sormani 2016: MAGNIMS 2 (48 % 3-year failure) makes the alert high
RIO_ALERT_POINTS = RIO_HIGH_RISK  # modified Rio >= 2 is high risk
# An event (relapse, active scan, confirmed worsening) raises an alert when it lies within this
# many months of today: older events are history, not news, on a first evaluation.
ALERT_LOOKBACK_MONTHS = 24

# --- Pregnancies [§7.2] -----------------------------------------------------------------
# A therapy paused or washed out for a pregnancy is not given again at delivery: the months
# after it are part of the gap. Confavreux 1998 (PRIMS, NEJM 339:285): the relapse rate
# rises in the first 3 months after delivery, before the therapy is commonly resumed.
POSTPARTUM_MONTHS = 3
