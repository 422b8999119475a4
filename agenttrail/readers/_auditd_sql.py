"""SQL for the auditd reader: records from lines, events from records, rows from events.

Stages, each a temporary DuckDB table (``{lines}``, ``{rec}``, ``{ev}``, ``{argv}`` name them):

1. :func:`records_sql`: every line split into its header (``node``, ``type``, time, serial) with
   string functions; the payload is cut at the ENRICHED separator (GS, ``\\x1d``) and only the
   payloads of the record types the reader uses are kept (``body``), plus the two ENRICHED
   values it reads (``SYSCALL=``, ``ID=``).
2. :func:`events_sql`: records grouped by event id ``(node, time, serial)``: one row per event
   with its accounting ``status``; the fields that decide the status are read from every
   event's SYSCALL or user-space record, all other fields only from the events that become rows
   (exec, UNIX connect, sshd login), so skipped events cost little.
3. :func:`argv_sql`: the argument vector of every exec event, pieces joined (``aN_len`` /
   ``aN[i]``), hex decoded and reduced (DESIGN §3) before anything leaves DuckDB.
4. The row queries: :data:`PROCESS_SQL`, :data:`SOCKET_SQL`, :data:`SPAN_SQL` here, the
   ``login`` and ``session`` queries in :mod:`agenttrail.readers._auditd_logins`.

Field values (FORMATS §4.6): ``key="text"`` (quoted), ``key=4142`` (hex, for the fields auditd
encodes when they hold a space, a quote, a control or a non-ASCII byte), ``key=?`` /
``(null)`` / ``(none)`` (unset), numbers. Only the encoded fields (``acct``, ``exe``, ``comm``,
``cwd``, ``name``, ``aN``) are hex-decoded; a decoded value that is not UTF-8 keeps its hex
spelling. A field starts after a space or the ``'`` that opens a user-space ``msg='...'`` and
runs to the next space; the first occurrence wins.
"""

from __future__ import annotations

from agenttrail.readers._eslogger_sql import (
    _INTERPRETER_RE,
    RELAYS,
    SSH_CLIENTS,
    SSH_FAMILY,
    UNSET_IDS,
    _redact,
    _sql_list,
)
from agenttrail.readers._syslog import lit

GS = "\x1d"

#: ``[node=<host> ]type=<TYPE> msg=audit(<epoch>.<ms>:<serial>): <payload>``; the colon after
#: the id is missing in some daemon records (``DAEMON_CONFIG msg=audit(...) config changed``).
HEADER = (r"^(?:node=(?P<node>\S+)\s+)?type=(?P<type>\S+)\s+msg=audit\((?P<sec>\d+)\."
          r"(?P<frac>\d{1,9}):(?P<serial>\d+)\):?\s*(?P<payload>.*)$")
#: ``ausearch -i`` output: the time is interpreted (local date) and every value too.
INTERPRETED = r"msg=audit\(\d\d/\d\d/\d{2,4} \d"
#: ``ausearch`` (without ``--raw``) framing: ``----`` between events and ``time->...`` lines.
SEPARATOR = r"^(?:----|time->.*)$"
#: A GS byte lost in transit: an enriched (upper-case) field glued to the last raw value.
GLUE = r"""([^=]["']|\(null\))([A-Z][A-Z0-9_]*=)"""

#: User-space records an sshd login writes (FORMATS §4.6), in the order they appear.
LOGIN_TYPES = ("CRYPTO_KEY_USER", "CRYPTO_SESSION", "USER_AUTH", "USER_ACCT", "CRED_ACQ",
               "USER_START", "USER_LOGIN", "USER_END", "USER_LOGOUT", "CRED_DISP", "CRED_REFR",
               "USER_ERR")
SSHD_PROGRAMS = ("sshd", "sshd-session", "sshd-auth")

#: connect, bind and execve(at) by architecture (``arch`` as the kernel writes it) and number.
ARCHES = {
    "c000003e": {42: "connect", 49: "bind", 59: "execve", 322: "execveat"},  # x86_64
    "c00000b7": {203: "connect", 200: "bind", 221: "execve", 281: "execveat"},  # aarch64
    "40000003": {362: "connect", 361: "bind", 11: "execve", 358: "execveat",
                 102: "socketcall"},  # i386
    "40000028": {283: "connect", 282: "bind", 11: "execve", 387: "execveat"},  # arm (EABI)
}
#: ``socketcall(2)`` call numbers (i386): ``a0`` of the SYSCALL record.
SOCKETCALLS = {2: "bind", 3: "connect"}

#: Where a Linux executable lives (``exe_location``), by path prefix.
TEMP_DIRS = ("/tmp/", "/var/tmp/", "/dev/shm/")
SYSTEM_DIRS = ("/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/", "/usr/libexec/", "/usr/lib/",
               "/usr/lib64/", "/lib/", "/lib64/")
PACKAGE_DIRS = ("/usr/local/", "/opt/", "/nix/store/", "/snap/", "/home/linuxbrew/",
                "/var/lib/flatpak/")
USER_DIRS = ("/home/", "/root/", "/run/user/")
#: Arguments that name an agent socket (the Linux spellings of DESIGN §4 too): full argv kept.
AGENT_ARG_RE = (r"/agent\.|Listeners|\.ssh/agent/|ssh-agent\.socket|openssh_agent|"
                r"S\.gpg-agent\.ssh|/keyring/ssh|/gcr/ssh|(?i:identityagent)|SSH_AUTH_SOCK")


def _field(body: str, key: str) -> str:
    """The token of ``key`` in a record ``body`` ('' when absent).

    A body is the raw payload with a space in front and every ``'`` turned into a space, so a
    field starts after a space (the ``msg='op=...'`` of user-space records included) and runs to
    the next space: auditd never writes a space inside a value (it hex-encodes such values). The
    pattern starts with a literal, which RE2 finds fast; the first occurrence wins.
    """
    return f"regexp_extract({body}, ' {key}=([^ ]*)', 1)"


def _enr(key: str) -> str:
    """An ENRICHED field (``KEY=value`` or ``KEY="value"``) after the separator."""
    return f"""nullif(trim(split_part(split_part(' ' || enr, ' {key}=', 2), ' ', 1), '"'), '')"""


def plain(tok: str) -> str:
    """A token as text: quotes removed; ``''``, ``?``, ``(null)``, ``(none)`` are NULL."""
    return (f"CASE WHEN {tok} IN ('', '?', '\"?\"', '(null)', '(none)') THEN NULL "
            f"WHEN starts_with({tok}, '\"') THEN trim({tok}, '\"') ELSE {tok} END")


def enc(tok: str) -> str:
    """An encoded token as text: quoted, or hex (decoded; kept as hex if not UTF-8)."""
    return (f"CASE WHEN {tok} IN ('', '?', '\"?\"', '(null)', '(none)') THEN NULL "
            f"WHEN starts_with({tok}, '\"') THEN trim({tok}, '\"') "
            f"WHEN regexp_full_match({tok}, '(?:[0-9A-Fa-f]{{2}})+') "
            f"THEN coalesce(TRY(decode(unhex({tok}))), {tok}) ELSE {tok} END")


def num(tok: str) -> str:
    """A decimal token as BIGINT (NULL when not a number)."""
    return f"TRY_CAST(trim({tok}, '\"') AS BIGINT)"


def unset(expr: str) -> str:
    """An audit id with 4294967295 / -1 (unset) as NULL."""
    return f"CASE WHEN {expr} IN {UNSET_IDS} THEN NULL ELSE {expr} END"


#: EXECVE argument pieces: ``aN=`` or ``aN[i]=`` (after ``aN_len=``), quoted or hex.
_ARG_PIECE = r"""(?:^| )a(\d+)(?:\[(\d+)\])?=("[^"]*"|[^ ]*)"""
#: Record types whose payload the reader keeps (the rest is only counted).
KEPT_TYPES = ("SYSCALL", "SOCKADDR", "CWD", "PATH", "EXECVE", *LOGIN_TYPES)


def records_sql(lines: str) -> str:
    """Stage 1: one row per line: its status (``record``/``meta``/``malformed``), header, and
    for the record types the reader uses the payload as ``body`` (EXECVE: as written; others:
    in the form :func:`_field` reads) plus the two ENRICHED values it reads (``SYSCALL=``,
    ``ID=``). Nothing else of a line is kept, so the table stays small.

    The header is cut with string functions (a regex with captures costs several times more).
    """
    gate = " OR ".join(f"contains(payload, '{k}')" for k in ("UID=", "ARCH=", "SADDR=", "ID="))
    glue_to = lit(chr(92) + "1" + GS + chr(92) + "2")
    return f"""
    WITH a AS (
        SELECT src_line, text,
            CASE WHEN starts_with(text, 'node=') THEN substr(split_part(text, ' ', 1), 6) END
                AS node,
            CASE WHEN starts_with(text, 'node=') THEN ltrim(substr(text, strpos(text, ' ') + 1))
                 ELSE text END AS rest
        FROM {lines}),
    b AS (
        SELECT *, CASE WHEN starts_with(rest, 'type=') THEN split_part(substr(rest, 6), ' ', 1)
                       END AS type
        FROM a),
    c AS (
        SELECT *, CASE WHEN type <> '' AND starts_with(substr(rest, 6 + length(type)),
                                                       ' msg=audit(')
                       THEN substr(rest, 17 + length(type)) END AS after
        FROM b),
    d AS (
        SELECT *, split_part(after, ')', 1) AS id,
            coalesce(regexp_full_match(split_part(after, ')', 1), '\\d+\\.\\d{{1,9}}:\\d+')
                     AND coalesce(node, 'x') <> '', false) AS ok
        FROM c),
    e AS (
        SELECT src_line,
            CASE WHEN ok THEN 'record' WHEN regexp_matches(text, {lit(SEPARATOR)}) THEN 'meta'
                 ELSE 'malformed' END AS line_status,
            CASE WHEN NOT ok AND regexp_matches(text, {lit(INTERPRETED)}) THEN 'interpreted'
                 END AS why,
            CASE WHEN ok THEN node END AS node, CASE WHEN ok THEN type END AS type,
            CASE WHEN ok THEN CAST(split_part(id, '.', 1) AS BIGINT) * 1000000
                + CAST(rpad(left(split_part(split_part(id, '.', 2), ':', 1), 6), 6, '0')
                       AS BIGINT) END AS t_us,
            CASE WHEN ok THEN CAST(split_part(id, ':', 2) AS BIGINT) END AS serial,
            CASE WHEN ok THEN ltrim(substr(after, length(id) + 2), ': ') END AS payload
        FROM d),
    f AS (
        SELECT * EXCLUDE (payload),
            CASE WHEN payload IS NULL OR contains(payload, chr(29))
                      OR type IN ('EXECVE', 'PROCTITLE') OR NOT ({gate}) THEN payload
                 ELSE regexp_replace(payload, {lit(GLUE)}, {glue_to}) END AS p2
        FROM e),
    g AS (
        SELECT * EXCLUDE (p2), split_part(p2, chr(29), 1) AS raw,
            CASE WHEN contains(p2, chr(29)) THEN substr(p2, strpos(p2, chr(29)) + 1) END AS enr
        FROM f)
    SELECT src_line, line_status, why, node, type, t_us, serial,
        enr IS NOT NULL AS enriched,
        CASE WHEN type = 'EXECVE' THEN raw
             WHEN type IN ({_sql_list(KEPT_TYPES)}) THEN ' ' || replace(raw, chr(39), ' ')
             END AS body,
        CASE WHEN type = 'SYSCALL' AND enr IS NOT NULL THEN {_enr("SYSCALL")} END
            AS syscall_name,
        CASE WHEN type IN ({_sql_list(LOGIN_TYPES)}) AND enr IS NOT NULL THEN {_enr("ID")} END
            AS id_name
    FROM g
    """


def syscall_name_sql() -> str:
    """SQL: the syscall's name (``connect``, ``execve``, ``execveat``, ``socketcall``) from
    ``arch`` + number, or the name itself (ENRICHED ``SYSCALL=``, interpreted logs)."""
    whens = " ".join(
        f"WHEN arch = '{arch}' AND syscall = '{n}' THEN '{name}'"
        for arch, calls in ARCHES.items() for n, name in calls.items()
    )
    return (f"CASE WHEN syscall_name IS NOT NULL THEN lower(syscall_name) {whens} "
            "WHEN NOT regexp_full_match(syscall, '\\d+') THEN lower(syscall) END")


#: Fields read from every event's SYSCALL / user-space record (they decide its status).
_SC_KEY = {
    "arch": f"lower({plain(_field('sc', 'arch'))})",
    "syscall": f"coalesce({plain(_field('sc', 'syscall'))}, syscall_name)",
    "success": plain(_field("sc", "success")),
    "a0": plain(_field("sc", "a0")),
}
_BOTH_KEY = {
    "pid": f"{num(_field('coalesce(sc, us)', 'pid'))}",
    "exe": f"{enc(_field('coalesce(sc, us)', 'exe'))}",
    "comm": f"{enc(_field('coalesce(sc, us)', 'comm'))}",
}
#: Fields read only from the events that become rows.
_SC_ROW = {
    "ppid": num(_field("sc", "ppid")),
    "euid": num(_field("sc", "euid")),
    "tty": plain(_field("sc", "tty")),
}
_BOTH_ROW = {
    "uid": num(_field("coalesce(sc, us)", "uid")),
    "auid": num(_field("coalesce(sc, us)", "auid")),
    "ses": num(_field("coalesce(sc, us)", "ses")),
}
_US_ROW = {
    "op": plain(_field("us", "op")),
    "acct": enc(_field("us", "acct")),
    "id": num(_field("us", "id")),
    "hostname": plain(_field("us", "hostname")),
    "addr": plain(_field("us", "addr")),
    "terminal": plain(_field("us", "terminal")),
    "rport": num(_field("us", "rport")),
    "laddr": plain(_field("us", "laddr")),
    "lport": num(_field("us", "lport")),
    "fp": plain(_field("us", "fp")),
}
_PATH_ITEM = ("struct_pack(item := {n}, name := {nm}, mode := {m}, ouid := {o}, kind := {k})"
              .format(n=num(_field("b", "item")), nm=enc(_field("b", "name")),
                      m=plain(_field("b", "mode")), o=num(_field("b", "ouid")),
                      k=f"coalesce({plain(_field('b', 'nametype'))}, "
                        f"{plain(_field('b', 'objtype'))})"))


_SOCKETCALLS = "".join(f" WHEN {n} THEN '{c}'" for n, c in SOCKETCALLS.items())


def events_sql(rec: str, ctx_host: str | None) -> str:
    """Stage 2: one row per event with its accounting ``status`` and, for the events that
    become rows, their fields (the others keep only what accounting and spans need)."""
    host = lit(ctx_host.lower()) if ctx_host else "NULL"
    sc = "type = 'SYSCALL'"
    login = _sql_list(LOGIN_TYPES)
    sshd = _sql_list(SSHD_PROGRAMS)
    key_cols = ", ".join(f"{v} AS {k}" for k, v in {**_SC_KEY, **_BOTH_KEY}.items())
    rows = ("socket", "exec", "login")

    def row(fields: dict[str, str], when: str) -> str:
        return ", ".join(f"CASE WHEN {when} THEN {v} END AS {k}" for k, v in fields.items())

    return f"""
    WITH g AS (
        SELECT node, t_us, serial,
            coalesce(min(src_line) FILTER (WHERE {sc}), min(src_line)) AS src_line,
            CASE WHEN bool_or({sc}) THEN 'SYSCALL' ELSE arg_min(type, src_line) END AS ev_type,
            count(*) FILTER (WHERE {sc}) AS n_syscall,
            bool_or(enriched) AS enriched,
            arg_min(body, src_line) FILTER (WHERE {sc}) AS sc,
            arg_min(syscall_name, src_line) FILTER (WHERE {sc}) AS syscall_name,
            arg_min(body, src_line) FILTER (WHERE type IN ({login})) AS us,
            arg_min(id_name, src_line) FILTER (WHERE type IN ({login})) AS id_name,
            arg_min(body, src_line) FILTER (WHERE type = 'SOCKADDR') AS sa,
            arg_min(body, src_line) FILTER (WHERE type = 'CWD') AS cw,
            list(body) FILTER (WHERE type = 'PATH') AS path_bodies,
            list(body) FILTER (WHERE type = 'EXECVE') AS execve_bodies
        FROM {rec} WHERE line_status = 'record'
        GROUP BY node, t_us, serial),
    h AS (
        SELECT *, {key_cols},
            plain_res AS res,
            CASE WHEN node IS NULL OR lower(node) = 'localhost' THEN {host}
                 ELSE lower(node) END AS host,
            node IS NOT NULL AND lower(node) <> 'localhost' AS host_own
        FROM (SELECT *, {plain(_field("us", "res"))} AS plain_res,
                     {plain(_field("sa", "saddr"))} AS saddr FROM g)),
    k AS (
        SELECT *, {syscall_name_sql()} AS call,
            regexp_extract(exe, '[^/]*$') AS base,
            coalesce(regexp_extract(exe, '[^/]*$') IN ({sshd}),
                     exe IS NULL AND comm IN ({sshd}), false) AS is_sshd,
            upper(left(saddr, 4)) AS family_hex,
            regexp_full_match(saddr, '(?:[0-9A-Fa-f]{{2}})+') AS saddr_ok
        FROM h),
    s AS (
        SELECT *,
            CASE WHEN call = 'socketcall' THEN CASE TRY_CAST('0x' || a0 AS BIGINT)
                 {_SOCKETCALLS} END ELSE call END AS op_call
        FROM k),
    t AS (
        SELECT *, (t_us // 1000) * 1000000 + serial % 1000000 AS ord,
        CASE
            WHEN ev_type = 'SYSCALL' AND syscall IS NULL THEN 'no_syscall'
            WHEN ev_type = 'SYSCALL' AND op_call IN ('connect', 'bind') THEN CASE
                WHEN success IS DISTINCT FROM 'yes' THEN op_call || '_failed'
                WHEN saddr IS NOT NULL AND NOT saddr_ok THEN 'bad_saddr'
                WHEN family_hex IS DISTINCT FROM '0100' THEN op_call || '_not_unix'
                WHEN pid IS NULL THEN 'no_pid'
                ELSE 'socket' END
            WHEN ev_type = 'SYSCALL' AND op_call IN ('execve', 'execveat') THEN CASE
                WHEN success IS DISTINCT FROM 'yes' THEN 'execve_failed'
                WHEN pid IS NULL THEN 'no_pid'
                ELSE 'exec' END
            WHEN ev_type = 'SYSCALL' THEN 'SYSCALL'
            WHEN ev_type IN ({login}) AND NOT is_sshd THEN ev_type || ':not_sshd'
            WHEN ev_type IN ({login}) AND res IS NULL THEN 'no_res'
            WHEN ev_type IN ({login}) THEN 'login'
            ELSE ev_type END AS status
        FROM s)
    SELECT * EXCLUDE (sc, us, sa, cw, path_bodies, execve_bodies, plain_res),
        {row(_SC_ROW, "status IN ('socket', 'exec')")},
        {row(_BOTH_ROW, f"status IN {rows}")},
        {row(_US_ROW, "status = 'login'")},
        CASE WHEN status IN ('socket', 'exec') THEN {enc(_field("cw", "cwd"))} END AS cwd,
        CASE WHEN status = 'socket' THEN list_transform(path_bodies, lambda b: {_PATH_ITEM})
             END AS paths,
        CASE WHEN status = 'exec' THEN flatten(list_transform(execve_bodies,
                 lambda b: regexp_extract_all(b, {lit(_ARG_PIECE)}, ['i', 'c', 'v'])))
             END AS pieces,
        CASE WHEN status = 'exec' THEN list_max(list_transform(execve_bodies,
                 lambda b: {num(_field("' ' || b", "argc"))})) END AS argc
    FROM t
    """


#: Statuses of events that become rows (normalised).
ROW_STATUSES = ("socket", "exec", "login")
#: Statuses of malformed events, with the issue text.
MALFORMED = {
    "no_syscall": "SYSCALL record without a syscall",
    "no_pid": "SYSCALL record of a connect, bind or execve without a pid",
    "bad_saddr": "SOCKADDR saddr is not hex",
    "no_res": "sshd login record without res=",
}


def argv_sql(ev: str) -> str:
    """Stage 3: ``(node, t_us, serial, args, argc_seen)`` of exec events, reduced (DESIGN §3)."""
    return f"""
    WITH p AS (
        SELECT node, t_us, serial, base, unnest(pieces) AS e
        FROM {ev} WHERE status = 'exec' AND pieces IS NOT NULL),
    q AS (
        SELECT node, t_us, serial, base, TRY_CAST(e.i AS BIGINT) AS i,
            coalesce(TRY_CAST(e.c AS BIGINT), -1) AS c,
            starts_with(e.v, '"') AS quoted,
            CASE WHEN starts_with(e.v, '"') THEN trim(e.v, '"') ELSE e.v END AS body
        FROM p),
    r0 AS (
        SELECT node, t_us, serial, base, i, bool_and(quoted) AS quoted,
            string_agg(body, '' ORDER BY c) AS body
        FROM q GROUP BY node, t_us, serial, base, i),
    r AS (
        SELECT node, t_us, serial, base, i,
            CASE WHEN quoted OR NOT regexp_full_match(body, '(?:[0-9A-Fa-f]{{2}})*') THEN body
                 ELSE coalesce(TRY(decode(unhex(body))), body) END AS arg
        FROM r0),
    v AS (
        SELECT node, t_us, serial, base, list(arg ORDER BY i) AS argv
        FROM r GROUP BY node, t_us, serial, base),
    w AS (SELECT *, lower(base) IN ({_sql_list(SSH_CLIENTS)}) AS is_ssh_client FROM v)
    SELECT node, t_us, serial, len(argv) AS argv_len,
        CASE WHEN is_ssh_client OR coalesce(list_bool_or(list_transform(argv,
                  lambda a: regexp_matches(a, {lit(AGENT_ARG_RE)}))), false)
             THEN list_transform(argv, lambda a, i: {_redact("a", "argv[i - 1]")})
             ELSE argv[1:1] END AS args
    FROM w
    """


def _prefixes(expr: str, prefixes: tuple[str, ...]) -> str:
    return "(" + " OR ".join(f"starts_with({expr}, '{p}')" for p in prefixes) + ")"


#: Executable class and location on Linux; there is no code signing (``unknown``).
CLASSES = f"""
    CASE WHEN exe IS NULL THEN NULL
         WHEN lower(base) IN ({_sql_list(SSH_FAMILY)}) THEN 'ssh_family'
         WHEN regexp_full_match(lower(base), '{_INTERPRETER_RE}') THEN 'interpreter'
         WHEN lower(base) IN ({_sql_list(RELAYS)}) THEN 'relay'
         ELSE 'other' END AS exe_class,
    CASE WHEN exe IS NULL THEN NULL
         WHEN {_prefixes("exe", TEMP_DIRS)} THEN 'temp'
         WHEN contains(exe, '/Downloads/') THEN 'download'
         WHEN {_prefixes("exe", SYSTEM_DIRS)} THEN 'system'
         WHEN {_prefixes("exe", PACKAGE_DIRS)} THEN 'package_manager'
         WHEN {_prefixes("exe", USER_DIRS)} THEN 'user_writable'
         ELSE 'other' END AS exe_location,
    CASE WHEN exe IS NULL THEN NULL ELSE 'unknown' END AS code_signature"""

_ACTOR = f"""
    pid, uid AS ruid, euid, {unset("auid")} AS auid,
    CASE WHEN auid IS NULL THEN NULL ELSE auid NOT IN {UNSET_IDS} END AS auid_set,
    {unset("ses")} AS asid, exe, 'linux' AS platform, {CLASSES}"""

#: The audit serial of the latest exec of ``pid`` on ``host`` before ``ord`` in this file:
#: auditd has no pid generation, so the exec's serial stands in for one (DESIGN §3 pidversion).
def _latest_exec(alias: str, side: str, pid: str) -> str:
    return (f"ASOF LEFT JOIN (SELECT host AS {alias}_h, pid AS {alias}_p, ord AS {alias}_o, "
            f"serial AS {alias}_pv FROM {{ev}} WHERE status = 'exec') {alias} "
            f"ON {side}.host IS NOT DISTINCT FROM {alias}.{alias}_h AND {side}.{pid} = "
            f"{alias}.{alias}_p AND {side}.ord > {alias}.{alias}_o")


PROCESS_SQL = f"""
WITH x AS (
    SELECT e.*, a.args, a.argv_len FROM {{ev}} e
    LEFT JOIN {{argv}} a ON e.node IS NOT DISTINCT FROM a.node AND e.t_us = a.t_us
        AND e.serial = a.serial
    WHERE e.status = 'exec'),
y AS (SELECT * FROM x {_latest_exec("pe", "x", "pid")} {_latest_exec("pp", "x", "ppid")})
SELECT src_line, serial AS src_seq, t_us, host, host_own, 'exec' AS action, {_ACTOR},
    serial AS pidversion, pe_pv AS prev_pidversion, ppid, pp_pv AS parent_pidversion,
    CASE WHEN tty LIKE 'pts%' AND NOT contains(tty, '/') THEN 'pts/' || substr(tty, 4)
         ELSE tty END AS tty,
    args, coalesce(argc, argv_len) AS argc, cwd
FROM y
ORDER BY src_line
"""

# sun_path: the bytes after the 2-byte family up to the first NUL; an abstract name (leading
# NUL) is written ``@name`` with trailing NULs dropped and inner NULs shown as ``@``.
_SUN = "substr(upper(saddr), 5)"
_SUN_PATH = f"""CASE
    WHEN starts_with({_SUN}, '00') THEN '@' || replace(coalesce(
        TRY(decode(unhex(regexp_replace(substr({_SUN}, 3), '(00)+$', '')))),
        regexp_replace(substr({_SUN}, 3), '(00)+$', '')), chr(0), '@')
    ELSE coalesce(TRY(decode(unhex(regexp_extract({_SUN} || '00',
        '^((?:[0-9A-F]{{2}})*?)00', 1)))),
        regexp_extract({_SUN} || '00', '^((?:[0-9A-F]{{2}})*?)00', 1)) END"""
_OCTAL = ("list_reduce(list_transform(string_split(p.mode, ''), "
          "lambda d: TRY_CAST(d AS BIGINT)), lambda a, b: a * 8 + b)")

SOCKET_SQL = f"""
WITH s AS (
    SELECT *, {_SUN_PATH} AS sun FROM {{ev}} WHERE status = 'socket'),
t AS (
    SELECT *, CASE WHEN sun = '' THEN NULL
                   WHEN starts_with(sun, '/') OR starts_with(sun, '@') OR cwd IS NULL THEN sun
                   ELSE rtrim(cwd, '/') || '/' || sun END AS socket_path,
        CASE WHEN op_call = 'connect' THEN coalesce(
                list_filter(paths, lambda p: p.name = sun)[1],
                list_filter(paths, lambda p: p.item = 0)[1])
             ELSE coalesce(list_filter(paths, lambda p: p.kind = 'CREATE')[1],
                           list_filter(paths, lambda p: p.name = sun)[1]) END AS p,
        CASE WHEN op_call = 'bind' THEN list_filter(paths, lambda p: p.kind = 'PARENT')[1]
             END AS d
    FROM s),
u AS (SELECT * FROM t {_latest_exec("pe", "t", "pid")})
SELECT src_line, serial AS src_seq, t_us, host, host_own, op_call AS action, {_ACTOR},
    pe_pv AS pidversion, socket_path, socket_path AS socket_path_raw,
    CASE WHEN op_call = 'connect' AND NOT starts_with(socket_path, '@') THEN p.ouid END AS st_uid,
    CASE WHEN op_call = 'bind' AND NOT starts_with(socket_path, '@') THEN d.ouid END AS dir_uid,
    CASE WHEN starts_with(socket_path, '@') OR NOT regexp_full_match(p.mode, '[0-7]+') THEN NULL
         ELSE {_OCTAL} END AS socket_mode
FROM u
ORDER BY src_line
"""

#: One ``source_span`` row per (host, program) over every event read (DESIGN §5 login coverage).
SPAN_SQL = """
SELECT host, 'auditd' AS source, 'auditd' AS format, base AS program,
    min(t_us) AS first_t_us, max(t_us) AS last_t_us, count(*) AS records,
    count(*) FILTER (WHERE status = 'login') AS sshd_records
FROM {ev} WHERE status NOT IN ({malformed})
GROUP BY host, base ORDER BY host NULLS LAST, base NULLS LAST
"""
