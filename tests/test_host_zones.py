"""Per-host zones from the config (`[hosts."name"] tz`) apply to syslog files whose lines name
that host, and a host from the path keeps the zone ingest chose for it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from agenttrail.config import HostConfig, Settings
from agenttrail.readers import sshd_syslog
from agenttrail.readers._io import ReadContext

LINE = "Mar  2 10:00:00 DB1 sshd[1]: Accepted publickey for a from 10.0.0.1 port 5000 ssh2\n"
ANCHOR = int(dt.datetime(2026, 3, 3, tzinfo=dt.UTC).timestamp() * 1_000_000)


def _t(path: Path, **kw: object) -> int:
    ctx = ReadContext(path=path, rel=path.name, con=duckdb.connect(), anchor_us=ANCHOR, **kw)
    return sshd_syslog.read(ctx).tables["login"].column("t_us")[0].as_py()


def test_host_zone_from_config(tmp_path: Path) -> None:
    p = tmp_path / "auth.log"
    p.write_text(LINE)
    settings = Settings(hosts={"db1": HostConfig(tz="Europe/Berlin", aliases=("db1.prod",))})
    assert settings.host_zones() == {"db1": "Europe/Berlin", "db1.prod": "Europe/Berlin"}
    utc = _t(p)
    berlin = _t(p, host_zones=settings.host_zones())
    assert utc == int(dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC).timestamp() * 1_000_000)
    assert utc - berlin == 3600 * 1_000_000  # 10:00 CET is 09:00 UTC
    # a host taken from the path has already chosen ctx.tz; the map is not consulted
    assert _t(p, host="db1", host_origin="path", host_zones=settings.host_zones()) == utc
