"""Table tests for the ssh-family argv parser (DESIGN §3 "The ssh argv parser")."""

from __future__ import annotations

import pytest

from agenttrail.sshargv import SshTarget, parse_ssh_argv

HOME = "/Users/alice"
USER = "alice"


def T(  # a short constructor for the table
    host: str | None = None,
    user: str | None = None,
    port: int | None = None,
    jump: str | None = None,
    agent: str | None = None,
    inferred: bool = False,
    program: str | None = None,
) -> SshTarget:
    return SshTarget(host, user, port, jump, agent, inferred, program)


CASES: list[tuple[str, list[str], SshTarget]] = [
    # --- ssh: destinations, users, ports
    ("ssh-host", ["ssh", "db1"], T("db1", program="ssh")),
    ("ssh-user-at-host", ["/usr/bin/ssh", "bob@db1.corp"], T("db1.corp", "bob", program="ssh")),
    ("ssh-host-lowercased", ["ssh", "DB1.Corp"], T("db1.corp", program="ssh")),
    ("ssh-l-user", ["ssh", "-l", "bob", "db1"], T("db1", "bob", program="ssh")),
    ("ssh-l-attached", ["ssh", "-lbob", "db1"], T("db1", "bob", program="ssh")),
    ("ssh-l-beats-user-at", ["ssh", "-l", "bob", "carol@db1"], T("db1", "bob", program="ssh")),
    ("ssh-user-at-with-at-in-user", ["ssh", "a@b@db1"], T("db1", "a@b", program="ssh")),
    ("ssh-p", ["ssh", "-p", "2222", "db1"], T("db1", port=2222, program="ssh")),
    ("ssh-p-clustered", ["ssh", "-vvp2222", "db1"], T("db1", port=2222, program="ssh")),
    ("ssh-p-bad", ["ssh", "-p", "ssh", "db1"], T("db1", program="ssh")),
    ("ssh-uri", ["ssh", "ssh://bob@db1:2200"], T("db1", "bob", 2200, program="ssh")),
    ("ssh-uri-v6", ["ssh", "ssh://[2001:db8::5]:22"], T("2001:db8::5", port=22, program="ssh")),
    ("ssh-uri-password-dropped", ["ssh", "ssh://bob:<redacted>@db1"],
     T("db1", "bob", program="ssh")),
    ("ssh-p-beats-uri-port", ["ssh", "-p", "22", "ssh://db1:2200"], T("db1", port=22, program="ssh")),
    ("ssh-options-after-host", ["ssh", "db1", "-p", "2222", "-l", "bob"],
     T("db1", "bob", 2222, program="ssh")),
    ("ssh-command-not-options", ["ssh", "db1", "uptime", "-p", "9"], T("db1", program="ssh")),
    ("ssh-double-dash", ["ssh", "--", "db1", "-p", "9"], T("db1", program="ssh")),
    ("ssh-arg-options-skipped", ["ssh", "-i", "k.pem", "-F", "cfg", "-L", "8080:x:80", "-D",
                                 "1080", "-E", "log", "-c", "aes128-ctr", "-m", "hmac-sha2-256",
                                 "-b", "10.0.0.1", "-S", "ctl", "-O", "check", "-Q", "cipher",
                                 "-R", "9000:y:90", "-W", "h:1", "-w", "0:0", "-B", "en0",
                                 "-e", "none", "-I", "pkcs", "-P", "tag", "alice@db1"],
     T("db1", "alice", program="ssh")),
    ("ssh-flags-before-host", ["ssh", "-A", "-t", "-4", "db1"], T("db1", program="ssh")),
    ("ssh-no-host", ["ssh", "-V"], T(program="ssh")),
    ("ssh-o-user-port", ["ssh", "-o", "User=bob", "-oPort=2022", "db1"],
     T("db1", "bob", 2022, program="ssh")),
    ("ssh-o-hostname", ["ssh", "-o", "HostName=10.1.2.3", "db1"], T("10.1.2.3", program="ssh")),
    ("git-invokes-ssh", ["ssh", "-o", "SendEnv=GIT_PROTOCOL", "git@github.com",
                         "git-upload-pack 'org/repo.git'"], T("github.com", "git", program="ssh")),
    # --- ssh: jump hosts
    ("ssh-J", ["ssh", "-J", "bastion", "db1"], T("db1", jump="bastion", program="ssh")),
    ("ssh-J-attached", ["ssh", "-Jops@bastion:2222", "db1"],
     T("db1", jump="ops@bastion:2222", program="ssh")),
    ("ssh-proxyjump", ["ssh", "-oProxyJump=b1,b2", "db1"], T("db1", jump="b1,b2", program="ssh")),
    ("ssh-proxyjump-case", ["ssh", "-o", "proxyjump bastion", "db1"],
     T("db1", jump="bastion", program="ssh")),
    ("ssh-proxycommand", ["ssh", "-o", "ProxyCommand=ssh -W %h:%p ops@Bastion", "db1"],
     T("db1", jump="bastion", program="ssh")),
    ("ssh-proxycommand-nc", ["ssh", "-o", "ProxyCommand nc -x p:1080 %h %p", "db1"],
     T("db1", program="ssh")),
    # --- ssh: IdentityAgent spellings
    ("ia-attached-eq", ["ssh", "-oIdentityAgent=/tmp/ssh-XyZ/agent.42", "db1"],
     T("db1", agent="/tmp/ssh-XyZ/agent.42", program="ssh")),
    ("ia-separate-eq", ["ssh", "-o", "IdentityAgent=/tmp/a.sock", "db1"],
     T("db1", agent="/tmp/a.sock", program="ssh")),
    ("ia-space", ["ssh", "-o", "IdentityAgent /tmp/a.sock", "db1"],
     T("db1", agent="/tmp/a.sock", program="ssh")),
    ("ia-quoted", ["ssh", "-o", 'IdentityAgent "/Users/x/My Agent/s"', "db1"],
     T("db1", agent="/Users/x/My Agent/s", program="ssh")),
    ("ia-spaced-eq", ["ssh", "-o", "IdentityAgent = /tmp/a.sock", "db1"],
     T("db1", agent="/tmp/a.sock", program="ssh")),
    ("ia-any-case", ["ssh", "-o", "identityagent=/tmp/a.sock", "-oIDENTITYAGENT=/tmp/b", "db1"],
     T("db1", agent="/tmp/a.sock", program="ssh")),
    ("ia-tilde", ["ssh", "-o", "IdentityAgent=~/.ssh/agent/s.x.agent.y", "db1"],
     T("db1", agent="/Users/alice/.ssh/agent/s.x.agent.y", inferred=True, program="ssh")),
    ("ia-percent-d-u", ["ssh", "-oIdentityAgent=%d/.1p/%u.sock", "db1"],
     T("db1", agent="/Users/alice/.1p/alice.sock", inferred=True, program="ssh")),
    ("ia-percent-h", ["ssh", "-oIdentityAgent=/tmp/%h-%p.sock", "-p", "2222", "Db1"],
     T("db1", port=2222, agent="/tmp/db1-2222.sock", inferred=True, program="ssh")),
    ("ia-env-var", ["ssh", "-oIdentityAgent=${HOME}/.gnupg/S.gpg-agent.ssh", "db1"],
     T("db1", agent="/Users/alice/.gnupg/S.gpg-agent.ssh", inferred=True, program="ssh")),
    ("ia-unknown-env-kept", ["ssh", "-oIdentityAgent=${XDG_RUNTIME_DIR}/a", "db1"],
     T("db1", agent="${XDG_RUNTIME_DIR}/a", program="ssh")),
    ("ia-double-percent", ["ssh", "-oIdentityAgent=/tmp/100%%", "db1"],
     T("db1", agent="/tmp/100%", program="ssh")),
    ("ia-none", ["ssh", "-o", "IdentityAgent none", "db1"], T("db1", agent="none", program="ssh")),
    ("ia-ssh-auth-sock", ["ssh", "-oIdentityAgent=SSH_AUTH_SOCK", "db1"],
     T("db1", agent="SSH_AUTH_SOCK", program="ssh")),
    ("ia-after-host", ["ssh", "db1", "-o", "IdentityAgent=/tmp/z"],
     T("db1", agent="/tmp/z", program="ssh")),
    # --- scp
    ("scp-upload", ["scp", "f.txt", "bob@db1:/tmp/"], T("db1", "bob", program="scp")),
    ("scp-download", ["scp", "db1:/etc/hosts", "."], T("db1", program="scp")),
    ("scp-P-port-l-limit", ["scp", "-P", "2222", "-l", "800", "-p", "f", "db1:x"],
     T("db1", port=2222, program="scp")),
    ("scp-uri", ["scp", "scp://bob@db1:2200/x", "."], T("db1", "bob", 2200, program="scp")),
    ("scp-v6", ["scp", "f", "bob@[2001:db8::1]:/tmp"], T("2001:db8::1", "bob", program="scp")),
    ("scp-local-path-with-colon-after-slash", ["scp", "./a:b", "/tmp/c:d"], T(program="scp")),
    ("scp-ia-J", ["scp", "-J", "bastion", "-oIdentityAgent=/tmp/a", "f", "db1:"],
     T("db1", jump="bastion", agent="/tmp/a", program="scp")),
    # --- sftp
    ("sftp-host", ["sftp", "bob@db1"], T("db1", "bob", program="sftp")),
    ("sftp-P", ["sftp", "-P", "2222", "-b", "batch.txt", "db1:/srv"],
     T("db1", port=2222, program="sftp")),
    ("sftp-uri", ["sftp", "sftp://bob@db1:2200/srv"], T("db1", "bob", 2200, program="sftp")),
    # --- rsync
    ("rsync-remote", ["rsync", "-avz", "src/", "bob@db1:/srv/"], T("db1", "bob", program="rsync")),
    ("rsync-e-port", ["rsync", "-a", "-e", "ssh -p 2222", "src", "db1:dst"],
     T("db1", port=2222, program="rsync")),
    ("rsync-rsh-eq", ["rsync", "--rsh=ssh -l ops -o IdentityAgent=/tmp/q", "-r", "db1:/x", "."],
     T("db1", "ops", agent="/tmp/q", program="rsync")),
    ("rsync-e-clustered", ["rsync", "-avze", "ssh -J bastion", "src", "db1:dst"],
     T("db1", jump="bastion", program="rsync")),
    ("rsync-long-arg-skipped", ["rsync", "--exclude", "a:b", "src", "db1:dst"],
     T("db1", program="rsync")),
    ("rsync-daemon", ["rsync", "-a", "rsync://db1/mod", "."], T(program="rsync")),
    ("rsync-daemon-colons", ["rsync", "-a", "db1::mod", "."], T(program="rsync")),
    ("rsync-local", ["rsync", "-a", "/a/", "/b/"], T(program="rsync")),
    # --- git
    ("git-clone-ssh-url", ["git", "clone", "ssh://git@gitlab.corp:2222/x/y.git"],
     T("gitlab.corp", "git", 2222, program="git")),
    ("git-clone-scp-like", ["git", "clone", "git@github.com:org/repo.git"],
     T("github.com", "git", program="git")),
    ("git-clone-options", ["git", "clone", "--depth", "1", "-b", "main",
                           "git@github.com:org/repo.git", "dir"],
     T("github.com", "git", program="git")),
    ("git-clone-https", ["git", "clone", "https://github.com/org/repo.git"], T(program="git")),
    ("git-push-origin", ["git", "push", "origin"], T(program="git")),
    ("git-push-origin-branch", ["git", "push", "origin", "main"], T(program="git")),
    ("git-fetch-url", ["git", "fetch", "git@h1:x.git"], T("h1", "git", program="git")),
    ("git-remote-add", ["git", "remote", "add", "up", "git+ssh://git@h2/x"],
     T("h2", "git", program="git")),
    ("git-global-C", ["git", "-C", "/src", "pull", "ssh://h3/x"], T("h3", program="git")),
    ("git-sshcommand", ["git", "-c", "core.sshCommand=ssh -p 2200 -oIdentityAgent=~/a.sock",
                        "clone", "git@h4:x"],
     T("h4", "git", 2200, agent="/Users/alice/a.sock", inferred=True, program="git")),
    ("git-log-not-a-host", ["git", "log", "HEAD:path"], T(program="git")),
    ("git-archive-remote", ["git", "archive", "--remote=git@h5:x.git", "HEAD"],
     T("h5", "git", program="git")),
    # --- others
    ("other-program", ["/usr/bin/curl", "-u", "a:b", "https://x"], T(program="curl")),
    ("empty", [], T()),
]


@pytest.mark.parametrize(("args", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_parse_ssh_argv(args: list[str], expected: SshTarget) -> None:
    assert parse_ssh_argv(args, HOME, USER) == expected


def test_case_ids_are_unique() -> None:
    assert len({c[0] for c in CASES}) == len(CASES)


def test_without_home_tilde_is_kept() -> None:
    got = parse_ssh_argv(["ssh", "-oIdentityAgent=~/a", "db1"], None, None)
    assert (got.identity_agent, got.identity_agent_inferred) == ("~/a", False)
