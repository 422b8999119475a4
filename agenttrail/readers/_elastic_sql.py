"""DuckDB schema and SQL for the Elastic Defend reader (FORMATS.md §2.3; DESIGN §2, §3).

Stage 1 (``PREPARE`` and ``SELECT_LIST``) runs inside ``read_ndjson``: it unwraps an
Elasticsearch hit (``_source``), names the record's kind (``process``, ``network``, ``auth``, or a
skip key ``<category>/<action>``), reads the time, the host and the platform, and reduces the exec
environment and arguments, so that only the kept values leave DuckDB. Stage 2 is one query per
table over the reduced rows (``{rows}``).

Version differences handled (FORMATS §2.3 and the 7.10 samples it cites): ``event.category`` and
``event.type`` as a string or an array; ``user.id`` as a number (Endpoint 7.x) or a string (ECS);
``host.os.type`` missing before ECS 1.8 (``host.os.platform``, then ``host.os.family``, decide);
``host.ip`` as one string or an array; ``process.user``/``process.real_user`` (Linux, ECS 8) before
``user.id``/``user.Ext.real.id``; ``process.env_vars`` only when the policy captures it.
"""

from __future__ import annotations

from agenttrail.readers import _endpoint as ep

PROCESS_ACTIONS = ("exec", "fork", "end")
NETWORK_ACTIONS = ("connection_attempted", "connection_accepted", "disconnect_received")
AUTH_ACTIONS = ("ssh_log_on", "log_on")
#: Events the reader makes rows from, as ``<category>/<action>``.
HANDLED = (*(f"process/{a}" for a in PROCESS_ACTIONS),
           *(f"network/{a}" for a in NETWORK_ACTIONS),
           *(f"authentication/{a}" for a in AUTH_ACTIONS))

_ID = "STRUCT(id VARCHAR, name VARCHAR)"
_SIG = ('STRUCT("exists" BOOLEAN, signing_id VARCHAR, status VARCHAR, subject_name VARCHAR, '
        "team_id VARCHAR, trusted BOOLEAN)")
_PROCESS = (
    "STRUCT(pid BIGINT, entity_id VARCHAR, executable VARCHAR, name VARCHAR, args VARCHAR[], "
    "args_count BIGINT, working_directory VARCHAR, env_vars VARCHAR[], exit_code BIGINT, "
    '"start" VARCHAR, parent STRUCT(pid BIGINT, entity_id VARCHAR), '
    f'session_leader STRUCT(pid BIGINT), "user" {_ID}, real_user {_ID}, '
    f"code_signature {_SIG})"
)
_ENDPOINT = "STRUCT(ip VARCHAR, port BIGINT, bytes BIGINT, packets BIGINT)"
#: The document's fields the reader uses, by top-level key. JSON where versions disagree on the
#: JSON type (the value is then read in SQL).
DOC: dict[str, str] = {
    "@timestamp": "VARCHAR",
    "event": ('STRUCT("action" VARCHAR, category JSON, "type" JSON, module VARCHAR, '
              'dataset VARCHAR, outcome VARCHAR, sequence BIGINT, "kind" VARCHAR)'),
    "data_stream": "STRUCT(dataset VARCHAR)",
    "agent": 'STRUCT("type" VARCHAR)',
    "host": ('STRUCT("name" VARCHAR, hostname VARCHAR, ip JSON, '
             'os STRUCT("type" VARCHAR, platform VARCHAR, family VARCHAR))'),
    "process": _PROCESS,
    "user": f'STRUCT(id VARCHAR, "name" VARCHAR, "Ext" STRUCT("real" {_ID}))',
    "source": _ENDPOINT,
    "destination": _ENDPOINT,
    "network": 'STRUCT(direction VARCHAR, transport VARCHAR)',
}
_DOC_STRUCT = "STRUCT(" + ", ".join(f'"{k}" {v}' for k, v in DOC.items()) + ")"
#: The explicit read_ndjson schema: the document's keys, and the same document inside an
#: Elasticsearch hit (``_source``).
COLUMNS: dict[str, str] = {**DOC, "_index": "VARCHAR", "_source": _DOC_STRUCT}


def f(path: str) -> str:
    """A document field (dotted path, unquoted), from ``_source`` when the line is an
    Elasticsearch hit."""
    quoted = ".".join(f'"{p}"' for p in path.split("."))
    return f"(CASE WHEN _source IS NULL THEN {quoted} ELSE _source.{quoted} END)"


def _strings(expr: str) -> str:
    """A JSON string or array of strings as VARCHAR[] (NULL when absent)."""
    return (f"CASE json_type({expr}) WHEN 'ARRAY' THEN json_extract_string({expr}, '$[*]') "
            f"WHEN 'VARCHAR' THEN [json_extract_string({expr}, '$')] END")


#: Stage 1a (a subquery): the record's category list, action, module and time text.
PREPARE = f"""
    {_strings(f("event.category"))} AS cats,
    {_strings(f("event.type"))} AS types,
    lower({f("event.action")}) AS act,
    lower(coalesce({f("event.module")}, CASE
        WHEN starts_with({f("event.dataset")}, 'endpoint.') OR starts_with({f("data_stream.dataset")},
             'endpoint.') OR {f("agent.type")} = 'endpoint' THEN 'endpoint' END)) AS module,
    lower({f("event.kind")}) AS ev_kind,
    {f("@timestamp")} AS ts_text,
    {f("process.args")} AS raw_args
"""


def select_list(tz: str | None) -> str:
    """Stage 1b: evaluated inside read_ndjson (lateral aliases refer to earlier items)."""
    exe = f("process.executable")
    return f"""
    {ep.time_us("ts_text", tz)} AS t_us,
    CASE WHEN t_us IS NULL THEN left(ts_text, 64) END AS bad_time,
    ts_text IS NULL AS no_time,
    CASE WHEN module IS DISTINCT FROM 'endpoint' OR ev_kind <> 'event' THEN NULL
         WHEN list_contains(cats, 'process')
              AND coalesce(act, CASE WHEN list_contains(types, 'start') THEN 'exec'
                                     WHEN list_contains(types, 'end') THEN 'end' END)
                  IN ({ep.sql_list(PROCESS_ACTIONS)}) THEN 'process'
         WHEN list_contains(cats, 'network') AND act IN ({ep.sql_list(NETWORK_ACTIONS)})
              THEN 'network'
         WHEN act IN ({ep.sql_list(AUTH_ACTIONS)}) THEN 'auth' END AS kind,
    CASE WHEN kind IS NOT NULL THEN NULL
         WHEN module IS NULL THEN 'no_module'
         WHEN module <> 'endpoint' THEN 'module:' || module
         WHEN ev_kind <> 'event' THEN 'kind:' || ev_kind
         ELSE coalesce(array_to_string(cats, ','), '?') || '/' || coalesce(act, '?') END AS skip,
    CASE WHEN kind = 'process' THEN coalesce(act, CASE WHEN list_contains(types, 'start')
         THEN 'exec' ELSE 'end' END) ELSE act END AS action,
    kind || '/' || action AS rtype,
    {ep.host_of(f("host.name"), f("host.hostname"))} AS rec_host,
    {ep.platform_of(f("host.os.type"), f("host.os.platform"), f("host.os.family"))} AS platform,
    {f("host.ip")} AS host_ips,
    {f("event.sequence")} AS seq,
    lower({f("event.outcome")}) AS outcome,
    {f("process.pid")} AS pid,
    {f("process.entity_id")} AS entity_id,
    {f("process.parent.pid")} AS ppid,
    {f("process.parent.entity_id")} AS parent_entity_id,
    {f("process.session_leader.pid")} AS session_id,
    {f("process.name")} AS pname,
    CASE WHEN kind IN ('process', 'network', 'auth') THEN {exe} END AS exe,
    TRY_CAST(coalesce({f("process.user.id")}, {f("user.id")}) AS BIGINT) AS euid,
    TRY_CAST(coalesce({f("process.real_user.id")}, {f("user.Ext.real.id")}) AS BIGINT)
        AS ruid,
    TRY_CAST({f("user.id")} AS BIGINT) AS user_id,
    {f("user.name")} AS user_name,
    {f("process.code_signature")} AS sig,
    CASE WHEN action = 'exec' THEN {f("process.working_directory")} END AS cwd,
    CASE WHEN action = 'end' THEN {f("process.exit_code")} END AS exit_code,
    CASE WHEN kind = 'process' THEN {ep.time_us(f("process.start"), tz)} END AS start_t_us,
    CASE WHEN action = 'exec' THEN {ep.env_kept(f("process.env_vars"))} END AS env_kept,
    CASE WHEN action = 'exec' THEN coalesce({f("process.args_count")},
         len(raw_args)) END AS argc,
    {ep.args_select("(CASE WHEN action = 'exec' THEN raw_args END)", "exe")},
    CASE WHEN kind IN ('network', 'auth') THEN {f("source.ip")} END AS source_ip,
    CASE WHEN kind = 'network' THEN {f("source.port")} END AS source_port,
    CASE WHEN kind = 'network' THEN {f("source.bytes")} END AS source_bytes,
    CASE WHEN kind = 'network' THEN {f("source.packets")} END AS source_packets,
    CASE WHEN kind = 'network' THEN {f("destination.ip")} END AS dest_ip,
    CASE WHEN kind = 'network' THEN {f("destination.port")} END AS dest_port,
    CASE WHEN kind = 'network' THEN {f("destination.bytes")} END AS dest_bytes,
    CASE WHEN kind = 'network' THEN {f("destination.packets")} END AS dest_packets,
    CASE WHEN kind = 'network' THEN lower({f("network.direction")}) END AS direction,
    CASE WHEN kind = 'network' THEN lower({f("network.transport")}) END AS transport
"""


# --- stage 2: per table, over the reduced rows ({rows}: with `host` and `host_inferred`) ------

_SIGNATURE = ep.classes_select(
    "exe", "platform",
    platform_binary=f"(sig.subject_name = '{ep.APPLE_PLATFORM_SUBJECT}' "
                    "AND sig.trusted IS DISTINCT FROM false)",
    team_id="sig.team_id", signed='sig."exists"',
    adhoc="nullif(sig.subject_name, '') IS NULL",
)
_ACTOR = f"""
    pid, {ep.entity_key("entity_id")} AS pidversion, ruid, euid, exe,
    nullif(sig.signing_id, '') AS signing_id, nullif(sig.team_id, '') AS team_id,
    CASE WHEN sig IS NULL THEN NULL
         ELSE coalesce(sig.subject_name = '{ep.APPLE_PLATFORM_SUBJECT}', false) END
        AS platform_binary,
    platform, {_SIGNATURE}"""
_GOOD = "t_us IS NOT NULL"

PROCESS_SQL = f"""
SELECT src_line, seq AS src_seq, t_us, host, host_inferred,
    CASE action WHEN 'end' THEN 'exit' ELSE action END AS action, {_ACTOR},
    ppid, {ep.entity_key("parent_entity_id")} AS parent_pidversion, session_id,
    args, argc, cwd, {ep.env_select()}, start_t_us, exit_code AS exit_status
FROM {{rows}} WHERE {_GOOD} AND kind = 'process'
ORDER BY src_line
"""

#: Connection records for :data:`agenttrail.readers._endpoint.FLOW_SQL`. ECS ``source`` is the
#: side that opened the connection; an endpoint's own connection (egress, or an attempt) keeps the
#: host as ``src_host``, an accepted one (ingress) as ``dst_host``.
CONN_SQL = """
SELECT src_line, seq AS src_seq, t_us,
    CASE WHEN action = 'disconnect_received' THEN 'end' ELSE 'start' END AS kind,
    CASE WHEN action <> 'disconnect_received' THEN t_us END AS start_us,
    CASE WHEN action = 'disconnect_received' THEN t_us END AS end_us,
    source_ip AS src_ip, source_port AS src_port, dest_ip AS dst_ip, dest_port AS dst_port,
    transport AS proto,
    CASE WHEN action <> 'disconnect_received' THEN true END AS saw_syn,
    source_bytes AS bytes_out, dest_bytes AS bytes_in,
    source_packets AS pkts_out, dest_packets AS pkts_in,
    host AS sensor,
    CASE WHEN direction IN ('ingress', 'inbound', 'incoming')
              OR (direction IS NULL AND action = 'connection_accepted') THEN NULL
         ELSE host END AS src_host,
    CASE WHEN direction IN ('ingress', 'inbound', 'incoming')
              OR (direction IS NULL AND action = 'connection_accepted') THEN host END AS dst_host,
    pid
FROM {rows} WHERE t_us IS NOT NULL AND kind = 'network'
ORDER BY src_line
"""

_SUCCESS = "CASE outcome WHEN 'success' THEN true WHEN 'failure' THEN false END"
SESSION_SQL = f"""
SELECT src_line, seq AS src_seq, t_us, host, host_inferred,
    CASE action WHEN 'ssh_log_on' THEN 'ssh_inbound' ELSE 'login' END AS kind,
    'login' AS action, user_id AS uid, user_name AS "user", {_SUCCESS} AS success,
    source_ip, pid, {ep.entity_key("entity_id")} AS pidversion
FROM {{rows}} WHERE {_GOOD} AND kind = 'auth'
ORDER BY src_line
"""

LOGIN_SQL = f"""
SELECT src_line, seq AS src_seq, t_us, host, host_inferred, user_name AS "user",
    source_ip AS src_ip, coalesce(pname, regexp_extract(exe, '[^/]*$')) AS program,
    CASE outcome WHEN 'success' THEN 'accepted' WHEN 'failure' THEN 'failed' END AS result,
    'elastic' AS source, pid
FROM {{rows}} WHERE {_GOOD} AND kind = 'auth' AND action = 'ssh_log_on'
ORDER BY src_line
"""

SPAN_SQL = """
SELECT host, coalesce(pname, regexp_extract(exe, '[^/]*$')) AS program,
    min(t_us) AS first_t_us, max(t_us) AS last_t_us, count(*) AS records,
    count(*) AS sshd_records
FROM {rows} WHERE t_us IS NOT NULL AND kind = 'auth' AND action = 'ssh_log_on'
GROUP BY ALL ORDER BY host NULLS LAST, program NULLS LAST
"""

ASSET_SQL = """
SELECT host, host_ips, min(t_us) FROM {rows}
WHERE t_us IS NOT NULL AND host IS NOT NULL AND host_ips IS NOT NULL
GROUP BY ALL ORDER BY ALL
"""


# --- documented fields (FORMATS §2.3; Linux from the endpoint package's field lists) ----------

_COMMON = ep.known_keys(
    "@timestamp agent.{id,type,version} data_stream.{dataset,namespace,type} ecs.version",
    "elastic.agent.id event.{action,category,code,created,dataset,id,ingested,kind,module,"
    "outcome,sequence,type} host.{architecture,domain,hostname,id,ip,mac,name}",
    "host.os.{Ext.variant,family,full,kernel,name,platform,type,version} message",
    "cloud container orchestrator",
)
_USER_GROUP = ("user.{id,name,domain,Ext.real.id,Ext.real.name} "
               "group.{id,name,Ext.real.id,Ext.real.name}")
KEYS: dict[str, ep.KnownKeys] = {
    "process": ep.known_keys(
        " ".join(_COMMON.known), _USER_GROUP,
        "process.{pid,entity_id,executable,name,args,args_count,command_line,env_vars,exit_code,"
        "hash,group_leader,session_leader,entry_leader,parent,previous,code_signature,Ext,"
        "ai_agent,working_directory,start,end,user,real_user,group,real_group,"
        "supplemental_groups,interactive,tty,thread,uptime,io}",
        "Effective_process Target.process",
    ),
    "network": ep.known_keys(
        " ".join(_COMMON.known), _USER_GROUP,
        "source.{address,ip,port,bytes,packets,domain} "
        "destination.{address,ip,port,bytes,packets,domain} network.{direction,transport,type}",
        "process.{pid,entity_id,executable,name,command_line,code_signature,parent.entity_id,"
        "Ext.ancestry,entry_leader.entity_id,entry_leader.parent.entity_id,"
        "group_leader.entity_id,session_leader.entity_id,thread,uptime}",
    ),
    "auth": ep.known_keys(
        " ".join(_COMMON.known), "user.{id,name,domain,effective}",
        "process.{pid,entity_id,executable,name,code_signature,Ext.ancestry,"
        "Ext.authentication_id,Ext.session_info.logon_type,Ext.code_signature} "
        "Target.process.Ext.authentication_id source.{ip,port,address}",
    ),
}
#: Keys of an Elasticsearch hit around ``_source``.
HIT_KEYS = frozenset({"_index", "_id", "_source", "_score", "_version", "_seq_no",
                      "_primary_term", "_routing", "_ignored", "sort", "fields", "highlight"})
