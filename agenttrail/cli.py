"""Command line: thin commands that parse options, call the library and map errors to exit codes.

Exit codes (DESIGN §7): 0 nothing at or above --fail-on; 1 at least one unsuppressed, final
incident at or above it; 2 usage or config error; 3 no input could be read, or --strict and some
file had issues.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from agenttrail import __version__
from agenttrail.config import DEFAULT_CONFIG, ConfigError, Settings, load
from agenttrail.detect import CATALOGUE
from agenttrail.detect._meta import SEVERITY
from agenttrail.ingest import InputError
from agenttrail.outputs.visible import visible

if TYPE_CHECKING:
    from agenttrail.redact import Redactor

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INPUT = 0, 1, 2, 3

app = typer.Typer(
    name="agenttrail",
    help="Find SSH agent hijacking (ATT&CK T1563.001, analytic AN0711) in exported telemetry: "
    "macOS eslogger, Zeek flows and sshd logs.\n\n"
    "Start with:  agenttrail hunt ./exports --assets assets.csv --host-from-path '{host}/*' -o out",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
config_app = typer.Typer(help="Print or check the TOML config.", no_args_is_help=True)
app.add_typer(config_app, name="config")
export_app = typer.Typer(help="Export the detection logic for other tools.", no_args_is_help=True)
app.add_typer(export_app, name="export")

class _Messages:
    """Messages on stderr. They quote paths and values from the input, so they are never read as
    Rich markup and their hidden characters are made visible (lines are kept)."""

    def __init__(self) -> None:
        self.console = Console(stderr=True, highlight=False)

    @property
    def is_terminal(self) -> bool:
        return self.console.is_terminal

    def print(self, message: str | Text = "") -> None:
        if isinstance(message, str):
            message = Text("\n".join(visible(line) for line in message.split("\n")))
        self.console.print(message)


err = _Messages()


def _time(value: str | None, option: str) -> int | None:
    if value is None:
        return None
    try:
        t = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 time (e.g. 2026-03-02T09:00:00Z)", param_hint=option
        ) from exc
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return int(t.timestamp() * 1_000_000)


def _config_errors(exc: ConfigError) -> None:
    """One ``error:`` line per problem (a config file reports all of its problems at once)."""
    for line in str(exc).splitlines():
        err.print(f"error: {line}")


def _settings(
    config: Path | None, **opts: object
) -> Settings:
    try:
        settings = load(config)
    except ConfigError as exc:
        _config_errors(exc)
        raise typer.Exit(EXIT_USAGE) from exc
    internal = opts.pop("internal", None)
    if internal:
        from agenttrail.addr import parse_network

        for cidr in internal:  # type: ignore[union-attr]
            try:
                parse_network(cidr)
            except ValueError as exc:
                err.print(f"error: --internal {cidr!r} is not a network (e.g. 10.0.0.0/8)")
                raise typer.Exit(EXIT_USAGE) from exc
        opts["internal"] = tuple(internal)  # type: ignore[arg-type]
        opts["internal_defaulted"] = False
    if opts.get("tz"):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(str(opts["tz"]))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            err.print(f"error: --tz {opts['tz']!r} is not an IANA zone (e.g. Europe/Berlin)")
            raise typer.Exit(EXIT_USAGE) from exc
    return settings.with_options(**opts)


def _input_format(name: str | None) -> str | None:
    from agenttrail.readers import BY_NAME

    if name is not None and name not in BY_NAME:
        err.print(f"error: --input-format {name!r} is not a format; one of: "
                  f"{', '.join(sorted(BY_NAME))}")
        raise typer.Exit(EXIT_USAGE)
    return name


@app.command()
def hunt(
    paths: Annotated[list[str], typer.Argument(help="Files, folders (walked) or - for stdin.")],
    config: Annotated[Path | None, typer.Option(help="TOML config (see `config --print-default`).")] = None,
    host: Annotated[str | None, typer.Option(help="Host of inputs that carry none (eslogger).")] = None,
    host_from_path: Annotated[str | None, typer.Option(
        help="Take the host from the path, e.g. 'macs/{host}/*' or '{host}/auth.log'.")] = None,
    internal: Annotated[list[str] | None, typer.Option(
        help="Internal network (repeatable). Default: RFC 1918, 100.64/10, fc00::/7, assets.")] = None,
    assets: Annotated[str | None, typer.Option(
        help="CSV of host,ip[,valid_from,valid_to]: maps addresses to hosts over time.")] = None,
    tz: Annotated[str | None, typer.Option(help="Zone of zone-less timestamps (IANA name).")] = None,
    year: Annotated[int | None, typer.Option(help="Year of the first RFC 3164 syslog line.")] = None,
    collected_at: Annotated[str | None, typer.Option(
        help="When the logs were collected (ISO time): year anchor and coverage end.")] = None,
    since: Annotated[str | None, typer.Option(help="Only events at or after this ISO time.")] = None,
    until: Annotated[str | None, typer.Option(help="Only events at or before this ISO time.")] = None,
    only_host: Annotated[str | None, typer.Option(help="Only hosts matching this glob.")] = None,
    threads: Annotated[int | None, typer.Option(help="DuckDB threads.")] = None,
    memory_limit: Annotated[str | None, typer.Option(help="DuckDB memory limit, e.g. 4GB.")] = None,
    temp_dir: Annotated[str | None, typer.Option(help="Where DuckDB may spill to disk.")] = None,
    max_line_bytes: Annotated[int | None, typer.Option(
        help="Longer lines are reported and skipped (default 1 MiB).")] = None,
    max_decompressed_bytes: Annotated[str | None, typer.Option(
        help="Stop decompressing a .gz input at this size, e.g. 8GiB (default 4 GiB; also at "
        "1000x the compressed size).")] = None,
    input_format: Annotated[str | None, typer.Option(
        help="Read every input as this format instead of recognising it "
        "(names: `agenttrail formats`).")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help=(
        "Folder for findings.json, findings.jsonl, report.json, report.html and run.json."))] = None,
    fail_on: Annotated[str, typer.Option(
        help="Exit 1 when an incident is at or above: low, medium, high, critical, none.")] = "high",
    strict: Annotated[bool, typer.Option(help="Exit 3 when any input file had issues.")] = False,
    output_format: Annotated[str, typer.Option(
        "--format", help="Incident table as: table (terminal) or csv (stdout, or "
        "DIR/incidents.csv with -o).")] = "table",
    redact: Annotated[str | None, typer.Option(
        help="Pseudonymise names in every output: comma-separated users, hosts, paths.")] = None,
    redact_key: Annotated[Path | None, typer.Option(
        help="Key file for --redact (default DIR/redact.key; created with a random key when "
        "absent). The same key gives byte-identical output.")] = None,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Hunt exported telemetry for SSH agent hijacking and write the findings.

    Reads eslogger JSON lines, Zeek conn/ssh logs (TSV or JSON, plain or .gz) and sshd syslog
    files, correlates them, prints the incidents and writes OCSF Detection Findings.
    """
    from agenttrail.hunt import hunt as run_hunt
    from agenttrail.hunt import write_outputs
    from agenttrail.outputs.terminal import render

    if fail_on not in (*SEVERITY, "none"):
        err.print(f"error: --fail-on must be one of {', '.join(SEVERITY)}, none")
        raise typer.Exit(EXIT_USAGE)
    if output_format not in ("table", "csv"):
        err.print("error: --format must be table or csv")
        raise typer.Exit(EXIT_USAGE)
    redactor = _redactor(redact, redact_key, output) if redact else None
    since_us, until_us = _time(since, "--since"), _time(until, "--until")
    _check_hunt_options(
        host_from_path=host_from_path, year=year, since_us=since_us, until_us=until_us,
        threads=threads, memory_limit=memory_limit, temp_dir=temp_dir,
        max_line_bytes=max_line_bytes)
    settings = _settings(
        config,
        host=host, host_from_path=host_from_path, internal=internal, assets=assets, tz=tz,
        year=year, collected_at_us=_time(collected_at, "--collected-at"),
        since_us=since_us, until_us=until_us,
        only_host=only_host, threads=threads, memory_limit=memory_limit, temp_dir=temp_dir,
        max_line_bytes=max_line_bytes, input_format=_input_format(input_format),
        max_decompressed_bytes=_byte_size(max_decompressed_bytes, "--max-decompressed-bytes"),
        output_dir=str(output) if output is not None else None,
    )
    _check_assets(settings)
    if output is not None and (problem := _check_output(output)):
        err.print(f"error: {problem}")
        raise typer.Exit(EXIT_USAGE)
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING)
    progress = (lambda msg: err.print(Text(visible(msg), style="dim"))) if err.is_terminal else None
    previous = _sigterm_unwinds()
    try:
        result = run_hunt(paths, settings, progress)
    except (InputError, ConfigError) as exc:
        if isinstance(exc, ConfigError):
            _config_errors(exc)
        else:
            err.print(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    except Exception as exc:
        if debug:
            raise
        err.print(f"error: {type(exc).__name__}: {exc} (run again with --debug for details)")
        raise typer.Exit(EXIT_INPUT) from exc
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if redactor is not None:
        redactor.collect_tables(result.ingested.tables)
        result.report = redactor.report(result.report)
    report = result.report
    if output is not None:
        try:
            write_outputs(result, output, sys.argv, redactor.apply if redactor else None)
        except OSError as exc:
            err.print(f"error: cannot write the outputs to {output}: {exc.strerror or exc}")
            raise typer.Exit(EXIT_USAGE) from exc
    if output_format == "csv":
        from agenttrail.outputs.csv import render as render_csv

        if output is not None:
            (output / "incidents.csv").write_text(render_csv(report), encoding="utf-8")
        else:
            sys.stdout.write(render_csv(report))
    if output_format == "table" or output is not None:
        render(report, Console(highlight=False, width=None if sys.stdout.isatty() else 120))
    if output is not None:
        extra = ", incidents.csv" if output_format == "csv" else ""
        err.print(f"wrote {output}/findings.json, findings.jsonl, report.json, report.html, "
                  f"run.json{extra}")
    totals = report["inputs"]["totals"]
    any_issue = any(f["issues_total"] for f in report["inputs"]["files"])
    threshold = SEVERITY.get(fail_on, 99)
    hits = [
        i for i in report["incidents"]
        if i["status"] == "New" and i["severity_id"] >= threshold
    ]
    if hits:
        raise typer.Exit(EXIT_FINDINGS)
    usable = totals["normalised"] + totals["skipped_by_type"] + totals["meta"]
    if usable == 0:
        err.print(f"error: no input could be read: {_why_nothing_read(report['inputs']['files'])}")
        raise typer.Exit(EXIT_INPUT)
    if strict and any_issue:
        bad = [f["path"] for f in report["inputs"]["files"] if f["issues_total"]]
        err.print(f"error: --strict: {len(bad)} input file(s) had issues: {_some(bad)}; "
                  "see report.json")
        raise typer.Exit(EXIT_INPUT)
    raise typer.Exit(EXIT_OK)


def _load_report(from_dir: Path) -> dict[str, Any]:
    path = from_dir / "report.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        err.print(Text(f"error: {path}: no report here; write one with `agenttrail hunt ... -o "
                       f"{from_dir}`"))
        raise typer.Exit(EXIT_USAGE) from exc
    except (OSError, ValueError) as exc:
        err.print(Text(f"error: {path}: not a readable report ({exc})"))
        raise typer.Exit(EXIT_USAGE) from exc


@app.command()
def explain(
    args: Annotated[list[str] | None, typer.Argument(
        help="INCIDENT_ID (a uid prefix of 8+ characters) with --from; or the inputs (files, "
        "folders) with --socket, --flow or --login.", show_default=False)] = None,
    from_dir: Annotated[Path | None, typer.Option(
        "--from", help="Folder of a hunt's output: reads only its report.json.")] = None,
    timeline: Annotated[str | None, typer.Option(
        help="Print the incident's events for Timesketch instead: csv or jsonl.")] = None,
    socket: Annotated[str | None, typer.Option(
        help="Why no incident for this socket path? (reads the inputs again)")] = None,
    flow: Annotated[str | None, typer.Option(
        help="Why no incident for this flow (Zeek uid)? (reads the inputs again)")] = None,
    login: Annotated[str | None, typer.Option(
        help="Why no incident for this login record, as FILE:LINE (FILE as the report names "
        "it)? (reads the inputs again)")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML config (as for hunt).")] = None,
    host: Annotated[str | None, typer.Option(help="As for hunt.")] = None,
    host_from_path: Annotated[str | None, typer.Option(help="As for hunt.")] = None,
    internal: Annotated[list[str] | None, typer.Option(help="As for hunt.")] = None,
    assets: Annotated[str | None, typer.Option(help="As for hunt.")] = None,
    tz: Annotated[str | None, typer.Option(help="As for hunt.")] = None,
    year: Annotated[int | None, typer.Option(help="As for hunt.")] = None,
    collected_at: Annotated[str | None, typer.Option(help="As for hunt.")] = None,
    since: Annotated[str | None, typer.Option(help="As for hunt.")] = None,
    until: Annotated[str | None, typer.Option(help="As for hunt.")] = None,
    only_host: Annotated[str | None, typer.Option(help="As for hunt.")] = None,
    threads: Annotated[int | None, typer.Option(help="As for hunt.")] = None,
    memory_limit: Annotated[str | None, typer.Option(help="As for hunt.")] = None,
    temp_dir: Annotated[str | None, typer.Option(help="As for hunt.")] = None,
    max_line_bytes: Annotated[int | None, typer.Option(help="As for hunt.")] = None,
    input_format: Annotated[str | None, typer.Option(help="As for hunt.")] = None,
    redact: Annotated[str | None, typer.Option(
        help="Pseudonymise names: comma-separated users, hosts, paths.")] = None,
    redact_key: Annotated[Path | None, typer.Option(
        help="Key file for --redact (default: DIR/redact.key of --from; created when "
        "absent).")] = None,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Explain an incident for a responder, or why a socket, flow or login made none.

    `explain INCIDENT_ID --from DIR` prints the evidence chain (each event with its file and
    line, the key that joined it to the next step and the time between them), the playbook
    checks of the analytic and the blast radius of the victim's keys, from DIR/report.json only.

    `explain --socket PATH | --flow UID | --login FILE:LINE INPUT... [hunt options]` reads the
    inputs again and says which step matched and which failed, and why.
    """
    from agenttrail import explain as ex

    targets = [x for x in (socket, flow, login) if x is not None]
    args = args or []
    if timeline is not None and timeline not in ("csv", "jsonl"):
        err.print("error: --timeline must be csv or jsonl")
        raise typer.Exit(EXIT_USAGE)
    redactor = None
    if from_dir is not None:
        if targets or len(args) != 1:
            err.print("error: give exactly one INCIDENT_ID with --from DIR (and no --socket, "
                      "--flow or --login)")
            raise typer.Exit(EXIT_USAGE)
        report = _load_report(from_dir)
        if redact:
            redactor = _redactor(redact, redact_key, from_dir)
            report = redactor.report(report)
        try:
            inc = ex.find_incident(report, args[0])
        except ex.ExplainError as exc:
            err.print(Text(f"error: {exc}"))
            raise typer.Exit(EXIT_USAGE) from exc
        if timeline:
            sys.stdout.write(ex.timeline_text(ex.timeline(report, inc), timeline))
            raise typer.Exit(EXIT_OK)
        ex.render(report, inc, Console(highlight=False, width=None if sys.stdout.isatty()
                                       else 120))
        raise typer.Exit(EXIT_OK)
    if len(targets) != 1 or not args:
        err.print("error: give INCIDENT_ID --from DIR, or one of --socket PATH, --flow UID, "
                  "--login FILE:LINE followed by the inputs")
        raise typer.Exit(EXIT_USAGE)
    if timeline:
        err.print("error: --timeline needs INCIDENT_ID --from DIR")
        raise typer.Exit(EXIT_USAGE)
    from agenttrail import why

    settings = _settings(
        config,
        host=host, host_from_path=host_from_path, internal=internal, assets=assets, tz=tz,
        year=year, collected_at_us=_time(collected_at, "--collected-at"),
        since_us=_time(since, "--since"), until_us=_time(until, "--until"),
        only_host=only_host, threads=threads, memory_limit=memory_limit, temp_dir=temp_dir,
        max_line_bytes=max_line_bytes, input_format=_input_format(input_format),
    )
    if redact:
        redactor = _redactor(redact, redact_key, None)
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING)
    try:
        target = why.Target.parse(socket=socket, flow=flow, login=login)
        lines = why.explain(args, settings, target, redactor)
    except why.WhyError as exc:
        err.print(Text(f"error: {exc}"))
        raise typer.Exit(EXIT_USAGE) from exc
    except (InputError, ConfigError) as exc:
        err.print(Text(f"error: {exc}"))
        raise typer.Exit(EXIT_USAGE) from exc
    except Exception as exc:
        if debug:
            raise
        err.print(Text(f"error: {type(exc).__name__}: {exc} (run again with --debug)"))
        raise typer.Exit(EXIT_INPUT) from exc
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    for line in lines:
        out.print(Text(line), soft_wrap=True)
    raise typer.Exit(EXIT_OK)


def _redactor(spec: str, key_file: Path | None, outdir: Path | None) -> Redactor:
    from agenttrail import redact

    try:
        kinds = redact.Redactor.parse_kinds(spec)
        if key_file is None and outdir is None:
            raise redact.RedactError("--redact needs --redact-key FILE (or -o DIR / --from "
                                     "DIR, where DIR/redact.key is used)")
        path = key_file or outdir / "redact.key"  # type: ignore[operator]
        key, created = redact.load_or_create_key(path)
    except redact.RedactError as exc:
        err.print(Text(f"error: {exc}"))
        raise typer.Exit(EXIT_USAGE) from exc
    if created:
        err.print(Text(f"created redaction key {path}: keep it, and do not share it with the "
                       "redacted outputs"))
    return redact.Redactor(key, kinds)


def _sigterm_unwinds() -> signal.Handlers | None:
    """Make SIGTERM end the run through its ``finally`` blocks (temporary files are removed);
    returns the handler to put back, or None when signals cannot be set here."""

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    try:
        return signal.signal(signal.SIGTERM, stop)  # type: ignore[return-value]
    except ValueError:  # not the main thread
        return None


def _some(items: list[str], n: int = 3) -> str:
    return ", ".join(items[:n]) + (f" (+{len(items) - n} more)" if len(items) > n else "")


def _why_nothing_read(files: list[dict[str, object]]) -> str:
    """Why no record was usable, file by file (the first issue of each)."""
    if not files:
        return "no files found in the paths given"
    why = []
    for f in files:
        issues, details = f["issues"], f["details"]
        reason = (issues[0]["message"] if issues  # type: ignore[index]
                  else details.get("skipped") or "no usable records")  # type: ignore[attr-defined]
        why.append(f"{f['path']}: {reason}")
    return _some(why) + ("; see report.json" if len(why) > 3 else "")


def _check_hunt_options(
    *, host_from_path: str | None, year: int | None, since_us: int | None,
    until_us: int | None, threads: int | None, memory_limit: str | None,
    temp_dir: str | None, max_line_bytes: int | None,
) -> None:
    """Exit 2 with one clear line for an option that cannot work (before any input is read)."""
    problems = []
    if host_from_path is not None and "{host}" not in host_from_path:
        problems.append(f"--host-from-path {host_from_path!r} has no {{host}} "
                        "(e.g. 'macs/{host}/*')")
    if year is not None and not 1970 <= year <= 9999:
        problems.append(f"--year {year} is outside 1970-9999")
    if since_us is not None and until_us is not None and since_us > until_us:
        problems.append("--since is later than --until")
    if threads is not None and threads < 1:
        problems.append(f"--threads {threads} must be at least 1")
    if max_line_bytes is not None and not 1 <= max_line_bytes <= MAX_LINE_BYTES:
        problems.append(f"--max-line-bytes {max_line_bytes} must be between 1 and "
                        f"{MAX_LINE_BYTES} (1 GiB)")
    if memory_limit is not None:
        import duckdb

        try:
            duckdb.connect().execute("SET memory_limit = ?", [memory_limit])
        except duckdb.Error:
            problems.append(f"--memory-limit {memory_limit!r} is not a size (e.g. 4GB, 512MiB)")
    if temp_dir is not None and Path(temp_dir).exists() and not Path(temp_dir).is_dir():
        problems.append(f"--temp-dir {temp_dir} is a file, not a folder")
    for p in problems:
        err.print(f"error: {p}")
    if problems:
        raise typer.Exit(EXIT_USAGE)


MAX_LINE_BYTES = 1 << 30


def _check_output(output: Path) -> str | None:
    """Why the -o folder cannot take the outputs, or None (it exists now, or was made)."""
    if output.exists() and not output.is_dir():
        return f"-o {output} is a file; give a folder for the outputs"
    try:
        output.mkdir(parents=True, exist_ok=True)
        probe = output / f".agenttrail-write-check-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return f"-o {output}: cannot write there ({exc.strerror or exc})"
    return None


def _byte_size(value: str | None, option: str) -> int | None:
    """A byte count: a whole number, optionally with KiB, MiB, GiB, TiB (or KB, MB, GB, TB)."""
    if value is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*([KMGT]i?B)?\s*", value, re.IGNORECASE)
    n = None
    if m:
        unit = (m.group(2) or "").upper()
        base = 1024 if "I" in unit else 1000
        n = int(m.group(1)) * base ** ("KMGT".index(unit[0]) + 1 if unit else 0)
    if not n:
        err.print(f"error: {option} {value!r} is not a positive size (e.g. 4GiB or 4294967296)")
        raise typer.Exit(EXIT_USAGE)
    return n


def _check_assets(settings: Settings) -> None:
    """Read --assets and the configured addresses now, so a bad row stops the run before any
    input is read."""
    if not settings.assets:
        return
    from agenttrail.normalise import build_assets

    try:
        build_assets(settings)
    except ConfigError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE) from exc


@app.command()
def report(
    report_json: Annotated[str, typer.Argument(
        help="A report.json written by `hunt -o DIR`, or - for stdin.")],
    output: Annotated[str | None, typer.Option("-o", "--output", help=(
        "HTML file to write, or - for stdout. Default: report.html beside the report.json."))] = None,
) -> None:
    """Render a saved report.json as one self-contained HTML page, without reading the inputs.

    The page is the same one `hunt -o DIR` writes as DIR/report.html: byte for byte, for the same
    report.json.
    """
    from agenttrail.outputs import html

    try:
        text = sys.stdin.read() if report_json == "-" else Path(report_json).read_text(
            encoding="utf-8")
        doc = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        err.print(f"error: cannot read {report_json}: {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    if not isinstance(doc, dict) or "report_version" not in doc or "incidents" not in doc:
        err.print(f"error: {report_json} is not an agenttrail report.json "
                  "(written by `agenttrail hunt -o DIR`)")
        raise typer.Exit(EXIT_USAGE)
    try:
        page = html.render(doc)
    except Exception as exc:
        err.print(f"error: {report_json} could not be rendered ({type(exc).__name__}: "
                  f"{exc}); was it edited by hand?")
        raise typer.Exit(EXIT_USAGE) from exc
    if output == "-":
        sys.stdout.write(page)
        return
    if output is not None:
        target = Path(output)
    elif report_json == "-":
        target = Path("report.html")
    else:
        target = Path(report_json).with_name("report.html")
    try:
        target.write_text(page, encoding="utf-8", newline="\n")
    except OSError as exc:
        err.print(f"error: cannot write {target}: {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    err.print(f"wrote {target}")


@app.command()
def rules(
    rule_id: Annotated[str | None, typer.Argument(help="One rule id for its full entry.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable catalogue.")] = False,
) -> None:
    """List the detection catalogue: id, severity, ATT&CK, parameters, telemetry, Sigma."""
    metas = list(CATALOGUE.values())
    if rule_id is not None:
        if rule_id not in CATALOGUE:
            err.print(f"error: no rule {rule_id!r}; known: {', '.join(CATALOGUE)}")
            raise typer.Exit(EXIT_USAGE)
        metas = [CATALOGUE[rule_id]]
    out = Console(highlight=False)
    if as_json:
        from dataclasses import asdict

        out.print_json(json.dumps([asdict(m) for m in metas]))
        return
    for m in metas:
        out.print(f"[bold]{m.id}[/]  {m.severity}  {m.technique} ({m.tactic}, "
                  f"{'/'.join(m.analytics)})")
        out.print(f"  {m.title}")
        if rule_id is not None:
            out.print(f"  {m.summary}")
            for p in m.params:
                out.print(f"  param {p.name} = {p.default}  ({p.doc}; {p.setting})")
            for r in m.requires:
                out.print(f"  requires: {r}")
            for fp in m.false_positives:
                out.print(f"  false positive: {fp}")
            out.print(f"  sigma: {m.sigma}")
            out.print(f"  sigma loss: {m.sigma_loss}")


@config_app.command("validate")
def config_validate(path: Annotated[Path, typer.Argument(help="The TOML file.")]) -> None:
    """Check a config file: unknown keys and wrong types are errors with file and line."""
    try:
        load(path)
    except ConfigError as exc:
        _config_errors(exc)
        raise typer.Exit(EXIT_USAGE) from exc
    Console(highlight=False).print(Text(visible(f"{path}: ok")))


@config_app.callback(invoke_without_command=True)
def config_main(
    ctx: typer.Context,
    print_default: Annotated[bool, typer.Option("--print-default", help="Print the default config.")] = False,
) -> None:
    """Print the default config, or validate one."""
    if print_default:
        sys.stdout.write(DEFAULT_CONFIG)
        raise typer.Exit(EXIT_OK)
    if ctx.invoked_subcommand is None:
        err.print(ctx.get_help())
        raise typer.Exit(EXIT_USAGE)


@app.command()
def simulate(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write the dataset to.")],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same files.")] = 7,
    scenario: Annotated[list[str] | None, typer.Option(
        help="Scenario to include (repeatable); default: all.")] = None,
    scale: Annotated[int, typer.Option(help="Multiply the background volume.")] = 1,
    formats: Annotated[str | None, typer.Option(
        help="Comma-separated formats, at most one per kind (endpoint, flow, login); the others "
        "stay eslogger, zeek, syslog. E.g. osquery,suricata,journald.")] = None,
) -> None:
    """Write a realistic dataset (eslogger, Zeek, sshd logs, assets.csv) with planted scenarios.

    The dataset's MANIFEST.json says what a correct hunt concludes, with the file and line of
    each key record.
    """
    from agenttrail.simulate import SCENARIOS
    from agenttrail.simulate import simulate as run_simulate
    from agenttrail.simulate.formats import choose

    for name in scenario or []:
        if name not in SCENARIOS:
            err.print(f"error: no scenario {name!r}; known: {', '.join(SCENARIOS)}")
            raise typer.Exit(EXIT_USAGE)
    names = [n.strip() for n in (formats or "").split(",") if n.strip()]
    try:
        choose(names)
    except ValueError as exc:
        err.print(f"error: --formats: {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    run_simulate(output, seed=seed, scenarios=scenario or None, scale=scale, formats=names)
    Console(highlight=False).print(Text(visible(f"wrote {output}")))


@export_app.command("sigma")
def export_sigma(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the .yml rules.")],
) -> None:
    """Write Sigma rules: single-event rules and v2 temporal_ordered correlations for the chain.

    Each rule notes what the Sigma form loses (`sigma_loss`); README.md in the folder lists
    the rules and the detections Sigma cannot express. The rules are checked with pySigma.
    """
    from agenttrail.outputs import sigma

    written = sigma.write(output)
    problems = sigma.check(output)
    for p in problems:
        err.print(Text(f"error: {p}"))
    if problems:
        raise typer.Exit(EXIT_INPUT)
    Console(highlight=False).print(Text(f"wrote {len(written) - 1} rules and README.md to "
                                        f"{output}"))


@app.command()
def formats() -> None:
    """List the input formats agenttrail reads, each with an example record.

    Formats are recognised by content; `hunt --input-format NAME` forces one.
    """
    from agenttrail.readers import READERS

    out = Console(highlight=False, soft_wrap=True, tab_size=4)
    for r in READERS:
        doc = (r.__doc__ or "").strip().splitlines()[0].replace("``", "")
        needs = "  (needs --host or --host-from-path)" if r.NEEDS_HOST else ""
        out.print(Text(r.NAME, style="bold") + Text(f"  {doc}{needs}"))
        for line in r.EXAMPLE.splitlines():
            out.print(Text("    " + line, style="dim"))
        out.print()


# Input options shared by coverage and inventory (the same as hunt's).
_Paths = Annotated[list[str], typer.Argument(help="Files, folders (walked) or - for stdin.")]
_Config = Annotated[Path | None, typer.Option(help="TOML config (see `config --print-default`).")]
_Host = Annotated[str | None, typer.Option(help="Host of inputs that carry none (eslogger).")]
_HostFromPath = Annotated[str | None, typer.Option(
    help="Take the host from the path, e.g. 'macs/{host}/*' or '{host}/auth.log'.")]
_Internal = Annotated[list[str] | None, typer.Option(
    help="Internal network (repeatable). Default: RFC 1918, 100.64/10, fc00::/7, assets.")]
_Assets = Annotated[str | None, typer.Option(
    help="CSV of host,ip[,valid_from,valid_to]: maps addresses to hosts over time.")]
_Tz = Annotated[str | None, typer.Option(help="Zone of zone-less timestamps (IANA name).")]
_Year = Annotated[int | None, typer.Option(help="Year of the first RFC 3164 syslog line.")]
_CollectedAt = Annotated[str | None, typer.Option(
    help="When the logs were collected (ISO time): year anchor and coverage end.")]
_Since = Annotated[str | None, typer.Option(help="Only events at or after this ISO time.")]
_Until = Annotated[str | None, typer.Option(help="Only events at or before this ISO time.")]
_OnlyHost = Annotated[str | None, typer.Option(help="Only hosts matching this glob.")]
_Threads = Annotated[int | None, typer.Option(help="DuckDB threads.")]
_MemoryLimit = Annotated[str | None, typer.Option(help="DuckDB memory limit, e.g. 4GB.")]
_TempDir = Annotated[str | None, typer.Option(help="Where DuckDB may spill to disk.")]
_MaxLineBytes = Annotated[int | None, typer.Option(
    help="Longer lines are reported and skipped (default 1 MiB).")]
_InputFormat = Annotated[str | None, typer.Option(
    help="Read every input as this format instead of recognising it "
    "(names: `agenttrail formats`).")]
_Debug = Annotated[bool, typer.Option(help="Show tracebacks.")]


_Doc = dict[str, Any]
_Run = Callable[[list[str], Settings, Callable[[str], None] | None], tuple[_Doc, list[Any]]]


def _read_inputs(run: _Run, paths: list[str], settings: Settings, debug: bool) -> _Doc:
    """Call a command's reading pipeline, mapping errors to exit codes as hunt does."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING)
    progress = (lambda msg: err.print(Text(msg, style="dim"))) if err.is_terminal else None
    try:
        return run(paths, settings, progress)[0]
    except (InputError, ConfigError) as exc:
        err.print(Text(f"error: {exc}"))
        raise typer.Exit(EXIT_USAGE) from exc
    except Exception as exc:
        if debug:
            raise
        err.print(Text(f"error: {type(exc).__name__}: {exc} (run again with --debug for details)"))
        raise typer.Exit(EXIT_INPUT) from exc


def _nothing_read(doc: _Doc) -> bool:
    totals = doc["inputs"]["totals"]
    return bool(totals["normalised"] + totals["skipped_by_type"] + totals["meta"] == 0)


@app.command()
def coverage(
    paths: _Paths,
    config: _Config = None,
    host: _Host = None,
    host_from_path: _HostFromPath = None,
    internal: _Internal = None,
    assets: _Assets = None,
    tz: _Tz = None,
    year: _Year = None,
    collected_at: _CollectedAt = None,
    since: _Since = None,
    until: _Until = None,
    only_host: _OnlyHost = None,
    threads: _Threads = None,
    memory_limit: _MemoryLimit = None,
    temp_dir: _TempDir = None,
    max_line_bytes: _MaxLineBytes = None,
    input_format: _InputFormat = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Folder for coverage.json.")] = None,
    require: Annotated[str | None, typer.Option(
        help="Comma-separated steps that must be ok on every host where they are measured "
        "(exit 1 otherwise): socket_access, exec_env, session_context, ip_mapping, ssh_flows, "
        "dest_logins, process_flow_link.")] = None,
    debug: _Debug = False,
) -> None:
    """Can this telemetry see SSH agent hijacking? Per host and analytic step: ok, partial or
    missing, what was measured, and what to switch on (`agenttrail sensors NAME`).

    Exit codes: 0 measured; 1 a --require'd step is not ok; 2 usage error; 3 nothing read.
    """
    from agenttrail.coverage import STEPS, failing
    from agenttrail.coverage import run as run_coverage
    from agenttrail.hunt import dumps
    from agenttrail.outputs.coverage import render_coverage

    required = [s.strip() for s in (require or "").split(",") if s.strip()]
    unknown = [s for s in required if s not in STEPS]
    if unknown:
        err.print(Text(f"error: --require: no step {', '.join(unknown)}; steps: "
                       f"{', '.join(STEPS)}"))
        raise typer.Exit(EXIT_USAGE)
    settings = _settings(
        config,
        host=host, host_from_path=host_from_path, internal=internal, assets=assets, tz=tz,
        year=year, collected_at_us=_time(collected_at, "--collected-at"),
        since_us=_time(since, "--since"), until_us=_time(until, "--until"),
        only_host=only_host, threads=threads, memory_limit=memory_limit, temp_dir=temp_dir,
        max_line_bytes=max_line_bytes, input_format=_input_format(input_format),
    )
    doc = _read_inputs(run_coverage, paths, settings, debug)
    bad = failing(doc, required) if required else []
    if required:
        doc["required"] = {"steps": required, "failing": bad}
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        (output / "coverage.json").write_text(dumps(doc), encoding="utf-8")
    render_coverage(doc, Console(highlight=False, width=None if sys.stdout.isatty() else 120))
    if output is not None:
        err.print(Text(f"wrote {output}/coverage.json"))
    if _nothing_read(doc):
        raise typer.Exit(EXIT_INPUT)
    if bad:
        for b in bad:
            where = f"{b['host']} ({b['role']})" if b["host"] else "no host"
            err.print(Text(f"required step {b['step']} is {b['status']} on {where}"))
        raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_OK)


@app.command()
def inventory(
    paths: _Paths,
    config: _Config = None,
    host: _Host = None,
    host_from_path: _HostFromPath = None,
    internal: _Internal = None,
    assets: _Assets = None,
    tz: _Tz = None,
    year: _Year = None,
    collected_at: _CollectedAt = None,
    since: _Since = None,
    until: _Until = None,
    only_host: _OnlyHost = None,
    threads: _Threads = None,
    memory_limit: _MemoryLimit = None,
    temp_dir: _TempDir = None,
    max_line_bytes: _MaxLineBytes = None,
    input_format: _InputFormat = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Folder for inventory.json and inventory_*.csv.")] = None,
    debug: _Debug = False,
) -> None:
    """Where SSH agent use is expected: agent sockets and owners, their clients by user,
    destinations per owner, root processes on user sockets, multi-user hosts, forwarded agents
    and control sockets.

    Exit codes: 0 done; 2 usage error; 3 nothing read.
    """
    from agenttrail.hunt import dumps
    from agenttrail.inventory import run as run_inventory
    from agenttrail.outputs.inventory import render_inventory, write_csv

    settings = _settings(
        config,
        host=host, host_from_path=host_from_path, internal=internal, assets=assets, tz=tz,
        year=year, collected_at_us=_time(collected_at, "--collected-at"),
        since_us=_time(since, "--since"), until_us=_time(until, "--until"),
        only_host=only_host, threads=threads, memory_limit=memory_limit, temp_dir=temp_dir,
        max_line_bytes=max_line_bytes, input_format=_input_format(input_format),
    )
    doc = _read_inputs(run_inventory, paths, settings, debug)
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        (output / "inventory.json").write_text(dumps(doc), encoding="utf-8")
        write_csv(doc, output)
    render_inventory(doc, Console(highlight=False, width=None if sys.stdout.isatty() else 120))
    if output is not None:
        err.print(Text(f"wrote {output}/inventory.json and inventory_*.csv"))
    raise typer.Exit(EXIT_INPUT if _nothing_read(doc) else EXIT_OK)


@app.command()
def sensors(
    name: Annotated[str, typer.Argument(help="eslogger, osquery, auditd, sshd or zeek.")],
    config: _Config = None,
    internal: _Internal = None,
) -> None:
    """Print the settings a sensor needs for this analytic: the eslogger subscription, the
    osquery flags and pack, the auditd rules, the sshd LogLevel and the Zeek local networks
    (from --internal or the config)."""
    from agenttrail.sensors import NAMES, render

    if name not in NAMES:
        err.print(Text(f"error: no sensor {name!r}; one of: {', '.join(NAMES)}"))
        raise typer.Exit(EXIT_USAGE)
    sys.stdout.write(render(name, _settings(config, internal=internal)))


@app.command()
def version() -> None:
    """Print the version."""
    Console().print(__version__)


def main() -> None:
    """Console script entry point."""
    app()


if __name__ == "__main__":
    main()
