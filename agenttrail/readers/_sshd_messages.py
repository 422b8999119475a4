"""The OpenSSH sshd message catalogue as a table of anchored patterns (FORMATS §4.3–4.4).

Shared by every reader that sees sshd message text (syslog files, journald ``MESSAGE``, the macOS
unified log's ``eventMessage``). A message goes through these steps, all in SQL:

1. a Solaris ``[ID 800047 auth.info]`` prefix is dropped and the text trimmed;
2. rsyslog's ``message repeated N times: [ msg ]`` is unwrapped to ``msg`` (``repeats`` = N);
3. a trailing `` [preauth]`` / `` [postauth]`` is removed and remembered (``preauth``);
4. a leading ``error: `` / ``fatal: `` log-level word is removed;
5. the rest is classified: :data:`PAM` (PAM and logind chatter, skipped as ``sshd_pam``),
   :data:`PARTIAL` (``Postponed``/``Partial`` steps, ``sshd_partial``), then the first matching
   entry of :data:`TEMPLATES`; :data:`PREAUTH_OTHER` catches any other ``[preauth]`` message that
   carries ``<ip> port <port>``; anything else is ``sshd_unmatched``.

Each template names its fields with ``(?P<name>...)`` and says how its ``result`` is computed (a
SQL expression over the fields and ``preauth``). ``who`` is the ``authenticating user`` /
``invalid user`` / ``user`` qualifier OpenSSH puts before the address: the first two mean
authentication never completed, so such records are ``preauth`` even without the suffix.

User names of invalid users may contain spaces and even `` from ``: the user is everything up to
the **last** `` from <ip> port <n>`` (greedy ``.*``), and up to the last `` from `` when the line
has no port. (The fail2ban corpus line ``Failed password ... ssh2: from 10.10.1.2 port 55555 ssh2``
therefore reads as user ``test from 127.0.0.1 port 58946 ssh2:`` from 10.10.1.2: password
authentication never logs auth-info after ``ssh2``, so that is the only reading real sshd allows.)

:func:`login_sql` and :func:`span_sql` turn a reader's classified records into ``login`` and
``source_span`` rows, so every sshd-text reader builds them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from agenttrail.readers._syslog import lit, regex, union_extract

# the ``who`` qualifier before an address in closed/disconnected lines (packet.c remote_id)
_WHO = r"(?P<who>authenticating\ user|invalid\ user|user)"


@dataclass(frozen=True)
class Template:
    """One sshd message shape: an anchored verbose regex and the SQL giving its ``result``."""

    pattern: str
    result: str


def _attempt(otherwise: str) -> str:
    """``result``: ``preauth`` when authentication never completed, else ``otherwise``."""
    return (
        "CASE WHEN preauth OR who IN ('authenticating user', 'invalid user') THEN 'preauth' "
        f"ELSE '{otherwise}' END"
    )


TEMPLATES: dict[str, Template] = {
    # auth.c auth_log: Accepted|Failed <method>[/<sub>] for [invalid user ]<user> from <ip>
    #   port <port> ssh2[: <KEYTYPE> <fingerprint> ...]
    "auth": Template(
        r"""
        ^(?P<verb>Accepted|Failed)\ (?P<method>\S+)\ for\ (?:invalid\ user\ )?
        (?P<user>.*)                              # greedy: up to the last " from <ip> port <n>"
        \ from\ (?P<ip>\S+)\ port\ (?P<port>\d+)
        (?:\ ssh[12])?                            # protocol
        (?::\ (?P<extra>.*))?$                    # key type and fingerprint, hostbased client ...
        """,
        "CASE verb WHEN 'Accepted' THEN 'accepted' ELSE 'failed' END",
    ),
    # the same without a port (old releases, some forwarders)
    "auth_noport": Template(
        r"""
        ^(?P<verb>Accepted|Failed)\ (?P<method>\S+)\ for\ (?:invalid\ user\ )?
        (?P<user>.*)\ from\ (?P<ip>\S+)$
        """,
        "CASE verb WHEN 'Accepted' THEN 'accepted' ELSE 'failed' END",
    ),
    # Invalid user <user> from <ip>[ port <port>] ("Illegal user" before OpenSSH 3.9)
    "invalid": Template(
        r"""
        ^(?:Invalid|Illegal)\ user\ (?P<user>.*)\ from\ (?P<ip>\S+)(?:\ port\ (?P<port>\d+))?$
        """,
        "'invalid'",
    ),
    # User <user> from <ip> not allowed because <reason> (AllowUsers, DenyGroups ...)
    "not_allowed": Template(
        r"""
        ^User\ (?P<user>.*)\ from\ (?P<ip>\S+)\ not\ allowed\ because\ (?P<reason>.+)$
        """,
        "'invalid'",
    ),
    # maximum authentication attempts exceeded for [invalid user ]<user> from <ip> port <port> ssh2
    "max_attempts": Template(
        r"""
        ^maximum\ authentication\ attempts\ exceeded\ for\ (?:invalid\ user\ )?(?P<user>.*)
        \ from\ (?P<ip>\S+)\ port\ (?P<port>\d+)(?:\ ssh[12])?$
        """,
        "'preauth'",
    ),
    # packet.c "Disconnecting %s: %s": Disconnecting [<who> <user> ]<ip> port <port>: <reason>
    "disconnecting": Template(
        r"""
        ^Disconnecting\ (?:""" + _WHO + r"""\ (?P<user>.*)\ )?
        (?P<ip>\S+)\ port\ (?P<port>\d+):\ (?P<reason>.*)$
        """,
        _attempt("closed"),
    ),
    # Connection closed|reset by [<who> <user> ]<ip> port <port>
    "closed": Template(
        r"""
        ^Connection\ (?:closed|reset)\ by\ (?:""" + _WHO + r"""\ (?P<user>.*)\ )?
        (?P<ip>\S+)\ port\ (?P<port>\d+)$
        """,
        _attempt("closed"),
    ),
    # Connection closed by <ip> (old releases: no port)
    "closed_noport": Template(
        r"""
        ^Connection\ (?:closed|reset)\ by\ (?P<ip>\S+)$
        """,
        _attempt("closed"),
    ),
    # Disconnected from [<who> <user> ]<ip> port <port>; "user" marks the end of a session
    "disconnected": Template(
        r"""
        ^Disconnected\ from\ (?:""" + _WHO + r"""\ (?P<user>.*)\ )?
        (?P<ip>\S+)\ port\ (?P<port>\d+)$
        """,
        _attempt("disconnected"),
    ),
    # Received disconnect from <ip> port <port>:<code>: <text>  (older: from <ip>: <code>: <text>)
    "received_disconnect": Template(
        r"""
        ^Received\ disconnect\ from\ (?P<ip>\S+)
        (?:\ port\ (?P<port>\d+):|:\ )            # ": " never occurs inside an address
        (?P<code>\d+):\ ?(?P<reason>.*)$
        """,
        "CASE WHEN preauth THEN 'preauth' WHEN code = '11' THEN 'disconnected' ELSE 'closed' END",
    ),
    # Unable to negotiate with <ip> port <port>: no matching ... (key exchange, before auth)
    "unable_to_negotiate": Template(
        r"""
        ^Unable\ to\ negotiate\ with\ (?P<ip>\S+)\ port\ (?P<port>\d+):\ (?P<reason>.*)$
        """,
        "'preauth'",
    ),
    # fatal: Timeout before authentication for <ip> port <port>  (<= 9.7, per connection)
    "timeout": Template(
        r"""
        ^Timeout\ before\ authentication\ for\ (?P<ip>\S+)\ port\ (?P<port>\d+)$
        """,
        "'preauth'",
    ),
    # Timeout before authentication for connection from <ip> to <lip>, pid = <n>  (>= 9.8)
    "timeout_listener": Template(
        r"""
        ^Timeout\ before\ authentication\ for\ connection\ from\ (?P<ip>\S+)
        \ to\ (?P<lip>\S+),\ pid\ =\ (?P<child>\d+)$
        """,
        "'preauth'",
    ),
    # Did not receive identification string from <ip>[ port <port>] (no SSH banner)
    "no_identification": Template(
        r"""
        ^Did\ not\ receive\ identification\ string\ from\ (?P<ip>\S+)(?:\ port\ (?P<port>\d+))?$
        """,
        _attempt("closed"),
    ),
    # Bad protocol version identification '<banner>' from <ip>[ port <port>] (older releases)
    "bad_protocol_version": Template(
        r"""
        ^Bad\ protocol\ version\ identification\ (?P<reason>.*)
        \ from\ (?P<ip>\S+)(?:\ port\ (?P<port>\d+))?$
        """,
        _attempt("closed"),
    ),
    # banner exchange: Connection from <ip> port <port>: invalid format
    "banner_exchange": Template(
        r"""
        ^banner\ exchange:\ Connection\ from\ (?P<ip>\S+)\ port\ (?P<port>\d+):\ (?P<reason>.*)$
        """,
        _attempt("closed"),
    ),
    # drop connection #<n> from [<ip>]:<port> on [<lip>]:<lport> <reason>  (>= 9.8, listener)
    "drop_connection": Template(
        r"""
        ^drop\ connection\ \#(?P<n>\d+)\ from\ \[(?P<ip>[^\]]+)\]:(?P<port>\d+)
        \ on\ \[(?P<lip>[^\]]+)\]:(?P<lport>\d+)\ (?P<reason>.*)$
        """,
        "'closed'",
    ),
    # Connection from <ip> port <port> on <lip> port <lport>[ rdomain "<rd>"]  (VERBOSE)
    "connection": Template(
        r"""
        ^Connection\ from\ (?P<ip>\S+)(?:\ port\ (?P<port>\d+))?
        (?:\ on\ (?P<lip>\S+)\ port\ (?P<lport>\d+)(?:\ rdomain\ "(?P<rdomain>[^"]*)")?)?$
        """,
        "'connection'",
    ),
    # Starting session: <type>[ on <tty>] for <user> from <ip> port <port> id <n>  (VERBOSE)
    "session_start": Template(
        r"""
        ^Starting\ session:\ (?P<stype>.*)        # a forced command may hold anything
        \ for\ (?P<user>\S+)\ from\ (?P<ip>\S+)\ port\ (?P<port>\d+)\ id\ (?P<sid>\d+)$
        """,
        "'session'",
    ),
    # Close session: user <user> from <ip> port <port> id <n>  (VERBOSE)
    "session_close": Template(
        r"""
        ^Close\ session:\ user\ (?P<user>.*)\ from\ (?P<ip>\S+)\ port\ (?P<port>\d+)
        \ id\ (?P<sid>\d+)$
        """,
        "'session'",
    ),
}

#: Any other ``[preauth]`` message that names ``<ip> port <port>`` (first occurrence), e.g.
#: ``ssh_dispatch_run_fatal: Connection from <ip> port <p>: ...``, ``ROOT LOGIN REFUSED FROM``.
PREAUTH_OTHER = r"""
    (?:^|\ )
    (?P<ip>(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*[0-9A-Fa-f])   # IPv4 or IPv6
    \ port\ (?P<port>\d+)(?:[:,\ ]|$)
"""

#: PAM modules and sshd's PAM glue: pam_unix(sshd:auth), PAM 2 more authentication failures,
#: PAM: Authentication failure for ..., PAM service(sshd) ignoring max retries; logind via PAM.
PAM = r"""
    ^(?:pam_[\w-]+[(:]|PAM[:\ ])
"""

#: Intermediate authentication steps (multi-factor): not logins.
PARTIAL = r"""
    ^(?:Postponed|Partial)\ \S+\ for\ .*\ from\ \S+
"""

#: rsyslog de-duplication: ``message repeated N times: [ msg]``.
REPEATED = r"""
    ^message\ repeated\ (?P<n>\d+)\ times:\ \[\s*(?P<inner>.*?)\s*\]$
"""

#: Solaris (and some macOS) message-id prefix: ``[ID 800047 auth.info] ``.
SOLARIS_ID = r"""
    ^\[ID\ \d+\ [^\]\s]+\]\s*
"""

#: The suffix of messages relayed from the privilege-separated child (``postauth`` too).
MONITOR_SUFFIX = r"""
    \s*\[(?:pre|post)auth\]$
"""

#: Authentication had not completed.
PREAUTH = r"""
    \[preauth\]$
"""

#: The log level word OpenSSH puts before some messages.
LEVEL = r"""
    ^(?:error|fatal):\s+
"""

#: Key type and fingerprint at the start of ``extra``: ``RSA SHA256:...``, ``ED25519-SK SHA256:...,
#: signature count = 3``, ``RSA-CERT SHA256:... ID ... CA ...``, MD5 ``RSA 39:33:...``.
KEY = r"""
    ^(?P<key_type>[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*)\ (?P<key_fp>[^\s,]+)
"""

#: Every field a template can yield (the union of their groups).
FIELDS: tuple[str, ...] = (
    "verb", "method", "user", "ip", "port", "extra", "who", "reason", "code", "lip", "lport",
    "rdomain", "child", "n", "stype", "sid",
)

#: Columns of :func:`messages_sql` besides ``src_line``.
OUTPUT = (
    "message", "repeats", "preauth", "kind", "result", "user", "method", "src_ip", "src_port",
    "server_ip", "server_port", "key_type", "key_fp",
)


def messages_sql(src: str) -> str:
    """SQL classifying the sshd messages of ``src`` (columns ``src_line``, ``program``, ``msg``).

    ``kind`` is ``pam``, ``partial``, ``unmatched``, ``preauth_other`` or a :data:`TEMPLATES` key;
    ``result`` is set for the kinds that make a ``login`` row.
    """
    patterns = {k: t.pattern for k, t in TEMPLATES.items()} | {"preauth_other": PREAUTH_OTHER}
    kinds = "\n".join(
        f"WHEN regexp_matches(core, {regex(t.pattern)}) THEN '{k}'" for k, t in TEMPLATES.items()
    )
    results = "\n".join(f"WHEN '{k}' THEN {t.result}" for k, t in TEMPLATES.items())
    return f"""
    WITH a AS (
        SELECT src_line, program, trim(regexp_replace(msg, {regex(SOLARIS_ID)}, '')) AS message
        FROM {src}),
    b AS (SELECT *, regexp_extract(message, {regex(REPEATED)}, ['n', 'inner']) AS rep FROM a),
    c AS (
        SELECT src_line, program, message, TRY_CAST(NULLIF(rep.n, '') AS BIGINT) AS repeats,
               CASE WHEN rep.n <> '' THEN rep.inner ELSE message END AS core0
        FROM b),
    d AS (
        SELECT *, regexp_matches(core0, {regex(PREAUTH)}) AS preauth,
               regexp_replace(regexp_replace(core0, {regex(MONITOR_SUFFIX)}, ''),
                              {regex(LEVEL)}, '') AS core
        FROM c),
    k AS MATERIALIZED (
        SELECT *, CASE
            WHEN ends_with(program, '(pam_unix)') OR regexp_matches(core, {regex(PAM)})
                THEN 'pam'
            WHEN regexp_matches(core, {regex(PARTIAL)}) THEN 'partial'
            {kinds}
            WHEN preauth AND regexp_matches(core, {regex(PREAUTH_OTHER)}) THEN 'preauth_other'
            ELSE 'unmatched' END AS kind
        FROM d),
    u AS ({union_extract("k", "kind", "core", patterns, FIELDS)})
    SELECT src_line, message, repeats, preauth, kind,
        CASE kind {results} WHEN 'preauth_other' THEN 'preauth' END AS result,
        user, method, ip AS src_ip, TRY_CAST(port AS BIGINT) AS src_port,
        lip AS server_ip, TRY_CAST(lport AS BIGINT) AS server_port,
        NULLIF(key.key_type, '') AS key_type, NULLIF(key.key_fp, '') AS key_fp
    FROM (SELECT *, regexp_extract(extra, {regex(KEY)}, ['key_type', 'key_fp']) AS key FROM u)
    """


#: Columns :func:`login_sql` and :func:`span_sql` need in a reader's record table; ``kind`` and
#: ``repeats`` are the :func:`messages_sql` columns of the record (NULL for other programs).
RECORD_COLUMNS = (
    "src_line", "status", "t_us", "host", "host_inferred", "program", "pid", "is_sshd",
    "time_inferred", "year_inferred", "seq", "kind", "repeats",
)


def login_sql(rec: str, msg: str, *, source: str, fmt: str, rel: str) -> str:
    """SQL: ``login`` rows of the ``normalised`` records of ``rec`` with their messages ``msg``.

    ``rec`` holds :data:`RECORD_COLUMNS` (one row per record, ``status`` its accounting), ``msg``
    the output of :func:`messages_sql`. The server address is propagated from ``Connection from
    ... on ...`` records of the same (host, client ip, client port), or of the same (host, pid, ip)
    for rows without a port.
    """
    return f"""
    WITH l AS (SELECT a.*, m.* EXCLUDE (src_line, kind, repeats)
               FROM {rec} a JOIN {msg} m USING (src_line) WHERE a.status = 'normalised'),
    c AS (SELECT host, src_ip, src_port, src_line, server_ip AS c_ip, server_port AS c_port
          FROM l WHERE kind = 'connection' AND server_ip IS NOT NULL AND src_port IS NOT NULL),
    p AS (SELECT host, pid, src_ip, src_line, server_ip AS p_ip, server_port AS p_port
          FROM l WHERE kind = 'connection' AND server_ip IS NOT NULL AND pid IS NOT NULL)
    SELECT l.t_us, l.host, l.host_inferred, l.user, l.src_ip, l.src_port,
        COALESCE(l.server_ip, c.c_ip, CASE WHEN l.src_port IS NULL THEN p.p_ip END) AS server_ip,
        COALESCE(l.server_port, c.c_port, CASE WHEN l.src_port IS NULL THEN p.p_port END)
            AS server_port,
        l.program, l.method, l.key_type, l.key_fp, l.result, l.pid, {lit(source)} AS source,
        l.message, l.time_inferred, l.year_inferred, {lit(rel)} AS src_file, l.src_line,
        l.seq AS src_seq, {lit(fmt)} AS src_format
    FROM l
    ASOF LEFT JOIN c ON l.host IS NOT DISTINCT FROM c.host AND l.src_ip = c.src_ip
        AND l.src_port = c.src_port AND l.src_line >= c.src_line
    ASOF LEFT JOIN p ON l.host IS NOT DISTINCT FROM p.host AND l.pid = p.pid
        AND l.src_ip = p.src_ip AND l.src_line >= p.src_line
    ORDER BY l.src_line
    """


def span_sql(rec: str, *, source: str, fmt: str) -> str:
    """SQL: one ``source_span`` row per (host, program) over every usable record of ``rec``
    (any program: DESIGN §5 login coverage); ``sshd_records`` counts the ``is_sshd`` ones."""
    return f"""
    SELECT host, {lit(source)} AS source, {lit(fmt)} AS format, program,
        min(t_us) AS first_t_us, max(t_us) AS last_t_us, count(*) AS records,
        count(*) FILTER (is_sshd) AS sshd_records
    FROM {rec} WHERE status NOT IN ('meta', 'malformed', 'unread')
    GROUP BY host, program ORDER BY host NULLS LAST, program NULLS LAST
    """
