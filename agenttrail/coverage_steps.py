"""Each coverage step of a host: status, evidence and the concrete next step (DESIGN §6).

The builders read :class:`agenttrail.coverage_sql.Measurements` only. A fix names the sensor
whose settings close the gap; ``agenttrail sensors NAME`` prints them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING, Any

from agenttrail.coverage_sql import COMPLETE, DROP_EVENTS, SPAN_SLACK_US

if TYPE_CHECKING:
    from agenttrail.config import Settings
    from agenttrail.coverage_sql import Measurements

Fix = tuple[str, str | None]  # (sentence, sensor name)


def _iso(us: int | None) -> str:
    if us is None:
        return "?"
    t = dt.datetime.fromtimestamp(us / 1_000_000, tz=dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _share(part: int, whole: int) -> float | None:
    return None if not whole else round(part / whole, 4)


def _step(step: str, role: str, status: str, evidence: dict[str, Any],
          fixes: list[Fix]) -> dict[str, Any]:
    sensors = sorted({s for _, s in fixes if s})
    text = " ".join(
        f"{sentence} (agenttrail sensors {sensor})." if sensor else f"{sentence}."
        for sentence, sensor in fixes
    )
    return {"step": step, "role": role, "status": status, "evidence": evidence,
            "fix": text or None, "sensors": sensors}


def _status(missing: bool, gaps: list[Fix]) -> str:
    return "missing" if missing else "partial" if gaps else "ok"


def _endpoint_sensor(m: Measurements, host: str) -> str:
    """The sensor that closes endpoint gaps on this host: auditd on Linux, else eslogger."""
    if m.platform.get(host) == "linux" or "auditd" in m.formats.get(host, []):
        return "auditd"
    return "eslogger"


def _drops(m: Measurements, host: str, step: str) -> dict[str, int]:
    drops = (m.seq.get(host) or {}).get("drops", {})
    return {ev: n for ev, n in drops.items() if ev in DROP_EVENTS[step]}


def _sensor_facts(m: Measurements, host: str, step: str) -> dict[str, Any]:
    seq = m.seq.get(host)
    if seq is None:
        return {"drops": {}, "filtered_downstream": None, "restarts": None}
    return {"drops": _drops(m, host, step), "filtered_downstream": seq["filtered_downstream"],
            "restarts": seq["restarts"]}


def _drop_fix(m: Measurements, host: str, step: str) -> list[Fix]:
    drops = _drops(m, host, step)
    if not drops:
        return []
    what = ", ".join(f"{n} {ev}" for ev, n in drops.items())
    return [(f"eslogger dropped events on {host} ({what}): subscribe only the events "
             "agenttrail reads and write them to a local file, so the client keeps up",
             "eslogger")]


def _no_telemetry(m: Measurements, host: str, what: str) -> Fix:
    sensor = _endpoint_sensor(m, host)
    if sensor == "auditd":
        return (f"no endpoint telemetry was read for {host}: collect auditd records with the "
                f"{what} rules", "auditd")
    return (f"no endpoint telemetry was read for {host}: collect Endpoint Security events "
            f"with eslogger, including {what}", "eslogger")


# -- endpoint steps ---------------------------------------------------------------------------


def endpoint_steps(host: str, m: Measurements, settings: Settings) -> list[dict[str, Any]]:
    """The seven steps of an endpoint, in DESIGN §6 order."""
    return [
        _socket_access(host, m),
        _exec_env(host, m),
        _session_context(host, m),
        _ip_mapping(host, m, "endpoint"),
        _ssh_flows_from(host, m),
        _dest_logins_from(host, m),
        _process_flow_link(host, m, settings),
    ]


def _socket_access(host: str, m: Measurements) -> dict[str, Any]:
    s = m.sock.get(host, {})
    n, with_uid = s.get("connects", 0), s.get("connects_with_st_uid", 0)
    agent, agent_owned = s.get("agent_connects", 0), s.get("agent_connects_with_owner", 0)
    ev = {
        "connects": n, "connects_with_st_uid": with_uid, "st_uid_share": _share(with_uid, n),
        "agent_connects": agent, "agent_connects_with_owner": agent_owned,
        "binds": s.get("binds", 0), "first_us": s.get("first_us"), "last_us": s.get("last_us"),
        **_sensor_facts(m, host, "socket_access"),
    }
    fixes: list[Fix] = []
    formats = m.formats.get(host, [])
    sensor = _endpoint_sensor(m, host)
    if not n:
        if host not in m.facts:
            fixes.append(_no_telemetry(
                m, host, "connect" if sensor == "auditd" else "uipc_connect and uipc_bind"))
        elif sensor == "auditd":
            fixes.append((f"no socket connect records were read for {host}: add the auditd "
                          "connect rule", "auditd"))
        elif "eslogger" in formats:
            fixes.append((f"the eslogger capture of {host} has no uipc_connect events: "
                          "subscribe eslogger to uipc_connect and uipc_bind", "eslogger"))
        else:
            fixes.append((f"the endpoint telemetry of {host} ({', '.join(formats)}) records no "
                          "UNIX-socket connects: run eslogger beside it with uipc_connect and "
                          "uipc_bind", "eslogger"))
        return _step("socket_access", "endpoint", "missing", ev, fixes)
    if with_uid < n * COMPLETE:
        fixes.append((f"{n - with_uid} of {n} socket connects on {host} carry no socket owner "
                      "(stat.st_uid): eslogger's uipc_connect records it", "eslogger"))
    if agent_owned < agent:
        fixes.append((f"{agent - agent_owned} of {agent} agent-socket connects on {host} have "
                      "no resolved owner: subscribe eslogger to uipc_bind and keep exec "
                      "environments, so the directory owner or SSH_AUTH_SOCK decides",
                      "eslogger"))
    fixes += _drop_fix(m, host, "socket_access")
    return _step("socket_access", "endpoint", _status(False, fixes), ev, fixes)


def _exec_env(host: str, m: Measurements) -> dict[str, Any]:
    p = m.proc.get(host, {})
    n, with_env = p.get("execs", 0), p.get("execs_with_env", 0)
    clients, clients_env = p.get("client_execs", 0), p.get("client_execs_with_env", 0)
    ev = {
        "execs": n, "execs_with_env": with_env, "env_share": _share(with_env, n),
        "client_execs": clients, "client_execs_with_env": clients_env,
        "client_execs_with_destination": p.get("client_execs_with_destination", 0),
        "execs_naming_agent_socket": p.get("execs_naming_agent", 0),
        "first_us": p.get("first_exec_us"), "last_us": p.get("last_exec_us"),
        "gaps": m.gaps.get(host, {"count": 0, "largest": []}),
        **_sensor_facts(m, host, "exec_env"),
    }
    fixes: list[Fix] = []
    formats = m.formats.get(host, [])
    sensor = _endpoint_sensor(m, host)
    env_fix: Fix
    if sensor == "auditd":
        env_fix = ("auditd EXECVE records carry arguments but never the environment, so "
                   f"agent_env_foreign_socket cannot run on {host} from auditd alone", None)
    elif "eslogger" not in formats and "osquery" in formats:
        env_fix = ("collect osquery es_process_events with its env column", "osquery")
    else:
        env_fix = ("capture eslogger exec events with their env array intact (a collector "
                   "that strips it blinds agent_env_foreign_socket)", "eslogger")
    if not with_env:
        if host not in m.facts:
            fixes.append(_no_telemetry(m, host, "execve" if sensor == "auditd"
                                       else "exec, fork and exit"))
        elif not n and "eslogger" in formats:
            fixes.append((f"the eslogger capture of {host} has no exec events: subscribe "
                          "eslogger to exec, fork and exit", "eslogger"))
        elif not n:
            fixes.append((f"no exec events were read for {host}: collect them with their "
                          "environment", sensor))
        else:
            fixes.append((f"none of the {n} exec events of {host} carries an environment: "
                          f"{env_fix[0]}", env_fix[1]))
        return _step("exec_env", "endpoint", "missing", ev, fixes)
    if with_env < n * COMPLETE:
        fixes.append((f"{n - with_env} of {n} exec events on {host} carry no environment: "
                      f"{env_fix[0]}", env_fix[1]))
    if clients_env < clients:
        fixes.append((f"{clients - clients_env} of {clients} agent-client execs (ssh, scp, "
                      f"sftp, ssh-add, git, rsync) on {host} carry no environment: "
                      f"{env_fix[0]}", env_fix[1]))
    fixes += _drop_fix(m, host, "exec_env")
    return _step("exec_env", "endpoint", _status(False, fixes), ev, fixes)


_LOGIN_KINDS = ("gui", "login", "ssh_inbound", "utmp")


def _session_context(host: str, m: Measurements) -> dict[str, Any]:
    s = m.sessions.get(host, {})
    p = m.proc.get(host, {})
    n = s.get("sessions", 0)
    kinds = s.get("by_kind", {})
    ev = {
        "sessions": n, "by_kind": kinds, "users": s.get("users", 0),
        "first_us": s.get("first_us"), "last_us": s.get("last_us"),
        "process_events_with_audit_user": p.get("with_audit_user", 0),
        "audit_user_share": _share(p.get("with_audit_user", 0), p.get("process_events", 0)),
        **_sensor_facts(m, host, "session_context"),
    }
    fixes: list[Fix] = []
    sensor = _endpoint_sensor(m, host)
    formats = m.formats.get(host, [])
    if not n:
        if host not in m.facts:
            fixes.append(_no_telemetry(m, host, "login_login, lw_session_login, "
                                       "openssh_login, su and sudo"))
        elif sensor == "auditd":
            fixes.append((f"no login sessions were read for {host}: auditd records PAM "
                          "logins when it runs", "auditd"))
        elif "eslogger" not in formats and "osquery" in formats:
            fixes.append((f"no login sessions were read for {host}: add logged_in_users to "
                          "the osquery pack", "osquery"))
        else:
            fixes.append((f"the eslogger capture of {host} has no login events: subscribe "
                          "eslogger to login_login, login_logout, lw_session_login, "
                          "lw_session_logout, openssh_login, openssh_logout, su and sudo",
                          "eslogger"))
        return _step("session_context", "endpoint", "missing", ev, fixes)
    if not any(k in kinds for k in _LOGIN_KINDS):
        fixes.append((f"{host} has su/sudo records but no login sessions: subscribe eslogger "
                      "to login_login and lw_session_login", "eslogger"))
    fixes += _drop_fix(m, host, "session_context")
    return _step("session_context", "endpoint", _status(False, fixes), ev, fixes)


def _uncovered(first: int, last: int,
               rows: list[dict[str, Any]]) -> list[list[int]]:
    """The parts of [first, last] that no validity interval covers."""
    ivs = sorted(
        (r["valid_from_us"] if r["valid_from_us"] is not None else first,
         r["valid_to_us"] if r["valid_to_us"] is not None else last)
        for r in rows
    )
    out: list[list[int]] = []
    cur = first
    for a, b in ivs:
        if a > cur:
            out.append([cur, min(a, last)])
        cur = max(cur, b)
        if cur >= last:
            break
    if cur < last:
        out.append([cur, last])
    return [g for g in out if g[0] < g[1]]


def _ip_mapping(host: str, m: Measurements, role: str) -> dict[str, Any]:
    rows = m.assets.get(host, [])
    facts = m.facts.get(host) or {}
    flows = m.flows_from.get(host) or {}
    first = facts.get("first_us", flows.get("first_us"))
    last = facts.get("last_us", flows.get("last_us"))
    if role == "destination":
        to = m.flows_to.get(host) or {}
        first, last = to.get("first_us"), to.get("last_us")
        ambiguous = to.get("ambiguous_destination", 0)
    else:
        ambiguous = flows.get("ambiguous_source", 0)
    gaps = _uncovered(first, last, rows) if rows and first is not None and last is not None \
        else []
    span = None if first is None else (last or first) - first
    uncovered = sum(b - a for a, b in gaps)
    ev = {
        "addresses": rows, "span_first_us": first, "span_last_us": last,
        "covered_share": None if not span else round(1 - uncovered / span, 4),
        "uncovered": gaps, "shared_with": m.shared.get(host, []), "ambiguous_flows": ambiguous,
    }
    fixes: list[Fix] = []
    if not rows:
        if role == "destination":
            fixes.append((f"{host}'s addresses are not in the --assets CSV: SSH flows to it "
                          "cannot be matched to its login records; add host,ip rows", None))
        else:
            fixes.append((f"{host} has no address mapping: add its addresses to the --assets "
                          "CSV (host,ip,valid_from,valid_to), or collect osquery "
                          "interface_addresses from it", "osquery"))
        return _step("ip_mapping", role, "missing", ev, fixes)
    if gaps:
        fixes.append((f"{host}'s addresses are not mapped for "
                      + ", ".join(f"{_iso(a)} to {_iso(b)}" for a, b in gaps[:3])
                      + ": add those periods (valid_from, valid_to) to the --assets CSV", None))
    if ev["shared_with"]:
        fixes.append((f"{host} shares addresses with {', '.join(ev['shared_with'])} over "
                      "overlapping validity intervals, so flows from those addresses at those "
                      "times map to two hosts: give each host its own interval in the --assets "
                      "CSV", None))
    if ambiguous:
        fixes.append((f"{ambiguous} SSH flows {'to' if role == 'destination' else 'from'} "
                      f"{host} map to more than one host", None))
    return _step("ip_mapping", role, _status(False, fixes), ev, fixes)


def _outside_sensor(m: Measurements, first: int | None, last: int | None) -> list[list[int]]:
    if first is None or last is None:
        return []
    if m.sensor_span is None:
        return [[first, last]]
    s0, s1 = m.sensor_span
    out = []
    if first < s0 - SPAN_SLACK_US:
        out.append([first, min(s0, last)])
    if last > s1 + SPAN_SLACK_US:
        out.append([max(s1, first), last])
    return out


def _ssh_flows_from(host: str, m: Measurements) -> dict[str, Any]:
    f = m.flows_from.get(host, {})
    facts = m.facts.get(host) or {}
    n = f.get("ssh_flows", 0)
    outside = _outside_sensor(m, facts.get("first_us"), facts.get("last_us"))
    ev = {
        "ssh_flows": n, "session_starts": f.get("session_starts", 0),
        "to_internal": f.get("to_internal", 0),
        "internal_destinations": f.get("internal_destinations", 0),
        "without_source_port": f.get("without_source_port", 0),
        "first_us": f.get("first_us"), "last_us": f.get("last_us"),
        "sensor_span": list(m.sensor_span) if m.sensor_span else None,
        "telemetry_outside_sensor_span": outside,
    }
    fixes: list[Fix] = []
    if not n:
        if m.sensor_span is None:
            fixes.append(("no flow records were read: run Zeek where the SSH traffic of "
                          f"{host} passes and collect conn.log and ssh.log", "zeek"))
        elif not m.assets.get(host):
            fixes.append((f"no flow can be attributed to {host} without its address mapping "
                          "(see ip_mapping)", None))
        else:
            fixes.append((f"no SSH flow from {host} was seen: make sure the flow sensor sees "
                          f"{host}'s traffic", "zeek"))
        return _step("ssh_flows", "endpoint", "missing", ev, fixes)
    if outside and m.sensor_span is not None:
        fixes.append((f"the flow sensor recorded from {_iso(m.sensor_span[0])} to "
                      f"{_iso(m.sensor_span[1])}, but {host}'s endpoint telemetry runs from "
                      f"{_iso(facts.get('first_us'))} to {_iso(facts.get('last_us'))}: "
                      "capture flows over the whole period", "zeek"))
    if ev["without_source_port"]:
        fixes.append((f"{ev['without_source_port']} SSH flows from {host} have no source "
                      "port, so no login can be matched to them", "zeek"))
    return _step("ssh_flows", "endpoint", _status(False, fixes), ev, fixes)


def _dest_logins_from(host: str, m: Measurements) -> dict[str, Any]:
    c = m.eval_from.get(host, Counter())
    total = sum(c.values())
    bad = sum(v for k, v in c.items() if k.startswith("not_evaluable"))
    dests = sorted(m.dests_not_evaluable_from.get(host, set()))
    ev = {"internal_session_starts": total, "by_status": dict(sorted(c.items())),
          "not_evaluable": bad, "destinations_not_evaluable": dests}
    fixes: list[Fix] = []
    if not total:
        fixes.append((f"no internal SSH session start from {host} was seen, so no "
                      "destination login can be checked (see ssh_flows)", None))
        return _step("dest_logins", "endpoint", "missing", ev, fixes)
    if bad == total:
        fixes.append((f"none of the {total} internal SSH sessions from {host} can be checked "
                      f"against its destination's logs: see {', '.join(dests)}", "sshd"))
        return _step("dest_logins", "endpoint", "missing", ev, fixes)
    if bad:
        fixes.append((f"{bad} of {total} internal SSH sessions from {host} reach destinations "
                      f"whose login records do not cover them: see {', '.join(dests)}", "sshd"))
    return _step("dest_logins", "endpoint", _status(False, fixes), ev, fixes)


def _process_flow_link(host: str, m: Measurements, settings: Settings) -> dict[str, Any]:
    link = m.link.get(host, {})
    p = m.proc.get(host, {})
    f = m.flows_from.get(host, {})
    n, k = link.get("flows_in_span", 0), link.get("with_process", 0)
    tw = settings.windows.time_window
    ev = {
        "ssh_flows": f.get("ssh_flows", 0), "session_starts_in_endpoint_span": n,
        "with_process": k,
        "client_execs_with_destination": p.get("client_execs_with_destination", 0),
        "window_before_s": tw, "window_after_s": settings.windows.endpoint_skew,
        **_sensor_facts(m, host, "process_flow_link"),
    }
    fixes: list[Fix] = []
    if not p.get("process_events"):
        fixes.append((f"no process events were read for {host}, so no SSH flow can be tied "
                      "to a process (see exec_env)", _endpoint_sensor(m, host)))
    elif not f.get("ssh_flows"):
        fixes.append((f"no SSH flow from {host} was seen (see ssh_flows)", None))
    elif not n:
        facts = m.facts.get(host) or {}
        fixes.append((f"the SSH flows from {host} ({_iso(f.get('first_us'))} to "
                      f"{_iso(f.get('last_us'))}) fall outside its endpoint telemetry "
                      f"({_iso(facts.get('first_us'))} to {_iso(facts.get('last_us'))}): "
                      "capture both over the same period", None))
    elif not k:
        fixes.append((f"none of the {n} SSH flows from {host} has an ssh process on {host} "
                      f"within {tw} s before its start: check that the clocks of {host} and "
                      "the flow sensor agree (NTP) and that exec events are complete",
                      _endpoint_sensor(m, host)))
    if fixes:
        return _step("process_flow_link", "endpoint", "missing", ev, fixes)
    if k < n:
        fixes.append((f"{n - k} of {n} SSH flows from {host} have no ssh process on {host} "
                      f"within {tw} s before their start: compare the clocks of {host} and the "
                      "flow sensor, and check for exec drops", _endpoint_sensor(m, host)))
    fixes += _drop_fix(m, host, "process_flow_link")
    return _step("process_flow_link", "endpoint", _status(False, fixes), ev, fixes)


# -- destination steps ------------------------------------------------------------------------


def destination_steps(key: str, known: bool, m: Measurements,
                      settings: Settings) -> list[dict[str, Any]]:
    """ip_mapping, ssh_flows and dest_logins of a destination (host or unmapped address)."""
    if not known:
        return _unmapped(key, m)
    return [_ip_mapping(key, m, "destination"), _ssh_flows_to(key, m),
            _dest_logins_to(key, m)]


def _unmapped(ip: str, m: Measurements) -> list[dict[str, Any]]:
    to = m.flows_to.get(ip, {})
    c = m.eval_to.get(ip, Counter())
    return [
        _step("ip_mapping", "destination", "missing", {"address": ip, "addresses": []},
              [(f"{ip} is reached over SSH but mapped to no host: add it to the --assets CSV "
                "so its login records can be matched", None)]),
        _step("ssh_flows", "destination", "ok" if to else "missing",
              {"session_starts": to.get("session_starts", 0), "sources": to.get("sources", 0),
               "first_us": to.get("first_us"), "last_us": to.get("last_us")}, []),
        _step("dest_logins", "destination", "missing",
              {"flows": dict(sorted(c.items()))},
              [(f"the host behind {ip} is unknown, so its login records cannot be checked "
                "(see ip_mapping)", None)]),
    ]


def _ssh_flows_to(host: str, m: Measurements) -> dict[str, Any]:
    to = m.flows_to.get(host, {})
    wf = m.without_flow.get(host, {})
    n = to.get("session_starts", 0)
    checked, without = wf.get("checked", 0), wf.get("without_flow", 0)
    ev = {"session_starts": n, "sources": to.get("sources", 0), "first_us": to.get("first_us"),
          "last_us": to.get("last_us"), "internal_logins_checked": checked,
          "internal_logins_without_flow": without}
    fixes: list[Fix] = []
    if not n and m.sensor_span is None:
        fixes.append(("no flow records were read: run Zeek where the SSH traffic to "
                      f"{host} passes and collect conn.log and ssh.log", "zeek"))
        return _step("ssh_flows", "destination", "missing", ev, fixes)
    if not n:
        seen = f", though it logged {checked} logins from internal addresses" if checked else ""
        fixes.append((f"no SSH flow to {host} was seen{seen}: make sure the flow sensor sees "
                      f"{host}'s traffic", "zeek"))
        return _step("ssh_flows", "destination", "missing", ev, fixes)
    if without:
        fixes.append((f"{without} of {checked} logins on {host} from internal addresses have no "
                      f"flow: the flow sensor does not see all SSH traffic to {host}", "zeek"))
    return _step("ssh_flows", "destination", _status(False, fixes), ev, fixes)


def _dest_logins_to(host: str, m: Measurements) -> dict[str, Any]:
    sources = m.sources.get(host, [])
    lg = m.logins.get(host, {})
    c = m.eval_to.get(host, Counter())
    sk = m.skew.get(host, {})
    to = m.flows_to.get(host, {})
    sshd = sum(s["sshd_records"] or 0 for s in sources)
    with_port, with_server = lg.get("with_source_port", 0), lg.get("with_server_address", 0)
    reasons = {k.split(":", 1)[1]: v for k, v in sorted(c.items())
               if k.startswith("not_evaluable:")}
    ev = {
        "sources": sources, "sshd_records": sshd, "login_records": lg.get("records", 0),
        "accepted": lg.get("accepted", 0), "with_source_port": with_port,
        "with_server_address": with_server,
        "server_address_share": _share(with_server, with_port),
        "year_inferred": lg.get("year_inferred", 0),
        "skew_us": sk.get("skew_us"), "tol_us": sk.get("tol_us"),
        "exact_matches": sk.get("exact_matches", 0),
        "flows": dict(sorted(c.items())), "not_evaluable": reasons,
    }
    fixes: list[Fix] = []
    if not sshd:
        if not sources:
            fixes.append((f"no login records from {host} were read: ship its sshd logs "
                          "(auth.log or secure, through syslog) covering the hunt period",
                          "sshd"))
        else:
            names = ", ".join(sorted({s["source"] or "?" for s in sources}))
            fixes.append((f"{host}'s logs ({names}) hold no sshd records: make sure sshd "
                          "logs to them", "sshd"))
        return _step("dest_logins", "destination", "missing", ev, fixes)
    first = min((s["first_us"] for s in sources if s["sshd_records"]), default=None)
    until = max((s["covered_until_us"] for s in sources if s["sshd_records"]), default=None)
    if reasons.get("coverage_ends_before_window"):
        fixes.append((f"{host}'s login records stop at {_iso(until)} while SSH flows to it go "
                      f"on until {_iso(to.get('last_us'))}: ship the rest of its logs, or pass "
                      "--collected-at when they were collected later", "sshd"))
    if reasons.get("coverage_starts_after_window"):
        fixes.append((f"{host}'s login records begin at {_iso(first)}, after SSH flows to it "
                      f"from {_iso(to.get('first_us'))}: ship its older (rotated) logs",
                      "sshd"))
    if reasons.get("port_not_covered"):
        ports = sorted({r["dst_port"] for r in m.not_evaluable.get(host, [])
                        if r["reason"] == "port_not_covered" and r["dst_port"] is not None})
        listed = ", ".join(str(p) for p in ports) or "other ports"
        fixes.append((f"{reasons['port_not_covered']} SSH flows reach {host} on {listed}, not "
                      f"its sshd ports: declare them in [hosts.\"{host}\"] ssh_ports", None))
    if with_port and with_server < with_port * COMPLETE:
        fixes.append((f"{host}'s sshd records do not carry the server address: raise sshd "
                      f"LogLevel to VERBOSE on {host} to record it", "sshd"))
    return _step("dest_logins", "destination", _status(False, fixes), ev, fixes)
