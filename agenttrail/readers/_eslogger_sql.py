"""DuckDB schema and SQL for the eslogger reader (DESIGN §2, §3; FORMATS.md §2.1).

Two stages:

1. ``PREPARE`` and ``SELECT_LIST`` run inside ``read_ndjson`` over the typed schema: they name
   the event, pick the process the row is about (the new image of an exec, the child of a fork,
   else the acting process) and reduce the exec environment and arguments before anything becomes
   Arrow: only the nine environment entries DESIGN §3 keeps leave DuckDB, and arguments leave in
   full (with secret-looking values replaced by ``<redacted>``) only for ssh-family programs and
   argv that names an agent socket; other programs keep ``argv[0]`` and the count.
2. Per-table queries over the reduced rows (``{rows}``) normalise audit tokens (object or
   8-integer array), apply the auid/asid "unset" rule and classify executables.

The ``event`` column is a map from the event's name to a struct holding the body fields of every
event type the reader uses: its single key is the dispatch discriminator, and a body field that
another event type spells with another JSON type becomes NULL rather than failing the line.
"""

from __future__ import annotations

#: Event names (the single key of ``event``) the reader turns into rows, per table.
PROCESS_EVENTS = ("exec", "fork", "exit")
SOCKET_EVENTS = ("uipc_connect", "uipc_bind")
SESSION_EVENTS = ("lw_session_login", "lw_session_logout", "login_login", "login_logout",
                  "openssh_login", "openssh_logout", "su", "sudo")
HANDLED = (*PROCESS_EVENTS, *SOCKET_EVENTS, *SESSION_EVENTS)
#: Executables whose arguments are kept in full (and whose argv the ssh parser reads).
SSH_CLIENTS = ("ssh", "scp", "sftp", "ssh-add", "ssh-keygen", "ssh-agent", "git", "rsync")
#: Of those, the ones with a destination in their argv.
SSH_DEST_PROGRAMS = frozenset({"ssh", "slogin", "scp", "sftp", "git", "rsync"})
SSH_FAMILY = (*SSH_CLIENTS, "sshd", "sshd-session", "sshd-auth", "slogin")
RELAYS = ("socat", "nc", "ncat", "netcat")
#: Environment entries kept from an exec (DESIGN §3); everything else is dropped in DuckDB.
ENV_KEEP = ("SSH_AUTH_SOCK", "SSH_CONNECTION", "SSH_CLIENT", "SUDO_USER", "SUDO_UID", "USER",
            "LOGNAME", "HOME", "TMPDIR")
REDACTED = "<redacted>"
UNSET_IDS = (4294967295, -1)  # AU_DEFAUDITID and its signed spelling

_FILE = "STRUCT(path VARCHAR, stat STRUCT(st_uid BIGINT, st_mode BIGINT))"
_PROCESS = (
    "STRUCT(audit_token JSON, parent_audit_token JSON, ppid BIGINT, session_id BIGINT, "
    f"tty {_FILE}, executable {_FILE}, signing_id VARCHAR, team_id VARCHAR, "
    "codesigning_flags BIGINT, is_platform_binary BOOLEAN, start_time VARCHAR)"
)
_BODY = (
    "STRUCT("
    f"target {_PROCESS}, args VARCHAR[], env VARCHAR[], cwd {_FILE}, "  # exec
    f"child {_PROCESS}, "  # fork
    "stat BIGINT, "  # exit
    f"file {_FILE}, dir {_FILE}, filename VARCHAR, mode BIGINT, "  # uipc_connect, uipc_bind
    "success BOOLEAN, result_type BIGINT, source_address VARCHAR, "  # openssh_*, login_*, lw_*
    "username VARCHAR, uid BIGINT, to_uid BIGINT, to_username VARCHAR)"  # su, sudo
)
#: The explicit read_ndjson schema. Audit tokens stay JSON: they are objects or 8-integer arrays.
COLUMNS = {
    "schema_version": "BIGINT",
    "time": "VARCHAR",
    "event_type": "BIGINT",
    "seq_num": "BIGINT",
    "global_seq_num": "BIGINT",
    "process": _PROCESS,
    "event": f"MAP(VARCHAR, {_BODY})",
}

_TIME_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"
# Arguments that name an agent socket keep the whole argv (DESIGN §3).
_AGENT_ARG_RE = r"/agent\.|Listeners|\.ssh/agent/|(?i:identityagent)"
_PW_OPT_RE = (r"(?is)^(--?[a-z0-9_.-]*(?:password|passwd|passphrase|secret|token|api[-_]?key)"
              r"[a-z0-9_.-]*=).+$")
_URL_PW_RE = r"(://[^/:@\s]*:)[^@\s]*@"
_AUTH_RE = r"(?is)((?:proxy-)?authorization\s*:\s*).*$"
# -p<password> as a word inside an argument (a remote command such as "mysql -pSECRET"); a
# numeric value is a port (ssh -p2222) and stays
_INNER_PW_RE = r"(^|\s)-p[^\s]*[^0-9\s][^\s]*"


def _sql_list(values: tuple[str, ...] | frozenset[str]) -> str:
    return ", ".join(f"'{v}'" for v in sorted(values))


def _time_us(expr: str) -> str:
    """Epoch µs of an RFC 3339 time with a zone (truncated to µs), else NULL."""
    return (f"CASE WHEN regexp_full_match({expr}, '{_TIME_RE}') "
            f"THEN epoch_us(TRY_CAST({expr} AS TIMESTAMPTZ)) END")


_B = "b"  # the event body (the map's single value, named in PREPARE)


def _redact(arg: str, prev: str, ssh: str = "is_ssh_client") -> str:
    """A kept argument with secret-looking values replaced; ``prev`` is the argument before and
    ``ssh`` a boolean SQL expression: whether the program is an ssh-family client."""
    generic = (
        f"regexp_replace(regexp_replace(regexp_replace(regexp_replace({arg}, '{_PW_OPT_RE}', "
        f"'\\1{REDACTED}'), '{_URL_PW_RE}', '\\1{REDACTED}@', 'g'), '{_AUTH_RE}', "
        f"'\\1{REDACTED}'), '{_INNER_PW_RE}', '\\1-p{REDACTED}', 'g')"
    )
    return (
        "CASE "
        f"WHEN NOT {ssh} AND {prev} IN ('-p', '--password', '--passwd', '--pass') "
        f"THEN '{REDACTED}' "
        f"WHEN NOT {ssh} AND {prev} IN ('-u', '--user') AND contains({arg}, ':') "
        f"THEN regexp_replace({arg}, ':.*$', ':{REDACTED}', 's') "
        f"WHEN NOT {ssh} AND regexp_matches({arg}, '^-p.') THEN '-p{REDACTED}' "
        f"ELSE {generic} END"
    )


def reduce_args(args: str, ssh: str) -> str:
    """DESIGN §3 argument reduction as SQL over the list expression ``args`` (``VARCHAR[]``):
    the whole argv, secrets redacted, for ssh-family clients (``ssh``, a boolean SQL expression)
    and for argv that names an agent socket; else ``argv[0]`` only. NULL stays NULL."""
    return (
        f"CASE WHEN {args} IS NULL THEN NULL "
        f"WHEN {ssh} OR coalesce(list_bool_or(list_transform({args}, "
        f"lambda a: regexp_matches(a, '{_AGENT_ARG_RE}'))), false) "
        f"THEN list_transform({args}, lambda a, i: {_redact('a', f'{args}[i - 1]', ssh)}) "
        f"ELSE {args}[1:1] END"
    )


#: An environment entry whose key DESIGN §3 keeps (the entry as ``KEY=value``).
ENV_RE = "^(" + "|".join(ENV_KEEP) + ")="


#: Stage 1a: names for values the select list uses several times (evaluated in a subquery):
#: the event name and its body.
PREPARE = f"""
    CASE WHEN cardinality(event) = 1 THEN map_keys(event)[1] END AS ev,
    map_values(event)[1] AS b,
    coalesce(ev IN ({_sql_list(HANDLED)}), false) AS handled
"""


def _who(field: str, alias: str | None = None) -> str:
    """A field of the process a row is about: the new image (exec), the child (fork), else the
    process that caused the event; only for the event types the reader uses. (Fields are taken
    before choosing: choosing whole process structs copies them.)"""
    return (f"CASE WHEN NOT handled THEN NULL WHEN ev = 'exec' THEN {_B}.target.{field} "
            f"WHEN ev = 'fork' THEN {_B}.child.{field} ELSE process.{field} END "
            f"AS {alias or 'w_' + field}")


#: Stage 1b: evaluated inside read_ndjson (lateral aliases refer to earlier items). Rows of event
#: types the reader does not use keep only what accounting needs.
SELECT_LIST = f"""
    ev, handled,
    cardinality(event) AS n_keys,
    CASE WHEN cardinality(event) <> 1 THEN map_keys(event) END AS bad_keys,
    {_time_us("time")} AS t_us,
    CASE WHEN t_us IS NULL THEN left(time, 64) END AS bad_time,
    event_type, seq_num, global_seq_num,
    CASE WHEN ev IN ('exec', 'fork') THEN process.audit_token END AS caller_token,
    {_who("audit_token")}, {_who("parent_audit_token")}, {_who("ppid")}, {_who("session_id")},
    {_who("tty.path", "w_tty")}, {_who("executable.path", "w_exe")}, {_who("signing_id")},
    {_who("team_id")}, {_who("codesigning_flags")}, {_who("is_platform_binary")},
    {_who("start_time")},
    CASE WHEN ev = 'exit' THEN {_B}.stat END AS exit_stat,
    CASE WHEN ev = 'exec' THEN {_B}.cwd.path END AS cwd,
    CASE WHEN ev = 'exec' THEN coalesce(len({_B}.env), 0) END AS env_count,
    CASE WHEN ev = 'uipc_connect' THEN {_B}.file END AS file,
    CASE WHEN ev = 'uipc_bind' THEN {_B}.dir END AS dir,
    CASE WHEN ev = 'uipc_bind' THEN {_B}.filename END AS filename,
    CASE WHEN ev = 'uipc_bind' THEN {_B}.mode END AS mode,
    CASE WHEN handled THEN {_B}.success END AS success,
    CASE WHEN handled THEN {_B}.result_type END AS result_type,
    CASE WHEN handled THEN {_B}.source_address END AS source_address,
    CASE WHEN handled THEN {_B}.username END AS username,
    CASE WHEN handled THEN {_B}.uid END AS uid,
    CASE WHEN handled THEN {_B}.to_uid END AS to_uid,
    CASE WHEN handled THEN {_B}.to_username END AS to_username,
    CASE WHEN ev = 'exec'
         THEN list_filter({_B}.env, lambda e: regexp_matches(e, '{ENV_RE}')) END AS env_kept,
    CASE WHEN ev = 'exec' THEN lower(regexp_extract({_B}.target.executable.path, '[^/]*$'))
         END AS target_base,
    target_base IN ({_sql_list(SSH_CLIENTS)}) AS is_ssh_client,
    CASE WHEN ev = 'exec' THEN len({_B}.args) END AS argc,
    CASE WHEN ev = 'exec' THEN {reduce_args(f"{_B}.args", "is_ssh_client")} END AS args
"""


def tok(expr: str) -> str:
    """An audit token (object or 8-array) as BIGINT[8]: auid euid egid ruid rgid pid asid pidv."""
    fields = ("auid", "euid", "egid", "ruid", "rgid", "pid", "asid", "pidversion")
    obj = ", ".join(f"'$.{f}'" for f in fields)
    arr = ", ".join(f"'$[{i}]'" for i in range(8))
    return (
        f"CASE WHEN {expr} IS NULL THEN NULL "
        f"WHEN starts_with({expr}, '[') THEN CASE WHEN json_array_length({expr}) = 8 "
        f"THEN TRY_CAST(json_extract_string({expr}, [{arr}]) AS BIGINT[]) END "
        f"ELSE TRY_CAST(json_extract_string({expr}, [{obj}]) AS BIGINT[]) END"
    )


def norm_path(expr: str) -> str:
    """macOS path normalisation: ``//``→``/``, ``/tmp``, ``/var``, ``/etc`` under ``/private``."""
    return (f"regexp_replace(regexp_replace({expr}, '/{{2,}}', '/', 'g'), "
            "'^/(tmp|var|etc)(/|$)', '/private/\\1\\2')")


def _unset(expr: str) -> str:
    return f"CASE WHEN {expr} IN {UNSET_IDS} THEN NULL ELSE {expr} END"


def env_value(key: str, kept: str = "env_kept") -> str:
    """The value of the first ``key=`` entry of the kept environment list ``kept`` (or NULL)."""
    return (f"nullif(substr(list_filter({kept}, lambda e: starts_with(e, '{key}='))[1], "
            f"{len(key) + 2}), '')")



#: The ``process`` columns taken from the kept exec environment (a list named ``env_kept``).
ENV_COLUMNS = f"""
    {env_value("SSH_AUTH_SOCK")} AS auth_sock_raw, {norm_path("auth_sock_raw")} AS auth_sock,
    TRY_CAST({env_value("SUDO_UID")} AS BIGINT) AS sudo_uid,
    {env_value("SUDO_USER")} AS sudo_user, {env_value("USER")} AS env_user,
    {env_value("LOGNAME")} AS env_logname, {env_value("HOME")} AS env_home,
    {env_value("TMPDIR")} AS env_tmpdir, {env_value("SSH_CONNECTION")} AS ssh_connection,
    {env_value("SSH_CLIENT")} AS ssh_client"""


def _prefixes(expr: str, prefixes: tuple[str, ...]) -> str:
    return "(" + " OR ".join(f"starts_with({expr}, '{p}')" for p in prefixes) + ")"


#: Where an executable lives (DESIGN §3 ``exe_location``), by path prefix of the normalised path.
TEMP_DIRS = ("/private/tmp/", "/private/var/tmp/")
SYSTEM_DIRS = ("/usr/bin/", "/bin/", "/sbin/", "/usr/sbin/", "/usr/libexec/", "/System/")
PACKAGE_DIRS = ("/opt/homebrew/", "/usr/local/Cellar/", "/usr/local/bin/", "/nix/store/",
                "/opt/local/")
_INTERPRETER_RE = "(python|perl|ruby|php|lua|tclsh)[0-9.]*|node|osascript|pwsh"
#: ``exe_class`` and ``exe_location`` (DESIGN §3) as select items over the columns ``w_exe`` (the
#: executable path), ``w_base`` (its lower-case base name) and ``w_norm`` (the normalised path).
EXE_CLASSES = f"""
    CASE WHEN w_exe IS NULL THEN NULL
         WHEN w_base IN ({_sql_list(SSH_FAMILY)}) THEN 'ssh_family'
         WHEN regexp_full_match(w_base, '{_INTERPRETER_RE}') THEN 'interpreter'
         WHEN w_base IN ({_sql_list(RELAYS)}) THEN 'relay'
         ELSE 'other' END AS exe_class,
    CASE WHEN w_exe IS NULL THEN NULL
         WHEN {_prefixes("w_norm", TEMP_DIRS)}
              OR (starts_with(w_norm, '/private/var/folders/')
                  AND regexp_matches(w_norm, '^/private/var/folders/[^/]+/[^/]+/T/')) THEN 'temp'
         WHEN contains(w_norm, '/Downloads/') THEN 'download'
         WHEN {_prefixes("w_norm", SYSTEM_DIRS)} THEN 'system'
         WHEN starts_with(w_norm, '/Applications/') THEN 'app'
         WHEN {_prefixes("w_norm", PACKAGE_DIRS)} THEN 'package_manager'
         WHEN starts_with(w_norm, '/Users/') THEN 'user_writable'
         ELSE 'other' END AS exe_location"""
_CLASSES = EXE_CLASSES + """,
    CASE WHEN w_is_platform_binary THEN 'platform'
         WHEN nullif(w_team_id, '') IS NOT NULL THEN 'team'
         WHEN w_signing_id IS NULL AND w_codesigning_flags IS NULL THEN 'unknown'
         WHEN nullif(w_signing_id, '') IS NULL OR (w_codesigning_flags & 1) = 0 THEN 'unsigned'
         WHEN (w_codesigning_flags & 2) <> 0 OR regexp_full_match(w_signing_id, '.+-[0-9a-f]{16}')
         THEN 'adhoc'
         ELSE 'unknown' END AS code_signature"""

_ACTOR = f"""
    wt[6] AS pid, wt[8] AS pidversion, wt[4] AS ruid, wt[2] AS euid,
    {_unset("wt[1]")} AS auid,
    CASE WHEN wt[1] IS NULL THEN NULL ELSE wt[1] NOT IN {UNSET_IDS} END AS auid_set,
    {_unset("wt[7]")} AS asid,
    w_exe AS exe, w_signing_id AS signing_id, w_team_id AS team_id,
    w_is_platform_binary AS platform_binary, 'macos' AS platform, {_CLASSES}"""

_TOKENS = f"""
    SELECT *, {tok("w_audit_token")} AS wt, {tok("w_parent_audit_token")} AS wpt,
           {tok("caller_token")} AS ct, lower(regexp_extract(w_exe, '[^/]*$')) AS w_base,
           {norm_path("w_exe")} AS w_norm
    FROM {{rows}} WHERE n_keys = 1 AND t_us IS NOT NULL AND ev IN ({{events}})"""

PROCESS_SQL = f"""
SELECT src_line, global_seq_num AS src_seq, t_us, ev AS action, {_ACTOR},
    CASE WHEN ev = 'exec' THEN ct[8] END AS prev_pidversion, env_count,
    CASE WHEN ev = 'fork' THEN ct[6] ELSE coalesce(wpt[6], w_ppid) END AS ppid,
    CASE WHEN ev = 'fork' THEN ct[8] ELSE wpt[8] END AS parent_pidversion,
    w_session_id AS session_id, w_tty AS tty,
    args, argc, CASE WHEN ev = 'exec' THEN cwd END AS cwd,
    {ENV_COLUMNS},
    {_time_us("w_start_time")} AS start_t_us,
    CASE WHEN ev = 'exit' AND (exit_stat & 127) = 0 THEN exit_stat >> 8 END AS exit_status
FROM ({_TOKENS.replace("{events}", _sql_list(PROCESS_EVENTS))})
ORDER BY src_line
"""

_RAW_SOCKET = """CASE WHEN ev = 'uipc_connect' THEN file.path
         WHEN dir.path IS NULL OR filename IS NULL THEN NULL
         WHEN ends_with(dir.path, '/') THEN dir.path || filename
         ELSE dir.path || '/' || filename END"""
SOCKET_SQL = f"""
SELECT src_line, global_seq_num AS src_seq, t_us,
    CASE ev WHEN 'uipc_connect' THEN 'connect' ELSE 'bind' END AS action, {_ACTOR},
    {_RAW_SOCKET} AS socket_path_raw, {norm_path("socket_path_raw")} AS socket_path,
    CASE WHEN ev = 'uipc_connect' THEN file.stat.st_uid END AS st_uid,
    CASE WHEN ev = 'uipc_bind' THEN dir.stat.st_uid END AS dir_uid,
    CASE WHEN ev = 'uipc_connect' THEN file.stat.st_mode ELSE mode END AS socket_mode
FROM ({_TOKENS.replace("{events}", _sql_list(SOCKET_EVENTS))})
ORDER BY src_line
"""

SESSION_SQL = f"""
SELECT src_line, global_seq_num AS src_seq, t_us,
    CASE WHEN starts_with(ev, 'lw_session_') THEN 'gui' WHEN starts_with(ev, 'login_') THEN 'login'
         WHEN starts_with(ev, 'openssh_') THEN 'ssh_inbound' ELSE ev END AS kind,
    CASE WHEN ends_with(ev, '_logout') THEN 'logout' ELSE 'login' END AS action,
    CASE WHEN ev IN ('su', 'sudo') THEN to_uid ELSE uid END AS uid,
    CASE WHEN ev IN ('su', 'sudo') THEN to_username ELSE username END AS "user",
    -- lw_session_login is only emitted for a login that happened; logouts carry no outcome
    coalesce(success, CASE WHEN ev = 'lw_session_login' THEN true END) AS success,
    CASE WHEN starts_with(ev, 'openssh_') THEN nullif(source_address, '') END AS source_ip,
    {_unset("wt[7]")} AS asid, wt[6] AS pid, wt[8] AS pidversion
FROM ({_TOKENS.replace("{events}", _sql_list(SESSION_EVENTS))})
ORDER BY src_line
"""

_METHODS = ("CASE result_type WHEN 3 THEN 'none' WHEN 4 THEN 'password' "
            "WHEN 5 THEN 'keyboard-interactive' WHEN 6 THEN 'publickey' WHEN 7 THEN 'hostbased' "
            "WHEN 8 THEN 'gssapi-with-mic' END")
LOGIN_SQL = f"""
SELECT src_line, global_seq_num AS src_seq, t_us, username AS "user",
    nullif(source_address, '') AS src_ip,
    regexp_extract(w_exe, '[^/]*$') AS program, {_METHODS} AS method,
    CASE WHEN success OR (success IS NULL AND result_type = 2) THEN 'accepted'
         WHEN result_type = 9 THEN 'invalid'
         WHEN success IS NOT NULL OR result_type IS NOT NULL THEN 'failed' END AS result,
    'eslogger' AS source, wt[6] AS pid
FROM ({_TOKENS.replace("{events}", "'openssh_login'")})
ORDER BY src_line
"""

SPAN_SQL = """
SELECT regexp_extract(w_exe, '[^/]*$') AS program, min(t_us) AS first_t_us,
    max(t_us) AS last_t_us, count(*) AS records, count(*) AS sshd_records
FROM {rows} WHERE n_keys = 1 AND t_us IS NOT NULL AND ev IN ('openssh_login', 'openssh_logout')
GROUP BY ALL ORDER BY program NULLS LAST
"""

#: Drops, from sequence numbers in file order: per-event-type holes within a run of the global
#: counter, global holes, and restarts (the global counter not increasing).
SEQ_SQL = """
WITH g AS (
    SELECT src_line, ev, seq_num, global_seq_num,
           lag(global_seq_num IGNORE NULLS) OVER (ORDER BY src_line) AS prev_g
    FROM {rows} WHERE n_keys = 1
), s AS (
    SELECT *, CASE WHEN global_seq_num <= prev_g THEN 1 ELSE 0 END AS restart,
           sum(CASE WHEN global_seq_num <= prev_g THEN 1 ELSE 0 END)
               OVER (ORDER BY src_line ROWS UNBOUNDED PRECEDING) AS segment
    FROM g
), t AS (
    SELECT *, lag(seq_num) OVER (PARTITION BY segment, ev ORDER BY src_line) AS prev_s
    FROM s WHERE seq_num IS NOT NULL
)
SELECT ev, sum(CASE WHEN seq_num > prev_s + 1 THEN seq_num - prev_s - 1 ELSE 0 END) AS gaps,
       sum(CASE WHEN global_seq_num > prev_g + 1 THEN global_seq_num - prev_g - 1 ELSE 0 END)
           AS global_gaps,
       sum(restart) AS restarts
FROM (SELECT * FROM t UNION ALL BY NAME
      SELECT * FROM s WHERE seq_num IS NULL)
GROUP BY ev ORDER BY ev
"""

#: The lines whose keys are inventoried: the first records of each event name.
SAMPLE_SQL = """
SELECT src_line FROM (
    SELECT src_line, row_number() OVER (PARTITION BY ev ORDER BY src_line) AS k
    FROM {rows} WHERE n_keys = 1
) WHERE k <= {per_event} ORDER BY src_line
"""
