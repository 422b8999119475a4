"""Table schemas, source references, issues and per-file accounting (no logic beyond shaping).

Every normalised table is an Arrow table with the columns declared here. Readers may produce any
subset of a table's columns (plus the source columns); :func:`conform` adds the missing ones as NULL,
casts to the declared types, derives each timestamp column from its epoch-microsecond twin, and
canonicalises every address column (see :mod:`agenttrail.addr`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from agenttrail.addr import ip_columns

TS = pa.timestamp("us", tz="UTC")
STR = pa.string()
I64 = pa.int64()
BOOL = pa.bool_()

#: Columns every row carries so an analyst can open the original record.
SOURCE_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("src_file", STR),  # input file, relative to the common input root ("-" for stdin)
    ("src_line", I64),  # 1-based line (or record ordinal for binary formats)
    ("src_seq", I64),  # source sequence when the format has one (eslogger global_seq_num, ...)
    ("src_format", STR),  # reader name
]

#: Timestamp columns and their epoch-microsecond twins. Readers fill the twin; conform derives the
#: timestamp.
TIME_TWINS = {"time": "t_us", "end_time": "end_time_us", "start": "start_us", "end": "end_us"}

_COLUMNS: dict[str, list[tuple[str, pa.DataType]]] = {
    "process": [
        ("time", TS), ("t_us", I64), ("host", STR), ("host_inferred", BOOL), ("action", STR),
        ("pid", I64), ("pidversion", I64), ("prev_pidversion", I64), ("ppid", I64),
        ("parent_pidversion", I64), ("ruid", I64), ("euid", I64), ("auid", I64),
        ("auid_set", BOOL), ("asid", I64), ("session_id", I64), ("tty", STR), ("exe", STR),
        ("signing_id", STR), ("team_id", STR), ("platform_binary", BOOL),
        ("args", pa.list_(STR)), ("argc", I64),
        # environment entries the exec record carried, before reduction (NULL: not reported)
        ("env_count", I64), ("cwd", STR), ("auth_sock", STR),
        ("auth_sock_raw", STR), ("sudo_uid", I64), ("sudo_user", STR), ("env_user", STR),
        ("env_logname", STR), ("env_home", STR), ("env_tmpdir", STR), ("ssh_connection", STR),
        ("ssh_client", STR), ("identity_agent", STR), ("identity_agent_inferred", BOOL),
        ("ssh_dest_host", STR), ("ssh_dest_ip", STR), ("ssh_dest_user", STR),
        ("ssh_dest_port", I64), ("jump", STR),
        ("platform", STR), ("exe_class", STR), ("exe_location", STR), ("code_signature", STR),
        ("start_t_us", I64), ("exit_status", I64), ("agent_client", BOOL),
        ("agent_path", STR), ("row_id", I64),
    ],
    "socket": [
        ("time", TS), ("t_us", I64), ("host", STR), ("host_inferred", BOOL), ("action", STR),
        ("pid", I64), ("pidversion", I64), ("ruid", I64), ("euid", I64), ("auid", I64),
        ("auid_set", BOOL), ("asid", I64), ("exe", STR), ("signing_id", STR), ("team_id", STR),
        ("platform_binary", BOOL), ("agent_infra", BOOL), ("socket_path", STR),
        ("socket_path_raw", STR), ("socket_kind", STR), ("socket_scope", STR),
        ("socket_owner_uid", I64),
        ("owner_origin", STR), ("st_uid", I64), ("dir_uid", I64), ("socket_mode", I64),
        ("binder_asid", I64), ("platform", STR), ("exe_class", STR), ("exe_location", STR),
        ("code_signature", STR), ("row_id", I64),
    ],
    "session": [
        ("time", TS), ("t_us", I64), ("end_time", TS), ("end_time_us", I64), ("host", STR),
        ("host_inferred", BOOL), ("uid", I64), ("user", STR), ("kind", STR), ("success", BOOL),
        ("source_ip", STR), ("asid", I64), ("pid", I64), ("pidversion", I64), ("action", STR),
        ("row_id", I64),
    ],
    "flow": [
        ("start", TS), ("start_us", I64), ("end", TS), ("end_us", I64), ("src_ip", STR),
        ("src_port", I64), ("dst_ip", STR), ("dst_port", I64), ("src_internal", BOOL),
        ("dst_internal", BOOL), ("proto", STR), ("saw_syn", BOOL), ("state", STR),
        ("history", STR), ("bytes_out", I64), ("bytes_in", I64), ("pkts_out", I64),
        ("pkts_in", I64), ("is_ssh", BOOL), ("ssh_evidence", STR), ("ssh_auth_hint", BOOL),
        ("client_banner", STR), ("server_banner", STR), ("sensor", STR), ("flow_uid", STR),
        ("flow_part", STR), ("src_host", STR), ("dst_host", STR),
        ("pid", I64),  # the connecting process, when an endpoint reports the connection
        ("row_id", I64),
    ],
    "login": [
        ("time", TS), ("t_us", I64), ("host", STR), ("host_inferred", BOOL), ("user", STR),
        ("src_ip", STR), ("src_port", I64), ("server_ip", STR), ("server_port", I64),
        ("program", STR), ("method", STR), ("key_type", STR), ("key_fp", STR), ("result", STR),
        ("pid", I64), ("source", STR), ("message", STR), ("time_inferred", BOOL),
        ("year_inferred", BOOL), ("row_id", I64),
    ],
    "source_span": [
        ("host", STR), ("source", STR), ("format", STR), ("program", STR), ("first_t_us", I64),
        ("last_t_us", I64), ("records", I64), ("sshd_records", I64),
    ],
    "dns": [
        ("time", TS), ("t_us", I64), ("sensor", STR), ("client_ip", STR), ("query", STR),
        ("answer_ip", STR), ("ttl", I64),
        # normalisation: the canonical host name of the query, and its first label
        ("query_host", STR), ("query_label", STR), ("row_id", I64),
    ],
    "asset": [
        ("host", STR), ("ip", STR), ("start_hi", I64), ("start_lo", I64), ("end_hi", I64),
        ("end_lo", I64), ("valid_from_us", I64), ("valid_to_us", I64), ("origin", STR),
    ],
    "user": [("host", STR), ("uid", I64), ("name", STR), ("origin", STR)],
    # every socket path seen on a host (connect, bind, SSH_AUTH_SOCK, IdentityAgent), classified
    "sockpath": [
        ("host", STR), ("socket_path", STR), ("socket_kind", STR), ("socket_scope", STR),
        ("path_user", STR), ("path_uid", I64), ("platform", STR),
        # who bound it, when a bind was seen (forwarded agents are bound by sshd)
        ("bound_by", STR),
    ],
}

#: Tables whose rows carry source references.
SOURCED = frozenset({"process", "socket", "session", "flow", "login", "dns"})

#: Enumerated columns and their allowed values (NULL is always allowed).
ENUMS: dict[tuple[str, str], frozenset[str]] = {
    ("process", "action"): frozenset({"exec", "fork", "exit"}),
    ("process", "platform"): frozenset({"macos", "linux"}),
    ("process", "exe_class"): frozenset({"ssh_family", "interpreter", "relay", "other"}),
    ("process", "exe_location"): frozenset(
        {"system", "app", "package_manager", "user_writable", "temp", "download", "other"}
    ),
    ("process", "code_signature"): frozenset({"platform", "team", "adhoc", "unsigned", "unknown"}),
    ("socket", "action"): frozenset({"connect", "bind", "open"}),
    ("socket", "socket_kind"): frozenset({"agent", "control", "other"}),
    ("socket", "socket_scope"): frozenset({"tmp", "tmpdir", "var_run", "home", "other"}),
    ("session", "kind"): frozenset(
        {"gui", "login", "ssh_inbound", "su", "sudo", "screen_lock", "utmp"}
    ),
    # accepted: a session was authenticated; failed/invalid/preauth/closed: an attempt without a
    # session; connection (VERBOSE "Connection from ... on ..."), session (Starting/Close session)
    # and disconnected (end of an authenticated session) are records of a connection too.
    ("login", "result"): frozenset(
        {"accepted", "failed", "preauth", "closed", "invalid", "connection", "session",
         "disconnected"}
    ),
    # conn: a connection record (Zeek conn.log); ssh: an SSH protocol record (Zeek ssh.log) that is
    # merged into its connection by flow_uid during normalisation; NULL: a complete flow record.
    ("flow", "flow_part"): frozenset({"conn", "ssh"}),
    ("sockpath", "bound_by"): frozenset({"sshd", "agent", "mux", "launchd", "other"}),
}


def _schema(table: str) -> pa.Schema:
    cols = list(_COLUMNS[table])
    names = {n for n, _ in cols}
    for ip_col in ip_columns(names):
        cols += [(f"{ip_col}_hi", I64), (f"{ip_col}_lo", I64)]
    if table in SOURCED:
        cols += SOURCE_COLUMNS
    return pa.schema(cols)


SCHEMAS: dict[str, pa.Schema] = {name: _schema(name) for name in _COLUMNS}
TABLES: tuple[str, ...] = tuple(SCHEMAS)


def empty(table: str) -> pa.Table:
    """An empty table with the declared schema."""
    return SCHEMAS[table].empty_table()


@dataclass(frozen=True, order=True)
class SourceRef:
    """Where a record came from: file relative to the common input root, and its line."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return self.path if self.line is None else f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Issue:
    """A problem with the input, at a location.

    ``kind`` is one of ``malformed`` (a record that could not be read), ``unread`` (records not
    read after an abandon or a limit), ``file`` (the whole file could not be used: no host, no
    format), or ``warning`` (read, but something was inferred or suspicious).
    """

    path: str
    line: int | None
    kind: str
    message: str
    excerpt: str = ""
    hint: str = ""

    def location(self) -> str:
        """``path:line`` or ``path``."""
        return str(SourceRef(self.path, self.line))

    def to_dict(self) -> dict[str, Any]:
        """JSON form, keys in fixed order."""
        return {
            "path": self.path,
            "line": self.line,
            "kind": self.kind,
            "message": self.message,
            "excerpt": self.excerpt,
            "hint": self.hint,
        }


@dataclass
class FileAccount:
    """What happened to each record of one input file (DESIGN §8).

    Invariant: ``read == normalised + sum(skipped_by_type) + meta + malformed + unread``.
    """

    path: str
    format: str | None = None
    size: int = 0
    sha256: str = ""
    read: int = 0
    normalised: int = 0
    skipped_by_type: dict[str, int] = field(default_factory=dict)
    meta: int = 0
    malformed: int = 0
    unread: int = 0
    duplicates: int = 0
    host: str | None = None
    issues: list[Issue] = field(default_factory=list)
    unknown_keys: dict[str, dict[str, int]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def skip(self, kind: str, n: int = 1) -> None:
        """Count ``n`` records skipped because their type is not used."""
        if n:
            self.skipped_by_type[kind] = self.skipped_by_type.get(kind, 0) + n

    def count(self, status: str, n: int) -> None:
        """Count ``n`` records of a reader's status: ``normalised``, ``meta``, ``malformed``,
        ``unread``, or anything else, which is a skipped type of that name."""
        if status in ("normalised", "meta", "malformed", "unread"):
            setattr(self, status, getattr(self, status) + n)
        else:
            self.skip(status, n)

    def abandoned(self, line: int | None, limit: int, n: int, unit: str = "lines",
                  hint: str = "check that the file is in the format it was taken for") -> None:
        """The issue of a file left after ``limit`` malformed records in a row (``n`` unread)."""
        self.issues.append(Issue(
            self.path, line, "unread",
            f"abandoned after {limit} malformed {unit} in a row; {n} {unit} not read", hint=hint))

    def set_hosts(self, hosts: list[str], listed: int = 100) -> None:
        """The file's host when its records name one, else the first ``listed`` of them."""
        if len(hosts) == 1:
            self.host = hosts[0]
        elif hosts:
            self.details["hosts"] = hosts[:listed]
            self.details["host_count"] = len(hosts)

    def balanced(self) -> bool:
        """Whether the accounting identity holds."""
        total = self.normalised + sum(self.skipped_by_type.values()) + self.meta
        return self.read == total + self.malformed + self.unread

    def to_dict(self, max_locations: int = 20) -> dict[str, Any]:
        """JSON form, keys in fixed order, issues sorted by location."""
        issues = sorted(self.issues, key=lambda i: (i.line or 0, i.kind, i.message))
        return {
            "path": self.path,
            "format": self.format,
            "host": self.host,
            "size": self.size,
            "sha256": self.sha256,
            "read": self.read,
            "normalised": self.normalised,
            "skipped_by_type": dict(sorted(self.skipped_by_type.items())),
            "meta": self.meta,
            "malformed": self.malformed,
            "unread": self.unread,
            "duplicates": self.duplicates,
            "unknown_keys": {
                k: dict(sorted(v.items())) for k, v in sorted(self.unknown_keys.items())
            },
            "details": dict(sorted(self.details.items())),
            "issues": [i.to_dict() for i in issues[:max_locations]],
            "issues_total": len(issues),
        }


@dataclass
class ReadResult:
    """A reader's output for one file: rows per table and the file's accounting."""

    account: FileAccount
    tables: dict[str, pa.Table] = field(default_factory=dict)

    def add(self, table: str, rows: pa.Table) -> None:
        """Append rows (already conformed or not) to ``table``."""
        rows = conform(table, rows)
        if table in self.tables:
            self.tables[table] = pa.concat_tables([self.tables[table], rows])
        else:
            self.tables[table] = rows


def conform(table: str, rows: pa.Table) -> pa.Table:
    """Shape ``rows`` to the declared schema of ``table``.

    Missing columns become NULL, types are cast, timestamp columns are derived from their ``*_us``
    twins, and address columns are canonicalised with their ``_hi``/``_lo`` halves added.
    Unknown columns are an error: they mean a reader and the model disagree.
    """
    from agenttrail.addr import canonical_ip_columns

    schema = SCHEMAS[table]
    extra = set(rows.column_names) - set(schema.names)
    if extra:
        raise ValueError(f"table {table!r} has no columns {sorted(extra)}")
    n = rows.num_rows
    rows = canonical_ip_columns(rows, ip_columns(set(_COLUMN_NAMES[table])))
    arrays = []
    for f in schema:
        if f.name in rows.column_names:
            arrays.append(rows.column(f.name).cast(f.type))
        elif f.type == TS and TIME_TWINS.get(f.name) in rows.column_names:
            us = rows.column(TIME_TWINS[f.name]).cast(I64)
            arrays.append(us.cast(pa.timestamp("us")).cast(TS))
        else:
            arrays.append(pa.nulls(n, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


_COLUMN_NAMES = {name: [n for n, _ in cols] for name, cols in _COLUMNS.items()}
