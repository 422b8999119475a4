r"""Linux audit logs (``/var/log/audit/audit.log``): raw and ENRICHED, with or without ``node=``.

Example input (FORMATS §4.6)::

    type=SYSCALL msg=audit(1767607200.120:9101): arch=c000003e syscall=42 success=yes exit=0
      a0=3 a1=7ffd2b1e7c20 a2=6e a3=0 items=1 ppid=4100 pid=4242 auid=1002 uid=0 gid=0 euid=0
      ... tty=pts1 ses=7 comm="ssh" exe="/usr/bin/ssh" key="agent"
    type=SOCKADDR msg=audit(1767607200.120:9101): saddr=01002F746D702F7373682D...
    type=PATH msg=audit(1767607200.120:9101): item=0 name="/tmp/ssh-Xy12AbCd9Q/agent.4100"
      inode=4211 dev=00:1f mode=0140600 ouid=1001 ogid=1001 rdev=00:00 nametype=NORMAL
    node=db1 type=USER_ACCT msg=audit(1767607201.004:733): pid=812 uid=0 auid=4294967295
      ses=4294967295 msg='op=PAM:accounting acct="alice" exe="/usr/sbin/sshd"
      hostname=10.10.2.5 addr=10.10.2.5 terminal=ssh res=success'\x1dUID="root" AUID="unset"

**The accounting unit is the event** (DESIGN §8), ``msg=audit(<epoch>.<ms>:<serial>)`` with its
``node``: the records of one event (SYSCALL, EXECVE, SOCKADDR, PATH, CWD, PROCTITLE, EOE ...) may
be anywhere in the file (the corpus files are grouped by record type) and count once. ``read`` is
events + ``meta`` lines (blank, and ``ausearch``'s ``----`` / ``time->`` framing) + malformed
lines (no ``type=... msg=audit(time:serial)`` header, e.g. ``type=UNKNOWN[1329] msg=?`` or
``ausearch -i`` output, which interprets every value) + malformed events + ``unread`` lines
(after ``max_consecutive_malformed`` malformed lines in a row).

Events and what they become:

* SYSCALL ``connect`` (x86_64 42, aarch64 203, i386 362 or ``socketcall`` with ``a0=3``, arm
  283, or the name: ENRICHED ``SYSCALL=connect`` or an interpreted ``syscall=connect``) whose
  SOCKADDR family is AF_UNIX (``0100``) → a ``socket`` row: ``sun_path`` decoded (an abstract
  name, NUL-first, as ``@name``; a relative path joined to CWD); the PATH item naming the socket
  (else item 0) gives ``st_uid`` (``ouid``; the owner origin is then ``stat``) and
  ``socket_mode`` (octal ``mode``). SYSCALL ``bind`` (x86_64 49, aarch64 200, i386 361 or
  ``socketcall`` ``a0=2``, arm 282) of an AF_UNIX address → a ``socket`` bind row: the PARENT
  PATH item's owner is ``dir_uid`` (so an ``ssh-agent -a`` socket anywhere is an agent socket
  and its directory names its owner), the CREATE item's mode ``socket_mode``. Other families
  (and calls without SOCKADDR) are ``skipped_by_type['connect_not_unix' / 'bind_not_unix']``;
  failed calls ``connect_failed`` / ``bind_failed``.
* SYSCALL ``execve``/``execveat`` (x86_64 59/322, aarch64 221/281, i386 11/358, arm 11/387)
  → a ``process`` exec row: EXECVE ``a0..aN`` (quoted or hex; ``aN_len`` + ``aN[i]`` pieces
  joined before decoding, across EXECVE records), CWD, and arguments reduced as DESIGN §3 (full
  argv only for SSH-family programs and argv naming an agent socket, secrets redacted; auditd
  has no environment, so ``auth_sock`` stays NULL). Failed execs: ``execve_failed``.
* sshd's user-space records (``exe`` or ``comm`` is ``sshd``, ``sshd-session`` or ``sshd-auth``;
  types :data:`~agenttrail.readers._auditd_sql.LOGIN_TYPES`) → one ``login`` row each, and
  ``USER_START``/``USER_END`` also a ``session`` row (``ssh_inbound``, uid = ``auid``, asid =
  ``ses``). The same types written by other programs (cron, su, sudo, login) are
  ``skipped_by_type['<TYPE>:not_sshd']``; any other event is ``skipped_by_type[<type>]`` under
  its SYSCALL, else its first record's type (an event whose records are all of types the reader
  does not use counts once, as skipped).
* Malformed events (an issue at the event's SYSCALL or first line): a SYSCALL without
  ``syscall``, a connect/execve without ``pid``, a ``saddr`` that is not hex, an sshd login
  record without ``res=``.

**Which login row is "the" login.** One sshd login writes USER_AUTH (password/keyboard-
interactive via PAM; Red Hat's patch also for public keys, with ``rport``), USER_ACCT, CRED_ACQ,
kernel LOGIN, USER_START, CRED_ACQ, USER_LOGIN (only when a pty is allocated: OpenSSH writes it
from its utmp login record), CRYPTO_SESSION (Red Hat: ``rport``, ``laddr``, ``lport``) ... So that
``ssh_flow_without_login`` (and its one-to-one assignment of port-less logins) sees exactly one
``accepted`` row per connection: USER_ACCT ``res=success`` is it (PAM account management runs
right after authentication succeeds, for every method, with or without a pty); on a host whose
file has no sshd USER_ACCT (PAM off), USER_LOGIN ``res=success`` is it. The other records
corroborate: USER_AUTH success and CRYPTO_* are ``connection``, CRED_*/USER_START/USER_END and a
corroborating USER_LOGIN are ``session``, USER_LOGOUT ``disconnected``; failures are ``failed``
(USER_LOGIN for ``(invalid user)``: ``invalid``), USER_ERR ``preauth``. Rows of one sshd process
(``host``, ``pid``) share what only some records carry: ``rport``/``laddr``/``lport`` (when the
address agrees), the address (records with ``addr=?``), the user (USER_LOGIN ``id=<uid>``) and
the method (USER_AUTH ``op``). ``program`` is the executable's name (``sshd``, or
``sshd-session`` on OpenSSH ≥ 9.8); ``source`` is ``auditd``.

Values: ``auid``/``ses`` of 4294967295 or -1 are NULL (``auid_set`` false); hex values of the
encoded fields are decoded. The ENRICHED part after GS (``\x1d``) is read only for ``SYSCALL=``
(the name) and ``ID=``; a GS lost in transit (an upper-case ``KEY=`` glued to the last raw value,
as in the corpus's Ubuntu 21.10 extraction) is recognised. RHEL 6's ``user pid=`` prefix and
AppArmor's ``subj==`` need nothing special.

Host (DESIGN §3): ``node=`` (lower case; ``localhost`` counts as none), else ``ctx.host``
(``NEEDS_HOST``: lines without ``node=`` carry no host). ``pidversion``: auditd has no pid
generation, so the audit serial of the exec that started the image stands in for one: exec rows
carry their own serial (``prev_pidversion``: the pid's previous exec, ``parent_pidversion``: the
parent's latest exec), socket rows the serial of their pid's latest exec at or before the
connect, in the same file (NULL when the exec is not in the file). ``source_span``: one row per
(host, program) over every event, ``sshd_records`` = sshd login records.

References: linux-audit/audit-documentation ``specs/fields/field-dictionary.csv``,
``specs/messages/message-dictionary.csv``; Linux ``kernel/auditsc.c`` (EXECVE argument
encoding), ``include/uapi/linux/audit.h``; openssh-portable ``audit-linux.c``, ``loginrec.c``;
http://people.redhat.com/sgrubb/audit/event-enrichment.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.model import FileAccount, Issue, ReadResult
from agenttrail.readers import _auditd_logins as lq
from agenttrail.readers import _auditd_sql as q
from agenttrail.readers._io import (
    ReadContext,
    head_lines,
    line_excerpts,
    read_text_lines,
)
from agenttrail.readers._syslog import compiled, lit
from agenttrail.sshargv import parse_ssh_argv

if TYPE_CHECKING:
    import duckdb

NAME = "auditd"
#: Lines with ``node=`` name their host; the file is read even without --host, and only the
#: events without one are reported (see ingest).
RECORDS_MAY_NAME_HOST = True
EXAMPLE = (
    "node=ws1 type=SYSCALL msg=audit(1772446519.087:4711): arch=c000003e syscall=42 success=yes "
    "exit=0 a0=3 a1=7ffd4c a2=6e a3=0 items=1 ppid=3001 pid=3002 auid=1002 uid=0 gid=0 euid=0 "
    "suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts1 ses=7 comm=\"ssh\" exe=\"/usr/bin/ssh\" "
    "key=\"agent\"\n"
    "node=ws1 type=SOCKADDR msg=audit(1772446519.087:4711): "
    "saddr=01002F746D702F7373682D616263646566676869/agent.2999"
)
NEEDS_HOST = True
SOURCE = "auditd"

_SNIFF_LINES = 5
_DEST_PROGRAMS = frozenset({"ssh", "slogin", "scp", "sftp", "git", "rsync"})
_SSH_RESULT_TYPE = pa.struct([
    ("ssh_dest_host", pa.string()), ("ssh_dest_user", pa.string()),
    ("ssh_dest_port", pa.int64()), ("jump", pa.string()), ("identity_agent", pa.string()),
    ("identity_agent_inferred", pa.bool_()),
])
_INTERPRETED_HINT = "export with `ausearch --raw` (or ship /var/log/audit/audit.log as is)"
_HOST_HINT = "name the host with --host NAME or --host-from-path TEMPLATE"
_MAX_HOSTS_LISTED = 100
_CHUNK = 16 << 20  # bytes per Arrow split in the fast framing


def sniff(head: bytes) -> bool:
    """Whether most of the first lines (``ausearch`` framing aside) are audit records."""
    try:
        sep = compiled(q.SEPARATOR)
        lines = [ln for ln in head_lines(head, 50) if not sep.match(ln)][:_SNIFF_LINES]
        rx = compiled(q.HEADER)
        hits = sum(bool(rx.match(ln)) for ln in lines)
        return bool(lines) and hits * 5 >= len(lines) * 3
    except Exception:  # "not mine" is never an error (STYLE §3)
        return False


def read(ctx: ReadContext) -> ReadResult:
    """Read one audit log into ``process``, ``socket``, ``login``, ``session`` and
    ``source_span`` rows, accounting every event."""
    account = FileAccount(path=ctx.rel, format=NAME, host=ctx.host)
    result = ReadResult(account)
    suffix = uuid.uuid4().hex[:12]
    n = {k: f"_auditd_{k}_{suffix}" for k in ("lines", "rec", "ev", "argv", "logins")}
    con = ctx.con
    try:
        framing = _records(ctx, n)
        unread = _abandon(ctx, n["rec"])
        con.execute(f"CREATE TEMP TABLE {n['ev']} AS {q.events_sql(n['rec'], ctx.host)}")
        _account(ctx, account, framing, n, unread)
        con.execute(f"DROP TABLE {n['rec']}")
        con.execute(f"CREATE TEMP TABLE {n['argv']} AS {q.argv_sql(n['ev'])}")
        sub = {"{ev}": n["ev"], "{argv}": n["argv"]}
        process = con.sql(_fill(q.PROCESS_SQL, sub)).to_arrow_table()
        if process.num_rows:
            result.add("process", _with_source(ctx, _with_ssh_targets(process)))
        socket = con.sql(_fill(q.SOCKET_SQL, sub)).to_arrow_table()
        if socket.num_rows:
            result.add("socket", _with_source(ctx, socket))
        con.execute(f"CREATE TEMP TABLE {n['logins']} AS {lq.login_sql(n['ev'])}")
        logins = con.sql(
            f"SELECT {', '.join(lq.LOGIN_COLUMNS)}, host_own FROM {n['logins']}"
        ).to_arrow_table()
        if logins.num_rows:
            result.add("login", _with_source(ctx, logins, source=SOURCE))
        sessions = con.sql(lq.SESSION_SQL.replace("{logins}", n["logins"])).to_arrow_table()
        if sessions.num_rows:
            result.add("session", _with_source(ctx, sessions))
        malformed = ", ".join(lit(k) for k in q.MALFORMED)
        spans = con.sql(
            q.SPAN_SQL.replace("{ev}", n["ev"]).replace("{malformed}", malformed)
        ).to_arrow_table()
        if spans.num_rows:
            result.add("source_span", spans)
    finally:
        for key in ("rec", "ev", "argv", "logins"):
            con.execute(f"DROP TABLE IF EXISTS {n[key]}")
    return result


class _Fallback(Exception):
    """The fast framing met a file it does not frame (BOM, long line, not UTF-8)."""


def _records(ctx: ReadContext, n: dict[str, str]) -> FileAccount:
    """Parse every line into the ``{rec}`` table, one framing chunk at a time (the text of a
    chunk is dropped once parsed). Returns the framing's account (lines: blank ones as meta,
    over-long ones as malformed)."""
    con = ctx.con
    framing = FileAccount(path=ctx.rel)
    try:
        chunks = _frame(ctx, framing)
        _insert(con, n, next(chunks, _EMPTY_LINES), create=True)
        for chunk in chunks:
            _insert(con, n, chunk, create=False)
    except _Fallback:
        framing = FileAccount(path=ctx.rel)
        con.execute(f"DROP TABLE IF EXISTS {n['rec']}")
        _insert(con, n, read_text_lines(ctx, framing), create=True)
    return framing


def _insert(con: duckdb.DuckDBPyConnection, n: dict[str, str], lines: pa.Table,
            create: bool) -> None:
    con.register(n["lines"], lines)
    try:
        sql = q.records_sql(n["lines"])
        if create:
            con.execute(f"CREATE TEMP TABLE {n['rec']} AS {sql}")
        else:
            con.execute(f"INSERT INTO {n['rec']} {sql}")
    finally:
        con.unregister(n["lines"])


_EMPTY_LINES = pa.table({"src_line": pa.array([], pa.int64()), "text": pa.array([], pa.string())})


def _frame(ctx: ReadContext, account: FileAccount) -> Iterator[pa.Table]:
    """``(src_line, text)`` of every non-blank line, as :func:`read_text_lines` gives them, in
    chunks of about :data:`_CHUNK` bytes split by Arrow (no Python per line).

    Raises :class:`_Fallback` for a file with a BOM, a line over ``max_line_bytes`` or bytes
    that are not UTF-8: those are framed line by line by ``_io`` (exact issues for long lines,
    Latin-1 for bad bytes). Never holds more than one chunk plus ``max_line_bytes`` of text.
    """
    first = 1
    limit = ctx.max_line_bytes
    with ctx.path.open("rb") as f:
        if f.read(3) == b"\xef\xbb\xbf":
            raise _Fallback
        f.seek(0)
        carry = b""
        while True:
            block = f.read(_CHUNK)
            data = carry + block
            cut = len(data) if not block else data.rfind(b"\n") + 1
            chunk, carry = data[:cut], data[cut:]
            if len(carry) > limit:
                raise _Fallback
            if chunk:
                try:
                    text = pa.array([chunk], pa.binary()).cast(pa.string())
                except pa.ArrowInvalid:  # not UTF-8
                    raise _Fallback from None
                lines = pc.split_pattern(text, "\n")[0].values
                if chunk.endswith(b"\n"):
                    lines = lines[:-1]
                if len(lines) and pc.max(pc.binary_length(lines)).as_py() > limit:
                    raise _Fallback
                if b"\r" in chunk:
                    lines = pc.utf8_rtrim(lines, characters="\r")
                if b"\x00" in chunk:
                    lines = pc.replace_substring(lines, "\x00", "\\x00")
                numbers = pa.array(range(first, first + len(lines)), pa.int64())
                first += len(lines)
                account.read += len(lines)
                blank = pc.equal(pc.utf8_trim_whitespace(lines), "")
                account.meta += pc.sum(blank).as_py() or 0
                keep = pc.invert(blank)
                yield pa.table({"src_line": numbers.filter(keep), "text": lines.filter(keep)})
            if not block:
                return


def _fill(sql: str, sub: dict[str, str]) -> str:
    for k, v in sub.items():
        sql = sql.replace(k, v)
    return sql


def _abandon(ctx: ReadContext, rec: str) -> int:
    """Mark the lines after ``max_consecutive_malformed`` malformed lines in a row ``unread``."""
    limit = int(ctx.max_consecutive_malformed)
    row = ctx.con.execute(f"""
        WITH g AS (
            SELECT src_line, line_status, SUM(CASE WHEN line_status = 'malformed' THEN 0 ELSE 1
                END) OVER (ORDER BY src_line ROWS UNBOUNDED PRECEDING) AS run
            FROM {rec} WHERE line_status <> 'meta')
        SELECT min(src_line) FROM (
            SELECT src_line, row_number() OVER (PARTITION BY run ORDER BY src_line) AS k
            FROM g WHERE line_status = 'malformed') WHERE k >= {limit}""").fetchone()
    cutoff = row[0] if row else None
    if cutoff is None:
        return 0
    done = ctx.con.execute(
        f"UPDATE {rec} SET line_status = 'unread' WHERE src_line > {int(cutoff)}"
    ).fetchone()
    return int(done[0]) if done else 0


def _account(ctx: ReadContext, account: FileAccount, framing: FileAccount,
             n: dict[str, str], unread: int) -> None:
    """Counts per event status, line-level and event-level issues, duplicates, the file's host."""
    con = ctx.con
    account.issues.extend(framing.issues)
    account.malformed += framing.malformed
    account.meta += framing.meta
    account.read += framing.malformed + framing.meta
    lines_meta, lines_bad = con.execute(f"""
        SELECT count(*) FILTER (WHERE line_status = 'meta'),
               count(*) FILTER (WHERE line_status = 'malformed') FROM {n['rec']}""").fetchone() \
        or (0, 0)
    account.meta += lines_meta
    account.malformed += lines_bad
    account.unread += unread
    account.read += lines_meta + lines_bad + unread
    bad_lines = con.execute(f"""
        SELECT src_line, why FROM {n['rec']} WHERE line_status = 'malformed'
        ORDER BY src_line""").fetchall()
    bad_events = con.execute(f"""
        SELECT src_line, status FROM {n['ev']}
        WHERE status IN ({", ".join(lit(k) for k in q.MALFORMED)}) ORDER BY src_line
    """).fetchall()
    texts = line_excerpts(ctx, {line for line, _ in bad_lines} | {line for line, _ in bad_events})
    for line, why in bad_lines:
        if why == "interpreted":
            account.issues.append(Issue(
                ctx.rel, line, "malformed", "interpreted ausearch output (-i) is not read: "
                "its times and values are rewritten", texts.get(line, ""), _INTERPRETED_HINT))
        else:
            account.issues.append(Issue(
                ctx.rel, line, "malformed",
                "no audit record header (type=<TYPE> msg=audit(<time>:<serial>))",
                texts.get(line, "")))
    if unread:
        account.abandoned(None, ctx.max_consecutive_malformed, unread,
                          hint="check that the file is an audit log")
    rows = con.execute(f"""
        SELECT status, count(*), sum(n_syscall - 1) FILTER (WHERE n_syscall > 1)
        FROM {n['ev']} GROUP BY status ORDER BY status""").fetchall()
    for status, count, dup in rows:
        account.read += count
        if status in q.ROW_STATUSES:
            account.normalised += count
            account.duplicates += int(dup or 0)
        elif status in q.MALFORMED:
            account.malformed += count
        else:
            account.skip(status, count)
    for line, status in bad_events:
        account.issues.append(Issue(ctx.rel, line, "malformed", q.MALFORMED[status],
                                    texts.get(line, "")))
    account.details["records"] = int(con.execute(
        f"SELECT count(*) FROM {n['rec']} WHERE line_status = 'record'").fetchone()[0])
    enriched = con.execute(f"SELECT count(*) FROM {n['ev']} WHERE enriched").fetchone()
    if enriched and enriched[0]:
        account.details["enriched_events"] = int(enriched[0])
    hosts = [h for (h,) in con.execute(
        f"SELECT DISTINCT host FROM {n['ev']} WHERE host IS NOT NULL ORDER BY host").fetchall()]
    if len(hosts) > 1:
        account.host = None  # not the --host of the file: its records name several
    account.set_hosts(hosts, _MAX_HOSTS_LISTED)
    hostless = con.execute(f"""
        SELECT count(*), min(src_line) FROM {n['ev']}
        WHERE host IS NULL AND status IN ({", ".join(lit(s) for s in q.ROW_STATUSES)})
    """).fetchone()
    if hostless and hostless[0]:
        account.issues.append(Issue(
            ctx.rel, hostless[1], "warning",
            f"{hostless[0]} events have no host (no node= and no host given); their rows "
            "cannot be attributed", hint=_HOST_HINT))


def _with_ssh_targets(process: pa.Table) -> pa.Table:
    """The argv parser's destination and agent columns, each distinct (argv, program) once."""
    base = [(e or "").rsplit("/", 1)[-1].lower() for e in process.column("exe").to_pylist()]
    keys: dict[tuple[tuple[str, ...], str], dict[str, object] | None] = {}
    found: list[dict[str, object] | None] = []
    for args, b in zip(process.column("args").to_pylist(), base, strict=True):
        if not args or b not in _DEST_PROGRAMS:
            found.append(None)
            continue
        key = (tuple(args), b)
        if key not in keys:
            t = parse_ssh_argv([b, *args[1:]], None, None)
            keys[key] = {
                "ssh_dest_host": t.host, "ssh_dest_user": t.user, "ssh_dest_port": t.port,
                "jump": t.jump, "identity_agent": t.identity_agent,
                "identity_agent_inferred": t.identity_agent_inferred
                if t.identity_agent is not None else None,
            }
        found.append(keys[key])
    arr = pa.array(found, _SSH_RESULT_TYPE)
    for field in _SSH_RESULT_TYPE:
        process = process.append_column(field.name, pc.struct_field(arr, field.name))
    return process


def _with_source(ctx: ReadContext, table: pa.Table, **constants: str) -> pa.Table:
    """Source reference columns and ``host_inferred`` (a ``node=`` host is the record's own)."""
    own = table.column("host_own") if "host_own" in table.column_names else None
    if own is not None:
        table = table.drop_columns(["host_own"])
    from_ctx = (ctx.host_origin == "option") if ctx.host is not None else None
    if own is None:
        inferred = pa.repeat(pa.scalar(from_ctx, pa.bool_()), table.num_rows)
    else:
        has_host = pc.is_valid(table.column("host"))
        inferred = pc.if_else(own, False, pc.if_else(has_host, pa.scalar(from_ctx, pa.bool_()),
                                                     pa.scalar(None, pa.bool_())))
    table = table.append_column("host_inferred", inferred)
    values = {"src_file": ctx.rel, "src_format": NAME, **constants}
    for col, value in values.items():
        table = table.append_column(col, pa.repeat(pa.scalar(value, pa.string()), table.num_rows))
    return table

