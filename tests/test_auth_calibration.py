"""The authenticated-session defaults (DESIGN §5 auth_min_pkts/auth_min_bytes) are calibrated on
the real Zeek ssh.basic trace: every session Zeek saw authenticate passes them, every failed one
and every SSH-1 scanner does not."""

from __future__ import annotations

from pathlib import Path

import duckdb

from agenttrail.config import Settings
from agenttrail.readers import zeek
from agenttrail.readers._io import ReadContext


def test_defaults_split_the_real_trace(corpus: Path) -> None:
    rows: dict[str, dict[str, object]] = {}
    for name in ("ssh.basic.conn.2018-realts.log", "ssh.basic.ssh.2018-realts.log"):
        path = corpus / "zeek-btest" / name
        result = zeek.read(ReadContext(path=path, rel=name, con=duckdb.connect()))
        for r in result.tables["flow"].to_pylist():
            rows.setdefault(r["flow_uid"], {}).update({k: v for k, v in r.items() if v is not None})
    s = Settings()

    def authenticated(r: dict[str, object]) -> bool:
        pkts = int(r.get("pkts_out", 0)) + int(r.get("pkts_in", 0))  # type: ignore[arg-type]
        byts = int(r.get("bytes_out", 0)) + int(r.get("bytes_in", 0))  # type: ignore[arg-type]
        return pkts > s.auth_min_pkts and byts > s.auth_min_bytes

    hinted = [r for r in rows.values() if "ssh_auth_hint" in r]
    assert sum(1 for r in hinted if r["ssh_auth_hint"]) == 10
    assert sum(1 for r in hinted if not r["ssh_auth_hint"]) == 2
    for r in hinted:
        assert authenticated(r) == r["ssh_auth_hint"], r["flow_uid"]
    ssh1 = [r for r in rows.values() if str(r.get("client_banner", "")).startswith("SSH-1")]
    assert len(ssh1) == 9
    assert not any(authenticated(r) for r in ssh1)
