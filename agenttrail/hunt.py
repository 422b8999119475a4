"""The main job: read, normalise, detect, group, and write the Report and its renderings."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pyarrow as pa

from agenttrail import __version__, detect
from agenttrail.blast import blast_radius
from agenttrail.config import Settings
from agenttrail.coverage import coverage_counts
from agenttrail.excerpts import cited_records
from agenttrail.incidents import Incident, Signal, build, in_scope
from agenttrail.ingest import Ingested, ingest
from agenttrail.inventory import inventory
from agenttrail.normalise import dedupe, normalise
from agenttrail.outputs import html
from agenttrail.report import Evidence, build_report, needed_rows


@dataclass
class HuntResult:
    """The Report and what the command line needs beyond it."""

    report: dict[str, Any]
    ingested: Ingested
    timings: dict[str, float]


def connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the run's resource settings."""
    con = duckdb.connect()
    if settings.threads:
        con.execute(f"SET threads = {int(settings.threads)}")
    if settings.memory_limit:
        con.execute("SET memory_limit = ?", [settings.memory_limit])
    if settings.temp_dir:
        con.execute("SET temp_directory = ?", [settings.temp_dir])
    con.execute("SET TimeZone = 'UTC'")
    return con


@dataclass
class Analysis:
    """Everything the pipeline computed, before the Report: tables, detection output, incidents.

    What ``hunt``, ``coverage``, ``inventory`` and ``explain --socket/--flow/--login`` build their
    documents from; ``backend`` still holds the materialised enrichment tables (``e_proc``,
    ``e_sock_ev``, ...) until ``close()``, which the caller calls.
    """

    ingested: Ingested
    tables: dict[str, pa.Table]
    found: detect.Detected
    incidents: list[Incident]
    signals: list[Signal]
    con: duckdb.DuckDBPyConnection
    backend: Any
    timings: dict[str, float]
    started: float

    def close(self) -> None:
        """Release the DuckDB connection."""
        self.con.close()


def analyse(
    paths: list[str], settings: Settings, progress: Callable[[str], None] | None = None
) -> Analysis:
    """Read, normalise, detect and group; the caller closes the returned analysis."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    con = connect(settings)
    ing = ingest(paths, settings, con, progress)
    timings["read_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    tables, duplicates = dedupe(normalise(ing.tables, settings, con), con)
    for account in ing.accounts:
        account.duplicates += duplicates.get(account.path, 0)
    timings["normalise_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    if progress:
        progress("correlating")
    backend = ibis.duckdb.from_connection(con)
    found = detect.run(backend, tables, settings)
    incidents, signals = in_scope(
        *build(found.signals, found.links, found.flow_eval, found.flow,
               settings.windows.incident_gap * 1_000_000),
        settings.since_us, settings.until_us, settings.only_host,
    )
    timings["detect_s"] = time.perf_counter() - t2
    return Analysis(ing, tables, found, incidents, signals, con, backend, timings, t0)


def scope_of(settings: Settings) -> dict[str, Any]:
    """The scope a document states (DESIGN §7)."""
    return {
        "since_us": settings.since_us,
        "until_us": settings.until_us,
        "only_host": settings.only_host,
        "inputs_root": ".",
    }


def hunt(
    paths: list[str], settings: Settings, progress: Callable[[str], None] | None = None
) -> HuntResult:
    """Run the whole pipeline and return the Report."""
    a = analyse(paths, settings, progress)
    try:
        return report_of(a, settings)
    finally:
        a.close()


def report_of(a: Analysis, settings: Settings) -> HuntResult:
    """The Report of an analysis: incidents with their blast radius, cited records, coverage."""
    timings = dict(a.timings)
    tables, found, signals = a.tables, a.found, a.signals
    blast = blast_radius(a.incidents, tables, found, a.backend, settings)
    need = needed_rows(signals)
    need["login"] |= {r for rows in blast.values() for r in rows["login_rows"]}
    evidence = Evidence.from_tables(tables, found.flow, need)
    report = build_report(
        accounts=a.ingested.accounts,
        incidents=a.incidents,
        signals=signals,
        links=found.links,
        coverage=coverage_counts(tables, found.flow_eval, found.flow, a.con),
        inventory=inventory(tables, found, a.con),
        evidence=evidence,
        settings=settings,
        scope=scope_of(settings),
        blast={uid: b["doc"] for uid, b in blast.items()},
        records=cited_records(evidence, a.ingested.root),
    )
    timings["total_s"] = time.perf_counter() - a.started
    return HuntResult(report=report, ingested=a.ingested, timings=timings)


def dumps(obj: Any) -> str:
    """Stable JSON: keys in the order the Report builds them, UTF-8, a final newline."""
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def write_outputs(
    result: HuntResult, outdir: Path, argv: list[str],
    redact: Callable[[Any], Any] | None = None,
) -> None:
    """Write findings.json, findings.jsonl, report.json, report.html and run.json into ``outdir``.

    ``redact`` rewrites run.json's strings (argv, input root) the way the Report was redacted.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    findings = result.report["findings"]
    (outdir / "findings.json").write_text(dumps(findings), encoding="utf-8")
    (outdir / "findings.jsonl").write_text(
        "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in findings), encoding="utf-8"
    )
    (outdir / "report.json").write_text(dumps(result.report), encoding="utf-8")
    html.write(result.report, outdir / "report.html")
    run = {
        "tool_version": __version__,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(
            time.time() - result.timings.get("total_s", 0))),
        "argv": argv,
        "inputs_root": result.ingested.root,
        "timings": {k: round(v, 3) for k, v in result.timings.items()},
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "duckdb": duckdb.__version__,
            "ibis": ibis.__version__,
        },
    }
    (outdir / "run.json").write_text(dumps(redact(run) if redact else run), encoding="utf-8")
