"""The code systems of the FHIR exchange (spec §8), shared by import and export.

EDSS, the timed 25-foot walk, the nine-hole peg test, SDMT and MRI lesion counts have no
verified LOINC code (spec §8), so they are coded under a local code system of this service,
`ms-measures`, rather than under a LOINC code that might be wrong. Serum/plasma NfL has one
(LOINC 101281-4) and MS phenotypes have SNOMED CT codes; the rest is local as well.
"""

from __future__ import annotations

LOCAL = "https://mstrack.example/fhir/CodeSystem"
MEASURES = f"{LOCAL}/ms-measures"  # EDSS & co.: local because no verified LOINC code exists
CONDITIONS = f"{LOCAL}/ms-conditions"  # relapse; CIS (no SNOMED code listed in spec §8)
THERAPIES = f"{LOCAL}/ms-therapies"  # codes of our therapy catalogue (spec §7)
NFL_ASSAYS = f"{LOCAL}/nfl-assays"
NFL_MATRICES = f"{LOCAL}/nfl-matrices"
ALERT_RULES = f"{LOCAL}/ms-alert-rules"
# Pregnancy details without a Condition element of their own, as extensions.
EXTENSIONS = "https://mstrack.example/fhir/StructureDefinition"
MRN_SYSTEM = "https://mstrack.example/fhir/sid/mrn"  # /<site code>: an MRN is per site
SITE_SYSTEM = "https://mstrack.example/fhir/sid/site"
SOURCE = "fhir"  # source_system of records whose bundle names no meta.source

LOINC = "http://loinc.org"
NFL_LOINC = "101281-4"  # Neurofilament light chain, serum or plasma, mass/volume
SNOMED = "http://snomed.info/sct"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
VERIFICATION_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
UCUM = "http://unitsofmeasure.org"

# Phenotype ↔ diagnosis code. CIS is local: spec §8 gives no SNOMED code for it.
PHENOTYPE_CODES: dict[str, tuple[str, str]] = {
    "RRMS": (SNOMED, "426373005"),
    "SPMS": (SNOMED, "425500002"),
    "PPMS": (SNOMED, "428700003"),
    "CIS": (CONDITIONS, "CIS"),
}
PHENOTYPE_OF = {code: phenotype for phenotype, code in PHENOTYPE_CODES.items()}
RELAPSE = (CONDITIONS, "relapse")
PREGNANCY = (SNOMED, "77386006")  # SNOMED CT Pregnancy: a pregnancy is a Condition (§7.2)
# A comorbidity is a Condition of the problem list (§7.2); the MS diagnosis is not one.
PROBLEM_LIST_ITEM = (CONDITION_CATEGORY, "problem-list-item")
MULTIPLE_SCLEROSIS = (SNOMED, "24700007")  # SNOMED CT Multiple sclerosis, no phenotype
# FHIR's condition-severity value set (SNOMED CT).
SEVERITY_CODES = {"mild": "255604002", "moderate": "6736007", "severe": "24484000"}
SEVERITY_OF = {code: severity for severity, code in SEVERITY_CODES.items()}

# Visit measures: local code → (Visit field, UCUM unit, display).
VISIT_MEASURES: dict[str, tuple[str, str, str]] = {
    "edss": ("edss", "{score}", "Expanded Disability Status Scale"),
    "t25fw": ("t25fw", "s", "Timed 25-foot walk"),
    "nhpt": ("nhpt", "s", "Nine-hole peg test"),
    "sdmt": ("sdmt", "{score}", "Symbol Digit Modalities Test"),
}
MRI = "mri-activity"  # one Observation per scan, its counts as components
MRI_COMPONENTS: dict[str, tuple[str, str]] = {
    "new-t2": ("new_t2", "New or enlarging T2 lesions"),
    "gd-enhancing": ("gd_enhancing", "Gd-enhancing lesions"),
    "total-t2": ("total_t2", "Total T2 lesions"),
    "pbvc": ("pbvc", "Percent brain volume change"),
}
NFL_CSF = "nfl-csf"  # CSF NfL: no verified LOINC code, local
NFL_Z_SCORE = "nfl-z-score"  # the lab's age-adjusted z-score, a component of the NfL Observation
