"""The same chain as agent_hijack_lateral_ssh, to a destination outside the internal networks.

Example: root uses alice's socket to ``ssh git@github.com``: the key signs for someone else's
code push or exfiltration. Never dropped.
"""

from __future__ import annotations

from agenttrail.detect._meta import Detection

META = Detection(
    id="agent_hijack_external_ssh",
    title="SSH agent hijack used against an external destination",
    severity="high",
    summary="A hijack seed linked (as in agent_hijack_lateral_ssh) to an SSH connection from "
    "the host to a destination outside the internal networks.",
    requires=("socket or process seeds", "flow: SSH flows with source address",
              "asset: the Mac's address at the time"),
    false_positives=("a user's own git over ssh: not a seed (acts for the owner)",),
    sigma="temporal_ordered correlation as for agent_hijack_lateral_ssh",
    sigma_loss="as for agent_hijack_lateral_ssh",
)
