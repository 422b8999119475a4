"""The vendored OCSF 1.5.0 Detection Finding schema and the validate_finding helper."""

from __future__ import annotations

import copy
import json

import pytest
from jsonschema import Draft202012Validator

from tests.ocsf_validate import SCHEMA_PATH, validate_finding


def minimal_finding() -> dict:
    """Only the attributes OCSF 1.5.0 marks required for class 2004 (plus required sub-fields)."""
    return {
        "activity_id": 1,
        "category_uid": 2,
        "class_uid": 2004,
        "type_uid": 200401,
        "severity_id": 4,
        "time": 1_700_000_000_000,
        "finding_info": {"uid": "agenttrail-0001"},
        "metadata": {"version": "1.5.0", "product": {"name": "agenttrail"}},
    }


def full_finding() -> dict:
    """A richer finding touching the objects agenttrail is expected to use."""
    finding = minimal_finding()
    finding.update(
        {
            "activity_name": "Create",
            "category_name": "Findings",
            "class_name": "Detection Finding",
            "type_name": "Detection Finding: Create",
            "severity": "High",
            "status_id": 1,
            "status": "New",
            "confidence_id": 2,
            "is_alert": True,
            "message": "SSH agent socket of alice used by another user's process",
            "finding_info": {
                "uid": "agenttrail-0001",
                "title": "SSH agent hijacking",
                "types": ["ssh-agent-hijack"],
                "analytic": {"uid": "AN0711", "name": "SSH agent hijacking", "type_id": 1},
                "attacks": [
                    {
                        "tactic": {"uid": "TA0008", "name": "Lateral Movement"},
                        "technique": {"uid": "T1563", "name": "Remote Service Session Hijacking"},
                        "sub_technique": {"uid": "T1563.001", "name": "SSH Hijacking"},
                        "version": "17",
                    }
                ],
                "first_seen_time": 1_700_000_000_000,
                "last_seen_time": 1_700_000_060_000,
            },
            "metadata": {
                "version": "1.5.0",
                "product": {"name": "agenttrail", "vendor_name": "agenttrail", "version": "0.1.0"},
                "profiles": ["host"],
            },
            "device": {"type_id": 1, "hostname": "bastion-1", "ip": "10.0.0.5"},
            "evidences": [
                {
                    "process": {
                        "pid": 4242,
                        "name": "ssh",
                        "cmd_line": "ssh -A db-1",
                        "file": {"name": "ssh", "path": "/usr/bin/ssh", "type_id": 1},
                        "user": {"name": "mallory", "uid": "1002"},
                    },
                    "user": {"name": "alice", "uid": "1001", "type_id": 1},
                    "file": {
                        "name": "agent.1234",
                        "path": "/tmp/ssh-XXXX/agent.1234",
                        "type_id": 5,
                    },
                    "src_endpoint": {"ip": "10.0.0.5", "hostname": "bastion-1"},
                    "dst_endpoint": {"ip": "10.0.0.9", "port": 22},
                }
            ],
            "unmapped": {"rule_hits": 3, "anything": {"nested": [1, "two", None]}},
        }
    )
    return finding


def test_schema_is_a_valid_2020_12_schema_for_ocsf_1_5_0_class_2004():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert "/1.5.0/classes/detection_finding" in schema["$id"]
    assert schema["properties"]["class_uid"]["const"] == 2004
    assert schema["properties"]["category_uid"]["const"] == 2
    assert set(schema["required"]) == {
        "activity_id",
        "category_uid",
        "class_uid",
        "finding_info",
        "metadata",
        "severity_id",
        "time",
        "type_uid",
    }
    assert sorted(schema["properties"]["type_uid"]["enum"]) == [
        200400,
        200401,
        200402,
        200403,
        200499,
    ]
    for name in (
        "finding_info",
        "attack",
        "tactic",
        "technique",
        "evidences",
        "process",
        "file",
        "user",
        "network_endpoint",
        "metadata",
        "product",
        "analytic",
    ):
        assert name in schema["$defs"], name


def test_minimal_valid_finding_passes():
    assert validate_finding(minimal_finding()) == []


def test_full_finding_with_unmapped_passes():
    assert validate_finding(full_finding()) == []


def test_missing_finding_info_uid_fails():
    finding = full_finding()
    del finding["finding_info"]["uid"]
    errors = validate_finding(finding)
    assert errors == ["finding_info: 'uid' is a required property"]


def test_string_severity_id_fails():
    finding = minimal_finding()
    finding["severity_id"] = "4"
    errors = validate_finding(finding)
    assert errors
    assert all(e.startswith("severity_id: ") for e in errors)
    assert any("is not of type 'integer'" in e for e in errors)


def test_invalid_finding_reports_every_problem():
    finding = minimal_finding()
    del finding["finding_info"]["uid"]
    finding["severity_id"] = "high"
    errors = validate_finding(finding)
    assert any(e.startswith("finding_info: ") and "'uid'" in e for e in errors)
    assert any(e.startswith("severity_id: ") for e in errors)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("severity_id",), 7),
        (("activity_id",), 4),
        (("status_id",), 6),
        (("type_uid",), 200404),
        (("class_uid",), 2003),
        (("category_uid",), 1),
        (("finding_info", "analytic", "type_id"), 12),
        (("metadata", "product"), {}),  # product needs name or uid
        (("evidences",), [{}]),  # an evidence needs at least one artifact
        (("time",), "2024-01-01T00:00:00Z"),
    ],
)
def test_out_of_spec_values_fail(path, value):
    finding = full_finding()
    target = finding
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    errors = validate_finding(finding)
    assert errors, f"{'.'.join(path)}={value!r} should be rejected"
    assert errors[0].startswith("/".join(path[:1]))


def test_at_least_one_constraint_names_the_attributes():
    finding = minimal_finding()
    finding["metadata"]["product"] = {"vendor_name": "agenttrail"}
    assert validate_finding(finding) == ["metadata/product: needs at least one of: name, uid"]


def test_unknown_attribute_fails_but_unmapped_takes_anything():
    finding = minimal_finding()
    finding["agenttrail_score"] = 9
    assert validate_finding(finding)
    finding = minimal_finding()
    finding["unmapped"] = {"agenttrail_score": 9, "raw": ["x", {"y": None}]}
    assert validate_finding(finding) == []


def test_validate_finding_does_not_mutate_input():
    finding = full_finding()
    before = copy.deepcopy(finding)
    validate_finding(finding)
    assert finding == before
