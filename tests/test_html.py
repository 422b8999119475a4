"""The HTML report: self-contained, escaped, deterministic, and visible in a real browser.

The browser tests drive headless Chromium through Selenium and chromedriver (Debian packages
``chromium`` and ``chromium-driver``; ``.ci/run`` installs them). Without them the browser tests
skip with the reason, except when ``AGENTTRAIL_REQUIRE_BROWSER=1`` (set by ``.ci/run``), where a
missing browser fails. Screenshots are kept under ``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agenttrail.cli import app
from agenttrail.outputs import html
from agenttrail.outputs.html import timeline
from agenttrail.outputs.html_chain import chain_diagram
from tests import hostile_case

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo" / "data"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
# the options of the Makefile's `demo` target
DEMO_ARGS = ["--host-from-path", "macs/{host}/*", "--assets", str(DEMO / "assets.csv"),
             "--collected-at", "2026-03-02T18:00:00Z", "--fail-on", "none"]


def _hunt(inputs: Path, opts: list[str], out: Path) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["hunt", str(inputs), *opts, "-o", str(out)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code in (0, 1), result.output
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The demo dataset hunted as `make demo` does: (output folder, report)."""
    out = tmp_path_factory.mktemp("demo-out")
    return out, _hunt(DEMO, DEMO_ARGS, out)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The hostile case hunted: (output folder, report)."""
    base = tmp_path_factory.mktemp("hostile")
    opts = hostile_case.write(base / "in")
    out = base / "out"
    return out, _hunt(base / "in", [*opts, "--fail-on", "none"], out)


# --------------------------------------------------------------------------- without a browser


def _hidden_chars(text: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in text if c != "\n"
                   and unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")})


def test_hunt_writes_a_self_contained_page_with_a_strict_csp(
        demo: tuple[Path, dict[str, Any]]) -> None:
    out, _ = demo
    page = (out / "report.html").read_text(encoding="utf-8")
    [policy] = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page)
    policy = policy.replace("&#39;", "'")
    [style] = re.findall(r"<style>(.*?)</style>", page, flags=re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert policy == (f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; "
                      "form-action 'none'")
    assert "unsafe" not in policy
    assert "<script" not in page.lower()
    assert " style=" not in page  # inline style attributes would need 'unsafe-inline'
    # nothing to fetch: every link is an anchor in the page, no src at all
    assert re.findall(r'\shref="([^"]*)"', page) and all(
        h.startswith("#") for h in re.findall(r'\shref="([^"]*)"', page))
    assert not re.search(r"\ssrc=|url\((?!#)|@import", page)
    assert page.count('class="incident ') == 2
    assert page.count('class="chain-diagram"') == 2


def test_same_report_gives_byte_identical_html(demo: tuple[Path, dict[str, Any]],
                                               tmp_path: Path) -> None:
    """Two renders in this process and two `agenttrail report` runs with other hash seeds."""
    out, report = demo
    written = (out / "report.html").read_bytes()
    assert html.render(report).encode() == written
    assert html.render(copy.deepcopy(report)).encode() == written
    for seed in ("0", "4242"):
        target = tmp_path / f"seed-{seed}.html"
        subprocess.run(
            [sys.executable, "-m", "agenttrail.cli", "report", str(out / "report.json"),
             "-o", str(target)],
            check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert target.read_bytes() == written, f"PYTHONHASHSEED={seed}"


def test_report_command_gives_the_html_hunt_wrote(demo: tuple[Path, dict[str, Any]],
                                                  tmp_path: Path) -> None:
    out, _ = demo
    target = tmp_path / "again.html"
    result = CliRunner().invoke(app, ["report", str(out / "report.json"), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == (out / "report.html").read_bytes()
    # without -o: report.html beside the JSON (here a copy, so hunt's file is not the one read)
    copy_dir = tmp_path / "copy"
    copy_dir.mkdir()
    shutil.copy(out / "report.json", copy_dir / "report.json")
    result = CliRunner().invoke(app, ["report", str(copy_dir / "report.json")])
    assert result.exit_code == 0, result.output
    assert (copy_dir / "report.html").read_bytes() == (out / "report.html").read_bytes()


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "cannot read"),
    ('{"findings": []}', "is not an agenttrail report.json"),
    ('{"report_version": 1, "incidents": [{"signals": 7}]}', "could not be rendered"),
], ids=["not-json", "not-a-report", "damaged"])
def test_report_command_rejects_what_is_not_a_report(tmp_path: Path, content: str,
                                                     message: str) -> None:
    src = tmp_path / "report.json"
    src.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(app, ["report", str(src), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "r.html").exists()


def test_hostile_strings_are_escaped_in_the_source(hostile: tuple[Path, dict[str, Any]]) -> None:
    out, report = hostile
    page = (out / "report.html").read_text(encoding="utf-8")
    # the dataset really carried the payloads into the report
    [inc] = report["incidents"]
    assert inc["host"] == hostile_case.MAC
    assert inc["actor"]["auid_name"] == hostile_case.ACTOR
    assert inc["socket"]["path"] == hostile_case.SOCKET
    assert inc["processes"][0]["exe"] == hostile_case.EXE
    assert inc["hops"][0]["login"]["user"] == hostile_case.LOGIN_USER
    files = {f["path"]: f for f in report["inputs"]["files"]}
    mac_log = files[f"macs/{hostile_case.MAC}/eslogger.jsonl"]
    assert mac_log["skipped_by_type"] == {hostile_case.EVENT_TYPE: 1}
    assert mac_log["issues"][0]["excerpt"].startswith('{"time":"<script>')
    # ... and the page holds none of them as markup, and no hidden character at all
    assert _hidden_chars(page) == []
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "<svg onload" not in page.lower() and "<svg/onload" not in page.lower()
    assert "<b>" not in page
    assert "&lt;script&gt;window.__pwned=4&lt;/script&gt;" in page
    assert "bob&#34;&gt;&lt;svg/onload=window.__pwned=2&gt;" in page
    assert "<span class=ctl>\\u202e</span>" in page
    assert "<span class=ctl>\\x1b</span>" in page
    # a surrogate that no UTF-8 writer can encode still renders
    broken = copy.deepcopy(report)
    broken["incidents"][0]["host"] = "x\ud800y"
    assert "x<span class=ctl>\\ud800</span>y" in html.render(broken)


def test_sections_that_arrive_with_other_issues_are_rendered(
        demo: tuple[Path, dict[str, Any]]) -> None:
    """Coverage as per-step objects (with fixes), an inventory, suppression and disposition."""
    _, report = demo
    r = copy.deepcopy(report)
    r["coverage"]["endpoints"][0]["steps"] = [
        {"step": "socket_access", "status": "partial", "evidence": {"connects": 3},
         "fix": "subscribe eslogger to uipc_connect (agenttrail sensors eslogger)"},
        {"step": "process_flow_link", "status": "missing", "evidence": {},
         "fix": "ship Zeek conn.log"},
    ]
    r["inventory"] = {"agent_sockets": [{"path": "/tmp/ssh-AbCdEf1234/agent.77", "host": "m1",
                                         "first_us": 1772442000000000, "scope": "tmp"}],
                      "multi_user_macs": ["mac-shared"]}
    r["incidents"][0]["status"] = "Suppressed"
    r["incidents"][0]["allowlist"] = {"reason": "backup job <nightly>", "expires": "never"}
    r["incidents"][1]["status"] = "Resolved"
    r["incidents"][1]["disposition"] = {"disposition": "true positive", "analyst": "eve"}
    r["incidents"][1]["blast_radius"] = [{"host": "db1", "user": "alice", "t_us": 1772446519000000}]
    page = html.render(r)
    assert "process flow link" in page and "✗ missing" in page and "◐ partial" in page
    assert "subscribe eslogger to uipc_connect" in page and "ship Zeek conn.log" in page
    assert 'id="inventory"' in page and "/tmp/ssh-AbCdEf1234/agent.77" in page
    assert "2026-03-02T09:00:00.000Z" in page  # first_us shown as a time
    assert "backup job &lt;nightly&gt;" in page and "Suppressed" in page
    assert "true positive" in page and "Resolved" in page
    assert "blast radius" in page
    assert _hidden_chars(page) == []


def test_chain_has_one_branch_per_hop(demo: tuple[Path, dict[str, Any]]) -> None:
    """Two destinations from one process: two SSH nodes, each ending in its login or its gap."""
    _, report = demo
    inc = copy.deepcopy(report["incidents"][0])
    second = copy.deepcopy(report["incidents"][1]["hops"][0])  # app1, login missing
    inc["hops"].append(second)
    d = chain_diagram(inc, 1)
    assert [n["kind"] for n in d["nodes"]] == [
        "socket", "process", "process", "ssh", "ssh", "login", "absent"]
    socket, _, ssh_proc, ssh1, ssh2, login, absent = d["nodes"]
    assert ssh1["y"] < ssh2["y"] and login["y"] == ssh1["y"] and absent["y"] == ssh2["y"]
    assert "to db1" in ssh1["lines"] and "to app1" in ssh2["lines"]
    edges = [e["d"] for e in d["edges"]]
    assert len(edges) == 2 + 2 * 2  # socket -> each process, then process -> ssh -> login per hop
    # the first hop is drawn from the process that made it (pid 6821, the second process)
    start = f"M{ssh_proc['x'] + ssh_proc['w']} {ssh_proc['y'] + ssh_proc['h'] // 2} "
    assert edges[2].startswith(start)
    assert [e["cls"] for e in d["edges"]][-1] == "edge absent"
    assert socket["lines"][1] == "owner alice (501)"


def test_flow_without_login_alone_draws_the_connection_and_the_gap() -> None:
    inc = {
        "signals": [], "processes": [], "socket": None,
        "hops": [{"rule_id": "ssh_flow_without_login", "link": None, "join_key": None,
                  "dt_us": None, "login_status": "incomplete", "login": None,
                  "flow": {"start_us": 1, "src_ip": "10.0.0.1", "src_port": 5, "dst_ip": "10.0.0.2",
                           "dst_port": 22, "dst_host": "db1", "source": {"file": "c", "line": 3}}}],
    }
    d = chain_diagram(inc, 3)
    assert [n["kind"] for n in d["nodes"]] == ["ssh", "absent"]
    assert d["nodes"][1]["lines"][0].startswith("✗ no login yet")
    assert [e["cls"] for e in d["edges"]] == ["edge absent"]
    [e1, e2] = timeline(inc)
    assert (e1["step"], e1["source"], e2["step"], e2["absent"]) == ("ssh", "c:3", "login", True)


# ------------------------------------------------------------------------------- in a browser


def _browser_missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return "chromium is not installed (apt-get install chromium chromium-driver)"
    if not shutil.which("chromedriver"):
        return "chromedriver is not installed (apt-get install chromium-driver)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium through the system chromedriver (never a downloaded one)."""
    reason = _browser_missing()
    if reason:
        if os.environ.get("AGENTTRAIL_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required (AGENTTRAIL_REQUIRE_BROWSER=1): {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1000", "--hide-scrollbars", "--disable-extensions",
                "--no-first-run", "--disable-background-networking"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(shutil.which("chromedriver")))
    try:
        yield driver
    finally:
        driver.quit()


def _open(driver: Any, page: Path) -> list[dict[str, Any]]:
    """Load a page from disk; return the browser log it produced."""
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(page.resolve().as_uri())
    return driver.get_log("browser")


def _screenshot(driver: Any, name: str) -> Path:
    """A full-page screenshot kept as a test artefact."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(int(height) + 20, 16000))
    path = ARTIFACTS / name
    assert driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)
    return path


def _visible(el: Any) -> bool:
    return bool(el.is_displayed() and el.size["width"] > 0 and el.size["height"] > 0)


def _no_requests_no_violations(driver: Any, log: list[dict[str, Any]]) -> None:
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert [e for e in log if "Content Security Policy" in e.get("message", "")] == []
    assert [e for e in log if e.get("level") == "SEVERE"] == []


def test_demo_report_in_chromium(browser: Any, demo: tuple[Path, dict[str, Any]]) -> None:
    from selenium.webdriver.common.by import By

    out, report = demo
    log = _open(browser, out / "report.html")
    _screenshot(browser, "html-demo.png")
    _no_requests_no_violations(browser, log)
    assert browser.execute_script("return document.scripts.length") == 0
    # the stylesheet was allowed by its hash (a blocked one would leave the default border)
    first = browser.find_element(By.ID, "incident-1")
    assert first.value_of_css_property("border-left-width") == "5px"

    attacks = [i for i in report["incidents"] if i["severity"] == "critical"]
    assert len(attacks) == 2
    for n, inc in enumerate(report["incidents"], 1):
        section = browser.find_element(By.ID, f"incident-{n}")
        assert _visible(section)
        assert inc["title"] in section.text and inc["host"] in section.text
        diagram = section.find_element(By.CSS_SELECTOR, "svg.chain-diagram")
        assert _visible(diagram)
        kinds = [g.get_attribute("class").split()[-1]
                 for g in diagram.find_elements(By.CSS_SELECTOR, "g.node-group")]
        login = "login" if inc["hops"][0]["login_status"] == "present" else "absent"
        assert kinds == ["socket"] + ["process"] * len(inc["processes"]) + ["ssh", login]
        for g in diagram.find_elements(By.CSS_SELECTOR, "g.node-group rect"):
            assert g.size["width"] > 0 and g.size["height"] > 0
        assert len(diagram.find_elements(By.CSS_SELECTOR, "path.edge")) == \
            len(inc["processes"]) + 2
        rows = section.find_elements(By.CSS_SELECTOR, "table.timeline tbody tr")
        assert len(rows) >= 4 and all(_visible(r) for r in rows)
    # the second attack's login is missing: drawn as a dashed "login missing" node
    missing = browser.find_element(By.CSS_SELECTOR, "#incident-2 g.absent")
    assert _visible(missing) and "NO LOGIN RECORDED" in missing.text.upper()
    assert "accepted alice on db1" in browser.find_element(By.CSS_SELECTOR,
                                                           "#incident-1 g.login").text

    matrix = browser.find_element(By.ID, "coverage-endpoints")
    assert _visible(matrix)
    hosts = [e["host"] for e in report["coverage"]["endpoints"]]
    body_rows = matrix.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert [r.find_element(By.TAG_NAME, "th").text for r in body_rows] == hosts
    assert [c.text for c in body_rows[0].find_elements(By.CSS_SELECTOR, "td.step")] == \
        ["✓ ok"] * len(report["coverage"]["endpoints"][0]["steps"])
    assert _visible(browser.find_element(By.ID, "coverage-destinations"))
    accounting = browser.find_element(By.CSS_SELECTOR, "table.accounting-table")
    assert _visible(accounting)
    assert len(accounting.find_elements(By.CSS_SELECTOR, "tbody tr")) == \
        len(report["inputs"]["files"]) + 1


_PWNED = """return {title: document.title, pwned: typeof window.__pwned,
  scripts: document.scripts.length,
  images: document.images.length,
  handlers: [...document.querySelectorAll('*')].filter(
      e => [...e.attributes].some(a => a.name.toLowerCase().startsWith('on'))).length,
  bold: document.querySelectorAll('b').length,
  text: document.body.innerText};"""


def test_hostile_report_runs_nothing_in_chromium(browser: Any, hostile: tuple[Path, dict[str, Any]],
                                                 tmp_path: Path) -> None:
    """Every payload shows as text and none runs: with the page's CSP and without it, so the
    escaping itself is tested, not only the policy."""
    out, _ = hostile
    page = out / "report.html"
    log = _open(browser, page)
    _screenshot(browser, "html-hostile.png")
    _no_requests_no_violations(browser, log)
    # a copy without the policy: only escaping stands between the payloads and the page
    text = page.read_text(encoding="utf-8")
    bare = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>\n', "", text)
    assert bare != text
    unprotected = tmp_path / "no-csp.html"
    unprotected.write_text(bare, encoding="utf-8")
    for target in (page, unprotected):
        log = _open(browser, target)
        state = browser.execute_script(_PWNED)
        assert state["title"] == "agenttrail report: 1 incident(s)", target.name
        assert state["pwned"] == "undefined", target.name
        assert (state["scripts"], state["images"], state["handlers"], state["bold"]) == \
            (0, 0, 0, 0), target.name
        assert [e for e in log if e.get("level") == "SEVERE"] == [], target.name
        shown = state["text"]
        for payload in hostile_case.SHOWN:
            assert payload in shown, (target.name, payload)
        for ch in hostile_case.HIDDEN:
            assert ch not in shown, (target.name, f"U+{ord(ch):04X}")
