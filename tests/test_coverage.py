"""`agenttrail coverage`: verdicts, evidence and fixes on hand-checked small cases (issue 5).

The cases are casekit TOML files (``tests/coverage_cases/`` and the ``coverage_*`` detection
cases under ``tests/cases/``); times are seconds after 2026-03-02T09:00:00Z.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agenttrail.cli import app
from agenttrail.coverage import NEEDS, STEPS
from agenttrail.detect import CATALOGUE
from agenttrail.sensors import ESLOGGER_COMMAND
from tests import casekit

HERE = Path(__file__).parent
US = 1_000_000


def at_us(t: float) -> int:
    """casekit time (seconds after BASE) in epoch µs."""
    return casekit.BASE_US + round(t * US)


def render(tmp: Path, name: str) -> tuple[Path, list[str]]:
    """Render ``coverage_cases/<name>.toml`` (or ``cases/<name>.toml``) into ``tmp/in``."""
    path = HERE / "coverage_cases" / f"{name}.toml"
    if not path.exists():
        path = HERE / "cases" / f"{name}.toml"
    inputs = tmp / "in"
    return inputs, casekit.render(casekit.load(path), inputs)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def coverage(tmp: Path, name: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    inputs, opts = render(tmp, name)
    out = tmp / "cov"
    code, output = run("coverage", str(inputs), *opts, "-o", str(out), *extra)
    return code, json.loads((out / "coverage.json").read_text()), output


def host(doc: dict[str, Any], name: str) -> dict[str, Any]:
    [h] = [h for h in doc["hosts"] if h["host"] == name]
    return h


def step(doc: dict[str, Any], name: str, step_id: str, role: str) -> dict[str, Any]:
    [s] = [s for s in host(doc, name)["steps"] if s["step"] == step_id and s["role"] == role]
    return s


def statuses(doc: dict[str, Any], name: str, role: str) -> dict[str, str]:
    return {s["step"]: s["status"] for s in host(doc, name)["steps"] if s["role"] == role}


def detections(doc: dict[str, Any], name: str, role: str) -> dict[str, tuple[str, list[str]]]:
    return {d["rule_id"]: (d["status"], d["because"])
            for d in host(doc, name)["detections"] if d["role"] == role}


def test_capture_without_env_and_socket_connects(tmp_path: Path) -> None:
    """Issue 5: no env and no uipc_connect: coverage says so, names the detections that cannot
    run and prints the eslogger subscription that fixes it."""
    code, doc, output = coverage(tmp_path, "no_env_no_connect")
    assert code == 0
    assert statuses(doc, "mac-blind", "endpoint") == {
        "socket_access": "missing", "exec_env": "missing", "session_context": "ok",
        "ip_mapping": "ok", "ssh_flows": "ok", "dest_logins": "ok", "process_flow_link": "ok",
    }
    sock = step(doc, "mac-blind", "socket_access", "endpoint")
    assert (sock["evidence"]["connects"], sock["evidence"]["binds"]) == (0, 0)
    assert sock["fix"] == ("the eslogger capture of mac-blind has no uipc_connect events: "
                           "subscribe eslogger to uipc_connect and uipc_bind "
                           "(agenttrail sensors eslogger).")
    assert sock["sensors"] == ["eslogger"]
    env = step(doc, "mac-blind", "exec_env", "endpoint")
    ev = env["evidence"]
    assert (ev["execs"], ev["execs_with_env"], ev["env_share"]) == (2, 0, 0.0)
    assert (ev["client_execs"], ev["client_execs_with_env"]) == (1, 0)
    assert env["fix"].startswith("none of the 2 exec events of mac-blind carries an "
                                 "environment: capture eslogger exec events with their env")
    link = step(doc, "mac-blind", "process_flow_link", "endpoint")["evidence"]
    assert (link["session_starts_in_endpoint_span"], link["with_process"]) == (1, 1)
    assert detections(doc, "mac-blind", "endpoint") == {
        "agent_socket_cross_user": ("not_evaluable", ["socket_access"]),
        "agent_env_foreign_socket": ("not_evaluable", ["exec_env"]),
        "agent_hijack_lateral_ssh": ("not_evaluable", ["socket_access", "exec_env"]),
        "agent_hijack_external_ssh": ("not_evaluable", ["socket_access", "exec_env"]),
        "ssh_flow_without_login": ("actionable", []),
        "agent_socket_owner_unknown": ("not_evaluable", ["socket_access"]),
    }
    flat = output.replace("\n", " ")
    assert "not evaluable agent_socket_cross_user [socket_access]" in flat
    assert "agenttrail sensors eslogger" in output
    assert ESLOGGER_COMMAND in output  # the subscription itself, on one line
    assert doc["sensors"]["eslogger"] == ESLOGGER_COMMAND


def test_hunt_warns_for_the_steps_coverage_calls_missing(tmp_path: Path) -> None:
    inputs, opts = render(tmp_path, "no_env_no_connect")
    code, output = run("hunt", str(inputs), *opts, "-o", str(tmp_path / "out"))
    assert code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["coverage"]["warnings"] == [
        {"host": "mac-blind", "step": "exec_env"},
        {"host": "mac-blind", "step": "socket_access"},
    ]
    assert "mac-blind: no telemetry for exec_env, socket_access" in output
    assert report["incidents"] == []


def test_server_without_auth_log(tmp_path: Path) -> None:
    """Issue 5: flows to a server whose auth log is absent: coverage names the server and the
    flows, and hunt raises no missing-login finding for them."""
    code, doc, output = coverage(tmp_path, "coverage_server_without_logs")
    assert code == 0
    db9 = host(doc, "db9")
    assert db9["roles"] == ["destination"]
    assert statuses(doc, "db9", "destination") == {
        "ip_mapping": "ok", "ssh_flows": "ok", "dest_logins": "missing"}
    dl = step(doc, "db9", "dest_logins", "destination")
    assert dl["fix"] == ("no login records from db9 were read: ship its sshd logs (auth.log or "
                         "secure, through syslog) covering the hunt period "
                         "(agenttrail sensors sshd).")
    assert dl["evidence"]["flows"] == {"not_evaluable:no_login_source": 2}
    assert db9["not_evaluable_total"] == 2
    assert db9["not_evaluable_flows"] == [
        {"start_us": at_us(t), "src_ip": "10.10.0.7", "src_port": port, "src_host": "mac-shared",
         "dst_ip": "10.20.0.9", "dst_port": 22, "reason": "no_login_source",
         "authenticated": True, "flow_uid": uid, "source": {"file": "zeek/conn.log", "line": line}}
        for t, port, uid, line in ((200, 50600, "CNoLog1", 9), (300, 50601, "CNoLog2", 10))
    ]
    assert detections(doc, "db9", "destination") == {
        "ssh_flow_without_login": ("not_evaluable", ["dest_logins"])}
    mac = step(doc, "mac-shared", "dest_logins", "endpoint")
    assert mac["status"] == "partial"
    assert mac["evidence"]["by_status"] == {"not_evaluable:no_login_source": 2, "present": 1}
    assert mac["evidence"]["destinations_not_evaluable"] == ["db9"]
    assert statuses(doc, "app1", "destination")["dest_logins"] == "partial"  # INFO level
    assert "db9: 2 flow(s)" in output
    assert "10.10.0.7:50600 -> 10.20.0.9:22 from mac-shared: no_login_source" in output
    # hunt: no finding for those flows
    inputs, opts = render(tmp_path, "coverage_server_without_logs")
    code, _ = run("hunt", str(inputs), *opts, "-o", str(tmp_path / "out"))
    assert code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["signals"] == [] and report["incidents"] == []


def test_auth_log_that_stops_an_hour_early(tmp_path: Path) -> None:
    """Issue 5: flows after the point a server's auth log stops are not evaluable, flows
    before it are evaluated (present and missing)."""
    code, doc, output = coverage(tmp_path, "coverage_log_stops_early")
    assert code == 0
    assert "app2: 3 flow(s)" in output
    dl = step(doc, "app2", "dest_logins", "destination")
    assert dl["status"] == "partial"
    assert dl["evidence"]["flows"] == {
        "missing": 1, "not_evaluable:coverage_ends_before_window": 3, "present": 1}
    [src] = dl["evidence"]["sources"]
    assert (src["last_us"], src["covered_until_us"]) == (at_us(7000), at_us(7000))
    assert dl["fix"].startswith(
        "app2's login records stop at 2026-03-02T10:56:40Z while SSH flows to it go on until "
        "2026-03-02T11:30:00Z: ship the rest of its logs, or pass --collected-at")
    assert doc["parameters"]["data_end_us"] == at_us(10790)
    app2 = host(doc, "app2")
    assert [(f["src_port"], f["reason"]) for f in app2["not_evaluable_flows"]] == [
        (50705, "coverage_ends_before_window"), (50703, "coverage_ends_before_window"),
        (50704, "coverage_ends_before_window")]
    # hunt: the flow before the stop without a login is the only finding
    inputs, opts = render(tmp_path, "coverage_log_stops_early")
    run("hunt", str(inputs), *opts, "-o", str(tmp_path / "out"))
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [(s["rule_id"], s["fields"]["src_port"], s["status"]) for s in report["signals"]] == [
        ("ssh_flow_without_login", 50702, "final")]


def test_collected_at_extends_the_log_to_the_collection(tmp_path: Path) -> None:
    """With --collected-at after the last line, the quiet hour counts as covered."""
    inputs, opts = render(tmp_path, "coverage_log_stops_early")
    out = tmp_path / "cov"
    run("coverage", str(inputs), *opts, "--collected-at", "2026-03-02T12:00:00Z", "-o", str(out))
    doc = json.loads((out / "coverage.json").read_text())
    dl = step(doc, "app2", "dest_logins", "destination")
    assert dl["evidence"]["flows"] == {"missing": 4, "present": 1}
    assert host(doc, "app2")["not_evaluable_total"] == 0


def test_clock_skew_and_server_address_per_destination(tmp_path: Path) -> None:
    code, doc, _ = coverage(tmp_path, "skew_verbose")
    assert code == 0
    dl = step(doc, "db1", "dest_logins", "destination")
    assert dl["status"] == "ok" and dl["fix"] is None
    ev = dl["evidence"]
    assert (ev["skew_us"], ev["tol_us"], ev["exact_matches"]) == (3 * US, 13 * US, 5)
    assert (ev["with_source_port"], ev["with_server_address"], ev["server_address_share"]) == (
        12, 12, 1.0)
    assert ev["flows"] == {"present": 5}
    flows = step(doc, "db1", "ssh_flows", "destination")
    assert flows["status"] == "partial"
    assert (flows["evidence"]["internal_logins_checked"],
            flows["evidence"]["internal_logins_without_flow"]) == (6, 1)
    assert flows["fix"] == ("1 of 6 logins on db1 from internal addresses have no flow: the "
                            "flow sensor does not see all SSH traffic to db1 "
                            "(agenttrail sensors zeek).")
    # app1 logs only cron and a listener line: its records carry no port at all
    assert step(doc, "app1", "dest_logins", "destination")["status"] == "ok"


def test_eslogger_drops_filtered_events_and_restarts(tmp_path: Path) -> None:
    """Per-type seq_num holes are drops; global holes beyond them were removed downstream; a
    global counter going back is a restart."""
    inputs, opts = render(tmp_path, "inventory")
    es = inputs / "macs" / "mac-shared" / "eslogger.jsonl"
    recs = [json.loads(line) for line in es.read_text().splitlines()]
    connects = [r for r in recs if "uipc_connect" in r["event"]]
    for r in connects[1:]:
        r["seq_num"] += 3  # 3 uipc_connect events lost after the first
    for r in recs[5:]:
        r["global_seq_num"] += 10  # 10 events missing from the global sequence
    recs.append(dict(recs[0], global_seq_num=0, seq_num=0))  # eslogger restarted
    es.write_text("".join(json.dumps(r) + "\n" for r in recs))
    out = tmp_path / "cov"
    run("coverage", str(inputs), *opts, "-o", str(out))
    doc = json.loads((out / "coverage.json").read_text())
    sock = step(doc, "mac-shared", "socket_access", "endpoint")
    assert sock["status"] == "partial"
    ev = sock["evidence"]
    assert (ev["drops"], ev["filtered_downstream"], ev["restarts"]) == (
        {"uipc_connect": 3}, 7, 1)
    assert "eslogger dropped events on mac-shared (3 uipc_connect)" in sock["fix"]
    assert step(doc, "mac-shared", "exec_env", "endpoint")["evidence"]["drops"] == {}


def test_address_mapping_with_a_hole(tmp_path: Path) -> None:
    inputs, opts = render(tmp_path, "no_env_no_connect")
    (inputs / "assets.csv").write_text(
        "host,ip,valid_from\nmac-blind,10.10.0.9,2026-03-02T09:00:50Z\ndb1,10.20.0.5,\n")
    out = tmp_path / "cov"
    run("coverage", str(inputs), *opts, "-o", str(out))
    doc = json.loads((out / "coverage.json").read_text())
    ip = step(doc, "mac-blind", "ip_mapping", "endpoint")
    assert ip["status"] == "partial"
    assert ip["evidence"]["uncovered"] == [[at_us(1), at_us(50)]]
    assert ip["evidence"]["covered_share"] == round(1 - 49 / 129, 4)
    assert ip["fix"].startswith("mac-blind's addresses are not mapped for "
                                "2026-03-02T09:00:01Z to 2026-03-02T09:00:50Z")


@pytest.mark.parametrize(("other_from", "shared"), [("09:00:50", []), ("09:00:40", ["mac-2"])])
def test_address_handover_is_not_sharing(tmp_path: Path, other_from: str,
                                         shared: list[str]) -> None:
    """An address handed over at one instant (inclusive ends) is not shared; an overlap is."""
    inputs, opts = render(tmp_path, "no_env_no_connect")
    (inputs / "assets.csv").write_text(
        "host,ip,valid_from,valid_to\n"
        "mac-blind,10.10.0.9,,2026-03-02T09:00:50Z\n"
        f"mac-2,10.10.0.9,2026-03-02T{other_from}Z,\n"
        "mac-blind,10.10.0.19,2026-03-02T09:00:50Z,\ndb1,10.20.0.5,,\n")
    out = tmp_path / "cov"
    run("coverage", str(inputs), *opts, "-o", str(out))
    doc = json.loads((out / "coverage.json").read_text())
    ip = step(doc, "mac-blind", "ip_mapping", "endpoint")
    assert ip["evidence"]["shared_with"] == shared
    assert ip["status"] == ("partial" if shared else "ok")


def test_require_exit_codes(tmp_path: Path) -> None:
    inputs, opts = render(tmp_path, "no_env_no_connect")
    code, output = run("coverage", str(inputs), *opts, "--require", "socket_acess")
    assert code == 2 and "socket_acess" in output and "process_flow_link" in output
    code, output = run("coverage", str(inputs), *opts, "--require", "session_context,ip_mapping")
    assert code == 0
    out = tmp_path / "cov"
    code, output = run("coverage", str(inputs), *opts, "--require", "exec_env, socket_access",
                       "-o", str(out))
    assert code == 1
    flat = output.replace("\n", " ")
    assert "required step exec_env is missing on mac-blind (endpoint)" in flat
    doc = json.loads((out / "coverage.json").read_text())
    assert doc["required"] == {"steps": ["exec_env", "socket_access"], "failing": [
        {"host": "mac-blind", "step": "exec_env", "role": "endpoint", "status": "missing"},
        {"host": "mac-blind", "step": "socket_access", "role": "endpoint", "status": "missing"},
    ]}


def test_coverage_json_is_deterministic(tmp_path: Path) -> None:
    inputs, opts = render(tmp_path, "coverage_server_without_logs")
    files = sorted(str(p) for p in inputs.rglob("*") if p.is_file() and p.name != "assets.csv")
    texts = set()
    for i, order in enumerate((files, list(reversed(files)))):
        out = tmp_path / f"o{i}"
        run("coverage", *order, *opts, "-o", str(out), "--threads", str(i + 1))
        texts.add((out / "coverage.json").read_bytes())
    assert len(texts) == 1
    assert str(tmp_path) not in texts.pop().decode()


def test_nothing_readable_is_exit_3(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "x.log").write_text("")
    assert run("coverage", str(empty))[0] == 3
    assert run("coverage", str(tmp_path / "missing"))[0] == 2


def test_every_detection_declares_its_steps() -> None:
    problems = [r for r in CATALOGUE if r not in NEEDS]
    for rule, (required, helpful) in NEEDS.items():
        steps = [s for group in required for s in group] + list(helpful)
        problems += [f"{rule}: {s}" for s in steps if s not in STEPS]
    assert problems == []


@pytest.mark.parametrize("name", ["no_env_no_connect", "skew_verbose"])
def test_input_strings_are_not_markup(tmp_path: Path, name: str) -> None:
    """A host name that looks like Rich markup is printed as it is."""
    inputs, opts = render(tmp_path, name)
    assets = inputs / "assets.csv"
    assets.write_text(assets.read_text().replace("db1,", "[red]db1,"))
    code, output = run("coverage", str(inputs), *opts)
    assert code == 0
    assert "[red]db1" in output
