"""Command line: thin commands that parse options, call the library and map errors to exit codes.

Exit codes (DESIGN §7): 0 nothing at or above --fail-on; 1 at least one unsuppressed, final
incident at or above it; 2 usage or config error; 3 no input could be read, or --strict and some
file had issues.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from agenttrail import __version__
from agenttrail.cli_inputs import (
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_OK,
    EXIT_USAGE,
    AssetsOpt,
    CollectedAtOpt,
    ConfigOpt,
    DebugOpt,
    HostFromPathOpt,
    HostOpt,
    InputFormatOpt,
    InternalOpt,
    MaxLineBytesOpt,
    MemoryLimitOpt,
    OnlyHostOpt,
    PathsArg,
    SinceOpt,
    TempDirOpt,
    ThreadsOpt,
    TzOpt,
    UntilOpt,
    YearOpt,
    byte_size,
    check_output,
    config_errors,
    err,
    input_settings,
    settings_from,
    sigterm_unwinds,
    some,
    why_nothing_read,
)
from agenttrail.config import DEFAULT_CONFIG, ConfigError, Settings, load
from agenttrail.detect import CATALOGUE
from agenttrail.detect._meta import SEVERITY
from agenttrail.ingest import InputError
from agenttrail.outputs.visible import visible

if TYPE_CHECKING:
    from agenttrail.redact import Redactor


app = typer.Typer(
    name="agenttrail",
    help="Find SSH agent hijacking (ATT&CK T1563.001, analytics AN0711 and AN0710) in exported "
    "endpoint, flow and login telemetry (`agenttrail formats` lists what is read).\n\n"
    "Start with:  agenttrail hunt ./exports --assets assets.csv --host-from-path '{host}/*' -o out",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
config_app = typer.Typer(help="Print or check the TOML config.", no_args_is_help=True)
app.add_typer(config_app, name="config")
export_app = typer.Typer(help="Export the detection logic for other tools.", no_args_is_help=True)
app.add_typer(export_app, name="export")

@app.command()
def hunt(
    paths: PathsArg,
    config: ConfigOpt = None,
    host: HostOpt = None,
    host_from_path: HostFromPathOpt = None,
    internal: InternalOpt = None,
    assets: AssetsOpt = None,
    tz: TzOpt = None,
    year: YearOpt = None,
    collected_at: CollectedAtOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    only_host: OnlyHostOpt = None,
    threads: ThreadsOpt = None,
    memory_limit: MemoryLimitOpt = None,
    temp_dir: TempDirOpt = None,
    max_line_bytes: MaxLineBytesOpt = None,
    max_decompressed_bytes: Annotated[str | None, typer.Option(
        help="Stop decompressing a .gz input at this size, e.g. 8GiB (default 4 GiB; also at "
        "1000x the compressed size).")] = None,
    input_format: InputFormatOpt = None,
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
    debug: DebugOpt = False,
) -> None:
    """Hunt exported telemetry for SSH agent hijacking and write the findings.

    Reads endpoint (eslogger, osquery, Elastic, auditd, OCSF), flow (Zeek, Suricata, nfdump,
    VPC) and login records (sshd syslog, journald, unified log, auditd, wtmp), plain or .gz,
    recognised by content (`agenttrail formats`); correlates them, prints the incidents and
    writes OCSF Detection Findings (and report.json, report.html, run.json with -o).
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
    settings = input_settings(
        config, host=host, host_from_path=host_from_path, internal=internal, assets=assets,
        tz=tz, year=year, collected_at=collected_at, since=since, until=until,
        only_host=only_host, threads=threads, memory_limit=memory_limit, temp_dir=temp_dir,
        max_line_bytes=max_line_bytes, input_format=input_format,
        max_decompressed_bytes=byte_size(max_decompressed_bytes, "--max-decompressed-bytes"),
        output_dir=str(output) if output is not None else None,
    )
    if output is not None and (problem := check_output(output)):
        err.print(f"error: {problem}")
        raise typer.Exit(EXIT_USAGE)
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING)
    progress = (lambda msg: err.print(Text(visible(msg), style="dim"))) if err.is_terminal else None
    previous = sigterm_unwinds()
    try:
        result = run_hunt(paths, settings, progress)
    except (InputError, ConfigError) as exc:
        if isinstance(exc, ConfigError):
            config_errors(exc)
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
        err.print(f"error: no input could be read: {why_nothing_read(report['inputs']['files'])}")
        raise typer.Exit(EXIT_INPUT)
    if strict and any_issue:
        bad = [f["path"] for f in report["inputs"]["files"] if f["issues_total"]]
        err.print(f"error: --strict: {len(bad)} input file(s) had issues: {some(bad)}; "
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
    config: ConfigOpt = None,
    host: HostOpt = None,
    host_from_path: HostFromPathOpt = None,
    internal: InternalOpt = None,
    assets: AssetsOpt = None,
    tz: TzOpt = None,
    year: YearOpt = None,
    collected_at: CollectedAtOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    only_host: OnlyHostOpt = None,
    threads: ThreadsOpt = None,
    memory_limit: MemoryLimitOpt = None,
    temp_dir: TempDirOpt = None,
    max_line_bytes: MaxLineBytesOpt = None,
    input_format: InputFormatOpt = None,
    redact: Annotated[str | None, typer.Option(
        help="Pseudonymise names: comma-separated users, hosts, paths.")] = None,
    redact_key: Annotated[Path | None, typer.Option(
        help="Key file for --redact (default: DIR/redact.key of --from; created when "
        "absent).")] = None,
    debug: DebugOpt = False,
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

    settings = input_settings(
        config, host=host, host_from_path=host_from_path, internal=internal, assets=assets,
        tz=tz, year=year, collected_at=collected_at, since=since, until=until,
        only_host=only_host, threads=threads, memory_limit=memory_limit, temp_dir=temp_dir,
        max_line_bytes=max_line_bytes, input_format=input_format,
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
        config_errors(exc)
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
    paths: PathsArg,
    config: ConfigOpt = None,
    host: HostOpt = None,
    host_from_path: HostFromPathOpt = None,
    internal: InternalOpt = None,
    assets: AssetsOpt = None,
    tz: TzOpt = None,
    year: YearOpt = None,
    collected_at: CollectedAtOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    only_host: OnlyHostOpt = None,
    threads: ThreadsOpt = None,
    memory_limit: MemoryLimitOpt = None,
    temp_dir: TempDirOpt = None,
    max_line_bytes: MaxLineBytesOpt = None,
    input_format: InputFormatOpt = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Folder for coverage.json.")] = None,
    require: Annotated[str | None, typer.Option(
        help="Comma-separated steps that must be ok on every host where they are measured "
        "(exit 1 otherwise): socket_access, exec_env, session_context, ip_mapping, ssh_flows, "
        "dest_logins, process_flow_link.")] = None,
    debug: DebugOpt = False,
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
    settings = input_settings(
        config, host=host, host_from_path=host_from_path, internal=internal, assets=assets,
        tz=tz, year=year, collected_at=collected_at, since=since, until=until,
        only_host=only_host, threads=threads, memory_limit=memory_limit, temp_dir=temp_dir,
        max_line_bytes=max_line_bytes, input_format=input_format,
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
    paths: PathsArg,
    config: ConfigOpt = None,
    host: HostOpt = None,
    host_from_path: HostFromPathOpt = None,
    internal: InternalOpt = None,
    assets: AssetsOpt = None,
    tz: TzOpt = None,
    year: YearOpt = None,
    collected_at: CollectedAtOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    only_host: OnlyHostOpt = None,
    threads: ThreadsOpt = None,
    memory_limit: MemoryLimitOpt = None,
    temp_dir: TempDirOpt = None,
    max_line_bytes: MaxLineBytesOpt = None,
    input_format: InputFormatOpt = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Folder for inventory.json and inventory_*.csv.")] = None,
    debug: DebugOpt = False,
) -> None:
    """Where SSH agent use is expected: agent sockets and owners, their clients by user,
    destinations per owner, root processes on user sockets, multi-user hosts, forwarded agents
    and control sockets.

    Exit codes: 0 done; 2 usage error; 3 nothing read.
    """
    from agenttrail.hunt import dumps
    from agenttrail.inventory import run as run_inventory
    from agenttrail.outputs.inventory import render_inventory, write_csv

    settings = input_settings(
        config, host=host, host_from_path=host_from_path, internal=internal, assets=assets,
        tz=tz, year=year, collected_at=collected_at, since=since, until=until,
        only_host=only_host, threads=threads, memory_limit=memory_limit, temp_dir=temp_dir,
        max_line_bytes=max_line_bytes, input_format=input_format,
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
    config: ConfigOpt = None,
    internal: InternalOpt = None,
) -> None:
    """Print the settings a sensor needs for this analytic: the eslogger subscription, the
    osquery flags and pack, the auditd rules, the sshd LogLevel and the Zeek local networks
    (from --internal or the config)."""
    from agenttrail.sensors import NAMES, render

    if name not in NAMES:
        err.print(Text(f"error: no sensor {name!r}; one of: {', '.join(NAMES)}"))
        raise typer.Exit(EXIT_USAGE)
    sys.stdout.write(render(name, settings_from(config, internal=internal)))


@app.command()
def version() -> None:
    """Print the version."""
    Console().print(__version__)


def main() -> None:
    """Console script entry point."""
    app()


if __name__ == "__main__":
    main()
