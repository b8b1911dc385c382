"""The sijreg data dictionary: every form and field of the registry, stated once.

Storage (``store.schema``), validation (``Field.parse``), the study sheet, the
report labels and ``docs/data-dictionary.md`` are all derived from the forms below.
"""

from __future__ import annotations

from decimal import Decimal

from sijreg.domain.types import Choice, Disclosure, Field, Form, Kind

CODE_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]*"

ADVANCED_PROCEDURES = ("scs", "iss", "idds", "mild")
"""The advanced interventions after which the seed study's patients were fused."""

CONSERVATIVE_CARE = ("physical_therapy", "medications", "sij_steroid_injection", "rfa")

SITE = Form(
    name="site",
    label="Site",
    description="A pain centre that enrols patients. Each site sees only its own patients.",
    per_patient=False,
    fields=(
        Field(
            "site_code",
            "Site code",
            Kind.TEXT,
            required=True,
            max_length=20,
            pattern=CODE_PATTERN,
            description="Short code of the centre, e.g. S01.",
        ),
        Field(
            "site_name",
            "Site name",
            Kind.TEXT,
            max_length=120,
            description="Display name of the centre (an institution, never a person).",
        ),
    ),
)

PATIENT = Form(
    name="patient",
    label="Patient",
    description="One enrolled patient. No direct identifier is stored: the study id is a "
    "site-local pseudonym whose key stays at the site.",
    fields=(
        Field(
            "study_id",
            "Study id",
            Kind.TEXT,
            required=True,
            max_length=40,
            pattern=CODE_PATTERN,
            disclosure=Disclosure.PSEUDONYM,
            description="Site-local pseudonymous code, unique within the site.",
        ),
        Field("sex", "Sex", Kind.CHOICE, choices=(Choice("F", "Female"), Choice("M", "Male"))),
        Field(
            "age",
            "Age at fusion",
            Kind.INTEGER,
            unit="years",
            minimum=Decimal(18),
            maximum=Decimal(110),
            disclosure=Disclosure.AGE,
            description="Whole years at the date of the index fusion.",
        ),
        Field(
            "birth_year",
            "Year of birth",
            Kind.INTEGER,
            minimum=Decimal(1900),
            maximum=Decimal(2100),
            disclosure=Disclosure.AGE,
            description="Optional; the year only, never the full date.",
        ),
        Field(
            "bmi",
            "BMI",
            Kind.DECIMAL,
            unit="kg/m2",
            decimals=1,
            minimum=Decimal(10),
            maximum=Decimal(90),
            description="Body-mass index.",
        ),
        Field(
            "fbss",
            "History of failed back surgery syndrome",
            Kind.BOOLEAN,
            description="Prior lumbar spine surgery with persistent spinal pain (FBSS).",
        ),
    ),
)

PRIOR_PROCEDURE = Form(
    name="prior_procedure",
    label="Prior intervention",
    repeating=True,
    description="A treatment the patient had before the fusion; a patient can have several.",
    fields=(
        Field(
            "procedure",
            "Intervention",
            Kind.CHOICE,
            required=True,
            choices=(
                Choice("scs", "Spinal cord stimulator"),
                Choice("iss", "Interspinous spacer"),
                Choice("idds", "Intrathecal pump"),
                Choice("mild", "Minimally invasive lumbar decompression"),
                Choice("physical_therapy", "Physical therapy"),
                Choice("medications", "Medications"),
                Choice("sij_steroid_injection", "SIJ steroid injection"),
                Choice("rfa", "Radiofrequency ablation"),
            ),
        ),
        Field(
            "procedure_date",
            "Date",
            Kind.DATE,
            disclosure=Disclosure.DATE,
            description="Date of the intervention (or its start), when known.",
        ),
        Field(
            "procedure_year",
            "Year",
            Kind.INTEGER,
            minimum=Decimal(1950),
            maximum=Decimal(2100),
            description="Year of the intervention when the date is not known.",
        ),
        Field(
            "duration_months",
            "Duration",
            Kind.INTEGER,
            unit="months",
            minimum=Decimal(0),
            maximum=Decimal(600),
            description="For conservative care: how long it was tried.",
        ),
    ),
)

FUSION = Form(
    name="fusion",
    label="Index SIJ fusion",
    description="The index sacroiliac-joint fusion; one per patient.",
    fields=(
        Field(
            "fusion_date", "Date of fusion", Kind.DATE, required=True, disclosure=Disclosure.DATE
        ),
        Field(
            "side",
            "Side",
            Kind.CHOICE,
            choices=(
                Choice("left", "Left"),
                Choice("right", "Right"),
                Choice("bilateral", "Bilateral"),
            ),
        ),
        Field(
            "approach",
            "Approach",
            Kind.CHOICE,
            choices=(
                Choice("posterior", "Posterior"),
                Choice("lateral", "Lateral"),
                Choice("other", "Other"),
            ),
        ),
        Field(
            "device",
            "Device",
            Kind.CHOICE,
            choices=(
                Choice("linq", "LinQ (PainTEQ)"),
                Choice("other_posterior", "Other posterior implant"),
                Choice("other_lateral", "Other lateral implant"),
                Choice("other", "Other"),
            ),
        ),
        Field(
            "anaesthesia",
            "Anaesthesia",
            Kind.CHOICE,
            choices=(
                Choice("sedation_local", "Conscious sedation with local anaesthetic"),
                Choice("general", "General anaesthesia"),
                Choice("other", "Other"),
            ),
        ),
        Field(
            "setting",
            "Setting",
            Kind.CHOICE,
            choices=(Choice("outpatient", "Outpatient"), Choice("inpatient", "Inpatient")),
        ),
        Field(
            "graft",
            "Graft",
            Kind.CHOICE,
            choices=(
                Choice("dbm", "Demineralised bone matrix putty"),
                Choice("autograft", "Autograft"),
                Choice("allograft", "Allograft"),
                Choice("none", "None"),
                Choice("other", "Other"),
            ),
        ),
        Field("intraop_complication", "Intra-operative complication", Kind.BOOLEAN),
    ),
)

PGIC_CHOICES = (
    Choice("very_much_improved", "Very much improved"),
    Choice("much_improved", "Much improved"),
    Choice("minimally_improved", "Minimally improved"),
    Choice("no_change", "No change"),
    Choice("minimally_worse", "Minimally worse"),
    Choice("much_worse", "Much worse"),
    Choice("very_much_worse", "Very much worse"),
)
"""The 7-point Patient Global Impression of Change (Guy 1976; as in IMMPACT, Dworkin 2008)."""

VISIT_SOURCES = (
    Choice("coordinator", "Coordinator at a visit"),
    Choice("patient_web", "Patient, on the web link"),
    Choice("phone", "Patient, by phone"),
    Choice("paper", "Patient, on paper"),
)
"""How a visit's answers reached the registry."""

VISIT = Form(
    name="visit",
    label="Visit",
    repeating=True,
    description="A baseline or follow-up visit. Every measure is optional but typed and ranged.",
    fields=(
        Field("visit_date", "Visit date", Kind.DATE, required=True, disclosure=Disclosure.DATE),
        Field(
            "baseline",
            "Baseline visit",
            Kind.BOOLEAN,
            description="Yes for a visit on or before the fusion date, whose measures are the "
            "starting point (no pain relief then); every other visit is a follow-up, after "
            "the fusion. Empty counts as No.",
        ),
        Field(
            "pain_relief_pct",
            "Patient-reported pain relief",
            Kind.DECIMAL,
            unit="%",
            decimals=1,
            minimum=Decimal(0),
            maximum=Decimal(100),
            description="Relief since the fusion, as the patient reports it.",
        ),
        Field(
            "nrs_pain",
            "Pain (NRS)",
            Kind.INTEGER,
            unit="0-10",
            minimum=Decimal(0),
            maximum=Decimal(10),
            description="Numeric rating scale.",
        ),
        Field(
            "odi",
            "Oswestry Disability Index",
            Kind.DECIMAL,
            unit="0-100",
            decimals=1,
            minimum=Decimal(0),
            maximum=Decimal(100),
        ),
        Field(
            "medd",
            "Opioid use (MEDD)",
            Kind.DECIMAL,
            unit="mg/day",
            decimals=1,
            minimum=Decimal(0),
            maximum=Decimal(5000),
            description="Morphine-equivalent daily dose.",
        ),
        Field(
            "nrs_pain_week",
            "Average pain over the last week (NRS)",
            Kind.INTEGER,
            unit="0-10",
            minimum=Decimal(0),
            maximum=Decimal(10),
            description="SIJ/buttock pain on average over the past 7 days, numeric rating scale.",
        ),
        Field(
            "pgic",
            "Patient Global Impression of Change",
            Kind.CHOICE,
            choices=PGIC_CHOICES,
            description="The patient's rating of change since the fusion, 7 points.",
        ),
        Field(
            "opioid_use",
            "Takes opioid pain medicine",
            Kind.BOOLEAN,
            description="Whether the patient currently takes opioid pain medicine.",
        ),
        Field(
            "source",
            "Answered by",
            Kind.CHOICE,
            choices=VISIT_SOURCES,
            description="Who entered the visit and how: blank for visits entered before "
            "follow-up collection (a coordinator).",
        ),
    ),
)

ADVERSE_EVENT = Form(
    name="adverse_event",
    label="Adverse event",
    repeating=True,
    fields=(
        Field("event_date", "Onset date", Kind.DATE, required=True, disclosure=Disclosure.DATE),
        Field(
            "event_kind",
            "Event",
            Kind.CHOICE,
            required=True,
            choices=(
                Choice("infection", "Wound or deep infection"),
                Choice("bleeding", "Bleeding or haematoma"),
                Choice("nerve_injury", "Nerve injury"),
                Choice("malposition", "Implant malposition"),
                Choice("migration", "Implant migration or loosening"),
                Choice("persistent_pain", "New or persistent pain"),
                Choice("other", "Other"),
            ),
        ),
        Field(
            "severity",
            "Severity",
            Kind.CHOICE,
            choices=(
                Choice("mild", "Mild"),
                Choice("moderate", "Moderate"),
                Choice("severe", "Severe"),
                Choice("life_threatening", "Life-threatening"),
            ),
        ),
        Field(
            "relatedness",
            "Related to",
            Kind.CHOICE,
            choices=(
                Choice("device", "Device"),
                Choice("procedure", "Procedure"),
                Choice("device_and_procedure", "Device and procedure"),
                Choice("unrelated", "Not related"),
                Choice("unknown", "Unknown"),
            ),
        ),
        Field("serious", "Serious adverse event", Kind.BOOLEAN),
        Field("revision", "Revision surgery", Kind.BOOLEAN),
        Field("revision_date", "Revision date", Kind.DATE, disclosure=Disclosure.DATE),
    ),
)

MANOEUVRE_RESULT = (
    Choice("positive", "Positive"),
    Choice("negative", "Negative"),
    Choice("not_done", "Not done"),
)


def _manoeuvre(name: str, label: str) -> Field:
    return Field(
        f"test_{name}",
        label,
        Kind.CHOICE,
        choices=MANOEUVRE_RESULT,
        description=f"Result of the {label} provocation test for SIJ pain.",
    )


def _advanced(code: str) -> Field:
    label = PRIOR_PROCEDURE.field("procedure").choice_label(code)
    return Field(
        f"advanced_{code}",
        f"Prior {label}",
        Kind.BOOLEAN,
        description=f"Had a {label.lower()} before and relief stayed incomplete.",
    )


def _conservative(name: str, label: str) -> Field:
    return Field(
        f"conservative_{name}",
        f"Failed conservative care: {label}",
        Kind.BOOLEAN,
        description=f"{label} was tried and did not bring enough relief.",
    )


SCREENING = Form(
    name="screening",
    label="Screening",
    per_patient=False,
    description="One screening of a candidate against the study protocol. Candidates who are "
    "never enrolled keep their record too (the screening log), identified only by the site and "
    "a site-local screening number; an enrolled patient's record is linked to the patient.",
    fields=(
        Field(
            "screening_number",
            "Screening number",
            Kind.TEXT,
            required=True,
            max_length=40,
            pattern=CODE_PATTERN,
            disclosure=Disclosure.PSEUDONYM,
            description="Site-local number of the screening log entry, unique within the site.",
        ),
        Field(
            "screening_date",
            "Screening date",
            Kind.DATE,
            disclosure=Disclosure.DATE,
        ),
        Field(
            "pain_below_belt_line",
            "Pain primarily below the belt line",
            Kind.BOOLEAN,
            description="Low back pain located primarily below the belt line.",
        ),
        Field(
            "pain_character",
            "Pain character",
            Kind.CHOICE,
            choices=(Choice("non_radicular", "Non-radicular"), Choice("radicular", "Radicular")),
            description="Whether the pain is primarily radicular (radiating along a nerve root).",
        ),
        _manoeuvre("distraction", "Distraction"),
        _manoeuvre("thigh_thrust", "Thigh thrust"),
        _manoeuvre("faber", "FABER"),
        _manoeuvre("compression", "Compression"),
        _manoeuvre("gaenslen", "Gaenslen's"),
        Field(
            "block_image_guided",
            "Diagnostic block image-guided",
            Kind.BOOLEAN,
            description="The diagnostic SIJ injection was placed under imaging (fluoroscopy/CT).",
        ),
        Field(
            "block_local_anaesthetic",
            "Diagnostic block with local anaesthetic",
            Kind.BOOLEAN,
        ),
        Field(
            "block_date",
            "Diagnostic block date",
            Kind.DATE,
            disclosure=Disclosure.DATE,
        ),
        Field(
            "block_relief_pct",
            "Pain relief after the diagnostic block",
            Kind.DECIMAL,
            unit="%",
            decimals=1,
            minimum=Decimal(0),
            maximum=Decimal(100),
            description="Pain reduction reported after the diagnostic SIJ injection.",
        ),
        Field(
            "conservative_months",
            "Months of failed conservative care",
            Kind.DECIMAL,
            unit="months",
            decimals=1,
            minimum=Decimal(0),
            maximum=Decimal(600),
            description="How long conservative treatment was tried in all (physical therapy, "
            "medications, injections; months when several ran together count once).",
        ),
        _conservative("physical_therapy", "Physical therapy"),
        _conservative("medications", "Medications"),
        _conservative("injections", "Injections"),
        *(_advanced(code) for code in ADVANCED_PROCEDURES),
    ),
)

FORMS: tuple[Form, ...] = (SITE, PATIENT, PRIOR_PROCEDURE, FUSION, VISIT, ADVERSE_EVENT, SCREENING)


def form(name: str) -> Form:
    """The form called ``name``."""
    for candidate in FORMS:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no form {name!r}")


def field(name: str) -> Field:
    """Any field of the dictionary by its name (names are unique across forms)."""
    for candidate in FORMS:
        for f in candidate.fields:
            if f.name == name:
                return f
    raise KeyError(f"no field {name!r} in the data dictionary")
