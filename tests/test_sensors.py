"""`agenttrail sensors NAME`: the key lines of each sensor's settings."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from agenttrail.cli import app
from agenttrail.readers._eslogger_sql import HANDLED


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_eslogger_subscribes_to_every_event_agenttrail_reads() -> None:
    code, text = run("sensors", "eslogger")
    assert code == 0
    [command] = [line for line in text.splitlines() if line.startswith("sudo eslogger ")]
    assert command.split()[2:-2] == list(HANDLED)
    assert "uipc_connect" in command and "uipc_bind" in command and "exec" in command
    assert "Full Disk Access" in text
    assert "<string>/usr/bin/eslogger</string>" in text
    assert text.count("<string>uipc_connect</string>") == 1


def test_osquery_flags_and_pack() -> None:
    code, text = run("sensors", "osquery")
    assert code == 0
    assert "--disable_endpointsecurity=false" in text.splitlines()
    assert "--disable_events=false" in text.splitlines()
    pack = json.loads(text[text.index("{"):])
    queries = {q["query"].split(" FROM ")[1].split()[0].rstrip(";"): q
               for q in pack["queries"].values()}
    assert set(queries) == {"es_process_events", "process_open_sockets", "logged_in_users",
                            "interface_addresses"}
    assert queries["es_process_events"]["query"] == "SELECT * FROM es_process_events;"
    assert "env" in queries["es_process_events"]["description"]
    assert pack["platform"] == "darwin"


def test_auditd_rules_for_connect_and_execve_with_keys() -> None:
    code, text = run("sensors", "auditd")
    assert code == 0
    rules = [line for line in text.splitlines() if line.startswith("-a ")]
    assert "-a always,exit -F arch=b64 -S connect -k agenttrail_connect" in rules
    assert "-a always,exit -F arch=b64 -S execve -k agenttrail_exec" in rules
    assert all(re.search(r" -k agenttrail_\w+$", r) for r in rules)
    assert "-b 8192" in text.splitlines()


def test_sshd_loglevel_verbose_and_why() -> None:
    code, text = run("sensors", "sshd")
    assert code == 0
    assert "LogLevel VERBOSE" in text.splitlines()
    assert "Connection from <client ip> port <client port> on <server ip> port <server port>" in text


def test_zeek_local_nets_from_the_internal_networks() -> None:
    code, text = run("sensors", "zeek", "--internal", "10.20.0.0/16", "--internal",
                     "2001:db8::/32")
    assert code == 0
    assert "redef Site::local_nets += { 10.20.0.0/16, [2001:db8::]/32 };" in text.splitlines()
    assert "2001:db8::/32" in text.splitlines()  # networks.cfg, plain CIDR
    assert "conn.log" in text and "ssh.log" in text
    code, text = run("sensors", "zeek")
    assert "redef Site::local_nets += { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, " in text


def test_unknown_sensor_is_a_usage_error() -> None:
    code, text = run("sensors", "sysmon")
    assert code == 2
    assert "eslogger, osquery, auditd, sshd, zeek" in text
