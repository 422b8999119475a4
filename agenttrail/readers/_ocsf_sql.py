"""DuckDB schema and SQL for the OCSF input reader (OCSF 1.x; checked against the 1.5.0 schema).

Stage 1 (``PREPARE`` and :func:`select_list`) runs inside ``read_ndjson``: it names the record's
kind from ``class_uid`` and ``activity_id`` (``process``, ``socket``, ``network``, ``login``,
``session``, or a skip key), reads the times, the host and the platform, and reduces the exec
environment and the command line, so that only the kept values leave DuckDB. Stage 2 is one
query per table over the reduced rows (``{rows}``).

Version differences handled: ``process.path``, ``process.working_directory`` and
``process.environment_variables`` exist from OCSF 1.4 (before, the executable is only
``process.file.path`` and there is no environment); Authentication ``Preauth`` (activity 6) from
1.2; Network Activity ``Listen`` (7) from 1.3; ``activity_id`` is derived from ``type_uid`` when
a producer leaves it out; ``time_dt`` (datetime profile) stands in for a missing ``time``.
"""

from __future__ import annotations

from agenttrail.readers import _endpoint as ep
from agenttrail.readers import _eslogger_sql as es

PROCESS_ACTIVITY, FILE_ACTIVITY, AUTHENTICATION, NETWORK_ACTIVITY = 1007, 1001, 3002, 4001
#: Process Activity: Launch → exec, Terminate → exit.
PROCESS_ACTIONS = {1: "exec", 2: "exit"}
#: File System Activity on a Local Socket: Create → bind, Open → connect.
SOCKET_ACTIONS = {1: "bind", 14: "connect"}
SOCKET_TYPE_ID = 5  # file.type_id "Local Socket"
#: Authentication: Logon, Logoff, Preauth.
AUTH_ACTIVITIES = (1, 2, 6)
NETWORK_CLOSE, NETWORK_LISTEN, NETWORK_OPEN = 2, 7, 1
#: logon_type_id values that are remote logons (Network, Network Cleartext, Remote Interactive,
#: Cached Remote Interactive).
REMOTE_LOGON_TYPES = (3, 8, 10, 12)
UNLOCK_LOGON_TYPES = (7, 13)
SSHD_PROGRAMS = ("sshd", "sshd-session", "sshd-auth")

_USER = 'STRUCT(uid VARCHAR, "name" VARCHAR)'
_SIGNATURE = "STRUCT(developer_uid VARCHAR, certificate STRUCT(subject VARCHAR))"
_PROCESS = (
    'STRUCT(pid BIGINT, uid VARCHAR, "name" VARCHAR, cmd_line VARCHAR, path VARCHAR, '
    f'file STRUCT(path VARCHAR, "name" VARCHAR, signature {_SIGNATURE}), '
    f'"user" {_USER}, euid BIGINT, auid BIGINT, working_directory VARCHAR, '
    'environment_variables STRUCT("name" VARCHAR, "value" VARCHAR)[], '
    'parent_process STRUCT(pid BIGINT, uid VARCHAR), created_time BIGINT, '
    '"session" STRUCT(uid VARCHAR, terminal VARCHAR))'
)
_ENDPOINT = "STRUCT(ip VARCHAR, port BIGINT, hostname VARCHAR)"
#: The explicit read_ndjson schema (the fields the reader uses).
COLUMNS: dict[str, str] = {
    "class_uid": "BIGINT",
    "activity_id": "BIGINT",
    "type_uid": "BIGINT",
    "time": "BIGINT",
    "time_dt": "VARCHAR",
    "start_time": "BIGINT",
    "end_time": "BIGINT",
    "status_id": "BIGINT",
    "exit_code": "BIGINT",
    "message": "VARCHAR",
    "metadata": "STRUCT(version VARCHAR, sequence BIGINT)",
    "device": ('STRUCT(hostname VARCHAR, "name" VARCHAR, ip VARCHAR, '
               'os STRUCT(type_id BIGINT, "type" VARCHAR, "name" VARCHAR))'),
    "process": _PROCESS,
    "actor": f'STRUCT(process {_PROCESS}, "user" {_USER})',
    "file": f'STRUCT(path VARCHAR, type_id BIGINT, "type" VARCHAR, owner {_USER})',
    "src_endpoint": _ENDPOINT,
    "dst_endpoint": _ENDPOINT,
    "connection_info": "STRUCT(protocol_name VARCHAR, protocol_num BIGINT, direction_id BIGINT)",
    "traffic": "STRUCT(bytes_in BIGINT, bytes_out BIGINT, packets_in BIGINT, packets_out BIGINT)",
    "user": _USER,
    "is_remote": "BOOLEAN",
    "logon_type_id": "BIGINT",
    "auth_protocol": "VARCHAR",
    "logon_process": 'STRUCT(pid BIGINT, "name" VARCHAR, file STRUCT(path VARCHAR))',
    "service": 'STRUCT("name" VARCHAR)',
}

# One command-line word: unquoted runs and quoted strings glued together (POSIX shell quoting
# without backslash escapes); the quotes are then removed.
_WORD = r"""(?:[^\s"']+|"[^"]*"|'[^']*')+"""
_UNQUOTE = r""""([^"]*)"|'([^']*)'"""


def _words(expr: str) -> str:
    return (f"list_transform(regexp_extract_all({expr}, {ep.lit(_WORD)}), "
            f"lambda w: regexp_replace(w, {ep.lit(_UNQUOTE)}, '\\1\\2', 'g'))")


#: Stage 1a (a subquery, whose columns never leave DuckDB): the class and activity, the process
#: the row is about (the launched or terminated process for Process Activity, the actor's process
#: otherwise), and the words of a launched command line.
PREPARE = f"""
    coalesce(activity_id, CASE WHEN type_uid IS NOT NULL AND class_uid IS NOT NULL
                               AND type_uid // 100 = class_uid THEN type_uid % 100 END) AS act,
    CASE WHEN class_uid = {PROCESS_ACTIVITY} THEN process ELSE actor.process END AS p,
    CASE WHEN class_uid = {PROCESS_ACTIVITY} THEN actor.process END AS parent_p,
    CASE WHEN class_uid = {PROCESS_ACTIVITY} AND act = 1 THEN {_words("process.cmd_line")}
         END AS words
"""


def select_list(tz: str | None) -> str:
    """Stage 1b: evaluated inside read_ndjson (lateral aliases refer to earlier items)."""
    is_socket = (f"(file.type_id = {SOCKET_TYPE_ID} OR lower(file.\"type\") IN "
                 "('local socket', 'socket', 'unix socket'))")
    remote = (f"coalesce(is_remote, logon_type_id IN {REMOTE_LOGON_TYPES}, "
              "src_endpoint.ip IS NOT NULL)")
    socket_acts = ", ".join(str(a) for a in SOCKET_ACTIONS)
    proc_acts = ", ".join(str(a) for a in PROCESS_ACTIONS)
    return f"""
    class_uid AS cls, act,
    CASE WHEN class_uid IN ({PROCESS_ACTIVITY}, {FILE_ACTIVITY}, {NETWORK_ACTIVITY},
                            {AUTHENTICATION}) THEN class_uid::VARCHAR END AS rtype,
    CASE WHEN time IS NOT NULL THEN time * 1000 ELSE {ep.time_us("time_dt", tz)} END AS t_us,
    time IS NULL AND time_dt IS NULL AS no_time,
    CASE WHEN time IS NULL THEN left(time_dt, 64) END AS bad_time,
    CASE WHEN class_uid = {PROCESS_ACTIVITY} AND act IN ({proc_acts}) THEN 'process'
         WHEN class_uid = {FILE_ACTIVITY} AND act IN ({socket_acts}) AND {is_socket}
              AND file.path IS NOT NULL THEN 'socket'
         WHEN class_uid = {NETWORK_ACTIVITY} AND act IS DISTINCT FROM {NETWORK_LISTEN}
              THEN 'network'
         WHEN class_uid = {AUTHENTICATION} AND act IN {AUTH_ACTIVITIES}
              AND {remote} THEN 'login'
         WHEN class_uid = {AUTHENTICATION} AND act IN (1, 2) THEN 'session' END AS kind,
    CASE WHEN kind IS NOT NULL OR class_uid IS NULL THEN NULL
         WHEN class_uid IN ({PROCESS_ACTIVITY}, {FILE_ACTIVITY}, {NETWORK_ACTIVITY},
                            {AUTHENTICATION})
         THEN class_uid::VARCHAR || '/' || coalesce(act::VARCHAR, '?')
         ELSE class_uid::VARCHAR END AS skip,
    {ep.host_of('device.hostname', 'device."name"',
                f"CASE WHEN class_uid = {AUTHENTICATION} THEN dst_endpoint.hostname END")}
        AS rec_host,
    device.ip AS device_ip,
    coalesce(CASE device.os.type_id WHEN 300 THEN 'macos' WHEN 200 THEN 'linux' END,
             {ep.platform_of('device.os."type"', 'device.os."name"')}) AS platform,
    metadata.sequence AS seq,
    status_id,
    p.pid AS pid, p.uid AS entity_id,
    coalesce(p.parent_process.pid, parent_p.pid) AS ppid,
    coalesce(p.parent_process.uid, parent_p.uid) AS parent_entity_id,
    coalesce(p.file.path, p.path) AS exe,
    p."name" AS pname,
    TRY_CAST(p."user".uid AS BIGINT) AS ruid,
    coalesce(p.euid, ruid) AS euid,
    CASE WHEN p.auid IN {es.UNSET_IDS} THEN NULL ELSE p.auid END AS auid,
    CASE WHEN p.auid IS NULL THEN NULL ELSE p.auid NOT IN {es.UNSET_IDS} END AS auid_set,
    p."session".terminal AS tty,
    p.file.signature AS sig,
    CASE WHEN kind = 'process' AND act = 1 THEN p.working_directory END AS cwd,
    CASE WHEN kind = 'process' AND act = 2 THEN exit_code END AS exit_code,
    CASE WHEN kind = 'process' THEN p.created_time * 1000 END AS start_t_us,
    CASE WHEN kind = 'process' AND act = 1 THEN list_transform(
        list_filter(p.environment_variables, lambda e: e."name" IN ({ep.sql_list(es.ENV_KEEP)})),
        lambda e: e."name" || '=' || coalesce(e."value", '')) END AS env_kept,
    len(words) AS argc,
    {ep.args_select("words", "exe")},
    CASE WHEN kind = 'socket' THEN file.path END AS socket_path_raw,
    CASE WHEN kind = 'socket' THEN TRY_CAST(file.owner.uid AS BIGINT) END AS st_uid,
    CASE WHEN kind = 'network' THEN coalesce(start_time, CASE WHEN act <> {NETWORK_CLOSE}
         THEN time END) * 1000 END AS start_us,
    CASE WHEN kind = 'network' THEN end_time * 1000 END AS end_us,
    CASE WHEN kind IN ('network', 'login', 'session') THEN src_endpoint.ip END AS src_ip,
    CASE WHEN kind IN ('network', 'login') THEN src_endpoint.port END AS src_port,
    CASE WHEN kind IN ('network', 'login') THEN dst_endpoint.ip END AS dst_ip,
    CASE WHEN kind IN ('network', 'login') THEN dst_endpoint.port END AS dst_port,
    CASE WHEN kind = 'network' THEN coalesce(lower(connection_info.protocol_name),
         CASE connection_info.protocol_num WHEN 6 THEN 'tcp' WHEN 17 THEN 'udp'
                                           WHEN 1 THEN 'icmp' WHEN 58 THEN 'icmp6' END) END
        AS proto,
    CASE WHEN kind = 'network' THEN connection_info.direction_id END AS direction_id,
    CASE WHEN kind = 'network' THEN traffic END AS traffic,
    CASE WHEN kind IN ('login', 'session') THEN "user".uid END AS user_uid,
    CASE WHEN kind IN ('login', 'session') THEN "user"."name" END AS user_name,
    CASE WHEN kind IN ('login', 'session') THEN logon_type_id END AS logon_type,
    CASE WHEN kind = 'login' THEN nullif(lower(auth_protocol), 'unknown') END AS method,
    CASE WHEN kind IN ('login', 'session') THEN coalesce(logon_process.pid, pid) END AS auth_pid,
    CASE WHEN kind = 'login' THEN coalesce(logon_process."name",
         nullif(regexp_extract(logon_process.file.path, '[^/]*$'), ''), pname,
         service."name") END AS program,
    CASE WHEN kind = 'login' THEN lower(service."name") END AS service_name,
    CASE WHEN kind = 'login' THEN message END AS msg
"""


# --- stage 2: per table, over the reduced rows ({rows}: with `host` and `host_inferred`) ------

_CLASSES = ep.classes_select(
    "exe", "platform",
    platform_binary=f"(sig.certificate.subject = '{ep.APPLE_PLATFORM_SUBJECT}')",
    team_id="sig.developer_uid", signed="(sig IS NOT NULL OR NULL)",
    adhoc="sig.certificate IS NULL",
)
_ACTOR = f"""
    pid, {ep.entity_key("entity_id")} AS pidversion, ruid, euid, auid, auid_set, exe,
    nullif(sig.developer_uid, '') AS team_id,
    CASE WHEN sig IS NULL THEN NULL
         ELSE coalesce(sig.certificate.subject = '{ep.APPLE_PLATFORM_SUBJECT}', false) END
        AS platform_binary,
    platform, {_CLASSES}"""
_GOOD = "t_us IS NOT NULL"

PROCESS_SQL = f"""
SELECT src_line, seq AS src_seq, t_us, host, host_inferred,
    CASE act WHEN 1 THEN 'exec' ELSE 'exit' END AS action, {_ACTOR},
    ppid, {ep.entity_key("parent_entity_id")} AS parent_pidversion, tty,
    args, argc, cwd, {ep.env_select()}, start_t_us, exit_code AS exit_status
FROM {{rows}} WHERE {_GOOD} AND kind = 'process'
ORDER BY src_line
"""

SOCKET_SQL = f"""
SELECT src_line, seq AS src_seq, t_us, host, host_inferred,
    CASE act WHEN 1 THEN 'bind' ELSE 'connect' END AS action, {_ACTOR},
    socket_path_raw,
    CASE WHEN platform = 'linux' THEN regexp_replace(socket_path_raw, '/{{2,}}', '/', 'g')
         ELSE {es.norm_path("socket_path_raw")} END AS socket_path,
    st_uid
FROM {{rows}} WHERE {_GOOD} AND kind = 'socket'
ORDER BY src_line
"""

#: Connection records for :data:`agenttrail.readers._endpoint.FLOW_SQL`. A record with an actor
#: process is the device's own connection: the device is ``src_host`` unless the connection is
#: inbound (``direction_id`` 1, or the device's address is the destination).
CONN_SQL = f"""
SELECT src_line, seq AS src_seq, t_us,
    CASE WHEN act = {NETWORK_CLOSE} THEN 'end' ELSE 'start' END AS kind,
    start_us, end_us, src_ip, src_port, dst_ip, dst_port, proto,
    CASE WHEN act = {NETWORK_OPEN} THEN true END AS saw_syn,
    traffic.bytes_out AS bytes_out, traffic.bytes_in AS bytes_in,
    traffic.packets_out AS pkts_out, traffic.packets_in AS pkts_in,
    host AS sensor,
    CASE WHEN pid IS NULL AND entity_id IS NULL THEN NULL
         WHEN direction_id = 1 OR (direction_id IS DISTINCT FROM 2 AND device_ip = dst_ip)
         THEN NULL ELSE host END AS src_host,
    CASE WHEN pid IS NULL AND entity_id IS NULL THEN NULL
         WHEN direction_id = 1 OR (direction_id IS DISTINCT FROM 2 AND device_ip = dst_ip)
         THEN host END AS dst_host,
    pid
FROM {{rows}} WHERE {_GOOD} AND kind = 'network'
ORDER BY src_line
"""

_RESULT = """CASE WHEN act = 2 THEN 'disconnected' WHEN act = 6 THEN 'preauth'
         WHEN status_id = 1 THEN 'accepted' WHEN status_id = 2 THEN 'failed' END"""
LOGIN_SQL = f"""
SELECT src_line, seq AS src_seq, t_us, host, host_inferred, user_name AS "user",
    src_ip, src_port, dst_ip AS server_ip, dst_port AS server_port, program, method,
    {_RESULT} AS result, 'ocsf' AS source, auth_pid AS pid, msg AS message
FROM {{rows}} WHERE {_GOOD} AND kind = 'login'
ORDER BY src_line
"""

SESSION_SQL = f"""
SELECT src_line, seq AS src_seq, t_us, host, host_inferred,
    TRY_CAST(user_uid AS BIGINT) AS uid, user_name AS "user",
    CASE WHEN logon_type IN {UNLOCK_LOGON_TYPES} THEN 'screen_lock' ELSE 'login' END AS kind,
    CASE WHEN act = 2 THEN 'logout' ELSE 'login' END AS action,
    CASE WHEN act = 2 THEN NULL WHEN status_id = 1 THEN true WHEN status_id = 2 THEN false END
        AS success,
    src_ip AS source_ip, auth_pid AS pid
FROM {{rows}} WHERE {_GOOD} AND kind = 'session'
ORDER BY src_line
"""

SPAN_SQL = f"""
SELECT host, program, min(t_us) AS first_t_us, max(t_us) AS last_t_us, count(*) AS records,
    count(*) FILTER (WHERE lower(program) IN ({ep.sql_list(SSHD_PROGRAMS)})
                     OR service_name IN ('ssh', 'sshd')) AS sshd_records
FROM {{rows}} WHERE {_GOOD} AND kind = 'login'
GROUP BY ALL ORDER BY host NULLS LAST, program NULLS LAST
"""

ASSET_SQL = """
SELECT host, to_json(device_ip)::VARCHAR, min(t_us) FROM {rows}
WHERE t_us IS NOT NULL AND host IS NOT NULL AND device_ip IS NOT NULL
GROUP BY ALL ORDER BY ALL
"""


# --- documented attributes (OCSF 1.5.0 schema export: classes, and the objects read) ----------

_BASE = ("activity_id activity_name category_name category_uid class_name class_uid count "
         "duration end_time end_time_dt enrichments message metadata observables raw_data "
         "raw_data_size severity severity_id start_time start_time_dt status status_code "
         "status_detail status_id time time_dt timezone_offset type_name type_uid unmapped "
         "action action_id actor api attacks authorizations cloud confidence confidence_id "
         "confidence_score device disposition disposition_id firewall_rule is_alert malware "
         "malware_scan_info osint policy risk_details risk_level risk_level_id risk_score")
_PROCESS_ATTRS = ("ancestry auid cmd_line container cpid created_time created_time_dt egid "
                  "environment_variables euid file group integrity integrity_id lineage "
                  "loaded_modules name namespace_pid parent_process path pid sandbox session "
                  "terminated_time terminated_time_dt tid uid user working_directory xattributes")
_FILE_ATTRS = ("accessed_time accessed_time_dt accessor attributes company_name confidentiality "
               "confidentiality_id created_time created_time_dt creator data_classification "
               "data_classifications desc drive_type drive_type_id encryption_details ext "
               "hashes internal_name is_deleted is_encrypted is_public is_system mime_type "
               "modified_time modified_time_dt modifier name owner parent_folder path product "
               "security_descriptor signature size storage_class tags type type_id uid uri url "
               "version volume xattributes")
_ENDPOINT_ATTRS = ("agent_list autonomous_system container domain hostname hw_info instance_uid "
                   "interface_name interface_uid intermediate_ips ip isp isp_org location mac "
                   "name namespace_pid os owner port proxy_endpoint subnet_uid svc_name type "
                   "type_id uid vlan_uid vpc_uid zone")
_DEVICE_ATTRS = ("agent_list autoscale_uid boot_time boot_time_dt boot_uid container created_time "
                 "created_time_dt desc domain eid first_seen_time first_seen_time_dt groups "
                 "hostname hw_info hypervisor iccid image imei imei_list instance_uid "
                 "interface_name interface_uid ip is_backed_up is_compliant is_managed "
                 "is_mobile_account_active is_personal is_shared is_supervised is_trusted "
                 "last_seen_time last_seen_time_dt location mac meid model modified_time "
                 "modified_time_dt name namespace_pid network_interfaces org os "
                 "os_machine_uuid owner region risk_level risk_level_id risk_score subnet "
                 "subnet_uid type type_id udid uid uid_alt vendor_name vlan_uid vpc_uid zone")
_ACTOR_ATTRS = "app_name app_uid authorizations idp invoked_by process session user"


def _under(prefix: str, attrs: str) -> str:
    return " ".join(f"{prefix}.{a}" for a in attrs.split())


_COMMON_OBJECTS = " ".join((_under("device", _DEVICE_ATTRS), _under("actor", _ACTOR_ATTRS),
                            _under("actor.process", _PROCESS_ATTRS)))
KEYS: dict[int, ep.KnownKeys] = {
    PROCESS_ACTIVITY: ep.known_keys(
        _BASE, _COMMON_OBJECTS, "actual_permissions exit_code injection_type injection_type_id "
        "module process requested_permissions", _under("process", _PROCESS_ATTRS)),
    FILE_ACTIVITY: ep.known_keys(
        _BASE, _COMMON_OBJECTS, "access_mask component connection_uid create_mask file "
        "file_diff file_result", _under("file", _FILE_ATTRS)),
    NETWORK_ACTIVITY: ep.known_keys(
        _BASE, _COMMON_OBJECTS, "app_name connection_info dst_endpoint ja4_fingerprint_list "
        "load_balancer proxy proxy_connection_info proxy_endpoint proxy_http_request "
        "proxy_http_response proxy_tls proxy_traffic src_endpoint tls traffic url",
        _under("src_endpoint", _ENDPOINT_ATTRS), _under("dst_endpoint", _ENDPOINT_ATTRS)),
    AUTHENTICATION: ep.known_keys(
        _BASE, _COMMON_OBJECTS, "auth_factors auth_protocol auth_protocol_id "
        "authentication_token certificate dst_endpoint http_request http_response "
        "is_cleartext is_mfa is_new_logon is_remote logon_process logon_type logon_type_id "
        "service session src_endpoint user",
        _under("src_endpoint", _ENDPOINT_ATTRS), _under("dst_endpoint", _ENDPOINT_ATTRS)),
}
