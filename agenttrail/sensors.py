"""The sensor settings the analytic needs (``agenttrail sensors NAME``), which coverage's fixes
point to: the eslogger subscription, the osquery flags and pack, the auditd rules, the sshd
``LogLevel`` and the Zeek ``Site::local_nets`` line.

Sources: ``man eslogger`` (macOS); osquery's ``endpointsecurity.cpp`` (the
``disable_endpointsecurity`` flag, default true) and table specs (``es_process_events``,
``process_open_sockets``, ``logged_in_users``, ``interface_addresses``); ``auditctl(8)``;
``sshd_config(5)`` and OpenSSH's ``sshd.c`` (``Connection from ... on ...`` is logged at
VERBOSE); Zeek's ``base/utils/site.zeek``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from agenttrail.readers._eslogger_sql import HANDLED

if TYPE_CHECKING:
    from agenttrail.config import Settings

#: Every eslogger event agenttrail reads, in the reader's order.
ESLOGGER_EVENTS: tuple[str, ...] = HANDLED
ESLOGGER_COMMAND = "sudo eslogger " + " ".join(ESLOGGER_EVENTS) + " >> /var/log/eslogger.jsonl"

OSQUERY_FLAGS = ("--disable_events=false", "--disable_endpointsecurity=false",
                 "--host_identifier=hostname", "--logger_plugin=filesystem")

OSQUERY_PACK: dict[str, object] = {
    "platform": "darwin",
    "queries": {
        "agenttrail_es_process_events": {
            "query": "SELECT * FROM es_process_events;",
            "interval": 60,
            "removed": False,
            "description": "exec, fork and exit from Endpoint Security, with argv (cmdline) and "
                           "the environment (env, env_count: SSH_AUTH_SOCK)",
        },
        "agenttrail_process_open_sockets": {
            "query": "SELECT pid, fd, socket, family, protocol, local_address, local_port, "
                     "remote_address, remote_port, path, state FROM process_open_sockets "
                     "WHERE family = 1 OR remote_port = 22;",
            "interval": 60,
            "description": "UNIX sockets (family 1) and SSH connections held open, polled",
        },
        "agenttrail_logged_in_users": {
            "query": "SELECT type, user, tty, host, time, pid FROM logged_in_users;",
            "interval": 300,
            "description": "who is logged in, from where (session context)",
        },
        "agenttrail_interface_addresses": {
            "query": "SELECT interface, address, mask, type FROM interface_addresses;",
            "interval": 300,
            "description": "the Mac's addresses over time (IP to host mapping)",
        },
    },
}

AUDITD_RULES = (
    "-b 8192",
    "-a always,exit -F arch=b64 -S connect -k agenttrail_connect",
    "-a always,exit -F arch=b32 -S connect -k agenttrail_connect",
    "-a always,exit -F arch=b64 -S execve -k agenttrail_exec",
    "-a always,exit -F arch=b32 -S execve -k agenttrail_exec",
)

SSHD_SETTING = "LogLevel VERBOSE"

NAMES = ("eslogger", "osquery", "auditd", "sshd", "zeek")


def zeek_nets(settings: Settings) -> list[str]:
    """The internal networks in Zeek's subnet syntax (IPv6 in brackets)."""
    from agenttrail.normalise import internal_networks

    out = []
    for cidr in internal_networks(settings):
        addr, _, bits = cidr.partition("/")
        if ":" in addr:
            addr = f"[{addr}]"
        out.append(f"{addr}/{bits}" if bits else addr)
    return out


def key_line(name: str, settings: Settings) -> str:
    """The one line that matters most for ``name`` (what coverage prints beside a fix)."""
    if name == "eslogger":
        return ESLOGGER_COMMAND
    if name == "osquery":
        return " ".join(OSQUERY_FLAGS[:2]) + "  (and the pack: agenttrail sensors osquery)"
    if name == "auditd":
        return AUDITD_RULES[1]
    if name == "sshd":
        return SSHD_SETTING
    if name == "zeek":
        return "redef Site::local_nets += { " + ", ".join(zeek_nets(settings)) + " };"
    raise KeyError(name)


def render(name: str, settings: Settings) -> str:
    """The full settings text for one sensor."""
    return {"eslogger": _eslogger, "osquery": _osquery, "auditd": _auditd, "sshd": _sshd,
            "zeek": _zeek}[name](settings)


def _eslogger(settings: Settings) -> str:
    events = "\n".join(f"    <string>{e}</string>" for e in ESLOGGER_EVENTS)
    return f"""\
# eslogger (macOS 13 or later): Endpoint Security events as JSON lines, one per line.
# Run it as root. The responsible process needs Full Disk Access: the terminal app for an
# interactive run, "Allow full disk access for remote users" for an SSH session, eslogger
# itself when it runs as a launch daemon (MDM: a PPPC payload with SystemPolicyAllFiles).
# The su and sudo events exist from macOS 14: leave them out on macOS 13.
#
# What agenttrail reads from each event:
#   exec            argv, the environment (SSH_AUTH_SOCK, USER, SUDO_UID...) and audit tokens
#   fork, exit      process lifetimes and parents (which ssh belongs to which shell)
#   uipc_connect    who connected to which UNIX socket, with the socket's owner (st_uid)
#   uipc_bind       who created a socket, and the owner of its directory
#   login_*, lw_session_*, openssh_*, su, sudo
#                   who logged in, in which audit session (session context)
# Records carry no host name: keep one folder per Mac and hunt with
#   --host-from-path 'macs/{{host}}/*'

{ESLOGGER_COMMAND}

# As a launch daemon: /Library/LaunchDaemons/local.agenttrail.eslogger.plist
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>local.agenttrail.eslogger</string>
  <key>ProgramArguments</key>
  <array>
    <string>/usr/bin/eslogger</string>
{events}
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <true/>
  <key>StandardOutPath</key>
  <string>/var/log/eslogger.jsonl</string>
</dict>
</plist>
"""


def _osquery(settings: Settings) -> str:
    flags = "\n".join(OSQUERY_FLAGS)
    pack = json.dumps(OSQUERY_PACK, indent=2)
    return f"""\
# osquery on macOS: es_process_events comes from Endpoint Security, which osquery leaves off
# by default (--disable_endpointsecurity defaults to true). osqueryd runs as root, and
# osqueryd itself needs Full Disk Access (the signed osquery.app build carries the Endpoint
# Security client entitlement). Without Full Disk Access es_process_events stays empty.
# osquery records no UNIX-socket connects on macOS: socket access needs eslogger
# (agenttrail sensors eslogger).

# osquery.flags
{flags}

# the pack, e.g. /var/osquery/packs/agenttrail.conf, listed under "packs" in osquery.conf
{pack}
"""


def _auditd(settings: Settings) -> str:
    rules = "\n".join(AUDITD_RULES)
    return f"""\
# auditd on Linux endpoints (AN0710): connect and execve, each with a key.
# Put the rules in /etc/audit/rules.d/agenttrail.rules and load them with: augenrules --load
# A connect to a UNIX socket names the socket's path in its SOCKADDR record (saddr).
# EXECVE records carry the arguments, never the environment: SSH_AUTH_SOCK is not visible to
# auditd. Drop the b32 lines on hosts without 32-bit system calls.
# -b raises the kernel's backlog; check that the "lost" counter of auditctl -s stays at 0.

{rules}
"""


def _sshd(settings: Settings) -> str:
    return f"""\
# sshd on every SSH destination, in /etc/ssh/sshd_config (or a file in /etc/ssh/sshd_config.d/
# where sshd_config includes that folder). sshd uses the first value it reads for a keyword,
# so the setting must come before any other LogLevel line.

{SSHD_SETTING}

# Why: at the default LogLevel INFO sshd logs Accepted/Failed with the client's address and
# source port, but never the address and port the client connected to. VERBOSE adds
#   Connection from <client ip> port <client port> on <server ip> port <server port>
# (the only line with the server address, which tells which destination a flow reached on a
# host with several addresses or behind NAT), Starting session and Close session, and failed
# public key attempts with their key fingerprints.
# Check with: sshd -T | grep -i loglevel; reload sshd (systemctl reload ssh on Debian and
# Ubuntu, systemctl reload sshd on RHEL and Fedora).
# Ship the logs (auth.log or secure, with rotated files) through syslog, keep clocks in sync
# (NTP), and pass --collected-at when the logs were collected after their last line.
"""


def _zeek(settings: Settings) -> str:
    from agenttrail.normalise import internal_networks

    nets = ", ".join(zeek_nets(settings))
    lines = "\n".join(internal_networks(settings))
    return f"""\
# Zeek on a link that sees the Macs' SSH traffic to internal servers, in both directions
# (agenttrail needs the client's SYN in conn.log history to tell a session start).
# site/local.zeek (the networks agenttrail counts as internal; --internal or [network] internal):

redef Site::local_nets += {{ {nets} }};

# With zeekctl, list the same networks in etc/networks.cfg, one per line in CIDR notation:
{lines}

# conn.log and ssh.log are written by Zeek's default scripts: keep both (ASCII TSV or JSON).
# Site::local_nets sets local_orig and local_resp in conn.log and direction in ssh.log.
"""
