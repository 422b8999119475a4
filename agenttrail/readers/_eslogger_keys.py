"""The keys eslogger is known to write, and the inventory of keys it was not known to write.

Known keys come from the key map recovered from the eslogger binary on macOS 27 beta
(``corpus/macos/eslogger_keys_macos27_from_macmonitor.json``: envelope, ``process`` and the top
level of 51 event bodies) plus the bodies FORMATS.md §2.1 gives from the EndpointSecurity headers
(``login_logout``, ``lw_session_logout``/``lock``, ``su``, ``sudo``, ``authentication``,
``setuid``, ``seteuid``, ``setreuid``). A key outside these sets is counted per event name in
``FileAccount.unknown_keys`` under its path: ``<key>`` (envelope), ``process.<key>``,
``event.<name>.<key>`` (body) and ``event.exec.target.<key>`` / ``event.fork.child.<key>``.

Counting keys needs a record decoded whole, which costs as much again as the reader's typed
parse, so it runs over a sample: the first ``SAMPLE_PER_EVENT`` records of each event name (rare
event types are sampled as well as frequent ones), among the lines in the first
``INVENTORY_BYTES`` of the file. The number of records inspected is put in
``details["unknown_keys_records"]``; the counts are counts within that sample.
"""

from __future__ import annotations

import json
from pathlib import Path

from agenttrail.readers._io import iter_lines

SAMPLE_PER_EVENT = 100
INVENTORY_BYTES = 64 << 20

ENVELOPE = frozenset({
    "action", "action_type", "event", "event_type", "global_seq_num", "mach_time", "process",
    "schema_version", "seq_num", "thread", "time", "version",
})
PROCESS = frozenset({
    "audit_token", "cdhash", "codesigning_flags", "cs_validation_category", "executable",
    "group_id", "is_es_client", "is_platform_binary", "original_ppid", "parent_audit_token", "ppid",
    "responsible_audit_token", "session_id", "signing_id", "start_time", "team_id", "tty",
})
_BODIES = {
    # from the macOS 27 beta key map
    "authorization_judgement": "instigator instigator_token petitioner petitioner_token "
                               "result_count results return_code",
    "authorization_petition": "flags instigator instigator_token petitioner petitioner_token "
                              "right_count rights",
    "btm_launch_item_add": "app app_token executable_path instigator instigator_token item",
    "btm_launch_item_remove": "app app_token instigator instigator_token item",
    "close": "modified target was_mapped_writable",
    "create": "acl destination destination_type",
    "cs_invalidated": "",
    "deleteextattr": "extattr target",
    "dup": "target",
    "exec": "args cwd dyld_exec_path entitlements env fds image_cpusubtype image_cputype last_fd "
            "script target",
    "exit": "stat",
    "fork": "child",
    "gatekeeper_user_override": "file file_type sha256 signing_info",
    "get_task": "target type",
    "getextattr": "extattr target",
    "iokit_open": "parent_path parent_registry_id user_client_class user_client_type",
    "link": "source target_dir target_filename",
    "listextattr": "target",
    "login_login": "failure_message success uid username",
    "lw_session_login": "graphical_session_id username",
    "lw_session_unlock": "graphical_session_id username",
    "mmap": "file_pos flags max_protection protection source",
    "mount": "disposition statfs",
    "mprotect": "address protection size",
    "od_attribute_value_add": "attribute_name attribute_value db_path error_code instigator "
                              "instigator_token node_name record_name record_type",
    "od_create_group": "db_path error_code group_name instigator instigator_token node_name",
    "od_create_user": "db_path error_code instigator instigator_token node_name user_name",
    "od_group_add": "db_path error_code group_name instigator instigator_token member node_name",
    "od_group_remove": "db_path error_code group_name instigator instigator_token member "
                       "node_name",
    "od_modify_password": "account_name account_type db_path error_code instigator "
                          "instigator_token node_name",
    "open": "fflag file",
    "openssh_login": "result_type source_address source_address_type success uid username",
    "openssh_logout": "source_address source_address_type uid username",
    "proc_check": "flavor target type",
    "proc_suspend_resume": "target type",
    "profile_add": "instigator instigator_token is_update profile",
    "pty_grant": "dev",
    "remote_thread_create": "target thread_state",
    "rename": "destination destination_type source",
    "setextattr": "extattr target",
    "setmode": "mode target",
    "signal": "instigator sig target",
    "tcc_modify": "identity identity_type instigator instigator_token reason responsible "
                  "responsible_token right service update_type",
    "trace": "target",
    "uipc_bind": "dir filename mode",
    "uipc_connect": "domain file protocol type",
    "unlink": "parent_dir target",
    "write": "target",
    "xp_malware_detected": "detected_executable detected_path incident_identifier "
                           "malware_identifier signature_version",
    "xp_malware_remediated": "action_type incident_identifier malware_identifier remediated_path "
                             "remediated_process_audit_token result_description "
                             "signature_version success",
    "xpc_connect": "service_domain_type service_name",
    # from the EndpointSecurity headers (FORMATS.md §2.1), not yet seen in a capture
    "login_logout": "uid username",
    "lw_session_logout": "graphical_session_id username",
    "lw_session_lock": "graphical_session_id username",
    "su": "argc argv env env_count failure_message from_uid from_username shell success to_uid "
          "to_username",
    "sudo": "command from_uid from_username reject_info success to_uid to_username",
    "authentication": "data success type",
    "setuid": "uid",
    "seteuid": "euid",
    "setreuid": "euid ruid",
}
BODIES: dict[str, frozenset[str]] = {k: frozenset(v.split()) for k, v in _BODIES.items()}
#: Body keys that hold a process object, checked against ``PROCESS`` too.
NESTED_PROCESS = {"exec": "target", "fork": "child"}


def inventory(
    path: Path, lines: set[int], max_line_bytes: int
) -> tuple[dict[str, dict[str, int]], int]:
    """Count unknown keys per event name over the given lines of the file.

    Returns the counts (``{event name: {key path: n}}``) and the number of records inspected.
    Lines that are not an eslogger record with a one-key ``event`` are left to the reader.
    """
    counts: dict[str, dict[str, int]] = {}
    seen = 0
    size = 0
    last = max(lines, default=0)
    for line, raw, length in iter_lines(path, max_line_bytes):
        size += length
        if line > last or size > INVENTORY_BYTES:
            break
        if line not in lines or not raw:
            continue
        try:
            obj = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            continue
        event = obj.get("event") if isinstance(obj, dict) else None
        if not isinstance(event, dict) or len(event) != 1:
            continue
        seen += 1
        ((name, body),) = event.items()
        found = counts.setdefault(name, {})
        _unknown(obj, ENVELOPE, "", found)
        _unknown(obj.get("process"), PROCESS, "process.", found)
        if name in BODIES:
            _unknown(body, BODIES[name], f"event.{name}.", found)
            nested = NESTED_PROCESS.get(name)
            if nested and isinstance(body, dict):
                _unknown(body.get(nested), PROCESS, f"event.{name}.{nested}.", found)
        if not found:
            del counts[name]
    return counts, seen


def _unknown(obj: object, known: frozenset[str], prefix: str, found: dict[str, int]) -> None:
    if not isinstance(obj, dict):
        return
    for key in obj:
        if key not in known:
            path = prefix + key
            found[path] = found.get(path, 0) + 1
