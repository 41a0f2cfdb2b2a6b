"""Smoke test of the generated Python bindings against the real library: open a store,
open a field incident, read it back, and see errors arrive as typed exceptions.

Run through tests/python/run.sh, which generates the bindings and puts the library
beside them. Ends with one line `N passed, M failed`.
"""

import datetime
import os
import secrets
import sys
import tempfile
import traceback

import testigo_ffi as t

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def fix(lat=38.5931):
    return t.LocationFix(
        lat=lat,
        lon=-90.2236,
        accuracy_m=8.0,
        altitude_m=None,
        provider=t.LocationProvider.FUSED,
        fix_time=datetime.datetime.now(datetime.timezone.utc),
        mock=False,
    )


def new_incident(template=None):
    return t.NewFieldIncident(
        place_text="Cherokee St & Jefferson Ave",
        point=t.GeoPoint(lat=38.5930, lon=-90.2235),
        reported_at=datetime.datetime.now(datetime.timezone.utc),
        description="Two unmarked SUVs",
        urgency=t.Urgency.HIGH,
        template=template,
    )


@test
def open_create_read_back(tmp):
    path = os.path.join(tmp, "field.db")
    key = secrets.token_bytes(32)
    store = t.FieldStore.open(path, key)
    incident_id = store.create_incident(new_incident())
    store.add_observation(incident_id, t.ObservationKind.NOTE, "agents at the door", None, fix())
    view = store.incident(incident_id)
    assert view.id == incident_id
    assert view.report.place_text == "Cherokee St & Jefferson Ave"
    assert view.report.source == t.ReportSource.FIELD
    assert [o.text for o in view.observations] == ["agents at the door"]
    assert [row.id for row in store.list(t.ListQuery())] == [incident_id]
    del store
    again = t.FieldStore.open(path, key)
    assert again.incident_count() == 1


@test
def wrong_key_is_typed(tmp):
    path = os.path.join(tmp, "field.db")
    t.FieldStore.open(path, secrets.token_bytes(32)).create_incident(new_incident())
    try:
        t.FieldStore.open(path, secrets.token_bytes(32))
    except t.TestigoError.WrongKey:
        return
    raise AssertionError("a wrong key opened the store")


@test
def invalid_fix_is_typed(tmp):
    store = t.FieldStore.open(os.path.join(tmp, "field.db"), secrets.token_bytes(32))
    incident_id = store.create_incident(new_incident())
    try:
        store.check_in(incident_id, fix(lat=91.0))
    except t.TestigoError.InvalidInput as e:
        assert e.field == "latitude", e.field
        assert store.incident(incident_id).checkpoints == []
        return
    raise AssertionError("latitude 91 was accepted")


@test
def checklist_in_spanish(tmp):
    store = t.FieldStore.open(os.path.join(tmp, "field.db"), secrets.token_bytes(32))
    template = store.latest_template(t.default_template_id(), "es")
    assert template.title == "Verificación en el lugar", template.title
    incident_id = store.create_incident(new_incident(template.template))
    store.set_locale("es")
    store.answer(incident_id, "enforcement_present", t.AnswerValue.YES_NO(t.YesNoAnswer.YES))
    checklist = store.checklist(incident_id, None)
    shown = {q.id: q for s in checklist.sections for q in s.questions}
    assert shown["enforcement_present"].display == "Sí", shown["enforcement_present"].display
    assert "agencies" in shown


DISTANCES = """
{"id": "distances", "version": 1, "title": {"en": "Distances", "es": "Distancias"},
 "sections": [{"id": "s", "title": {"en": "Scene", "es": "Lugar"}, "questions": [
   {"id": "distance_km", "type": "decimal", "required": true,
    "label": {"en": "How far away is it (km)?", "es": "¿A qué distancia está (km)?"},
    "constraints": [{"rule": {"more_than": 0}, "message": {"en": "More than 0 km.", "es": "Más de 0 km."}}]},
   {"id": "route", "type": "text", "required": true,
    "relevance": {"more_than": {"question": "distance_km", "value": 1.5}},
    "label": {"en": "Which route?", "es": "¿Qué ruta?"}}]}]}
"""


@test
def decimal_answers_cross_the_bindings_exactly(tmp):
    store = t.FieldStore.open(os.path.join(tmp, "field.db"), secrets.token_bytes(32))
    ref = store.publish_template(DISTANCES)
    incident_id = store.create_incident(new_incident(ref))
    store.set_locale("es")
    store.answer(incident_id, "distance_km", t.AnswerValue.DECIMAL(2.25))
    checklist = store.checklist(incident_id, None)
    shown = {q.id: q for s in checklist.sections for q in s.questions}
    distance = shown["distance_km"]
    assert distance.kind == t.QuestionType.DECIMAL, distance.kind
    assert distance.value == t.AnswerValue.DECIMAL(2.25), distance.value
    assert distance.display == "2.25", distance.display
    assert "route" in shown, "2.25 is more than 1.5"
    for bad, reason in [(float("nan"), "Escriba un número con cifras."), (-1.0, "Más de 0 km.")]:
        try:
            store.answer(incident_id, "distance_km", t.AnswerValue.DECIMAL(bad))
        except t.TestigoError.InvalidInput as e:
            assert e.field == "distance_km" and e.reason == reason, (e.field, e.reason)
            continue
        raise AssertionError(f"{bad} was accepted")
    kept = {q.id: q for s in store.checklist(incident_id, None).sections for q in s.questions}
    assert kept["distance_km"].value == t.AnswerValue.DECIMAL(2.25), "the saved answer stays"


@test
def photo_is_attached_and_queued_preview_first(tmp):
    store = t.FieldStore.open(os.path.join(tmp, "field.db"), secrets.token_bytes(32))
    incident_id = store.create_incident(new_incident())
    now = datetime.datetime.now(datetime.timezone.utc)
    photo = os.path.join(tmp, "IMG.jpg")
    thumb = os.path.join(tmp, "thumb.jpg")
    with open(photo, "wb") as f:
        f.write(b"\xff\xd8\xff\xe0" + os.urandom(50_000))
    with open(thumb, "wb") as f:
        f.write(b"\xff\xd8\xff\xe0" + os.urandom(2_000))
    observation = store.add_observation_with_media(
        incident_id, t.ObservationKind.NOTE, "", None, fix(),
        [t.MediaCapture(path=photo, mime="image/jpeg", captured_at=now, fix=fix(), preview_path=thumb)],
    )
    uploads = store.pending_uploads()
    assert [u.is_preview for u in uploads] == [True, False], uploads
    assert all(u.observation_id == observation and not u.uploaded for u in uploads)
    assert uploads[1].size == 50_004 and uploads[1].kind == t.MediaKind.PHOTO
    try:
        store.add_observation_with_media(
            incident_id, t.ObservationKind.NOTE, "", None, None,
            [t.MediaCapture(path=photo, mime="application/pdf", captured_at=now, fix=None, preview_path=None)],
        )
    except t.TestigoError.Media as e:
        assert e.problem == t.MediaProblem.UNKNOWN_TYPE, e.problem
        return
    raise AssertionError("a PDF was taken as media")


@test
def panic_becomes_internal(tmp):
    try:
        t.debug_panic_probe()
    except t.TestigoError.Internal as e:
        assert "deliberate panic" in e.reason, e.reason
        return
    raise AssertionError("the panic probe returned normally")


def main():
    passed = failed = 0
    for fn in TESTS:
        with tempfile.TemporaryDirectory(prefix="testigo-py") as tmp:
            try:
                fn(tmp)
                passed += 1
                print(f"ok    {fn.__name__}")
            except Exception:
                failed += 1
                print(f"FAIL  {fn.__name__}")
                traceback.print_exc(file=sys.stdout)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
