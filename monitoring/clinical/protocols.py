"""The analytes and monitoring protocols of spec §7.1, as first loaded into the catalogue.

The data migrations `monitoring.0009_load_safety_catalogue` and
`0013_pml_high_risk_mri_item` load these rows; from then on the catalogue
tables are the truth (admins edit them, audited) and the engine reads dataclasses built from
them. `tests/test_safety_catalogue.py` holds the loaded rows to this list.

LOINC codes were checked against the LOINC long names written beside them. Analytes without a
LOINC code (the JCV index, which is a Stratify JCV DxSelect proprietary index, and the
examinations) use the local code system `LOCAL_SYSTEM`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitoring.clinical.safety import (
    BRAIN_MRI,
    Anchor,
    Check,
    Condition,
    Phase,
    ProtocolItem,
    Severity,
)

LOCAL_SYSTEM = "https://mstrack.example/fhir/CodeSystem/safety-analyte"


@dataclass(frozen=True, slots=True)
class Analyte:
    """`unit` is the catalogue unit every value is stored in; `conversions` says what one of
    each other accepted unit is in it. `qualitative` results are text (negative, positive…)."""

    code: str
    name: str
    loinc: str
    unit: str
    conversions: dict[str, float] = field(default_factory=dict)
    qualitative: bool = False


_COUNT_9 = {"10*3/uL": 1.0, "/nL": 1.0, "/mm3": 0.001, "/uL": 0.001, "cells/uL": 0.001}

ANALYTES: tuple[Analyte, ...] = (
    # Lymphocytes [#/volume] in Blood by Automated count; spec thresholds are in cells/mm³.
    Analyte(
        "lymphocytes",
        "Lymphocytes",
        "731-0",
        "/mm3",
        {"10*9/L": 1000.0, "10*3/uL": 1000.0, "/uL": 1.0, "cells/uL": 1.0, "cells/mm3": 1.0},
    ),
    # Leukocytes [#/volume] in Blood by Automated count
    Analyte("leukocytes", "Leukocytes", "6690-2", "10*9/L", _COUNT_9),
    # Neutrophils [#/volume] in Blood by Automated count
    Analyte("neutrophils", "Neutrophils", "751-8", "10*9/L", _COUNT_9),
    # Platelets [#/volume] in Blood by Automated count
    Analyte("platelets", "Platelets", "777-3", "10*9/L", _COUNT_9),
    # Creatinine [Moles/volume] in Serum or Plasma. Spec's 2160-0 is the mass concentration
    # (mg/dL); values are kept in µmol/L, so the molar code is the one that names them.
    Analyte("creatinine", "Creatinine", "14682-9", "umol/L", {"mg/dL": 88.42}),
    # Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma
    Analyte("alt", "ALT", "1742-6", "U/L", {"IU/L": 1.0, "ukat/L": 60.0}),
    # Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma
    Analyte("ast", "AST", "1920-8", "U/L", {"IU/L": 1.0, "ukat/L": 60.0}),
    # Thyrotropin [Units/volume] in Serum or Plasma
    Analyte("tsh", "TSH", "3016-3", "mIU/L", {"uIU/mL": 1.0, "mU/L": 1.0}),
    # IgG [Mass/volume] in Serum
    Analyte("igg", "Serum IgG", "2465-3", "g/L", {"mg/dL": 0.01}),
    # Anti-JCV antibody index (Stratify JCV DxSelect): no LOINC code, local system.
    Analyte("jcv-index", "Anti-JCV antibody index", "", "index"),
    # Hemoglobin [Presence] in Urine by Test strip
    Analyte("urine-blood", "Urinalysis: blood", "5794-3", "", qualitative=True),
    # Protein [Presence] in Urine by Test strip
    Analyte("urine-protein", "Urinalysis: protein", "20454-5", "", qualitative=True),
    # Hepatitis B virus surface Ag [Presence] in Serum or Plasma by Immunoassay
    Analyte("hbsag", "Hepatitis B surface antigen", "5196-1", "", qualitative=True),
    # Hepatitis C virus Ab [Presence] in Serum
    Analyte("hcv-ab", "Hepatitis C antibody", "16128-1", "", qualitative=True),
    # HIV 1+2 Ab [Presence] in Serum
    Analyte("hiv-ab", "HIV 1+2 antibody", "7918-6", "", qualitative=True),
    # Varicella zoster virus IgG Ab [Presence] in Serum
    Analyte("vzv-igg", "Varicella zoster IgG", "19162-7", "", qualitative=True),
    # Interferon-gamma release assay: kits report under several codes; local code.
    Analyte("tb-igra", "Tuberculosis IGRA", "", "", qualitative=True),
    # Choriogonadotropin (pregnancy test) [Presence] in Urine
    Analyte("pregnancy-test", "Pregnancy test", "2106-3", "", qualitative=True),
    # Examinations recorded beside the labs: local codes.
    Analyte("ecg", "ECG", "", "", qualitative=True),
    Analyte("eye-exam", "Macular (eye) examination", "", "", qualitative=True),
    Analyte("blood-pressure", "Blood pressure (systolic)", "", "mm[Hg]"),
    # The brain MRI of the MRI records (monitoring.MriScan), which the evaluation gives the
    # protocol beside the labs; refused as a lab result. Local code.
    Analyte(BRAIN_MRI, "Brain MRI (from the MRI records)", "", "", qualitative=True),
)

HIGH_EFFICACY_AND_INDUCTION = ("high_efficacy", "induction")
FUMARATES = ("dimethyl-fumarate", "diroximel-fumarate")
S1P = ("fingolimod", "siponimod", "ozanimod", "ponesimod")
ANTI_CD20 = ("ocrelizumab", "ofatumumab", "ublituximab", "rituximab")

SCREENING_SOURCE = (
    "SmPCs of the high-efficacy and induction therapies (section 4.4: infections); "
    "ECTRIMS/EAN 2018 guideline on pharmacological treatment of MS"
)
TYSABRI = "Tysabri (natalizumab) SmPC section 4.4"
TYSABRI_MRI = (
    "Tysabri (natalizumab) SmPC section 4.4 (more frequent MRI at higher PML risk); every "
    "3-4 months: McGuigan et al., J Neurol Neurosurg Psychiatry 2016 (expert group)"
)
LEMTRADA = "Lemtrada (alemtuzumab) SmPC section 4.4"
MAVENCLAD = "Mavenclad (cladribine) SmPC sections 4.2 and 4.4"
TECFIDERA = "Tecfidera/Vumerity (fumarate) SmPC section 4.4"
GILENYA = "Gilenya (fingolimod) and other S1P modulators' SmPC section 4.4"
AUBAGIO = "Aubagio (teriflunomide) SmPC section 4.4"
OCREVUS = "Ocrevus/Kesimpta/Briumvi/rituximab SmPC section 4.4 (hypogammaglobulinaemia)"


def _before(
    code: str, therapies: tuple[str, ...], analyte: str, source: str, **kw: object
) -> ProtocolItem:
    return ProtocolItem(code, therapies, analyte, Phase.BEFORE_START, source, **kw)  # type: ignore[arg-type]


def _on(
    code: str, therapies: tuple[str, ...], analyte: str, source: str, **kw: object
) -> ProtocolItem:
    return ProtocolItem(code, therapies, analyte, Phase.ON_THERAPY, source, **kw)  # type: ignore[arg-type]


SPEC_PROTOCOL: tuple[ProtocolItem, ...] = (
    # All high-efficacy and induction therapies, before start.
    *(
        _before(
            f"screen-{analyte}",
            HIGH_EFFICACY_AND_INDUCTION,
            analyte,
            SCREENING_SOURCE,
            window_months=6,
            label=label,
        )
        for analyte, label in (
            ("hbsag", "Hepatitis B serology before start"),
            ("hcv-ab", "Hepatitis C serology before start"),
            ("hiv-ab", "HIV serology before start"),
            ("vzv-igg", "VZV IgG before start"),
            ("tb-igra", "TB (IGRA) before start"),
        )
    ),
    _before(
        "screen-pregnancy-test",
        HIGH_EFFICACY_AND_INDUCTION,
        "pregnancy-test",
        SCREENING_SOURCE,
        window_months=1,
        sex="female",
        label="Pregnancy test before start",
    ),
    # Natalizumab.
    _before(
        "natalizumab-jcv-before",
        ("natalizumab",),
        "jcv-index",
        TYSABRI,
        window_months=6,
        label="Anti-JCV antibody index before start",
    ),
    _on(
        "natalizumab-jcv",
        ("natalizumab",),
        "jcv-index",
        TYSABRI,
        every_months=6,
        stop_above=1.5,
        label="Anti-JCV antibody index every 6 months (while negative or index <= 1.5)",
    ),
    # High PML risk: MRI every 3-4 months, due at the latest 4 months after the last scan.
    _on(
        "natalizumab-pml-high-risk-mri",
        ("natalizumab",),
        BRAIN_MRI,
        TYSABRI_MRI,
        every_months=4,
        condition=Condition.PML_HIGH_RISK,
        label="Brain MRI every 3-4 months at high PML risk",
    ),
    # Alemtuzumab: monthly and 3-monthly until 48 months after the last infusion.
    *(
        _before(f"alemtuzumab-{analyte}-before", ("alemtuzumab",), analyte, LEMTRADA, label=label)
        for analyte, label in (
            ("platelets", "Blood count before start"),
            ("creatinine", "Creatinine before start"),
            ("urine-blood", "Urinalysis before start"),
            ("tsh", "TSH before start"),
        )
    ),
    _on(
        "alemtuzumab-platelets",
        ("alemtuzumab",),
        "platelets",
        LEMTRADA,
        anchor=Anchor.LAST_COURSE,
        every_months=1,
        until_months=48,
        check=Check.BELOW,
        limit=100.0,
        severity=Severity.HIGH,
        label="Blood count with differential monthly (platelets < 100 x 10⁹/L: immune "
        "thrombocytopenia)",
    ),
    _on(
        "alemtuzumab-creatinine",
        ("alemtuzumab",),
        "creatinine",
        LEMTRADA,
        anchor=Anchor.LAST_COURSE,
        every_months=1,
        until_months=48,
        check=Check.RISE,
        limit=1.5,
        severity=Severity.HIGH,
        label="Serum creatinine monthly (a rise: anti-GBM disease)",
    ),
    *(
        _on(
            f"alemtuzumab-{analyte}",
            ("alemtuzumab",),
            analyte,
            LEMTRADA,
            anchor=Anchor.LAST_COURSE,
            every_months=1,
            until_months=48,
            check=Check.ABNORMAL,
            severity=Severity.HIGH,
            label=label,
        )
        for analyte, label in (
            ("urine-blood", "Urinalysis monthly: haematuria"),
            ("urine-protein", "Urinalysis monthly: proteinuria"),
        )
    ),
    _on(
        "alemtuzumab-tsh",
        ("alemtuzumab",),
        "tsh",
        LEMTRADA,
        anchor=Anchor.LAST_COURSE,
        every_months=3,
        until_months=48,
        check=Check.LAB_RANGE,
        severity=Severity.HIGH,
        label="TSH every 3 months (thyroid disorders)",
    ),
    # Cladribine.
    _before(
        "cladribine-lymphocytes-before",
        ("cladribine",),
        "lymphocytes",
        MAVENCLAD,
        label="Lymphocytes normal before start",
    ),
    _on(
        "cladribine-lymphocytes",
        ("cladribine",),
        "lymphocytes",
        MAVENCLAD,
        anchor=Anchor.EACH_COURSE,
        points_months=(2, 6),
        check=Check.LYMPHOPENIA,
        limit=3.0,
        label="Lymphocytes 2 and 6 months after each year's course",
    ),
    # Dimethyl/diroximel fumarate.
    _before(
        "fumarate-lymphocytes-before",
        FUMARATES,
        "lymphocytes",
        TECFIDERA,
        label="Blood count before start",
    ),
    _on(
        "fumarate-lymphocytes",
        FUMARATES,
        "lymphocytes",
        TECFIDERA,
        every_months=3,
        check=Check.PERSISTENT_BELOW,
        limit=500.0,
        persist_months=6,
        severity=Severity.HIGH,
        label="Lymphocytes every 3 months (< 500/mm³ for more than 6 months: consider stopping)",
    ),
    # S1P modulators.
    *(
        _before(f"s1p-{analyte}-before", therapies, analyte, GILENYA, label=label)
        for analyte, therapies, label in (
            ("lymphocytes", S1P, "Blood count before start"),
            ("ecg", S1P, "ECG before start"),
            ("eye-exam", ("fingolimod",), "Eye examination before start"),
        )
    ),
    _on(
        "s1p-lymphocytes",
        S1P,
        "lymphocytes",
        GILENYA,
        points_months=(1, 3, 6, 9, 12),
        check=Check.LYMPHOPENIA,
        limit=4.0,
        severity=Severity.HIGH,
        label="Lymphocytes at months 1, 3, 6, 9 and 12 (< 200/mm³: interrupt)",
    ),
    _on(
        "s1p-alt",
        S1P,
        "alt",
        GILENYA,
        points_months=(1, 3, 6, 9, 12),
        check=Check.ABOVE_UPPER,
        limit=5.0,
        severity=Severity.HIGH,
        label="Liver tests at months 1, 3, 6, 9 and 12 (ALT > 5 x upper limit: stop)",
    ),
    *(
        _on(
            f"s1p-{analyte}-periodic",
            S1P,
            analyte,
            f"{GILENYA}; 'periodically' read as every 6 months",
            every_months=6,
            from_months=12,
            label=label,
        )
        for analyte, label in (
            ("lymphocytes", "Lymphocytes every 6 months after the first year"),
            ("alt", "Liver tests every 6 months after the first year"),
        )
    ),
    _on(
        "s1p-eye-exam",
        S1P,
        "eye-exam",
        GILENYA,
        points_months=(4,),
        label="Macular examination at 3-4 months",
    ),
    # Teriflunomide.
    *(
        _before(
            f"teriflunomide-{analyte}-before", ("teriflunomide",), analyte, AUBAGIO, label=label
        )
        for analyte, label in (
            ("alt", "ALT before start"),
            ("blood-pressure", "Blood pressure before start"),
            ("lymphocytes", "Blood count before start"),
        )
    ),
    _on(
        "teriflunomide-alt-first-6-months",
        ("teriflunomide",),
        "alt",
        AUBAGIO,
        every_weeks=4,
        until_months=6,
        check=Check.ABOVE_UPPER,
        limit=3.0,
        severity=Severity.HIGH,
        label="ALT every 4 weeks for 6 months (> 3 x upper limit: interrupt)",
    ),
    _on(
        "teriflunomide-alt",
        ("teriflunomide",),
        "alt",
        AUBAGIO,
        every_weeks=8,
        from_months=6,
        check=Check.ABOVE_UPPER,
        limit=3.0,
        severity=Severity.HIGH,
        label="ALT every 8 weeks after 6 months (> 3 x upper limit: interrupt)",
    ),
    # Anti-CD20 (hepatitis B is among the screening of every high-efficacy therapy above).
    *(
        _before(f"anti-cd20-{analyte}-before", ANTI_CD20, analyte, OCREVUS, label=label)
        for analyte, label in (("igg", "Serum IgG before start"),)
    ),
    _on(
        "anti-cd20-igg",
        ANTI_CD20,
        "igg",
        OCREVUS,
        every_months=6,
        check=Check.LAB_RANGE,
        label="Serum IgG before each 6-monthly course (hypogammaglobulinaemia)",
    ),
)
