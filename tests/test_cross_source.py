"""The detections work unchanged on data from other sources (issue sources).

One simulated hijack is written three times — eslogger + Zeek + sshd syslog; osquery + Suricata +
journald; Elastic Defend + nfdump + auditd login records — and hunted each time. The incident must
name the same endpoint host, acting login user, victim owner, socket path, destination ip:port,
source port and login each time. What each source cannot see is asserted as a documented
difference, not glossed over:

* osquery polls open sockets (``process_open_sockets``) instead of seeing each connect, so the
  chain is seeded from the exec environment (``agent_env_foreign_socket``); its
  ``es_process_events`` rows carry no audit user, so the actor is root (principal "system") and
  the acting login user is only claimed by ``SUDO_USER``, unverified;
* Elastic Defend has no UNIX-socket events and no audit user: the chain is seeded from
  ``process.env_vars`` (``agent_env_foreign_socket``) only, the actor is root with no audit user
  (principal "system"), and the acting login user is only claimed by ``SUDO_USER``, unverified;
* auditd login records carry the login in ``USER_LOGIN``/``CRYPTO_SESSION`` records, so the login's
  message is the audit record's, not sshd's ``Accepted`` line; user, source address and port agree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agenttrail.simulate import simulate
from tests.test_hunt import run

SETS = {
    "eslogger+zeek+syslog": ((), {"agent_socket_cross_user", "agent_env_foreign_socket"}),
    "osquery+suricata+journald": (("osquery", "suricata", "journald"),
                                  {"agent_env_foreign_socket"}),
    "elastic+nfdump+auditd": (("elastic", "nfdump", "auditd"), {"agent_env_foreign_socket"}),
    "ocsf": (("ocsf",), {"agent_env_foreign_socket"}),
}
NO_AUDIT_USER = {"osquery+suricata+journald", "elastic+nfdump+auditd"}


def _hunt(tmp: Path, formats: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    data = tmp / "data"
    manifest = simulate(data, seed=3, scenarios=["hijack_lateral"], formats=formats)
    (data / "MANIFEST.json").unlink()  # the answer sheet is not telemetry
    out = tmp / "out"
    code, output = run(
        "hunt", str(data), "--host-from-path", "macs/{host}/*", "--assets",
        str(data / "assets.csv"), "--collected-at", manifest.data["capture"]["end"], "-o", str(out),
    )
    assert code == 1, output
    report = json.loads((out / "report.json").read_text())
    for f in report["inputs"]["files"]:
        assert f["read"] == (f["normalised"] + f["meta"] + f["malformed"] + f["unread"]
                             + sum(f["skipped_by_type"].values())), f
        assert f["malformed"] == 0 and f["unread"] == 0, f
    return report, manifest.expected["hijack_lateral"]


@pytest.mark.parametrize("name", list(SETS))
def test_one_hijack_through_each_set_of_sources(name: str, tmp_path: Path) -> None:
    formats, seed_rules = SETS[name]
    report, want = _hunt(tmp_path, formats)
    lateral = [i for i in report["incidents"] if i["rule_id"] == "agent_hijack_lateral_ssh"]
    assert len(lateral) == 1, [i["rule_id"] for i in report["incidents"]]
    inc = lateral[0]
    assert inc["host"] == want["endpoint"]
    actor = inc["actor"]
    if name in NO_AUDIT_USER:
        assert (actor["auid"], actor["kind"], actor["euid"]) == (None, "system", 0)
        assert actor["sudo_user"] == want["actor"]["name"]
    else:
        assert (actor["auid"], actor["auid_name"]) == (want["actor"]["auid"],
                                                       want["actor"]["name"])
    assert (inc["victim"]["uid"], inc["victim"]["name"]) == (want["victim"]["uid"],
                                                             want["victim"]["name"])
    assert inc["socket"]["path"] == want["socket"]
    [hop] = [h for h in inc["hops"] if h.get("flow")]
    fl = hop["flow"]
    dest = want["destination"]
    assert (fl["dst_ip"], fl["dst_port"]) == (dest["ip"], dest["port"])
    assert (fl["src_ip"], fl["src_port"]) == (want["flow"]["src_ip"], want["flow"]["src_port"])
    lg = hop["login"]
    assert (lg["result"], lg["user"], lg["host"]) == ("accepted", want["remote_user"], dest["host"])
    assert (lg["src_ip"], lg["src_port"]) == (want["flow"]["src_ip"], want["flow"]["src_port"])
    rules = {s["rule_id"] for s in inc["signals"]}
    assert seed_rules <= rules, rules
