"""Safety monitoring engine [spec §7.1]: every protocol row by hand (due, overdue, out of
range, cleared), the natalizumab PML risk classes and the year-2 cladribine rule, with the
boundaries of each."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from monitoring.clinical.measures import MeasurementError
from monitoring.clinical.protocols import ANALYTES, SPEC_PROTOCOL
from monitoring.clinical.safety import (
    Course,
    Episode,
    Lab,
    PmlRisk,
    Pregnancy,
    Protocol,
    SafetyStatus,
    Severity,
    TherapyAction,
    Year2,
    assess_safety,
    cladribine_year2,
    convert,
    episodes,
    lymphopenia_grade,
    pml_risk,
    pregnancy_on,
)

D = dt.date
CLASSES = {
    "natalizumab": "high_efficacy",
    "ocrelizumab": "high_efficacy",
    "alemtuzumab": "induction",
    "cladribine": "induction",
    "dimethyl-fumarate": "platform",
    "fingolimod": "platform",
    "teriflunomide": "platform",
    "interferon-beta": "platform",
    "mitoxantrone": "induction",
    "azathioprine": "platform",
}
IMMUNOSUPPRESSANTS = {"mitoxantrone", "azathioprine"}  # as the catalogue marks them
PROTOCOL = Protocol(SPEC_PROTOCOL)
SCREENING = ("hbsag", "hcv-ab", "hiv-ab", "vzv-igg", "tb-igra", "pregnancy-test")


def course(therapy: str, start: dt.date, end: dt.date | None = None) -> Course:
    return Course(therapy, CLASSES[therapy], start, end, therapy in IMMUNOSUPPRESSANTS)


def screened(day: dt.date) -> list[Lab]:
    return [Lab(a, day, text="negative") for a in SCREENING]


def status(
    courses: list[Course], labs: list[Lab], as_of: dt.date, *, sex: str = "female"
) -> SafetyStatus:
    return assess_safety(
        courses,
        labs,
        PROTOCOL,
        as_of=as_of,
        sex=sex,
    )


def due(s: SafetyStatus, code: str) -> tuple[dt.date, bool] | None:
    found = [d for d in s.due if d.item.code == code]
    assert len(found) <= 1
    return (found[0].due, found[0].overdue) if found else None


def flagged(s: SafetyStatus, code: str) -> str | None:
    found = [o for o in s.out_of_range if o.item.code == code]
    return found[0].reason if found else None


# --- Screening before start: all high-efficacy and induction therapies -------------------


def test_screening_due_on_start_and_overdue_the_day_after():
    start = D(2024, 1, 10)
    s = status([course("natalizumab", start)], [], start)
    for analyte in SCREENING:
        assert due(s, f"screen-{analyte}") == (start, False)
    s = status([course("natalizumab", start)], [], D(2024, 1, 11))
    assert due(s, "screen-hbsag") == (start, True)


def test_screening_window_six_months_before_start_and_a_late_result_clears():
    start = D(2024, 1, 10)
    c = [course("alemtuzumab", start)]
    assert (
        due(status(c, [Lab("hbsag", D(2023, 7, 10), text="negative")], start), "screen-hbsag")
        is None
    )
    too_early = [Lab("hbsag", D(2023, 7, 9), text="negative")]
    assert due(status(c, too_early, start), "screen-hbsag") == (start, False)
    late = [Lab("hbsag", D(2024, 2, 1), text="negative")]
    assert due(status(c, late, D(2024, 1, 20)), "screen-hbsag") == (start, True)
    assert due(status(c, late, D(2024, 2, 1)), "screen-hbsag") is None


def test_a_missing_screening_is_overdue_through_the_first_year_only():
    start = D(2024, 1, 10)
    c = [course("natalizumab", start)]
    assert due(status(c, [], D(2025, 1, 10)), "screen-hbsag") == (start, True)
    assert due(status(c, [], D(2025, 1, 11)), "screen-hbsag") is None


def test_pregnancy_test_only_for_women_and_no_screening_on_platform_therapy():
    start = D(2024, 1, 10)
    assert (
        due(status([course("natalizumab", start)], [], start, sex="male"), "screen-pregnancy-test")
        is None
    )
    assert status([course("interferon-beta", start)], [], D(2024, 3, 1)).due == ()


# --- Natalizumab --------------------------------------------------------------------------

NTZ_START = D(2024, 1, 10)


def ntz_labs(*more: Lab) -> list[Lab]:
    return [*screened(NTZ_START), Lab("jcv-index", D(2024, 1, 2), 0.1, text="negative"), *more]


def test_natalizumab_jcv_before_start():
    s = status([course("natalizumab", NTZ_START)], screened(NTZ_START), D(2024, 1, 11))
    assert due(s, "natalizumab-jcv-before") == (NTZ_START, True)
    s = status([course("natalizumab", NTZ_START)], ntz_labs(), D(2024, 1, 11))
    assert due(s, "natalizumab-jcv-before") is None


def test_natalizumab_jcv_every_six_months_due_overdue_cleared():
    c = [course("natalizumab", NTZ_START)]
    assert due(status(c, ntz_labs(), D(2024, 7, 10)), "natalizumab-jcv") == (D(2024, 7, 10), False)
    assert due(status(c, ntz_labs(), D(2024, 7, 11)), "natalizumab-jcv") == (D(2024, 7, 10), True)
    labs = ntz_labs(Lab("jcv-index", D(2024, 7, 20), 0.2, text="negative"))
    assert due(status(c, labs, D(2024, 7, 20)), "natalizumab-jcv") == (D(2025, 1, 20), False)


def test_natalizumab_jcv_repeats_at_index_1_5_and_stops_above_it():
    c = [course("natalizumab", NTZ_START)]
    at = ntz_labs(Lab("jcv-index", D(2024, 7, 1), 1.5, text="positive"))
    assert due(status(c, at, D(2024, 8, 1)), "natalizumab-jcv") == (D(2025, 1, 1), False)
    above = ntz_labs(Lab("jcv-index", D(2024, 7, 1), 1.51, text="positive"))
    assert due(status(c, above, D(2025, 6, 1)), "natalizumab-jcv") is None


PML_START = D(2022, 1, 10)
AT_24 = D(2024, 1, 10)  # exactly 24 months of exposure
OVER_24 = D(2024, 1, 11)


def pml(index: float | None, as_of: dt.date, *, text: str = "positive", prior: bool = False):
    episode = Episode("natalizumab", "high_efficacy", (PML_START,), None)
    labs = [Lab("jcv-index", D(2023, 12, 1), index, text=text)]
    found = pml_risk(episode, labs, as_of=as_of, prior_immunosuppressant=prior)
    assert found is not None
    return found.risk


@pytest.mark.parametrize(
    ("index", "as_of", "prior", "risk"),
    [
        (0.9, AT_24, False, PmlRisk.LOW),
        (0.9, OVER_24, False, PmlRisk.LOW),
        (0.91, AT_24, False, PmlRisk.LOW),
        (0.91, OVER_24, False, PmlRisk.MODERATE),
        (1.5, AT_24, False, PmlRisk.LOW),
        (1.5, OVER_24, False, PmlRisk.MODERATE),
        (1.51, AT_24, False, PmlRisk.MODERATE),
        (1.51, OVER_24, False, PmlRisk.HIGH),
        (None, OVER_24, False, PmlRisk.HIGH),  # positive, index not reported: highest band
        (0.5, AT_24, True, PmlRisk.MODERATE),
        (0.5, OVER_24, True, PmlRisk.HIGH),
    ],
)
def test_pml_risk_classes_at_the_boundaries(index, as_of, prior, risk):
    assert pml(index, as_of, prior=prior) is risk


def test_pml_risk_negative_is_low_and_indeterminate_counts_as_positive():
    assert pml(0.1, OVER_24, text="negative", prior=True) is PmlRisk.LOW
    assert pml(1.6, OVER_24, text="indeterminate") is PmlRisk.HIGH


def test_pml_prior_immunosuppressant_from_an_earlier_course():
    courses = [
        course("mitoxantrone", D(2019, 1, 1), D(2020, 1, 1)),
        course("natalizumab", PML_START),
    ]
    labs = [Lab("jcv-index", D(2023, 12, 1), 0.5, text="positive")]
    s = status(courses, labs, OVER_24)
    assert s.pml is not None and s.pml.risk is PmlRisk.HIGH and s.pml.prior_immunosuppressant
    assert "Tysabri SmPC" in s.pml.explanation


def test_pml_prior_immunosuppressant_only_a_marked_course_before_the_episode():
    jcv = [Lab("jcv-index", D(2023, 12, 1), 0.5, text="positive")]
    unmarked = [course("interferon-beta", D(2019, 1, 1), D(2020, 1, 1))]
    s = status([*unmarked, course("natalizumab", PML_START)], jcv, OVER_24)
    assert s.pml is not None and not s.pml.prior_immunosuppressant and s.pml.risk is PmlRisk.LOW
    # Azathioprine between two natalizumab episodes: prior to the second one only.
    courses = [
        course("natalizumab", D(2016, 1, 1), D(2017, 1, 1)),
        course("azathioprine", D(2017, 2, 1), D(2019, 1, 1)),
        course("natalizumab", PML_START),
    ]
    s = status(courses, jcv, OVER_24)
    assert s.pml is not None and s.pml.prior_immunosuppressant and s.pml.risk is PmlRisk.HIGH
    assert "with prior immunosuppressant" in s.pml.explanation


# --- Natalizumab at high PML risk: MRI every 3-4 months ------------------------------------

PML_MRI = "natalizumab-pml-high-risk-mri"


def mri_due(
    index: float, as_of: dt.date, *, prior: bool = False, scans: tuple[dt.date, ...] = ()
) -> tuple[dt.date, bool] | None:
    courses = [course("natalizumab", PML_START)]
    if prior:
        courses.insert(0, course("mitoxantrone", D(2019, 1, 1), D(2019, 6, 1)))
    labs = [Lab("jcv-index", D(2023, 12, 1), index, text="positive")]
    labs += [Lab("brain-mri", day) for day in scans]
    return due(status(courses, labs, as_of), PML_MRI)


@pytest.mark.parametrize(
    ("index", "as_of", "prior", "asked"),
    [
        (0.9, OVER_24, False, False),  # low
        (0.9, AT_24, True, False),  # moderate: exactly 24 months is not more
        (0.9, OVER_24, True, True),  # high: prior immunosuppressant, over 24 months
        (1.5, OVER_24, False, False),  # moderate
        (1.51, AT_24, False, False),  # moderate
        (1.51, OVER_24, False, True),  # high
    ],
)
def test_pml_mri_asked_at_high_risk_only_at_the_boundaries(index, as_of, prior, asked):
    assert (mri_due(index, as_of, prior=prior) is not None) is asked


def test_pml_mri_due_four_months_after_the_last_scan_and_cleared_by_a_new_one():
    # No scan since natalizumab started: due 4 months after the start, long overdue.
    assert mri_due(1.6, OVER_24) == (D(2022, 5, 10), True)
    scans = (D(2023, 10, 20),)
    assert mri_due(1.6, D(2024, 2, 20), scans=scans) == (D(2024, 2, 20), False)
    assert mri_due(1.6, D(2024, 2, 21), scans=scans) == (D(2024, 2, 20), True)
    later = (*scans, D(2024, 2, 21))
    assert mri_due(1.6, D(2024, 2, 21), scans=later) == (D(2024, 6, 21), False)


def test_pml_mri_item_cites_its_source():
    [item] = [i for i in SPEC_PROTOCOL if i.code == PML_MRI]
    assert (item.every_months, item.analyte, item.condition) == (4, "brain-mri", "pml_high_risk")
    assert "Tysabri" in item.source and "McGuigan" in item.source


# --- Pregnancy: a gap it explains [§7.2] ---------------------------------------------------


def pregnancy(start: dt.date, end: dt.date | None, action: str = "paused") -> Pregnancy:
    return Pregnancy(start, end, TherapyAction(action), "p-1")


@pytest.mark.parametrize(
    ("start", "end", "action", "explains"),
    [
        (D(2024, 3, 1), None, "paused", True),  # ongoing: under way on the due day
        (D(2024, 7, 10), None, "paused", True),  # starts on the due day
        (D(2024, 3, 1), D(2024, 7, 10), "washed_out", True),  # ends on the due day
        (D(2024, 3, 1), D(2024, 7, 9), "paused", True),  # due in the postpartum months
        (D(2023, 8, 1), D(2024, 4, 10), "paused", True),  # their last day [POSTPARTUM_MONTHS]
        (D(2023, 8, 1), D(2024, 4, 9), "paused", False),  # the gap was over before it fell due
        (D(2024, 7, 11), None, "paused", False),  # the test was late before it began
        (D(2024, 3, 1), None, "none", True),
        (D(2024, 3, 1), None, "continued", False),  # on therapy: monitoring goes on
    ],
)
def test_an_overdue_item_names_the_pregnancy_that_explains_its_gap(start, end, action, explains):
    c = [course("natalizumab", NTZ_START)]
    s = assess_safety(
        c,
        ntz_labs(),
        PROTOCOL,
        as_of=D(2024, 9, 1),
        sex="female",
        pregnancies=[pregnancy(start, end, action)],
    )
    [jcv] = [d for d in s.due if d.item.code == "natalizumab-jcv"]
    assert (jcv.due, jcv.overdue) == (D(2024, 7, 10), True)
    assert (jcv.pregnancy is not None) is explains


def test_an_item_not_overdue_names_no_pregnancy_and_the_latest_one_is_named():
    c = [course("natalizumab", NTZ_START)]
    both = [pregnancy(D(2024, 3, 1), None), pregnancy(D(2020, 1, 1), D(2024, 8, 1))]
    s = assess_safety(c, ntz_labs(), PROTOCOL, as_of=D(2024, 7, 10), pregnancies=both)
    assert all(d.pregnancy is None for d in s.due)
    s = assess_safety(c, ntz_labs(), PROTOCOL, as_of=D(2024, 9, 1), pregnancies=both)
    [jcv] = [d for d in s.due if d.item.code == "natalizumab-jcv"]
    assert jcv.pregnancy is not None and jcv.pregnancy.start == D(2024, 3, 1)
    assert jcv.pregnancy.words == "a pregnancy from 2024-03-01, ongoing (therapy paused)"
    assert pregnancy(D(2024, 3, 1), D(2024, 11, 30), "washed_out").words == (
        "a pregnancy from 2024-03-01 to 2024-11-30 (therapy washed out)"
    )


def test_a_day_after_delivery_is_named_as_the_postpartum_months():
    p = pregnancy(D(2024, 3, 1), D(2024, 11, 30), "washed_out")
    assert p.gap_end == D(2025, 2, 28)  # 3 months on, the end of a shorter month
    assert p.words_on(D(2024, 11, 30)) == p.words
    assert p.words_on(D(2024, 12, 1)) == f"the 3 months after {p.words}"
    assert pregnancy_on([p], D(2025, 2, 28)) == p
    assert pregnancy_on([p], D(2025, 3, 1)) is None
    assert pregnancy(D(2024, 3, 1), None).gap_end is None


def test_an_item_due_after_delivery_names_the_postpartum_months():
    c = [course("natalizumab", NTZ_START)]
    ended = pregnancy(D(2023, 8, 1), D(2024, 5, 1))
    s = assess_safety(c, ntz_labs(), PROTOCOL, as_of=D(2024, 9, 1), pregnancies=[ended])
    [jcv] = [d for d in s.due if d.item.code == "natalizumab-jcv"]
    assert jcv.due == D(2024, 7, 10) and jcv.pregnancy == ended
    assert jcv.pregnancy_words == (
        "the 3 months after a pregnancy from 2023-08-01 to 2024-05-01 (therapy paused)"
    )


# --- Alemtuzumab --------------------------------------------------------------------------

ALEM = [
    course("alemtuzumab", D(2020, 1, 6), D(2020, 1, 10)),
    course("alemtuzumab", D(2021, 1, 11), D(2021, 1, 13)),
]


def test_alemtuzumab_before_start():
    s = status(ALEM, screened(D(2020, 1, 6)), D(2020, 1, 7))
    for analyte in ("platelets", "creatinine", "urine-blood", "tsh"):
        assert due(s, f"alemtuzumab-{analyte}-before") == (D(2020, 1, 6), True)


def test_alemtuzumab_monthly_counts_from_the_last_course():
    assert due(status(ALEM, [], D(2021, 2, 1)), "alemtuzumab-platelets") == (D(2021, 2, 11), False)
    labs = [Lab("platelets", D(2021, 3, 1), 250)]
    assert due(status(ALEM, labs, D(2021, 4, 1)), "alemtuzumab-platelets") == (D(2021, 4, 1), False)
    assert due(status(ALEM, labs, D(2021, 4, 2)), "alemtuzumab-platelets") == (D(2021, 4, 1), True)
    for analyte in ("creatinine", "urine-blood", "urine-protein"):
        assert due(status(ALEM, [], D(2021, 3, 1)), f"alemtuzumab-{analyte}") == (
            D(2021, 2, 11),
            True,
        )
    assert due(status(ALEM, [], D(2021, 3, 1)), "alemtuzumab-tsh") == (D(2021, 4, 11), False)


def test_alemtuzumab_monitoring_until_48_months_after_the_last_course_even_on_another_therapy():
    courses = [*ALEM, course("ocrelizumab", D(2023, 1, 1))]
    labs = [Lab("platelets", D(2024, 12, 20), 250)]
    assert (
        due(status(courses, labs, D(2025, 1, 11)), "alemtuzumab-platelets") is None
    )  # due 01-20 > end
    assert due(status(courses, [], D(2025, 1, 11)), "alemtuzumab-platelets") == (
        D(2021, 2, 11),
        True,
    )
    assert due(status(courses, [], D(2025, 1, 12)), "alemtuzumab-platelets") is None


def test_alemtuzumab_platelets_below_100_is_high_and_clears():
    low = [Lab("platelets", D(2021, 3, 1), 99)]
    s = status(ALEM, low, D(2021, 3, 2))
    assert (
        flagged(s, "alemtuzumab-platelets")
        == "Blood count with differential monthly (platelets < 100 x 10⁹/L: immune "
        "thrombocytopenia) 99, below 100"
    )
    assert s.out_of_range[0].severity is Severity.HIGH
    assert (
        flagged(
            status(ALEM, [Lab("platelets", D(2021, 3, 1), 100)], D(2021, 3, 2)),
            "alemtuzumab-platelets",
        )
        is None
    )
    cleared = [*low, Lab("platelets", D(2021, 3, 15), 180)]
    assert flagged(status(ALEM, cleared, D(2021, 3, 16)), "alemtuzumab-platelets") is None


def test_alemtuzumab_creatinine_rise_half_again_over_baseline_or_above_upper_limit():
    base = Lab("creatinine", D(2019, 12, 20), 80, 45, 110)
    assert flagged(
        status(ALEM, [base, Lab("creatinine", D(2021, 3, 1), 120)], D(2021, 3, 2)),
        "alemtuzumab-creatinine",
    )
    assert (
        flagged(
            status(ALEM, [base, Lab("creatinine", D(2021, 3, 1), 119)], D(2021, 3, 2)),
            "alemtuzumab-creatinine",
        )
        is None
    )
    above = [Lab("creatinine", D(2021, 3, 1), 111, 45, 110)]
    assert flagged(status(ALEM, above, D(2021, 3, 2)), "alemtuzumab-creatinine")
    cleared = [base, Lab("creatinine", D(2021, 3, 1), 130), Lab("creatinine", D(2021, 3, 8), 85)]
    assert flagged(status(ALEM, cleared, D(2021, 3, 9)), "alemtuzumab-creatinine") is None


def test_alemtuzumab_haematuria_and_proteinuria_high_until_a_negative_urinalysis():
    labs = [
        Lab("urine-blood", D(2021, 3, 1), text="positive"),
        Lab("urine-protein", D(2021, 3, 1), text="trace"),
    ]
    s = status(ALEM, labs, D(2021, 3, 2))
    assert flagged(s, "alemtuzumab-urine-blood") == "Urinalysis monthly: haematuria: positive"
    assert flagged(s, "alemtuzumab-urine-protein") == "Urinalysis monthly: proteinuria: trace"
    labs += [
        Lab("urine-blood", D(2021, 3, 9), text="negative"),
        Lab("urine-protein", D(2021, 3, 9), text="negative"),
    ]
    assert status(ALEM, labs, D(2021, 3, 10)).out_of_range == ()


def test_alemtuzumab_tsh_outside_the_labs_range():
    def tsh(value: float):
        return flagged(
            status(ALEM, [Lab("tsh", D(2021, 4, 1), value, 0.4, 4.0)], D(2021, 4, 2)),
            "alemtuzumab-tsh",
        )

    assert tsh(4.0) is None and tsh(0.4) is None
    assert tsh(4.01) == "TSH every 3 months (thyroid disorders) 4.01, above the lab's upper limit 4"
    assert (
        tsh(0.39) == "TSH every 3 months (thyroid disorders) 0.39, below the lab's lower limit 0.4"
    )
    assert due(
        status(ALEM, [Lab("tsh", D(2021, 4, 1), 2.0)], D(2021, 4, 2)), "alemtuzumab-tsh"
    ) == (D(2021, 7, 1), False)


# --- Cladribine ---------------------------------------------------------------------------

Y1, Y2 = D(2023, 1, 9), D(2024, 1, 8)


def test_cladribine_lymphocytes_before_start():
    assert due(
        status([course("cladribine", Y1)], [], D(2023, 1, 10)), "cladribine-lymphocytes-before"
    ) == (Y1, True)
    labs = [Lab("lymphocytes", D(2022, 12, 1), 1500, 1000)]
    assert (
        due(
            status([course("cladribine", Y1)], labs, D(2023, 1, 10)),
            "cladribine-lymphocytes-before",
        )
        is None
    )


def test_cladribine_lymphocytes_2_and_6_months_after_each_years_course():
    c1 = [course("cladribine", Y1)]
    assert due(status(c1, [], D(2023, 3, 9)), "cladribine-lymphocytes") == (D(2023, 3, 9), False)
    assert due(status(c1, [], D(2023, 3, 10)), "cladribine-lymphocytes") == (D(2023, 3, 9), True)
    labs = [Lab("lymphocytes", D(2023, 3, 1), 900, 1000)]  # from halfway (Feb 8) it counts
    assert due(status(c1, labs, D(2023, 3, 10)), "cladribine-lymphocytes") == (D(2023, 7, 9), False)
    both = [*c1, course("cladribine", Y2)]
    labs.append(Lab("lymphocytes", D(2023, 7, 1), 900, 1000))
    assert due(status(both, labs, D(2024, 2, 1)), "cladribine-lymphocytes") == (
        D(2024, 3, 8),
        False,
    )


def test_cladribine_lymphopenia_grade_3_flagged_grade_2_not():
    c1 = [course("cladribine", Y1)]
    low = [Lab("lymphocytes", D(2023, 3, 1), 499, 1000)]
    s = status(c1, low, D(2023, 3, 2))
    assert flagged(s, "cladribine-lymphocytes") == "lymphocytes 499/mm³: lymphopenia grade 3"
    assert s.out_of_range[0].grade == 3
    assert (
        flagged(
            status(c1, [Lab("lymphocytes", D(2023, 3, 1), 500, 1000)], D(2023, 3, 2)),
            "cladribine-lymphocytes",
        )
        is None
    )
    assert (
        flagged(
            status(c1, [*low, Lab("lymphocytes", D(2023, 5, 1), 700, 1000)], D(2023, 5, 2)),
            "cladribine-lymphocytes",
        )
        is None
    )


def year2(labs: list[Lab], as_of: dt.date):
    return cladribine_year2(Episode("cladribine", "induction", (Y1,), None), labs, as_of=as_of)


def test_cladribine_year2_needs_800_in_the_window_before_it():
    planned, deadline = D(2024, 1, 9), D(2024, 7, 9)
    assert year2([], D(2023, 10, 8)) is None  # window opens 3 months before the planned course
    assert year2([], D(2023, 10, 9)).state is Year2.NO_COUNT
    old = [Lab("lymphocytes", D(2023, 10, 8), 1200)]  # before the window: does not count
    assert year2(old, D(2023, 12, 1)).state is Year2.NO_COUNT
    ok = year2([Lab("lymphocytes", D(2023, 12, 1), 800)], D(2023, 12, 2))
    assert ok.state is Year2.MAY_BE_GIVEN and not ok.blocked and ok.planned == planned
    low = year2([Lab("lymphocytes", D(2023, 12, 1), 799)], D(2024, 7, 9))
    assert low.state is Year2.DELAYED and low.blocked and low.deadline == deadline
    assert "must not be given now" in low.explanation
    late = year2([Lab("lymphocytes", D(2023, 12, 1), 799)], D(2024, 7, 10))
    assert late.state is Year2.NOT_TO_BE_GIVEN and late.blocked
    recovered = [Lab("lymphocytes", D(2023, 12, 1), 799), Lab("lymphocytes", D(2024, 3, 1), 850)]
    assert year2(recovered, D(2024, 3, 2)).state is Year2.MAY_BE_GIVEN


def test_cladribine_year2_decided_once_the_course_is_given():
    labs = [Lab("lymphocytes", D(2023, 12, 1), 799)]
    assert (
        status([course("cladribine", Y1), course("cladribine", Y2)], labs, D(2024, 2, 1)).cladribine
        is None
    )
    assert status([course("cladribine", Y1)], labs, D(2024, 2, 1)).cladribine.blocked


# --- Fumarates ----------------------------------------------------------------------------

DMF = [course("dimethyl-fumarate", D(2023, 1, 1))]


def test_fumarate_lymphocytes_before_start_and_every_three_months():
    assert due(status(DMF, [], D(2023, 1, 2)), "fumarate-lymphocytes-before") == (
        D(2023, 1, 1),
        True,
    )
    assert due(status(DMF, [], D(2023, 4, 1)), "fumarate-lymphocytes") == (D(2023, 4, 1), False)
    assert due(status(DMF, [], D(2023, 4, 2)), "fumarate-lymphocytes") == (D(2023, 4, 1), True)
    labs = [Lab("lymphocytes", D(2023, 3, 20), 1200)]
    assert due(status(DMF, labs, D(2023, 4, 2)), "fumarate-lymphocytes") == (D(2023, 6, 20), False)


def test_fumarate_below_500_for_more_than_six_months():
    run = [
        Lab("lymphocytes", D(2023, 4, 1), 450),
        Lab("lymphocytes", D(2023, 7, 1), 480),
        Lab("lymphocytes", D(2023, 10, 1), 490),
    ]
    assert (
        flagged(status(DMF, run, D(2023, 10, 2)), "fumarate-lymphocytes") is None
    )  # exactly 6 months
    longer = [*run, Lab("lymphocytes", D(2023, 10, 2), 499)]
    reason = flagged(status(DMF, longer, D(2023, 10, 3)), "fumarate-lymphocytes")
    assert reason and "since 2023-04-01 (more than 6 months)" in reason
    at_500 = [*run[:2], Lab("lymphocytes", D(2023, 10, 2), 500)]
    assert flagged(status(DMF, at_500, D(2023, 10, 3)), "fumarate-lymphocytes") is None
    recovered = [*longer, Lab("lymphocytes", D(2023, 11, 1), 650)]
    assert flagged(status(DMF, recovered, D(2023, 11, 2)), "fumarate-lymphocytes") is None


# --- S1P modulators -----------------------------------------------------------------------

FTY = [course("fingolimod", D(2024, 1, 15))]


def test_s1p_before_start_blood_count_ecg_and_eye_exam_for_fingolimod_only():
    s = status(FTY, [], D(2024, 1, 16))
    for code in ("s1p-lymphocytes-before", "s1p-ecg-before", "s1p-eye-exam-before"):
        assert due(s, code) == (D(2024, 1, 15), True)
    s = status([Course("siponimod", "platform", D(2024, 1, 15))], [], D(2024, 1, 16))
    assert due(s, "s1p-eye-exam-before") is None and due(s, "s1p-ecg-before")


def test_s1p_lymphocytes_and_alt_at_months_1_3_6_9_12_then_every_six_months():
    assert due(status(FTY, [], D(2024, 2, 15)), "s1p-lymphocytes") == (D(2024, 2, 15), False)
    assert due(status(FTY, [], D(2024, 2, 16)), "s1p-alt") == (D(2024, 2, 15), True)
    one = [Lab("lymphocytes", D(2024, 2, 10), 900)]
    assert due(status(FTY, one, D(2024, 2, 16)), "s1p-lymphocytes") == (D(2024, 4, 15), False)
    # A late month-1 result meets month 1 only; month 3 is then overdue.
    late = [Lab("lymphocytes", D(2024, 4, 20), 900)]
    assert due(status(FTY, late, D(2024, 4, 21)), "s1p-lymphocytes") == (D(2024, 4, 15), True)
    days = [D(2024, 2, 15), D(2024, 4, 15), D(2024, 7, 15), D(2024, 10, 15), D(2025, 1, 15)]
    year = [Lab("lymphocytes", day, 900) for day in days]
    s = status(FTY, year, D(2025, 1, 16))
    assert due(s, "s1p-lymphocytes") is None
    assert due(s, "s1p-lymphocytes-periodic") == (D(2025, 7, 15), False)
    assert due(status(FTY, [], D(2025, 1, 16)), "s1p-alt-periodic") == (D(2025, 1, 15), True)


def test_s1p_macular_exam_at_four_months():
    assert due(status(FTY, [], D(2024, 5, 15)), "s1p-eye-exam") == (D(2024, 5, 15), False)
    assert due(status(FTY, [], D(2024, 5, 16)), "s1p-eye-exam") == (D(2024, 5, 15), True)
    assert (
        due(
            status(FTY, [Lab("eye-exam", D(2024, 4, 20), text="normal")], D(2024, 5, 16)),
            "s1p-eye-exam",
        )
        is None
    )


def test_s1p_lymphocytes_below_200_and_alt_above_five_times_upper_limit():
    s = status(FTY, [Lab("lymphocytes", D(2024, 2, 15), 199)], D(2024, 2, 16))
    assert flagged(s, "s1p-lymphocytes") == "lymphocytes 199/mm³: lymphopenia grade 4"
    assert (
        flagged(
            status(FTY, [Lab("lymphocytes", D(2024, 2, 15), 200)], D(2024, 2, 16)),
            "s1p-lymphocytes",
        )
        is None
    )
    assert flagged(status(FTY, [Lab("alt", D(2024, 2, 15), 201, 0, 40)], D(2024, 2, 16)), "s1p-alt")
    assert (
        flagged(status(FTY, [Lab("alt", D(2024, 2, 15), 200, 0, 40)], D(2024, 2, 16)), "s1p-alt")
        is None
    )


# --- Teriflunomide ------------------------------------------------------------------------

TERI = [course("teriflunomide", D(2024, 1, 1))]


def test_teriflunomide_before_start():
    s = status(TERI, [], D(2024, 1, 2))
    for analyte in ("alt", "blood-pressure", "lymphocytes"):
        assert due(s, f"teriflunomide-{analyte}-before") == (D(2024, 1, 1), True)


def test_teriflunomide_alt_every_four_weeks_for_six_months_then_every_eight():
    assert due(status(TERI, [], D(2024, 1, 29)), "teriflunomide-alt-first-6-months") == (
        D(2024, 1, 29),
        False,
    )
    assert due(status(TERI, [], D(2024, 1, 30)), "teriflunomide-alt-first-6-months") == (
        D(2024, 1, 29),
        True,
    )
    labs = [Lab("alt", D(2024, 6, 20), 30, 0, 40)]
    s = status(TERI, labs, D(2024, 7, 2))
    assert due(s, "teriflunomide-alt-first-6-months") is None  # ran until 2024-07-01
    assert due(s, "teriflunomide-alt") == (D(2024, 8, 15), False)
    assert due(status(TERI, labs, D(2024, 8, 16)), "teriflunomide-alt") == (D(2024, 8, 15), True)


def test_teriflunomide_alt_above_three_times_upper_limit():
    assert flagged(
        status(TERI, [Lab("alt", D(2024, 2, 1), 121, 0, 40)], D(2024, 2, 2)),
        "teriflunomide-alt-first-6-months",
    )
    assert not status(TERI, [Lab("alt", D(2024, 2, 1), 120, 0, 40)], D(2024, 2, 2)).out_of_range


# --- Anti-CD20 ----------------------------------------------------------------------------

OCR = [course("ocrelizumab", D(2024, 1, 1))]


def test_anti_cd20_igg_before_start_and_before_each_six_monthly_course():
    assert due(status(OCR, [], D(2024, 1, 2)), "anti-cd20-igg-before") == (D(2024, 1, 1), True)
    assert due(status(OCR, [], D(2024, 7, 2)), "anti-cd20-igg") == (D(2024, 7, 1), True)
    labs = [Lab("igg", D(2024, 6, 20), 5.0, 7.0, 16.0)]
    s = status(OCR, labs, D(2024, 7, 2))
    assert due(s, "anti-cd20-igg") == (D(2024, 12, 20), False)
    assert flagged(s, "anti-cd20-igg") == (
        "Serum IgG before each 6-monthly course (hypogammaglobulinaemia) 5, "
        "below the lab's lower limit 7"
    )
    labs.append(Lab("igg", D(2024, 8, 1), 8.0, 7.0, 16.0))
    assert flagged(status(OCR, labs, D(2024, 8, 2)), "anti-cd20-igg") is None


# --- Building blocks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "grade"),
    [(1000, 0), (999, 1), (800, 1), (799, 2), (500, 2), (499, 3), (200, 3), (199, 4), (0, 4)],
)
def test_lymphopenia_grades(count, grade):
    assert lymphopenia_grade(count, 1000) == grade


def test_lymphopenia_grade_1_needs_the_labs_lower_limit():
    assert lymphopenia_grade(900, None) == 0


def test_episodes_group_courses_of_one_drug_and_close_on_the_next_drug():
    eps = episodes(
        [
            course("cladribine", D(2020, 1, 1), D(2020, 1, 5)),
            course("cladribine", D(2021, 1, 1), D(2021, 1, 5)),
            course("ocrelizumab", D(2023, 1, 1), D(2024, 1, 1)),
        ]
    )
    assert [(e.therapy, e.courses, e.end) for e in eps] == [
        ("cladribine", (D(2020, 1, 1), D(2021, 1, 1)), D(2023, 1, 1)),
        ("ocrelizumab", (D(2023, 1, 1),), D(2024, 1, 1)),
    ]


def test_units_convert_to_the_catalogue_unit_or_are_refused_by_name():
    lymphocytes = next(a for a in ANALYTES if a.code == "lymphocytes")
    assert convert(
        "1.2", "10*9/L", to=lymphocytes.unit, factors=lymphocytes.conversions
    ) == Decimal("1200.0")
    assert convert("650", "/mm3", to=lymphocytes.unit, factors=lymphocytes.conversions) == 650
    with pytest.raises(MeasurementError) as error:
        convert("1.2", "mg/dL", to=lymphocytes.unit, factors=lymphocytes.conversions)
    assert error.value.field == "unit" and "cannot be converted to /mm3" in error.value.message


def test_every_protocol_item_names_its_source_and_a_known_analyte():
    codes = {a.code for a in ANALYTES}
    assert len({i.code for i in SPEC_PROTOCOL}) == len(SPEC_PROTOCOL)
    for item in SPEC_PROTOCOL:
        assert item.analyte in codes and "SmPC" in item.source
