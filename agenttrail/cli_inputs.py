"""What every command that reads inputs shares: its options, their checks, the Settings they
make, and the stderr messages with their exit codes.

``hunt``, ``coverage``, ``inventory`` and ``explain --socket/--flow/--login`` take the same input
options (the ``*Opt`` aliases below) and turn them into Settings through :func:`input_settings`,
which checks every option before any input is read (exit 2 with one line per problem).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from agenttrail.config import ConfigError, Settings, load
from agenttrail.outputs.visible import visible

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INPUT = 0, 1, 2, 3


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


def parse_time(value: str | None, option: str) -> int | None:
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


def config_errors(exc: ConfigError) -> None:
    """One ``error:`` line per problem (a config file reports all of its problems at once)."""
    for line in str(exc).splitlines():
        err.print(f"error: {line}")


def settings_from(
    config: Path | None, **opts: object
) -> Settings:
    try:
        settings = load(config)
    except ConfigError as exc:
        config_errors(exc)
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


def input_format_name(name: str | None) -> str | None:
    from agenttrail.readers import BY_NAME

    if name is not None and name not in BY_NAME:
        err.print(f"error: --input-format {name!r} is not a format; one of: "
                  f"{', '.join(sorted(BY_NAME))}")
        raise typer.Exit(EXIT_USAGE)
    return name


def sigterm_unwinds() -> signal.Handlers | None:
    """Make SIGTERM end the run through its ``finally`` blocks (temporary files are removed);
    returns the handler to put back, or None when signals cannot be set here."""

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    try:
        return signal.signal(signal.SIGTERM, stop)  # type: ignore[return-value]
    except ValueError:  # not the main thread
        return None


def some(items: list[str], n: int = 3) -> str:
    return ", ".join(items[:n]) + (f" (+{len(items) - n} more)" if len(items) > n else "")


def why_nothing_read(files: list[dict[str, object]]) -> str:
    """Why no record was usable, file by file (the first issue of each)."""
    if not files:
        return "no files found in the paths given"
    why = []
    for f in files:
        issues, details = f["issues"], f["details"]
        reason = (issues[0]["message"] if issues  # type: ignore[index]
                  else details.get("skipped") or "no usable records")  # type: ignore[attr-defined]
        why.append(f"{f['path']}: {reason}")
    return some(why) + ("; see report.json" if len(why) > 3 else "")


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


def check_output(output: Path) -> str | None:
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


def byte_size(value: str | None, option: str) -> int | None:
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



# The input options of every command that reads inputs.
PathsArg = Annotated[list[str], typer.Argument(metavar="PATH", help="Files, folders (walked) or - for stdin.")]
ConfigOpt = Annotated[Path | None, typer.Option(metavar="FILE", help="TOML config (see `config --print-default`).")]
HostOpt = Annotated[str | None, typer.Option(metavar="NAME", help="Host of inputs that carry none (eslogger).")]
HostFromPathOpt = Annotated[str | None, typer.Option(
    metavar="TEMPLATE", help="Take the host from the path, e.g. 'macs/{host}/*' or '{host}/auth.log'.")]
InternalOpt = Annotated[list[str] | None, typer.Option(
    metavar="CIDR", help="Internal network (repeatable). Default: RFC 1918, 100.64/10, fc00::/7, assets.")]
AssetsOpt = Annotated[str | None, typer.Option(
    metavar="CSV", help="CSV of host,ip[,valid_from,valid_to]: maps addresses to hosts over time.")]
TzOpt = Annotated[str | None, typer.Option(metavar="ZONE", help="Zone of zone-less timestamps (IANA name).")]
YearOpt = Annotated[int | None, typer.Option(metavar="YYYY", help="Year of the first RFC 3164 syslog line.")]
CollectedAtOpt = Annotated[str | None, typer.Option(
    metavar="TIME", help="When the logs were collected (ISO time): year anchor and coverage end.")]
SinceOpt = Annotated[str | None, typer.Option(metavar="TIME", help="Only events at or after this ISO time.")]
UntilOpt = Annotated[str | None, typer.Option(metavar="TIME", help="Only events at or before this ISO time.")]
OnlyHostOpt = Annotated[str | None, typer.Option(metavar="GLOB", help="Only hosts matching this glob.")]
ThreadsOpt = Annotated[int | None, typer.Option(metavar="N", help="DuckDB threads.")]
MemoryLimitOpt = Annotated[str | None, typer.Option(metavar="SIZE", help="DuckDB memory limit, e.g. 4GB.")]
TempDirOpt = Annotated[str | None, typer.Option(metavar="DIR", help="Where DuckDB may spill to disk.")]
MaxLineBytesOpt = Annotated[int | None, typer.Option(
    metavar="BYTES", help="Longer lines are reported and skipped (default 1 MiB).")]
InputFormatOpt = Annotated[str | None, typer.Option(
    metavar="FORMAT", help="Read every input as this format instead of recognising it "
    "(names: `agenttrail formats`).")]
DebugOpt = Annotated[bool, typer.Option(help="Show tracebacks.")]




def input_settings(
    config: Path | None, *, host: str | None, host_from_path: str | None,
    internal: list[str] | None, assets: str | None, tz: str | None, year: int | None,
    collected_at: str | None, since: str | None, until: str | None, only_host: str | None,
    threads: int | None, memory_limit: str | None, temp_dir: str | None,
    max_line_bytes: int | None, input_format: str | None, **extra: object,
) -> Settings:
    """Settings from the config file and the input options, every option checked first (exit 2
    with one line per problem); ``extra`` are further Settings fields a command sets."""
    since_us, until_us = parse_time(since, "--since"), parse_time(until, "--until")
    _check_hunt_options(
        host_from_path=host_from_path, year=year, since_us=since_us, until_us=until_us,
        threads=threads, memory_limit=memory_limit, temp_dir=temp_dir,
        max_line_bytes=max_line_bytes)
    settings = settings_from(
        config,
        host=host, host_from_path=host_from_path, internal=internal, assets=assets, tz=tz,
        year=year, collected_at_us=parse_time(collected_at, "--collected-at"),
        since_us=since_us, until_us=until_us, only_host=only_host, threads=threads,
        memory_limit=memory_limit, temp_dir=temp_dir, max_line_bytes=max_line_bytes,
        input_format=input_format_name(input_format), **extra,
    )
    _check_assets(settings)
    return settings
