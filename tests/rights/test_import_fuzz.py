"""Hypothesis fuzzing of the export re-import (issue 12): any file gives a clear Invalid naming
``file``, never another exception, and never quotes the file's content (it is personal data)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rujai.errors import Invalid
from rujai.rights.importer import EXPORT_JSON, read_document

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=25,
)
SKELETON = {
    "generated_at": "2026-12-01T00:00:00+00:00", "policy_version": "1", "controller": {},
    "subject": {}, "identities": [], "traits": [], "consents": [], "events": [],
}  # fmt: skip


def _zip(payload: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(EXPORT_JSON, payload)
    return out.getvalue()


def _only_invalid(data: bytes) -> None:
    error: Invalid | None = None
    try:
        read_document(data)
    except Invalid as e:  # anything else escapes and fails the test
        error = e
    if error is not None:
        assert error.field == "file"
        assert "SECRET-VALUE" not in str(error)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_any_bytes_are_refused_clearly(data):
    _only_invalid(data)
    _only_invalid(_zip(data))


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_any_json_document_is_refused_clearly_or_read(document):
    _only_invalid(_zip(json.dumps(document).encode()))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(SKELETON)), json_values | st.just("SECRET-VALUE\x00"))
def test_a_mutated_export_is_refused_clearly_and_never_quoted(key, value):
    document = {**SKELETON, key: value}
    _only_invalid(_zip(json.dumps(document).encode()))


def test_a_nul_or_a_lone_surrogate_in_the_copy_is_refused_at_the_boundary():
    for bad in ("SECRET-VALUE\x00", "SECRET-VALUE\ud800"):
        document = {**SKELETON, "policy_version": bad}
        payload = json.dumps(document).encode()  # \u escapes: valid JSON, bad text
        with pytest.raises(Invalid) as refused:
            read_document(_zip(payload))
        assert "policy_version" in str(refused.value)
        assert "SECRET-VALUE" not in str(refused.value)
