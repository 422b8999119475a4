"""Records seen twice are merged once and counted as duplicates (issue sources, DESIGN §8).

Constructed: the lineage hijack case, with its Zeek conn.log seen again by a second sensor
(the same connection 0.4 s later, no service detection) and db1's auth.log forwarded twice.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests import casekit
from tests.test_hunt import CASES, run


def test_flow_from_two_sensors_and_log_forwarded_twice_are_merged(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    opts = casekit.render(casekit.load(CASES / "hijack_lateral_lineage.toml"), inputs)
    conn = (inputs / "zeek" / "conn.log").read_text()
    second = conn.replace("1772442100.200000\tCHijack1", "1772442100.600000\tCOther22").replace(
        "\ttcp\tssh\t", "\ttcp\t-\t")
    (inputs / "sensor2").mkdir()
    (inputs / "sensor2" / "conn.log").write_text(second)
    shutil.copy(inputs / "servers" / "db1" / "auth.log", inputs / "servers" / "db1" / "fwd.log")
    out = tmp_path / "out"
    code, _ = run("hunt", str(inputs), *opts, "-o", str(out))
    assert code == 1
    report = json.loads((out / "report.json").read_text())
    files = {f["path"]: f for f in report["inputs"]["files"]}
    # the second sensor's record is dropped (Zeek with service detection is kept: the first)
    assert files["sensor2/conn.log"]["duplicates"] == 1
    assert files["zeek/conn.log"]["duplicates"] == 0
    # the forwarded copy's sshd record repeats the original at the same time: the copy's is
    # dropped (the original's file name sorts first); the other lines feed no rows
    assert files["servers/db1/fwd.log"]["duplicates"] == 1
    assert files["servers/db1/auth.log"]["duplicates"] == 0
    assert report["inputs"]["totals"]["duplicates"] == 2
    for f in files.values():  # duplicates stay counted as normalised
        assert f["read"] == (f["normalised"] + f["meta"] + f["malformed"] + f["unread"]
                             + sum(f["skipped_by_type"].values()))
    [inc] = report["incidents"]
    [hop] = inc["hops"]
    assert hop["flow"]["source"] == {"file": "zeek/conn.log", "line": 9}
    assert hop["login"]["source"] == {"file": "servers/db1/auth.log", "line": 2}
    assert [s["rule_id"] for s in report["signals"]].count("ssh_flow_without_login") == 0


def test_same_connection_twice_in_one_file_is_not_a_duplicate(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    opts = casekit.render(casekit.load(CASES / "hijack_lateral_lineage.toml"), inputs)
    conn = inputs / "zeek" / "conn.log"
    lines = conn.read_text().splitlines(keepends=True)
    row = next(x for x in lines if x.startswith("1772442100"))
    lines.insert(lines.index(row) + 1, row.replace("1772442100.200000\tCHijack1",
                                                   "1772442100.700000\tCAgain33"))
    conn.write_text("".join(lines))
    out = tmp_path / "out"
    run("hunt", str(inputs), *opts, "-o", str(out))
    report = json.loads((out / "report.json").read_text())
    assert report["inputs"]["totals"]["duplicates"] == 0
