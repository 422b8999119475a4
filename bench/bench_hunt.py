"""Benchmark: `agenttrail hunt` on generated eslogger data against DuckDB's own `read_ndjson`.

Generates a dataset with `agenttrail simulate` scaled to about N eslogger events (default 1M),
then, in one run:

1. the baseline: DuckDB `read_ndjson` with the eslogger reader's own column schema over the same
   eslogger files, materialised into a table (so every column is really parsed);
2. `agenttrail hunt` end to end (read, normalise, detect, report) in a child process, with its
   wall time and peak resident memory.

It prints and writes `bench/out/results.json`: events, bytes, both times, the throughput ratio
(hunt / read_ndjson, DESIGN §8 target >= 0.5) and the peak memory.

Usage: python bench/bench_hunt.py [--events 1000000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from agenttrail.readers._eslogger_sql import COLUMNS
from agenttrail.simulate import simulate

OUT = Path(__file__).resolve().parent / "out"
EVENTS_PER_SCALE = 10_750  # eslogger events per unit of simulate's scale (measured)


def _struct(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"


def baseline(files: list[Path]) -> tuple[float, int]:
    """Seconds for DuckDB to read the files with the reader's schema, and the row count."""
    con = duckdb.connect()
    t0 = time.perf_counter()
    con.execute(
        "CREATE TEMP TABLE b AS SELECT * FROM read_ndjson(?, columns="
        + _struct(COLUMNS)
        + ", format='newline_delimited', ignore_errors=true)",
        [[str(f) for f in files]],
    )
    elapsed = time.perf_counter() - t0
    rows = con.execute("SELECT count(*) FROM b").fetchone()[0]  # type: ignore[index]
    con.close()
    return elapsed, rows


def hunt(data: Path, out: Path) -> tuple[float, int, int]:
    """Wall seconds, exit code and peak RSS (KiB) of a hunt in a child process."""
    cmd = [
        sys.executable, "-m", "agenttrail.cli", "hunt", str(data),
        "--host-from-path", "macs/{host}/*", "--assets", str(data / "assets.csv"),
        "--collected-at", "2026-03-03T00:00:00Z", "-o", str(out), "--fail-on", "none",
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stdout + proc.stderr)
    return elapsed, proc.returncode, peak


def main() -> int:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the generated data")
    ap.add_argument("--reuse", action="store_true", help="reuse data kept by an earlier --keep")
    args = ap.parse_args()
    data = OUT / "data"
    OUT.mkdir(parents=True, exist_ok=True)
    gen_s = 0.0
    if not (args.reuse and (data / "assets.csv").exists()):
        shutil.rmtree(data, ignore_errors=True)
        scale = max(1, round(args.events / EVENTS_PER_SCALE))
        t0 = time.perf_counter()
        simulate(data, seed=11, scale=scale)
        gen_s = time.perf_counter() - t0
    (data / "MANIFEST.json").unlink(missing_ok=True)
    files = sorted(data.glob("macs/*/eslogger.jsonl"))
    size = sum(f.stat().st_size for f in files)
    base_s, events = baseline(files)
    hunt_s, code, peak_kib = hunt(data, OUT / "hunt")
    report = json.loads((OUT / "hunt" / "report.json").read_text())
    results = {
        "eslogger_events": events,
        "eslogger_bytes": size,
        "generate_s": round(gen_s, 2),
        "read_ndjson_s": round(base_s, 2),
        "read_ndjson_events_per_s": round(events / base_s),
        "hunt_s": round(hunt_s, 2),
        "hunt_events_per_s": round(events / hunt_s),
        "ratio_hunt_to_read_ndjson": round(base_s / hunt_s, 3),
        "hunt_peak_rss_mib": round(peak_kib / 1024, 1),
        "hunt_exit_code": code,
        "incidents": len(report["incidents"]),
        "records_read": report["inputs"]["totals"]["read"],
    }
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    if not args.keep:
        shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
