"""FHIR export of a patient's notes and reported readings, validated before it leaves.

Resources are built as plain JSON and validated twice before they leave:
- against FHIR R4 **4.0.1**, the release EHRs exchange, with `fhirclient`'s models
  (SMART Health IT's classes generated from the 4.0.1 StructureDefinitions): every
  element must exist in R4 with its R4 type and cardinality, required elements must be
  present, dates must parse;
- with `fhir.resources`' pydantic models of R4B (4.3.0, the same structure for the
  resources used here), which add the primitive formats (ids, codes, URIs, instants).
`fhir.resources` 6.x, the last line that models 4.0.1 itself, needs pydantic 1, which
FastAPI cannot share a process with; hence the pair.

Codes (LOINC, from loinc.org; categories from the FHIR and US Core code systems):
- note: DocumentReference, type 11506-3 "Progress note", category `clinical-note`
  (US Core DocumentReference category);
- blood pressure: panel 85354-9 with components 8480-6 (systolic) and 8462-4 (diastolic);
- glucose: 2339-0 "Glucose [Mass/volume] in Blood" (mg/dL), 15074-8
  "Glucose [Moles/volume] in Blood" (mmol/L);
- body weight: 29463-7; steps: 41950-7 "Number of steps in 24 hour Measured".
Every Observation says it was reported by the patient in conversation and points
to the note it came with (`derivedFrom`).
"""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coach.notes.draft import SECTION_TITLES, SECTIONS
from coach.store.clinical import Note, Reading
from coach.store.schema import CoachSession, Patient

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DOC_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
FHIR_VERSION = "4.0.1"

_NS = uuid.UUID("6f1c3c1e-8d2b-4a53-9b7e-0c5d7e3a9f10")
"""Stable ids: exporting twice gives the same resource ids, so a receiver can de-duplicate."""

UNITS = {"mmHg": "mm[Hg]", "mg/dL": "mg/dL", "mmol/L": "mmol/L", "kg": "kg", "lb": "[lb_av]",
         "steps/day": "/(24.h)"}
GLUCOSE = {"mg/dL": ("2339-0", "Glucose [Mass/volume] in Blood"),
           "mmol/L": ("15074-8", "Glucose [Moles/volume] in Blood")}


class FhirError(Exception):
    """The export could not be built or did not validate; the message names the resource."""


def _urn(kind: str, key: int) -> str:
    return f"urn:uuid:{uuid.uuid5(_NS, f'{kind}/{key}')}"


def _instant(value: datetime) -> str:
    return value.replace(tzinfo=UTC).isoformat(timespec="seconds")


def _coding(code: str, display: str, system: str = LOINC) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": UNITS.get(unit, unit)}


def note_text(note: Note) -> str:
    lines = []
    for section in SECTIONS:
        statements = [s for s in note.statements if s.section == section]
        if statements:
            lines.append(SECTION_TITLES[section] + ":")
            lines += [f"- {s.text}" for s in statements]
    return "\n".join(lines) or "No statements."


def document_reference(note: Note, session: CoachSession, patient_ref: str) -> dict[str, Any]:
    text = note_text(note)
    context: dict[str, Any] = {"period": {"start": _instant(session.started_at)}}
    if session.ended_at is not None:
        context["period"]["end"] = _instant(session.ended_at)
    return {
        "resourceType": "DocumentReference",
        "id": str(uuid.uuid5(_NS, f"note/{note.id}")),
        "status": "current",
        "docStatus": "final" if note.reviewed_at is not None else "preliminary",
        "type": _coding("11506-3", "Progress note"),
        "category": [_coding("clinical-note", "Clinical Note", DOC_CATEGORY)],
        "subject": {"reference": patient_ref},
        "date": _instant(note.created_at),
        "description": "Health-coaching session note; every statement is linked to what the "
                       "patient said. Not a diagnosis.",
        "content": [{"attachment": {
            "contentType": "text/plain; charset=utf-8", "language": "en",
            "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
            "title": f"Coaching session note {session.started_at.date().isoformat()}",
            "creation": _instant(note.created_at)}}],
        "context": context,
    }


def observation(reading: Reading, patient_ref: str, note_ref: str | None) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(uuid.uuid5(_NS, f"reading/{reading.id}")),
        "status": "final",
        "subject": {"reference": patient_ref},
        "effectiveDateTime": _instant(reading.taken_at),
        "note": [{"text": f"Reported by the patient in conversation: \"{reading.quote}\""}],
    }
    if note_ref is not None:
        obs["derivedFrom"] = [{"reference": note_ref}]
    if reading.kind == "blood_pressure":
        obs["category"] = [_coding("vital-signs", "Vital Signs", OBS_CATEGORY)]
        obs["code"] = _coding("85354-9", "Blood pressure panel with all children optional")
        obs["component"] = [
            {"code": _coding("8480-6", "Systolic blood pressure"),
             "valueQuantity": _quantity(reading.value, "mmHg")},
            {"code": _coding("8462-4", "Diastolic blood pressure"),
             "valueQuantity": _quantity(reading.value2 or 0.0, "mmHg")},
        ]
    elif reading.kind == "glucose":
        code, display = GLUCOSE.get(reading.unit, GLUCOSE["mg/dL"])
        obs["category"] = [_coding("laboratory", "Laboratory", OBS_CATEGORY)]
        obs["code"] = _coding(code, display)
        obs["valueQuantity"] = _quantity(reading.value, reading.unit)
    elif reading.kind == "weight":
        obs["category"] = [_coding("vital-signs", "Vital Signs", OBS_CATEGORY)]
        obs["code"] = _coding("29463-7", "Body weight")
        obs["valueQuantity"] = _quantity(reading.value, reading.unit)
    else:
        obs["category"] = [_coding("activity", "Activity", OBS_CATEGORY)]
        obs["code"] = _coding("41950-7", "Number of steps in 24 hour Measured")
        obs["valueQuantity"] = _quantity(reading.value, "steps/day")
    return obs


def patient_resource(patient: Patient) -> dict[str, Any]:
    # The name as one text: splitting given and family names by guesswork mislabels many.
    name = {"text": patient.name}
    return {"resourceType": "Patient", "id": str(uuid.uuid5(_NS, f"patient/{patient.id}")),
            "identifier": [{"system": "urn:coach:patient-id", "value": str(patient.id)}],
            "name": [name], "communication": [{"language": {"text": patient.language}}]}


def patient_bundle(db: Session, patient_id: int) -> dict[str, Any]:
    """A validated collection Bundle of the patient, their notes and reported readings."""
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise FhirError(f"no patient with id {patient_id}; see `coach patients list`")
    patient_ref = _urn("patient", patient.id)
    entries = [{"fullUrl": patient_ref, "resource": patient_resource(patient)}]
    note_refs: dict[int, str] = {}
    for note in db.scalars(select(Note).where(Note.patient_id == patient_id).order_by(Note.id)):
        session = db.get(CoachSession, note.session_id)
        if session is None:
            continue
        ref = _urn("note", note.id)
        note_refs[note.session_id] = ref
        entries.append({"fullUrl": ref, "resource": document_reference(note, session, patient_ref)})
    for reading in db.scalars(select(Reading).where(Reading.patient_id == patient_id).order_by(Reading.id)):
        entries.append({"fullUrl": _urn("reading", reading.id),
                        "resource": observation(reading, patient_ref, note_refs.get(reading.session_id))})
    bundle = {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "collection",
              "timestamp": _instant(datetime.now(UTC).replace(tzinfo=None)),
              "meta": {"tag": [{"system": "urn:coach:fhir-version", "code": FHIR_VERSION}]},
              "entry": entries}
    validate(bundle)
    return bundle


def validate(bundle: dict[str, Any]) -> None:
    """Check against R4 (4.0.1) structure and R4B primitive formats; errors name the element."""
    _validate_r4(bundle)
    from fhir.resources.R4B.bundle import Bundle

    try:
        Bundle.model_validate(bundle)
    except Exception as exc:  # pydantic's ValidationError and fhir-core's own errors
        raise FhirError(f"the FHIR bundle did not validate: {exc}") from exc


def _validate_r4(bundle: dict[str, Any]) -> None:
    from fhirclient.models.bundle import Bundle
    from fhirclient.models.fhirabstractbase import FHIRValidationError

    try:
        # Entries are parsed as their own resource types; serialising checks required elements.
        Bundle(bundle, strict=True).as_json()
    except FHIRValidationError as exc:
        problems = "; ".join(_problems(exc))
        raise FhirError(f"the FHIR bundle is not valid FHIR R4 (4.0.1): {problems}") from exc
    except Exception as exc:  # fhirclient raises plain errors for unknown resource types
        raise FhirError(f"the FHIR bundle is not valid FHIR R4 (4.0.1): {exc}") from exc


def _problems(error: Exception, path: str = "") -> list[str]:
    """fhirclient nests one error per level; flatten to `entry.1.resource.context: what`."""
    from fhirclient.models.fhirabstractbase import FHIRValidationError

    if not isinstance(error, FHIRValidationError):
        text = re.sub(r" (?:(?:in data )?for|on) <[^>]*>", "", str(error).strip("'\""))
        return [f"{path or 'Bundle'}: {text}"]
    here = ".".join(p for p in (path, error.path or "") if p and p != "{root}")
    return [line for inner in error.errors for line in _problems(inner, here)]
