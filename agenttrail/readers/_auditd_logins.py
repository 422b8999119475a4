"""SQL for the sshd records of the auditd reader: ``login`` and ``session`` rows.

One sshd login writes several user-space records (FORMATS §4.6); :data:`_RESULT` decides which
one is the ``accepted`` login and what the others are, and :func:`login_sql` carries what only
some records hold (client port, server address, user, method) to the other records of the same
sshd process. The decision is documented in :mod:`agenttrail.readers.auditd`.
"""

from __future__ import annotations

from agenttrail.readers._auditd_sql import unset

#: The one ``accepted`` login per sshd connection (FORMATS §4.6; documented in the reader):
#: ``USER_ACCT`` success, written by PAM account management right after authentication succeeds,
#: for every method and whether or not a pty follows; on a host whose file holds no sshd
#: ``USER_ACCT`` (no PAM), ``USER_LOGIN`` success, which sshd writes only for pty sessions.
_RESULT = """CASE
    WHEN ev_type = 'USER_ACCT' THEN CASE WHEN ok THEN 'accepted' ELSE 'failed' END
    WHEN ev_type = 'USER_LOGIN' THEN CASE
        WHEN ok AND NOT coalesce(pam, false) THEN 'accepted' WHEN ok THEN 'session'
        WHEN acct IN ('(invalid user)', '(unknown user)') THEN 'invalid' ELSE 'failed' END
    WHEN ev_type = 'USER_AUTH' THEN CASE WHEN ok THEN 'connection' ELSE 'failed' END
    WHEN ev_type IN ('CRYPTO_SESSION', 'CRYPTO_KEY_USER') THEN
        CASE WHEN ok THEN 'connection' ELSE 'preauth' END
    WHEN ev_type = 'USER_ERR' THEN 'preauth'
    WHEN ev_type = 'USER_LOGOUT' THEN 'disconnected'
    ELSE CASE WHEN ok THEN 'session' ELSE 'failed' END END"""

_METHOD = """CASE WHEN ev_type = 'USER_AUTH' THEN CASE op
    WHEN 'pubkey_auth' THEN 'publickey' WHEN 'password' THEN 'password'
    WHEN 'hostbased_auth' THEN 'hostbased' WHEN 'gssapi' THEN 'gssapi-with-mic' END END"""


def login_sql(ev: str) -> str:
    """Every sshd login-family record with its ``result`` and the connection's address, port
    and user carried over from earlier records of the same sshd process (``host``, ``pid``):
    ``rport``/``laddr``/``lport`` (CRYPTO_SESSION, USER_AUTH on Red Hat) when the address
    agrees, ``addr`` for records written with ``addr=?``, ``acct`` for records written with
    ``id=<uid>`` (a successful USER_LOGIN), and the method of USER_AUTH."""
    return f"""
    WITH l AS (
        SELECT *, res IN ('success', 'yes', '1') AS ok,
            CASE WHEN acct IN ('(invalid user)', '(unknown user)') THEN NULL ELSE acct END
                AS user0,
            coalesce(addr, hostname) AS ip0, {_METHOD} AS method0,
            CASE WHEN ev_type = 'USER_AUTH' THEN fp END AS fp0
        FROM {ev} WHERE status = 'login'),
    pam AS (SELECT host, bool_or(ev_type = 'USER_ACCT') AS pam FROM l GROUP BY host),
    w AS (
        SELECT l.*, pam.pam,
            last_value(CASE WHEN rport IS NOT NULL THEN struct_pack(a := ip0, p := rport)
                END IGNORE NULLS) OVER win AS conn,
            last_value(CASE WHEN laddr IS NOT NULL OR lport IS NOT NULL THEN struct_pack(
                a := ip0, la := laddr, lp := lport) END IGNORE NULLS) OVER win AS srv,
            last_value(user0 IGNORE NULLS) OVER win AS user_p,
            last_value(ip0 IGNORE NULLS) OVER win AS ip_p,
            last_value(method0 IGNORE NULLS) OVER win AS method_p,
            last_value(fp0 IGNORE NULLS) OVER win AS fp_p
        FROM l LEFT JOIN pam ON l.host IS NOT DISTINCT FROM pam.host
        WINDOW win AS (PARTITION BY l.host, l.pid ORDER BY l.t_us, l.serial
                       ROWS UNBOUNDED PRECEDING)),
    x AS (
        SELECT *, coalesce(ip0, ip_p) AS src_ip,
            conn.a IS NOT DISTINCT FROM coalesce(ip0, ip_p) AS same_conn,
            srv.a IS NOT DISTINCT FROM coalesce(ip0, ip_p) AS same_srv
        FROM w)
    SELECT src_line, serial AS src_seq, t_us, host, host_own, ev_type, ok, pid,
        {unset("auid")} AS auid, {unset("ses")} AS asid, id,
        coalesce(user0, CASE WHEN id IS NOT NULL THEN coalesce(id_name, user_p) END) AS "user",
        src_ip,
        coalesce(rport, CASE WHEN same_conn THEN conn.p END) AS src_port,
        coalesce(laddr, CASE WHEN same_srv THEN srv.la END) AS server_ip,
        coalesce(lport, CASE WHEN same_srv THEN srv.lp END) AS server_port,
        base AS program, coalesce(method0, method_p) AS method, coalesce(fp0, fp_p) AS key_fp,
        {_RESULT} AS result,
        concat_ws(' ', ev_type, 'op=' || op, 'acct=' || acct, 'id=' || id,
                  'terminal=' || terminal, 'res=' || res) AS message
    FROM x
    ORDER BY src_line
    """


LOGIN_COLUMNS = ("src_line", "src_seq", "t_us", "host", "user", "src_ip", "src_port",
                 "server_ip", "server_port", "program", "method", "key_fp", "result", "pid",
                 "message", "false AS time_inferred", "false AS year_inferred")

#: ``session`` rows: sshd's PAM session open and close on this host (an inbound login).
SESSION_SQL = """
SELECT src_line, src_seq, t_us, host, host_own, coalesce(auid, id) AS uid, "user",
    'ssh_inbound' AS kind,
    ok AS success, src_ip AS source_ip, asid, pid,
    CASE ev_type WHEN 'USER_START' THEN 'login' ELSE 'logout' END AS action
FROM {logins} WHERE ev_type IN ('USER_START', 'USER_END')
ORDER BY src_line
"""
