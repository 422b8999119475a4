"""End-to-end behaviour of `agenttrail hunt` and the small commands: determinism, bad input,
exit codes, config checking, the rule catalogue."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from agenttrail.cli import app
from tests import casekit

CASES = Path(__file__).parent / "cases"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _case_inputs(tmp: Path, name: str = "hijack_lateral_lineage") -> tuple[Path, list[str]]:
    case = casekit.load(CASES / f"{name}.toml")
    inputs = tmp / "in"
    return inputs, casekit.render(case, inputs)


def test_deterministic_outputs_whatever_the_input_order(tmp_path: Path) -> None:
    inputs, opts = _case_inputs(tmp_path)
    files = sorted(str(p) for p in inputs.rglob("*") if p.is_file() and p.name != "assets.csv")
    outs = []
    for i, order in enumerate((files, files, list(reversed(files)))):
        out = tmp_path / f"out{i}"
        code, _ = run("hunt", *order, *opts, "-o", str(out), "--threads", str(1 + i))
        assert code == 1
        outs.append(out)
    for name in ("findings.json", "report.json"):
        texts = {(o / name).read_bytes() for o in outs}
        assert len(texts) == 1, name
    findings = json.loads((outs[0] / "findings.json").read_text())
    jsonl = (outs[0] / "findings.jsonl").read_text().splitlines()
    assert [json.loads(x) for x in jsonl] == findings
    report = (outs[0] / "report.json").read_text()
    assert str(tmp_path) not in report  # no absolute paths
    run_json = json.loads((outs[0] / "run.json").read_text())
    assert run_json["timings"]["total_s"] >= 0


def test_bad_input_is_reported_with_location_and_the_rest_processed(tmp_path: Path) -> None:
    inputs, opts = _case_inputs(tmp_path)
    es = inputs / "macs" / "mac-shared" / "eslogger.jsonl"
    lines = es.read_text().splitlines(keepends=True)
    corrupt = [*lines[:2], '{"schema_version":1,"event":{"exec":\n', *lines[2:]]
    corrupt.append('{"schema_version":1,"version":9,"time":"2026-03-02T09:10:00')  # truncated
    es.write_text("".join(corrupt))
    (inputs / "notes.txt").write_text("this is not telemetry\n")
    nohost = tmp_path / "in" / "stray.jsonl"
    shutil.copy(es, nohost)
    code, output = run("hunt", str(inputs), *opts, "-o", str(tmp_path / "out"))
    assert code == 1  # the hijack is still found
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    files = {f["path"]: f for f in report["inputs"]["files"]}
    es_acc = files["macs/mac-shared/eslogger.jsonl"]
    assert es_acc["malformed"] == 2
    assert [i["line"] for i in es_acc["issues"]] == [3, len(corrupt)]
    assert files["notes.txt"]["unread"] == 1
    assert files["notes.txt"]["issues"][0]["message"].startswith("not in any format")
    assert files["stray.jsonl"]["unread"] == len(corrupt)
    assert "--host" in files["stray.jsonl"]["issues"][0]["hint"]
    assert "macs/mac-shared/eslogger.jsonl:3" in output.replace("\n", "")
    assert "stray.jsonl" in output
    assert [i["rule_id"] for i in report["incidents"]] == ["agent_hijack_lateral_ssh"]
    code, _ = run("hunt", str(inputs), *opts, "--strict", "--fail-on", "none")
    assert code == 3


def test_exit_codes(tmp_path: Path) -> None:
    inputs, opts = _case_inputs(tmp_path, "own_sudo_ssh")
    assert run("hunt", str(inputs), *opts)[0] == 0
    assert run("hunt", str(tmp_path / "missing"))[0] == 2
    assert run("hunt", str(inputs), *opts, "--fail-on", "sometimes")[0] == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "x.log").write_text("")
    assert run("hunt", str(empty))[0] == 3


def test_config_print_default_validates_and_errors_name_the_line(tmp_path: Path) -> None:
    code, text = run("config", "--print-default")
    assert code == 0
    cfg = tmp_path / "a.toml"
    cfg.write_text(text)
    assert run("config", "validate", str(cfg))[0] == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("[network]\nssh_ports = [22]\n\n[windows]\ntime_windw = 60\n")
    code, output = run("config", "validate", str(bad))
    assert code == 2
    assert f"{bad}:5" in output.replace("\n", "")
    assert "time_windw" in output


def test_rules_lists_the_catalogue() -> None:
    code, output = run("rules", "--json")
    assert code == 0
    ids = [r["id"] for r in json.loads(output)]
    assert ids == [
        "agent_socket_cross_user", "agent_env_foreign_socket", "agent_hijack_lateral_ssh",
        "agent_hijack_external_ssh", "ssh_flow_without_login", "agent_socket_owner_unknown",
    ]
    code, output = run("rules", "ssh_flow_without_login")
    assert "auth_min_pkts" in output


def test_input_format_overrides_recognition(tmp_path: Path) -> None:
    # constructed: an sshd log whose first lines are a banner no reader recognises
    log = tmp_path / "db1-auth.txt"
    banner = "".join(f"exported by collector, page {i}\n" for i in range(8))
    accepted = ("Mar  2 10:15:19 db1 sshd[4242]: Accepted publickey for alice from 10.10.1.35 "
                "port 58583 ssh2: ED25519 SHA256:sQvstVY7/B5vk0J+y8j+KVXlzY5G3I7Ut8J2TSpaTXY\n")
    log.write_text(banner + accepted)
    out1, out2 = tmp_path / "o1", tmp_path / "o2"
    code, _ = run("hunt", str(log), "--collected-at", "2026-03-02T18:00:00Z", "-o", str(out1))
    assert code == 3  # not recognised: nothing read
    acc = json.loads((out1 / "report.json").read_text())["inputs"]["files"][0]
    assert (acc["format"], acc["read"], acc["unread"]) == (None, 9, 9)
    code, _ = run("hunt", str(log), "--input-format", "sshd_syslog",
                  "--collected-at", "2026-03-02T18:00:00Z", "-o", str(out2))
    assert code == 0
    acc = json.loads((out2 / "report.json").read_text())["inputs"]["files"][0]
    assert (acc["format"], acc["read"], acc["normalised"]) == ("sshd_syslog", 9, 1)
    assert acc["read"] == acc["normalised"] + acc["meta"] + acc["malformed"] + acc["unread"] + sum(
        acc["skipped_by_type"].values())
    code, output = run("hunt", str(log), "--input-format", "syslogish")
    assert code == 2 and "sshd_syslog" in output


def test_formats_lists_every_reader_with_an_example() -> None:
    from agenttrail.readers import READERS

    code, output = run("formats")
    assert code == 0
    for r in READERS:
        assert r.NAME in output
        assert r.EXAMPLE.splitlines()[0][:40] in output


def test_terminal_never_interprets_input_strings(tmp_path: Path) -> None:
    """An ssh argument with an ESC sequence, Rich markup and a bidi override is shown escaped."""
    inputs, opts = _case_inputs(tmp_path)
    es = inputs / "macs" / "mac-shared" / "eslogger.jsonl"
    hostile = "-vx\x1b[2J[bold]x[/bold]\u202egnp.exe"
    text = es.read_text()
    assert '"alice@db1"' in text
    es.write_text(text.replace('"alice@db1"', '"alice@db1",' + json.dumps(hostile)))
    code, output = run("hunt", str(inputs), *opts)
    assert code == 1
    assert "\x1b" not in output and "\u202e" not in output
    assert "ssh alice@db1 -vx\\x1b[2J[bold]x[/bold]\\u202egnp.exe" in output


def test_scope_cuts_findings_not_the_evidence_they_need(tmp_path: Path) -> None:
    """--only-host narrows the endpoints, never the destinations' logins; --until cuts findings,
    while the login 0.8 s after the cut still proves the hop's login present."""
    inputs, opts = _case_inputs(tmp_path)
    for extra, want in (
        (["--only-host", "mac-shared"], ["present"]),
        (["--until", casekit.at(100.5).isoformat()], ["present"]),
        (["--only-host", "mac-*", "--since", casekit.at(99).isoformat()], ["present"]),
    ):
        out = tmp_path / "o"
        code, output = run("hunt", str(inputs), *opts, *extra, "-o", str(out))
        assert code == 1, (extra, output)
        report = json.loads((out / "report.json").read_text())
        [inc] = report["incidents"]
        assert [h["login_status"] for h in inc["hops"]] == want, extra
        assert report["scope"]["only_host"] == (extra[1] if extra[0] == "--only-host" else None)
    for extra in (["--only-host", "db1"], ["--since", casekit.at(200).isoformat()],
                  ["--until", casekit.at(90).isoformat()]):
        code, output = run("hunt", str(inputs), *opts, *extra, "-o", str(tmp_path / "o2"))
        assert code == 0, (extra, output)
        assert json.loads((tmp_path / "o2" / "report.json").read_text())["incidents"] == []


def test_secrets_reach_no_output(tmp_path: Path) -> None:
    """DESIGN §3: env entries other than the kept ones and secret-looking argument values never
    reach an output, also when the record is damaged and only quoted as an issue excerpt."""
    inputs, opts = _case_inputs(tmp_path)
    es = inputs / "macs" / "mac-shared" / "eslogger.jsonl"
    text = es.read_text()
    assert '"alice@db1"' in text
    text = text.replace('"alice@db1"', '"alice@db1","mysql -pTOPSECRET7 -p3306",'
                        '"https://bob:TOPSECRET8@repo.example/x"')
    damaged = ('{"event":{"exec":{"env":["AWS_SECRET_ACCESS_KEY=TOPSECRET11","USER=root"],'
               '"args":["curl","--token=TOPSECRET12"\n')
    lines = text.splitlines(keepends=True)
    es.write_text("".join([lines[0], damaged, *lines[1:]]))
    out = tmp_path / "out"
    code, terminal = run("hunt", str(inputs), *opts, "-o", str(out))
    assert code == 1
    texts = {p.name: p.read_text() for p in out.iterdir()} | {"terminal": terminal}
    for name, body in texts.items():
        assert "TOPSECRET" not in body, name
    report = json.loads(texts["report.json"])
    [inc] = report["incidents"]
    ssh = next(p for p in inc["processes"] if p["exe"].endswith("/ssh"))
    assert ssh["args"] == ["ssh", "alice@db1", "mysql -p<redacted> -p3306",
                           "https://bob:<redacted>@repo.example/x"]
    issue = next(f for f in report["inputs"]["files"] if f["path"].endswith("eslogger.jsonl"))
    assert "AWS_SECRET_ACCESS_KEY=<dropped>" in issue["issues"][0]["excerpt"]


def test_files_whose_records_name_their_host_need_no_host_option(tmp_path: Path) -> None:
    """osquery and auditd records name their host (hostIdentifier, node=): read without --host;
    records without one are reported unread (DESIGN §3 host identity)."""
    from agenttrail.readers import osquery

    f = tmp_path / "osqueryd.results.log"
    nameless = osquery.EXAMPLE.replace('"hostIdentifier":"mac-shared",', "")
    f.write_text(osquery.EXAMPLE + "\n" + nameless + "\n")
    out = tmp_path / "o"
    run("hunt", str(f), "-o", str(out))
    [acc] = json.loads((out / "report.json").read_text())["inputs"]["files"]
    assert (acc["format"], acc["read"], acc["normalised"], acc["unread"]) == ("osquery", 2, 1, 1)
    assert "no host" in acc["issues"][0]["message"]
