"""Every real sample of the formats agenttrail reads in the shared corpus, hunted together: each
file is claimed by the right reader, its counts are exact, and the accounting identity of DESIGN §8
holds per file in report.json. (auditd counts events, see tests/readers/test_auditd.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agenttrail.cli import app

# path under corpus/ → (format, read, normalised, skipped_by_type total, meta, malformed)
EXPECTED = {
    "zeek-btest/ssh.basic.conn.log": ("zeek", 35, 25, 0, 10, 0),
    "zeek-btest/ssh.basic.conn.2018-realts.log": ("zeek", 34, 25, 0, 9, 0),
    "zeek-btest/ssh.basic.ssh.log": ("zeek", 32, 22, 0, 10, 0),
    "zeek-btest/ssh.basic.ssh.2018-realts.log": ("zeek", 31, 22, 0, 9, 0),
    "zeek-btest/ssh.half-duplex-client.conn.log": ("zeek", 35, 25, 0, 10, 0),
    "zeek-btest/ssh.half-duplex-client.ssh.log": ("zeek", 30, 20, 0, 10, 0),
    "zeek-btest/ssh.mlkem_kex.ssh.log": ("zeek", 11, 1, 0, 10, 0),
    "zeek-btest/ssh.pre-banner.conn.log": ("zeek", 11, 1, 0, 10, 0),
    "zeek-btest/ssh.pre-banner.ssh.log": ("zeek", 11, 1, 0, 10, 0),
    "zeek-docs-examples/conn_json_examples_2020.jsonl": ("zeek", 2, 2, 0, 0, 0),
    "zeek-docs-examples/ssh_json_examples_hassh_2020.jsonl": ("zeek", 5, 5, 0, 0, 0),
    "zed-sample-data-wrccdc2018/ssh.log": ("zeek", 31, 22, 0, 9, 0),
    "zed-sample-data-wrccdc2018/ssh.log.gz": ("zeek", 31, 22, 0, 9, 0),
    "zed-sample-data-wrccdc2018/ssh.json": ("zeek", 22, 22, 0, 0, 0),
    "zed-sample-data-wrccdc2018/software.ssh-only.log": ("zeek", 24, 0, 15, 9, 0),
    "zed-sample-data-wrccdc2018/known_services.ssh-only.log": ("zeek", 15, 0, 6, 9, 0),
    "crowdsec-hub-sshd/opnsense-sshd.log": ("sshd_syslog", 10, 10, 0, 0, 0),
    "crowdsec-hub-sshd/ssh-bf.log": ("sshd_syslog", 7, 6, 0, 1, 0),
    "crowdsec-hub-sshd/sshd-bad-keyexchange-bf.log": ("sshd_syslog", 19, 19, 0, 0, 0),
    "crowdsec-hub-sshd/sshd-logs.log": ("sshd_syslog", 24, 18, 6, 0, 0),
    "crowdsec-hub-sshd/sshd-success-logs.log": ("sshd_syslog", 4, 4, 0, 0, 0),
    "loghub-openssh/OpenSSH_2k.log": ("sshd_syslog", 2000, 1150, 850, 0, 0),
    "loghub-linux/Linux_2k.log": ("sshd_syslog", 2000, 0, 2000, 0, 0),
    "fail2ban-sshd/sshd": ("sshd_syslog", 417, 104, 51, 262, 0),
    "fail2ban-sshd/sshd-journal": ("sshd_syslog", 348, 0, 0, 219, 129),
    "macos/eslogger_mullvad_exec_fork_exit_v9_v10_v11.jsonl": ("eslogger", 4, 4, 0, 0, 0),
    "go-libaudit-auditd/aucoalesce_random-internet_rawlines.log": ("auditd", 2, 0, 2, 0, 0),
    "go-libaudit-auditd/aucoalesce_rhel-7-linux-3.10.0_rawlines.log": ("auditd", 10, 4, 6, 0, 0),
    "go-libaudit-auditd/aucoalesce_ubuntu-16.04-linux-4.13.0_rawlines.log":
        ("auditd", 2, 0, 2, 0, 0),
    "go-libaudit-auditd/aucoalesce_ubuntu-16.10-linux-4.8.0_rawlines.log":
        ("auditd", 14, 4, 10, 0, 0),
    "go-libaudit-auditd/aucoalesce_ubuntu-17.04-linux-4.10.0_rawlines.log":
        ("auditd", 15, 3, 12, 0, 0),
    "go-libaudit-auditd/aucoalesce_ubuntu-20.04.6-linux-5.15.0-1034-gcp_rawlines.log":
        ("auditd", 1, 1, 0, 0, 0),
    "go-libaudit-auditd/aucoalesce_ubuntu-21.10-linux-5.13_rawlines.log":
        ("auditd", 3, 0, 3, 0, 0),
    "go-libaudit-auditd/aucoalesce_ubuntu-24.04-linux-6.8.0_rawlines.log":
        ("auditd", 1, 0, 1, 0, 0),
    "go-libaudit-auditd/auparse_audit-rhel6.log": ("auditd", 2, 0, 2, 0, 0),
    "go-libaudit-auditd/auparse_audit-rhel7.log": ("auditd", 47, 11, 35, 0, 1),
    "go-libaudit-auditd/auparse_audit-ubuntu14.log": ("auditd", 1, 0, 1, 0, 0),
    "go-libaudit-auditd/auparse_audit-ubuntu16.log": ("auditd", 3, 2, 1, 0, 0),
    "go-libaudit-auditd/auparse_audit-ubuntu17.log": ("auditd", 1, 1, 0, 0, 0),
    # flow readers; counts by jq (event types) and wc/grep/awk (headers, summary blocks, status)
    "panther-suricata-eve/eve_4sics_flow.jsonl": ("suricata", 10, 10, 0, 0, 0),
    "panther-suricata-eve/eve_4sics_ssh.jsonl": ("suricata", 10, 10, 0, 0, 0),
    "panther-suricata-eve/eve_aws_sensor_2020-03-05.jsonl": ("suricata", 8, 4, 4, 0, 0),
    "derived-nfdump-from-zeek-ssh-pcap/nfdump-1.7.1_o-csv_unidirectional_TZ-UTC.csv":
        ("nfdump", 52, 48, 0, 4, 0),
    "derived-nfdump-from-zeek-ssh-pcap/nfdump-1.7.1_o-csv_bidirectional-b_TZ-UTC.csv":
        ("nfdump", 29, 25, 0, 4, 0),
    "derived-nfdump-from-zeek-ssh-pcap/nfdump-1.7.1_o-long_TZ-UTC.txt": ("nfdump", 53, 48, 0, 5, 0),
    "derived-nfdump-from-zeek-ssh-pcap/nfdump-1.7.1_o-fmt_TZ-UTC.txt": ("nfdump", 53, 48, 0, 5, 0),
    "aws-vpc-flow-docs/vpc_flow_v2_default_examples.log": ("vpcflow", 8, 5, 2, 1, 0),
    "aws-vpc-flow-docs/vpc_flow_v3_custom_tcpflags_examples.log": ("vpcflow", 9, 8, 0, 1, 0),
    "aws-vpc-flow-docs/vpc_flow_v5_custom_examples.log": ("vpcflow", 3, 2, 0, 1, 0),
    # 3 lines, all of queries the reader does not use (jq -r .name | sort | uniq -c: 1 + 2)
    "macos/osquery_results_event_format_sample.jsonl": ("osquery", 3, 0, 3, 0, 0),
    "macos/macos_unified_log_sshd_syslog_style_2020.log": ("unified_log", 21, 15, 6, 0, 0),
    "macos/macos_unified_log_sshd_session_2026_excerpts.log": ("unified_log", 17, 1, 5, 4, 7),
    "macos/macos_unified_log_loginwindow_tcc_syslog_style_2023.log": (
        "unified_log", 10, 0, 10, 0, 0),
    "util-linux-wtmp/utmp_wtmp-a.LE": ("wtmp", 19, 12, 7, 0, 0),
    "util-linux-wtmp/utmp_wtmp-b.LE": ("wtmp", 10, 10, 0, 0, 0),
    "util-linux-wtmp/utmp_wtmp-ipv6.LE": ("wtmp", 2, 2, 0, 0, 0),
    "util-linux-wtmp/utmp_txt-a": ("utmpdump", 19, 12, 7, 0, 0),
    "util-linux-wtmp/utmp_txt-b": ("utmpdump", 10, 10, 0, 0, 0),
    "util-linux-wtmp/utmp_txt-ipv6": ("utmpdump", 2, 2, 0, 0, 0),
}


def test_corpus_counts_and_accounting(corpus: Path, tmp_path: Path) -> None:
    paths = [str(corpus / p) for p in EXPECTED]
    result = CliRunner().invoke(app, [
        "hunt", *paths, "--host", "corpus-mac", "--collected-at", "2026-12-01T00:00:00Z",
        "-o", str(tmp_path), "--fail-on", "none",
    ])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    files = {f["path"]: f for f in report["inputs"]["files"]}
    assert set(files) == set(EXPECTED)
    for path, (fmt, read, norm, skipped, meta, malformed) in EXPECTED.items():
        f = files[path]
        got = (f["format"], f["read"], f["normalised"], sum(f["skipped_by_type"].values()),
               f["meta"], f["malformed"])
        assert got == (fmt, read, norm, skipped, meta, malformed), path
        assert f["unread"] == 0
        assert f["read"] == (f["normalised"] + sum(f["skipped_by_type"].values()) + f["meta"]
                             + f["malformed"] + f["unread"]), path
        assert len(f["sha256"]) == 64 and f["size"] > 0
    t = report["inputs"]["totals"]
    assert t["read"] == sum(v[1] for v in EXPECTED.values())
    assert f"{t['read']} records read, {t['normalised']} normalised" in result.output
