"""Tests for the sshd syslog reader (FORMATS §4.1–4.4; DESIGN §3 time, year and host rules).

Every expected value below was written by hand from the input line. The anchor is fixed through
``ctx.anchor_us`` (2023-11-14T12:00:00Z unless a test says otherwise) so nothing depends on file
modification times. Corpus counts were taken independently of the reader: ``grep -c '^#'`` and
``grep -c '^$'`` for meta, ``grep -c 'sshd(pam_unix)'`` for Linux_2k, and for OpenSSH_2k the
``EventTemplate`` column of ``OpenSSH_2k.log_structured.csv`` (loghub's labels) is the answer key
line by line.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail.model import ReadResult
from agenttrail.readers import _sshd_messages as msgs
from agenttrail.readers import _syslog as sl
from agenttrail.readers import sshd_syslog
from agenttrail.readers._io import ReadContext, read_head

ANCHOR = 1_699_963_200_000_000  # 2023-11-14T12:00:00Z
ENV = "Jun 10 12:00:00 srv sshd[42]: "  # 2023-06-10T12:00:00Z with the anchor above, UTC


def _us(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1_000_000)


def _read(tmp_path: Path, lines: list[str], name: str = "auth.log", **kw: Any) -> ReadResult:
    path = tmp_path / name
    path.write_text("".join(ln + "\n" for ln in lines), encoding="utf-8")
    kw.setdefault("anchor_us", ANCHOR)
    result = sshd_syslog.read(ReadContext(path=path, rel=name, con=duckdb.connect(), **kw))
    assert result.account.balanced(), result.account.to_dict()
    assert result.account.format == "sshd_syslog"
    return result


def _rows(result: ReadResult, table: str = "login") -> list[dict[str, Any]]:
    t = result.tables.get(table)
    return [] if t is None else t.to_pylist()


def _iso(row: dict[str, Any]) -> str:
    return row["time"].astimezone(UTC).isoformat()


# --- messages: one line each, exact fields ---------------------------------------------------

FIELDS = ("result", "user", "src_ip", "src_port", "server_ip", "server_port", "method",
          "key_type", "key_fp")


def L(result: str, user: str | None = None, ip: str | None = None, port: int | None = None,
      method: str | None = None, kt: str | None = None, fp: str | None = None,
      sip: str | None = None, sport: int | None = None) -> dict[str, Any]:
    """An expected login row (the FIELDS)."""
    return dict(zip(FIELDS, (result, user, ip, port, sip, sport, method, kt, fp), strict=True))


ED = "SHA256:k1kjhwoH/H3w31MbGOIGd7qxrkSQJnoAN0eYJVHDmmI"
MD5 = "39:33:99:e9:a0:dc:f2:33:a3:e5:72:3b:7c:3a:56:84"

MESSAGES = [
    ("accepted_password", "Accepted password for fztu from 119.137.62.142 port 49116 ssh2",
     L("accepted", "fztu", "119.137.62.142", 49116, "password")),
    ("accepted_ed25519", f"Accepted publickey for alice from 10.0.0.5 port 51234 ssh2: ED25519 {ED}",
     L("accepted", "alice", "10.0.0.5", 51234, "publickey", "ED25519", ED)),
    ("accepted_rsa_md5", f"Accepted publickey for bob from 10.0.0.6 port 40000 ssh2: RSA {MD5}",
     L("accepted", "bob", "10.0.0.6", 40000, "publickey", "RSA", MD5)),
    ("accepted_fido", "Accepted publickey for carol from 10.0.0.7 port 40001 ssh2: ED25519-SK "
     "SHA256:skFP, signature count = 3",
     L("accepted", "carol", "10.0.0.7", 40001, "publickey", "ED25519-SK", "SHA256:skFP")),
    ("accepted_cert_ipv6", "Accepted publickey for dave from 2001:DB8::80da:af6b:8b2c port 40002 "
     "ssh2: RSA-CERT SHA256:certFP ID dave@corp (serial 7) CA ED25519 SHA256:caFP",
     L("accepted", "dave", "2001:db8::80da:af6b:8b2c", 40002, "publickey", "RSA-CERT",
       "SHA256:certFP")),
    ("accepted_kbdint_v4mapped", "Accepted keyboard-interactive/pam for erin from ::ffff:192.0.2.1 "
     "port 40003 ssh2", L("accepted", "erin", "192.0.2.1", 40003, "keyboard-interactive/pam")),
    ("accepted_gssapi", "Accepted gssapi-with-mic for frank from 10.0.0.8 port 40004 ssh2: "
     "frank@EXAMPLE.COM", L("accepted", "frank", "10.0.0.8", 40004, "gssapi-with-mic")),
    ("failed_password", "Failed password for root from 10.1.1.1 port 2222 ssh2",
     L("failed", "root", "10.1.1.1", 2222, "password")),
    ("failed_invalid_user", "Failed password for invalid user admin from 10.1.1.2 port 2223 ssh2",
     L("failed", "admin", "10.1.1.2", 2223, "password")),
    ("failed_user_with_from", "Failed password for invalid user a from b from 10.1.1.3 port 2224 "
     "ssh2", L("failed", "a from b", "10.1.1.3", 2224, "password")),
    ("failed_none", "Failed none for invalid user guest from 10.1.1.4 port 2225 ssh2",
     L("failed", "guest", "10.1.1.4", 2225, "none")),
    ("failed_publickey", "Failed publickey for git from 192.0.2.1 port 57904 ssh2: ECDSA SHA256:ab",
     L("failed", "git", "192.0.2.1", 57904, "publickey", "ECDSA", "SHA256:ab")),
    ("failed_no_port", "Failed password for invalid user ROOT from aaaa:bbbb:cccc:1234::1:1",
     L("failed", "ROOT", "aaaa:bbbb:cccc:1234::1:1", None, "password")),
    ("failed_hostbased", f'Failed hostbased for dan from 127.0.0.1 port 45785 ssh2: RSA {MD5}, '
     'client user "dan", client host "localhost.localdomain"',
     L("failed", "dan", "127.0.0.1", 45785, "hostbased", "RSA", MD5)),
    ("failed_ssh1_ruser", "Failed password for user from 127.0.0.1 port 20000 ssh1: ruser from "
     "1.2.3.4", L("failed", "user", "127.0.0.1", 20000, "password")),
    ("repeated", "message repeated 3 times: [ Failed password for root from 10.1.1.5 port 2226 "
     "ssh2]", L("failed", "root", "10.1.1.5", 2226, "password")),
    ("solaris_id", "[ID 800047 auth.info] Failed keyboard-interactive for james from "
     "205.186.180.30 port 54520 ssh2",
     L("failed", "james", "205.186.180.30", 54520, "keyboard-interactive")),
    ("invalid_port", "Invalid user pascal from 35.188.49.176 port 53502",
     L("invalid", "pascal", "35.188.49.176", 53502)),
    ("invalid_no_port", "Invalid user webmaster from 173.234.31.186",
     L("invalid", "webmaster", "173.234.31.186")),
    ("invalid_empty_user", "Invalid user  from 192.0.2.68 port 34916",
     L("invalid", None, "192.0.2.68", 34916)),
    ("not_allowed", "User root from 192.168.1.1 not allowed because not listed in AllowUsers",
     L("invalid", "root", "192.168.1.1")),
    ("closed_authenticating", "Connection closed by authenticating user root 206.81.24.125 port "
     "45362 [preauth]", L("preauth", "root", "206.81.24.125", 45362)),
    ("closed_invalid_user", "Connection closed by invalid user root 206.81.24.126 port 45363 "
     "[preauth]", L("preauth", "root", "206.81.24.126", 45363)),
    ("closed_user_spaces", "Connection closed by authenticating user test 127.0.0.1 192.0.2.11 "
     "port 46039 [preauth]", L("preauth", "test 127.0.0.1", "192.0.2.11", 46039)),
    ("closed_user_postauth", "Connection closed by user alice 10.0.0.5 port 51234",
     L("closed", "alice", "10.0.0.5", 51234)),
    ("closed_ip_preauth", "Connection closed by 118.27.24.104 port 33594 [preauth]",
     L("preauth", None, "118.27.24.104", 33594)),
    ("closed_ip", "Connection closed by 192.0.2.15 port 35352", L("closed", None, "192.0.2.15", 35352)),
    ("closed_old_preauth", "Connection closed by 61.0.0.1 [preauth]", L("preauth", None, "61.0.0.1")),
    ("closed_old", "Connection closed by 192.0.2.5", L("closed", None, "192.0.2.5")),
    ("reset_authenticating", "Connection reset by authenticating user root 80.94.92.63 port 49115 "
     "[preauth]", L("preauth", "root", "80.94.92.63", 49115)),
    ("reset_ip", "Connection reset by 192.0.2.16 port 51280", L("closed", None, "192.0.2.16", 51280)),
    ("disconnected_invalid", "Disconnected from invalid user ftp 92.255.85.135 port 26138 "
     "[preauth]", L("preauth", "ftp", "92.255.85.135", 26138)),
    ("disconnected_user", "Disconnected from user alice 10.0.0.5 port 51234",
     L("disconnected", "alice", "10.0.0.5", 51234)),
    ("disconnected_ip_preauth", "Disconnected from 192.0.2.4 port 36985 [preauth]",
     L("preauth", None, "192.0.2.4", 36985)),
    ("disconnected_odd_qualifier", "Disconnected from totobad user ftp 92.255.85.135 port 26138 "
     "[preauth]", L("preauth", None, "92.255.85.135", 26138)),
    ("received_disconnect_logout", "Received disconnect from 10.0.0.5 port 51234:11: disconnected "
     "by user", L("disconnected", None, "10.0.0.5", 51234)),
    ("received_disconnect_preauth", "Received disconnect from 198.51.100.76 port 58846:11: Bye Bye "
     "[preauth]", L("preauth", None, "198.51.100.76", 58846)),
    ("received_disconnect_old", "Received disconnect from 183.62.140.253: 11: Bye Bye [preauth]",
     L("preauth", None, "183.62.140.253")),
    ("received_disconnect_old_ipv6", "error: Received disconnect from 2001:db8::1: 3: Auth fail "
     "[preauth]", L("preauth", None, "2001:db8::1")),
    ("received_disconnect_code3", "Received disconnect from 89.24.13.192: 3: com.jcraft.jsch."
     "JSchException: Auth fail", L("closed", None, "89.24.13.192")),
    ("max_attempts", "error: maximum authentication attempts exceeded for invalid user xxx from "
     "192.0.2.7 port 49941 ssh2 [preauth]", L("preauth", "xxx", "192.0.2.7", 49941)),
    ("disconnecting_too_many", "Disconnecting authenticating user root 1.2.3.4 port 5555: Too many "
     "authentication failures [preauth]", L("preauth", "root", "1.2.3.4", 5555)),
    ("unable_to_negotiate", "Unable to negotiate with 123.57.135.134 port 45626: no matching key "
     "exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]",
     L("preauth", None, "123.57.135.134", 45626)),
    ("unable_to_negotiate_fatal", "fatal: Unable to negotiate with 192.0.2.2 port 55419: no "
     "matching cipher found.", L("preauth", None, "192.0.2.2", 55419)),
    ("timeout", "fatal: Timeout before authentication for 192.168.9.212 port 47056",
     L("preauth", None, "192.168.9.212", 47056)),
    ("timeout_listener", "Timeout before authentication for connection from 192.0.2.17 to "
     "127.0.0.1, pid = 29098", L("preauth", None, "192.0.2.17", None, sip="127.0.0.1")),
    ("connection_on", "Connection from 192.0.2.3 port 39678 on 192.168.1.9 port 22",
     L("connection", None, "192.0.2.3", 39678, sip="192.168.1.9", sport=22)),
    ("connection_rdomain", 'Connection from 192.0.2.16 port 51280 on 192.0.2.16 port 2222 '
     'rdomain ""', L("connection", None, "192.0.2.16", 51280, sip="192.0.2.16", sport=2222)),
    ("connection_old", "Connection from 192.0.2.5", L("connection", None, "192.0.2.5")),
    ("drop_connection", "drop connection #3 from [2001:db8::5]:51000 on [2001:db8::1]:22 penalty: "
     "failed authentication",
     L("closed", None, "2001:db8::5", 51000, sip="2001:db8::1", sport=22)),
    ("starting_session", "Starting session: shell on pts/0 for azureuser from 77.165.126.69 port "
     "55856 id 0", L("session", "azureuser", "77.165.126.69", 55856)),
    ("starting_session_forced", "Starting session: forced-command (key-option) 'echo for x from y' "
     "for git from 10.0.0.9 port 4000 id 1", L("session", "git", "10.0.0.9", 4000)),
    ("close_session", "Close session: user azureuser from 77.165.126.69 port 55856 id 0",
     L("session", "azureuser", "77.165.126.69", 55856)),
    ("preauth_other", "ssh_dispatch_run_fatal: Connection from 192.168.9.213 port 48680: message "
     "authentication code incorrect [preauth]", L("preauth", None, "192.168.9.213", 48680)),
    ("root_login_refused", "ROOT LOGIN REFUSED FROM 1.2.3.4 port 12345 [preauth]",
     L("preauth", None, "1.2.3.4", 12345)),
    ("no_identification", "Did not receive identification string from 192.0.2.5 port 35836",
     L("closed", None, "192.0.2.5", 35836)),
    ("bad_protocol_version", "Bad protocol version identification 'dummy string' from "
     "69.61.56.115 port 31778", L("closed", None, "69.61.56.115", 31778)),
    ("banner_exchange", "banner exchange: Connection from 192.0.2.12 port 44105: invalid format",
     L("closed", None, "192.0.2.12", 44105)),
]


@pytest.mark.parametrize(("message", "expected"), [m[1:] for m in MESSAGES],
                         ids=[m[0] for m in MESSAGES])
def test_message(tmp_path: Path, message: str, expected: dict[str, Any]) -> None:
    result = _read(tmp_path, [ENV + message])
    (row,) = _rows(result)
    assert {k: row[k] for k in FIELDS} == expected
    assert (row["host"], row["program"], row["pid"], row["src_line"]) == ("srv", "sshd", 42, 1)
    assert (row["source"], row["src_format"], row["src_file"]) == ("syslog", "sshd_syslog", "auth.log")
    assert _iso(row) == "2023-06-10T12:00:00+00:00"
    assert row["message"] == message.removeprefix("[ID 800047 auth.info] ")
    assert result.account.normalised == 1


def test_repeated_message_counts_duplicates(tmp_path: Path) -> None:
    result = _read(tmp_path, [ENV + "message repeated 3 times: [ Failed password for root from "
                              "10.1.1.5 port 2226 ssh2]"])
    assert (result.account.normalised, result.account.duplicates) == (1, 2)


SKIPPED = [
    ("pam_session_opened", ENV + "pam_unix(sshd:session): session opened for user rda(uid=1000) "
     "by (uid=0)", "sshd_pam"),
    ("pam_auth_failure", ENV + "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 "
     "tty=ssh ruser= rhost=1.2.3.4  user=root", "sshd_pam"),
    ("pam_more_failures", ENV + "PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh "
     "ruser= rhost=1.2.3.4  user=root", "sshd_pam"),
    ("pam_ignoring", ENV + "PAM service(sshd) ignoring max retries; 6 > 3", "sshd_pam"),
    ("pam_glue", ENV + "error: PAM: Authentication failure for james from 205.186.180.99 via "
     "192.168.1.201", "sshd_pam"),
    ("pam_systemd", ENV + "pam_systemd(sshd:session): Failed to create session", "sshd_pam"),
    ("sshd_pam_unix_program", "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user "
     "unknown", "sshd_pam"),
    ("postponed", ENV + "Postponed publickey for git from 192.0.2.1 port 57904 ssh2 [preauth]",
     "sshd_partial"),
    ("partial", ENV + f"Partial publickey for alice from 10.0.0.5 port 1 ssh2: ED25519 {ED}",
     "sshd_partial"),
    ("too_many_old_wording", ENV + "Disconnecting: Too many authentication failures for root "
     "[preauth]", "sshd_unmatched"),
    ("userauth_request", ENV + "input_userauth_request: invalid user root [preauth]",
     "sshd_unmatched"),
    ("reverse_mapping", ENV + "reverse mapping checking getaddrinfo for x.example [1.2.3.4] failed "
     "- POSSIBLE BREAK-IN ATTEMPT!", "sshd_unmatched"),
    ("listening", ENV + "Server listening on 0.0.0.0 port 22.", "sshd_unmatched"),
    ("signal", ENV + "Received signal 15; terminating.", "sshd_unmatched"),
    ("user_child", ENV + "User child is on pid 7050", "sshd_unmatched"),
    ("accepted_key_verbose", ENV + f"Accepted key ED25519 {ED} found at "
     "/home/alice/.ssh/authorized_keys:1", "sshd_unmatched"),
    ("timeout_old_no_port", ENV + "fatal: Timeout before authentication for 192.0.2.1",
     "sshd_unmatched"),
    ("empty_message", ENV.rstrip(), "sshd_unmatched"),
    ("cron", "Jun 10 12:00:00 srv CRON[1]: pam_unix(cron:session): session opened for user root "
     "by (uid=0)", "other_program"),
    ("logind", "Jun 10 12:00:00 srv systemd-logind[1]: New session 5 of user alice.",
     "other_program"),
    ("kernel", "Jun 10 12:00:00 srv kernel: [    1.000000] Linux version", "other_program"),
    ("sshd_keygen", "Jun 10 12:00:00 srv sshd-keygen[5]: Generating keys", "other_program"),
    ("syslogd_version", "Jun 19 04:09:11 combo syslogd 1.4.1: restart.", "other_program"),
]


@pytest.mark.parametrize(("line", "kind"), [s[1:] for s in SKIPPED], ids=[s[0] for s in SKIPPED])
def test_skipped(tmp_path: Path, line: str, kind: str) -> None:
    result = _read(tmp_path, [line])
    assert result.account.skipped_by_type == {kind: 1}
    assert _rows(result) == []
    (span,) = _rows(result, "source_span")
    assert (span["records"], span["sshd_records"]) == (1, int(kind != "other_program"))


# --- envelopes ---------------------------------------------------------------------------------

MSG = "Invalid user u from 10.0.0.1 port 1"
# id, line, host, program, pid, time (UTC), time_inferred, year_inferred, src_seq
ENVELOPES = [
    ("rfc3164_space_padded", f"Jun  8 10:44:36 server sshd[3204729]: {MSG}", "server", "sshd",
     3204729, "2023-06-08T10:44:36+00:00", True, True, None),
    ("rfc3164_zero_padded", f"Jul 05 18:22:44 mercury sshd[4669]: {MSG}", "mercury", "sshd", 4669,
     "2023-07-05T18:22:44+00:00", True, True, None),
    ("rfc3164_unpadded", f"Nov 2 15:40:14 workshop sshd[28179]: {MSG}", "workshop", "sshd", 28179,
     "2023-11-02T15:40:14+00:00", True, True, None),
    ("journald_short_precise", f"Sep 03 15:04:53.123456 ubuntu-lab sshd[295]: {MSG}",
     "ubuntu-lab", "sshd", 295, "2023-09-03T15:04:53.123456+00:00", True, True, None),
    ("rfc3339_us_offset", f"2023-11-14T00:20:42.738197+01:00 myserver sshd[1112652]: {MSG}",
     "myserver", "sshd", 1112652, "2023-11-13T23:20:42.738197+00:00", False, False, None),
    ("rfc3339_z", f"2024-01-02T03:04:05Z edge sshd-session[7]: {MSG}", "edge", "sshd-session", 7,
     "2024-01-02T03:04:05+00:00", False, False, None),
    ("rfc3339_offset_without_colon", f"2024-01-02T03:04:05.5-0530 edge sshd[7]: {MSG}", "edge",
     "sshd", 7, "2024-01-02T08:34:05.500000+00:00", False, False, None),
    ("rfc3339_nanoseconds", f"2024-01-02T03:04:05.123456789+00:00 edge sshd[7]: {MSG}", "edge",
     "sshd", 7, "2024-01-02T03:04:05.123456+00:00", False, False, None),
    ("rfc5424_no_sd", "<38>1 2019-07-08T17:40:16.954167-04:00 hostname.example.com sshd 57915 - - "
     f"{MSG}", "hostname.example.com", "sshd", 57915, "2019-07-08T21:40:16.954167+00:00", False,
     False, None),
    ("rfc5424_meta_sequence", '<38>1 2022-01-19T14:23:55+00:00 OPNsense.localdomain sshd 44255 - '
     f'[meta sequenceId="1"] {MSG}', "opnsense.localdomain", "sshd", 44255,
     "2022-01-19T14:23:55+00:00", False, False, 1),
    ("rfc5424_bracket_in_value", '<38>1 2019-07-08T17:40:17.954167-04:00 hostname.example.com sshd '
     '55555 - [timeQuality tzKnown="1" isSynced="0"][xxx@123 test="[brackets]"] ' + MSG,
     "hostname.example.com", "sshd", 55555, "2019-07-08T21:40:17.954167+00:00", False, False, None),
    ("rfc5424_nil_host_pid", f"<38>1 2024-05-01T00:00:00Z - sshd - - - {MSG}", None, "sshd", None,
     "2024-05-01T00:00:00+00:00", False, False, None),
    ("missing_host", f"Feb 17 17:40:17 sshd[19725]: {MSG}", None, "sshd", 19725,
     "2023-02-17T17:40:17+00:00", True, True, None),
    ("bracketed_tag", f"Mar  3 00:17:22 [sshd]: {MSG}", None, "sshd", None,
     "2023-03-03T00:17:22+00:00", True, True, None),
    ("bracketed_tag_no_colon", f"Jun 25 23:53:34 [sshd] {MSG}", None, "sshd", None,
     "2023-06-25T23:53:34+00:00", True, True, None),
    ("sshd_auth", f"Jun 10 12:00:00 srv sshd-auth[9]: {MSG}", "srv", "sshd-auth", 9,
     "2023-06-10T12:00:00+00:00", True, True, None),
    ("program_path", f"Jun 10 12:00:00 srv /usr/sbin/sshd[9]: {MSG}", "srv", "/usr/sbin/sshd", 9,
     "2023-06-10T12:00:00+00:00", True, True, None),
    ("host_lower_case", f"Dec 10 09:32:20 LabSZ sshd[24680]: {MSG}", "labsz", "sshd", 24680,
     "2022-12-10T09:32:20+00:00", True, True, None),
    ("localhost_is_no_host", f"Jul 20 14:42:11 localhost sshd[22708]: {MSG}", None, "sshd", 22708,
     "2023-07-20T14:42:11+00:00", True, True, None),
    ("trailing_space", f"Jun  8 10:44:36 server sshd[1]: {MSG} ", "server", "sshd", 1,
     "2023-06-08T10:44:36+00:00", True, True, None),
]


@pytest.mark.parametrize(("line", "host", "program", "pid", "time", "t_inf", "y_inf", "seq"),
                         [e[1:] for e in ENVELOPES], ids=[e[0] for e in ENVELOPES])
def test_envelope(tmp_path: Path, line: str, host: str | None, program: str, pid: int | None,
                  time: str, t_inf: bool, y_inf: bool, seq: int | None) -> None:
    result = _read(tmp_path, [line])
    (row,) = _rows(result)
    got = (row["host"], row["program"], row["pid"], _iso(row), row["time_inferred"],
           row["year_inferred"], row["src_seq"], row["result"], row["user"], row["src_ip"])
    assert got == (host, program, pid, time, t_inf, y_inf, seq, "invalid", "u", "10.0.0.1")
    assert row["t_us"] == _us(time)
    assert row["host_inferred"] is (None if host is None else False)
    warnings = [i for i in result.account.issues if i.kind == "warning"]
    assert len(warnings) == (host is None)


MALFORMED = [
    ("garbage", "this is not syslog", "no syslog envelope"),
    ("journal_without_time", "srv sshd[13709]: Invalid user x from 1.2.3.4", "without a timestamp"),
    ("impossible_date", "Feb 30 10:00:00 h sshd[1]: Invalid user x from 1.2.3.4",
     "impossible date in inferred year 2023"),
    ("impossible_hour", "Jun 10 25:00:00 h sshd[1]: Invalid user x from 1.2.3.4",
     "impossible date in inferred year 2023"),
    ("rfc5424_nil_time", "<38>1 - h sshd 1 - - Invalid user x from 1.2.3.4",
     "impossible or missing timestamp"),
    ("rfc3339_month_13", "2023-13-01T00:00:00Z h sshd[1]: Invalid user x from 1.2.3.4",
     "impossible or missing timestamp"),
]


@pytest.mark.parametrize(("line", "message"), [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed(tmp_path: Path, line: str, message: str) -> None:
    result = _read(tmp_path, [ENV + MSG, line, "# failJSON: { }", ""])
    a = result.account
    assert (a.read, a.normalised, a.meta, a.malformed) == (4, 1, 2, 1)
    (issue,) = [i for i in a.issues if i.kind == "malformed"]
    assert (issue.location(), issue.excerpt) == ("auth.log:2", line)
    assert message in issue.message
    (span,) = _rows(result, "source_span")
    assert span["records"] == 1


def test_abandon_after_consecutive_malformed(tmp_path: Path) -> None:
    lines = [ENV + MSG, "bad 1", "", "bad 2", "bad 3", ENV + MSG, "bad 4"]
    a = _read(tmp_path, lines, max_consecutive_malformed=3).account
    assert (a.read, a.normalised, a.meta, a.malformed, a.unread) == (7, 1, 1, 3, 2)
    unread = [i for i in a.issues if i.kind == "unread"]
    assert [(i.line, "abandoned after 3" in i.message) for i in unread] == [(5, True)]


# --- year inference ----------------------------------------------------------------------------

def _years(tmp_path: Path, stamps: list[str], **kw: Any) -> list[str]:
    result = _read(tmp_path, [f"{s} h sshd[1]: {MSG}" for s in stamps], **kw)
    return [_iso(r)[:19] for r in _rows(result)]


def test_year_rollover_walking_back_from_january_anchor(tmp_path: Path) -> None:
    stamps = ["Dec 30 10:00:00", "Dec 31 23:59:59", "Jan  1 00:00:01", "Jan  2 08:00:00"]
    assert _years(tmp_path, stamps, anchor_us=_us("2024-01-03T00:00:00+00:00")) == [
        "2023-12-30T10:00:00", "2023-12-31T23:59:59", "2024-01-01T00:00:01", "2024-01-02T08:00:00"]


def test_last_month_later_than_anchor_is_previous_year(tmp_path: Path) -> None:
    assert _years(tmp_path, ["Nov 30 10:00:00", "Dec 10 09:32:20"]) == [
        "2022-11-30T10:00:00", "2022-12-10T09:32:20"]


def test_two_rollovers_backwards(tmp_path: Path) -> None:
    stamps = ["Nov  5 10:00:00", "Jan  5 10:00:00", "Dec  1 10:00:00", "Jan  5 10:00:00"]
    assert _years(tmp_path, stamps, anchor_us=_us("2024-02-01T00:00:00+00:00")) == [
        "2022-11-05T10:00:00", "2023-01-05T10:00:00", "2023-12-01T10:00:00",
        "2024-01-05T10:00:00"]


def test_year_option_rolls_forward(tmp_path: Path) -> None:
    stamps = ["Nov 30 10:00:00", "Dec 31 23:00:00", "Jan  1 01:00:00", "Mar  3 03:00:00",
              "Feb  1 00:00:00"]
    assert _years(tmp_path, stamps, year=2020) == [
        "2020-11-30T10:00:00", "2020-12-31T23:00:00", "2021-01-01T01:00:00",
        "2021-03-03T03:00:00", "2022-02-01T00:00:00"]


def test_lines_slightly_out_of_order_across_a_boundary_keep_their_year(tmp_path: Path) -> None:
    stamps = ["Dec  1 00:00:01", "Nov 30 23:59:59", "Jan  1 00:00:05", "Dec 31 23:59:58"]
    assert _years(tmp_path, stamps, anchor_us=_us("2024-01-02T00:00:00+00:00")) == [
        "2023-12-01T00:00:01", "2023-11-30T23:59:59", "2024-01-01T00:00:05",
        "2023-12-31T23:59:58"]


def test_leap_day(tmp_path: Path) -> None:
    assert _years(tmp_path, ["Feb 29 12:00:00"], anchor_us=_us("2024-03-01T00:00:00+00:00")) == [
        "2024-02-29T12:00:00"]
    a = _read(tmp_path, [f"Feb 29 12:00:00 h sshd[1]: {MSG}"]).account
    assert (a.malformed, a.issues[0].message) == (1, "impossible date in inferred year 2023")


def test_anchor_defaults_to_file_mtime(tmp_path: Path) -> None:
    import os

    path = tmp_path / "auth.log"
    path.write_text(f"Dec 10 09:32:20 h sshd[1]: {MSG}\n", encoding="utf-8")
    mtime = _us("2021-01-05T00:00:00+00:00") // 1_000_000
    os.utime(path, (mtime, mtime))
    result = sshd_syslog.read(ReadContext(path=path, rel="auth.log", con=duckdb.connect()))
    assert _iso(_rows(result)[0]) == "2020-12-10T09:32:20+00:00"


# --- zones -------------------------------------------------------------------------------------

ZONES = [
    ("berlin_summer", "Europe/Berlin", "Jun 10 12:00:00", "2023-06-10T10:00:00+00:00", False),
    ("berlin_winter", "Europe/Berlin", "Jan 10 12:00:00", "2023-01-10T11:00:00+00:00", False),
    ("berlin_ambiguous_fold0", "Europe/Berlin", "Oct 29 02:30:00", "2023-10-29T00:30:00+00:00", True),
    ("berlin_after_fall_back", "Europe/Berlin", "Oct 29 03:30:00", "2023-10-29T02:30:00+00:00", False),
    ("berlin_missing_fold0", "Europe/Berlin", "Mar 26 02:30:00", "2023-03-26T01:30:00+00:00", True),
    ("new_york_ambiguous", "America/New_York", "Nov  5 01:30:00", "2023-11-05T05:30:00+00:00", True),
    ("kolkata", "Asia/Kolkata", "Jun 10 12:00:00", "2023-06-10T06:30:00+00:00", False),
    ("default_utc", None, "Jun 10 12:00:00", "2023-06-10T12:00:00+00:00", True),
]


@pytest.mark.parametrize(("tz", "stamp", "utc", "inferred"), [z[1:] for z in ZONES],
                         ids=[z[0] for z in ZONES])
def test_zone(tmp_path: Path, tz: str | None, stamp: str, utc: str, inferred: bool) -> None:
    result = _read(tmp_path, [f"{stamp} h sshd[1]: {MSG}"], tz=tz)
    (row,) = _rows(result)
    assert (_iso(row), row["time_inferred"], row["year_inferred"]) == (utc, inferred, True)
    dst = result.account.details.get("dst_ambiguous_or_missing_times", 0)
    assert dst == int(inferred and tz is not None)


def test_zone_does_not_apply_to_lines_with_an_offset(tmp_path: Path) -> None:
    result = _read(tmp_path, [f"2023-06-10T12:00:00+02:00 h sshd[1]: {MSG}"], tz="Asia/Tokyo")
    (row,) = _rows(result)
    assert (_iso(row), row["time_inferred"]) == ("2023-06-10T10:00:00+00:00", False)


def test_unknown_zone_is_a_warning_and_utc(tmp_path: Path) -> None:
    result = _read(tmp_path, [f"Jun 10 12:00:00 h sshd[1]: {MSG}"], tz="Mars/Olympus")
    (row,) = _rows(result)
    assert (_iso(row), row["time_inferred"]) == ("2023-06-10T12:00:00+00:00", True)
    assert [i.kind for i in result.account.issues] == ["warning"]


# --- host, server address, spans ---------------------------------------------------------------

def test_host_from_context_when_line_has_none(tmp_path: Path) -> None:
    lines = [f"Jul 20 14:42:11 localhost sshd[1]: {MSG}", f"Feb 17 17:40:17 sshd[2]: {MSG}",
             f"Feb 17 17:40:18 Web1 sshd[3]: {MSG}"]
    result = _read(tmp_path, lines, host="DB1")
    got = [(r["host"], r["host_inferred"]) for r in _rows(result)]
    assert got == [("db1", True), ("db1", True), ("web1", False)]
    assert result.account.issues == []
    assert (result.account.details["hosts"], result.account.details["host_count"]) == (
        ["db1", "web1"], 2)


def test_hostless_file_gets_one_warning(tmp_path: Path) -> None:
    lines = [f"Feb 17 17:40:17 sshd[2]: {MSG}", f"Feb 17 17:40:18 localhost sshd[2]: {MSG}"]
    result = _read(tmp_path, lines)
    assert [r["host"] for r in _rows(result)] == [None, None]
    (issue,) = result.account.issues
    assert (issue.kind, issue.line) == ("warning", 1)
    assert "--host-from-path" in issue.hint
    assert result.account.host is None


def test_server_address_propagates_by_client_endpoint(tmp_path: Path) -> None:
    lines = [
        "Dec 10 09:00:00 h sshd[100]: Connection from 10.0.0.5 port 5000 on 10.0.0.1 port 22",
        f"Dec 10 09:00:01 h sshd[100]: Accepted publickey for alice from 10.0.0.5 port 5000 ssh2: "
        f"ED25519 {ED}",
        "Dec 10 09:00:01 h sshd[100]: pam_unix(sshd:session): session opened for user alice by "
        "(uid=0)",
        "Dec 10 09:00:02 h sshd[101]: Starting session: shell on pts/0 for alice from 10.0.0.5 "
        "port 5000 id 0",
        "Dec 10 09:00:03 h sshd[102]: Accepted password for bob from 10.0.0.6 port 6000 ssh2",
        "Dec 10 09:05:00 h sshd[100]: Received disconnect from 10.0.0.5 port 5000:11: "
        "disconnected by user",
        "Dec 10 09:05:00 h sshd[100]: Disconnected from user alice 10.0.0.5 port 5000",
        "Dec 10 09:05:01 h sshd[100]: Connection closed by 10.0.0.5",
        "Dec 10 09:05:02 other sshd[103]: Connection closed by 10.0.0.5 port 5000",
    ]
    rows = _rows(_read(tmp_path, lines))
    got = [(r["src_line"], r["result"], r["server_ip"], r["server_port"]) for r in rows]
    assert got == [
        (1, "connection", "10.0.0.1", 22), (2, "accepted", "10.0.0.1", 22),
        (4, "session", "10.0.0.1", 22), (5, "accepted", None, None),
        (6, "disconnected", "10.0.0.1", 22), (7, "disconnected", "10.0.0.1", 22),
        (8, "closed", "10.0.0.1", 22), (9, "closed", None, None),
    ]
    assert all(r["server_ip_hi"] is not None for r in rows if r["server_ip"])


def test_source_span_per_host_and_program(tmp_path: Path) -> None:
    lines = [
        "Jun 10 12:00:00 a CRON[1]: (root) CMD (true)",
        f"Jun 10 12:00:05 a sshd[2]: {MSG}",
        "Jun 10 12:00:07 a sshd[2]: pam_unix(sshd:session): session closed for user u",
        "Jun 10 12:00:09 a sshd-session[3]: Received signal 15; terminating.",
        "Jun 10 12:00:10 b CRON[4]: (root) CMD (true)",
        "not a syslog line",
        "Jun 10 12:00:20 a CRON[5]: (root) CMD (true)",
    ]
    spans = _rows(_read(tmp_path, lines), "source_span")
    base = _us("2023-06-10T12:00:00+00:00")
    got = [(s["host"], s["program"], s["first_t_us"] - base, s["last_t_us"] - base, s["records"],
            s["sshd_records"], s["source"], s["format"]) for s in spans]
    assert got == [
        ("a", "CRON", 0, 20_000_000, 2, 0, "syslog", "sshd_syslog"),
        ("a", "sshd", 5_000_000, 7_000_000, 2, 2, "syslog", "sshd_syslog"),
        ("a", "sshd-session", 9_000_000, 9_000_000, 1, 1, "syslog", "sshd_syslog"),
        ("b", "CRON", 10_000_000, 10_000_000, 1, 0, "syslog", "sshd_syslog"),
    ]


def test_empty_file(tmp_path: Path) -> None:
    result = _read(tmp_path, [])
    assert (result.account.read, _rows(result), _rows(result, "source_span")) == (0, [], [])


# --- sniff -------------------------------------------------------------------------------------

SNIFF = [
    ("auth_log", f"{ENV}{MSG}\n" * 3, True),
    ("cron_only_head", "Jun 10 12:00:00 srv CRON[1]: (root) CMD (true)\n" * 6, True),
    ("fail2ban_comments", "# filterOptions: [{}]\n\n#1\n" + f"{ENV}{MSG}\n", True),
    ("rfc5424", f"<38>1 2022-01-19T14:23:55+00:00 h sshd 1 - - {MSG}\n", True),
    ("journal_without_time", f"srv sshd[1]: {MSG}\nsrv sshd[2]: {MSG}\n", True),
    ("one_damaged_head_line", "garbage\n" + f"{ENV}{MSG}\n" * 4, True),
    ("json", '{"event": {}}\n', False),
    ("zeek_tsv", "#separator \\x09\n#fields\tts\tuid\n1300475167.096535\tC1\n", False),
    ("unified_log", f"2020-03-23 06:47:42.801612-0700  localhost sshd[3186]: {MSG}\n", False),
    ("text", "hello world\nthis is prose\n", False),
    ("empty", "", False),
    ("binary", "\x00\x01\x02", False),
]


@pytest.mark.parametrize(("text", "claimed"), [s[1:] for s in SNIFF], ids=[s[0] for s in SNIFF])
def test_sniff(text: str, claimed: bool) -> None:
    assert sshd_syslog.sniff(text.encode()) is claimed


# --- pattern plumbing --------------------------------------------------------------------------

ALL_PATTERNS = {**sl.ENVELOPES, "notime": sl.NOTIME, "ts": sl.RFC3339_TS,
                **{k: t.pattern for k, t in msgs.TEMPLATES.items()},
                "preauth_other": msgs.PREAUTH_OTHER, "pam": msgs.PAM, "partial": msgs.PARTIAL,
                "repeated": msgs.REPEATED, "key": msgs.KEY}


@pytest.mark.parametrize("name", sorted(ALL_PATTERNS))
def test_compact_pattern_equals_verbose(name: str, corpus: Path) -> None:
    """RE2 gets the compacted text; it must mean what the commented verbose pattern means."""
    verbose = re.compile(ALL_PATTERNS[name], re.VERBOSE)
    compact = re.compile(sl.compact(ALL_PATTERNS[name]))
    assert compact.groupindex == verbose.groupindex
    assert verbose.groups == len(verbose.groupindex)  # every group named: positions are names
    texts = [ln for f in ("loghub-openssh/OpenSSH_2k.log", "fail2ban-sshd/sshd")
             for ln in (corpus / f).read_text(encoding="utf-8").splitlines()]
    texts += [m[1] for m in MESSAGES] + [e[1] for e in ENVELOPES]
    for text in texts:
        for body in (text, text.split(": ", 1)[-1]):
            a, b = verbose.search(body), compact.search(body)
            assert (a and a.groups()) == (b and b.groups()), body


# --- whole corpus files ------------------------------------------------------------------------

# file, read, normalised, skipped_by_type, meta, malformed, duplicates, rows per result
CORPUS = [
    ("crowdsec-hub-sshd/opnsense-sshd.log", 10, 10, {}, 0, 0, 0, {"invalid": 10}),
    ("crowdsec-hub-sshd/ssh-bf.log", 7, 6, {}, 1, 0, 0, {"invalid": 6}),
    ("crowdsec-hub-sshd/sshd-bad-keyexchange-bf.log", 19, 19, {}, 0, 0, 0, {"preauth": 19}),
    ("crowdsec-hub-sshd/sshd-logs.log", 24, 18, {"sshd_pam": 2, "sshd_unmatched": 4}, 0, 0, 0,
     {"invalid": 5, "preauth": 12, "failed": 1}),
    ("crowdsec-hub-sshd/sshd-success-logs.log", 4, 4, {}, 0, 0, 0, {"accepted": 4}),
    ("loghub-openssh/OpenSSH_2k.log", 2000, 1150, {"sshd_pam": 648, "sshd_unmatched": 202}, 0, 0,
     8, {"accepted": 1, "failed": 524, "invalid": 113, "preauth": 501, "closed": 10,
         "disconnected": 1}),
    ("loghub-linux/Linux_2k.log", 2000, 0, {"sshd_pam": 677, "other_program": 1323}, 0, 0, 0, {}),
    ("fail2ban-sshd/sshd", 417, 104, {"sshd_pam": 20, "sshd_partial": 1, "sshd_unmatched": 30},
     262, 0, 0, {"failed": 30, "accepted": 4, "invalid": 11, "preauth": 39, "closed": 13,
                 "connection": 7}),
    ("fail2ban-sshd/sshd-journal", 348, 0, {}, 219, 129, 0, {}),
]


@pytest.mark.parametrize(("rel", "read", "norm", "skipped", "meta", "malformed", "dup", "results"),
                         CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus_counts(corpus: Path, rel: str, read: int, norm: int, skipped: dict[str, int],
                       meta: int, malformed: int, dup: int, results: dict[str, int]) -> None:
    path = corpus / rel
    assert sshd_syslog.sniff(read_head(path))
    ctx = ReadContext(path=path, rel=rel, con=duckdb.connect(), anchor_us=ANCHOR)
    result = sshd_syslog.read(ctx)
    a = result.account
    assert a.balanced()
    assert (a.read, a.normalised, a.skipped_by_type, a.meta, a.malformed, a.unread,
            a.duplicates) == (read, norm, skipped, meta, malformed, 0, dup)
    rows = _rows(result)
    assert dict(Counter(r["result"] for r in rows)) == results
    assert len([i for i in a.issues if i.kind == "malformed"]) == malformed
    spans = _rows(result, "source_span")
    assert sum(s["records"] for s in spans) == norm + sum(skipped.values())


def test_journal_without_timestamps_explains_itself(corpus: Path) -> None:
    rel = "fail2ban-sshd/sshd-journal"
    result = sshd_syslog.read(ReadContext(path=corpus / rel, rel=rel, con=duckdb.connect()))
    issues = result.account.issues
    assert len(issues) == 129
    assert {(i.kind, i.message, i.hint) for i in issues} == {
        ("malformed", "syslog line without a timestamp (journal short form?)",
         "export with `journalctl -o short-iso` (or `-o json`) so every line keeps its time")}
    assert issues[0].location() == f"{rel}:9"


# loghub EventId -> what the reader must make of the line
LOGHUB = {
    "E1": "accepted", "E2": "preauth", "E3": "closed", "E4": "sshd_unmatched",
    "E5": "sshd_unmatched", "E6": "preauth", "E7": "preauth", "E8": "failed", "E9": "failed",
    "E10": "failed", "E11": "sshd_unmatched", "E12": "sshd_unmatched", "E13": "invalid",
    "E14": "failed", "E24": "preauth", "E25": "preauth", "E26": "disconnected",
    "E27": "sshd_unmatched", **{f"E{n}": "sshd_pam" for n in range(15, 24)},
}


def test_openssh_2k_against_loghub_labels(corpus: Path) -> None:
    """Per line: result, pid and time agree with loghub's structured answer key."""
    rel = "loghub-openssh/OpenSSH_2k.log"
    result = sshd_syslog.read(ReadContext(path=corpus / rel, rel=rel, con=duckdb.connect(),
                                          anchor_us=ANCHOR))
    with (corpus / "loghub-openssh/OpenSSH_2k.log_structured.csv").open(encoding="utf-8") as f:
        key = list(csv.DictReader(f))
    assert len(key) == 2000
    want = {int(k["LineId"]): LOGHUB[k["EventId"]] for k in key}
    rows = {r["src_line"]: r for r in _rows(result)}
    assert {n: r["result"] for n, r in rows.items()} == {
        n: v for n, v in want.items() if not v.startswith("sshd_")}
    skipped = Counter(v for v in want.values() if v.startswith("sshd_"))
    assert result.account.skipped_by_type == dict(skipped)
    for k in key:
        row = rows.get(int(k["LineId"]))
        if row is None:
            continue
        stamp = f"2022-{k['Date']}-{int(k['Day']):02d}T{k['Time']}+00:00"
        when = datetime.strptime(stamp, "%Y-%b-%dT%H:%M:%S%z")
        assert (row["pid"], row["time"], row["host"]) == (int(k["Pid"]), when, "labsz")
