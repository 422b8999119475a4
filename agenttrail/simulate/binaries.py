"""The executables the simulated Macs run, with their code signatures (a fixed catalogue)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Binary:
    """One executable image on disk, with its code signature."""

    path: str
    signing_id: str
    team_id: str | None
    kind: str  # platform | team | adhoc
    mode: int  # st_mode
    ino: int
    size: int
    cdhash: str

    @property
    def platform(self) -> bool:
        return self.kind == "platform"

    @property
    def flags(self) -> int:
        return {"platform": 637623057, "team": 570503953, "adhoc": 570556931}[self.kind]


_CHROME = "/Applications/Google Chrome.app/Contents"
_CHROME_HELPER = (
    f"{_CHROME}/Frameworks/Google Chrome Framework.framework/Versions/133.0.6943.142/Helpers/"
    "Google Chrome Helper (Renderer).app/Contents/MacOS/Google Chrome Helper (Renderer)"
)
_MDS = "/System/Library/Frameworks/CoreServices.framework/Frameworks/Metadata.framework"
_CLT = "/Library/Developer/CommandLineTools/usr/bin"

#: path -> (signing id, team id, kind, st_mode)
_CATALOGUE: dict[str, tuple[str, str | None, str, int]] = {
    "/sbin/launchd": ("com.apple.xpc.launchd", None, "platform", 0o100755),
    "/System/Library/CoreServices/loginwindow.app/Contents/MacOS/loginwindow": (
        "com.apple.loginwindow", None, "platform", 0o100755),
    "/usr/libexec/xpcproxy": ("com.apple.xpc.proxy", None, "platform", 0o100755),
    "/System/Applications/Utilities/Terminal.app/Contents/MacOS/Terminal": (
        "com.apple.Terminal", None, "platform", 0o100755),
    "/System/Library/CoreServices/Finder.app/Contents/MacOS/Finder": (
        "com.apple.finder", None, "platform", 0o100755),
    "/System/Library/CoreServices/Dock.app/Contents/MacOS/Dock": (
        "com.apple.dock", None, "platform", 0o100755),
    "/usr/bin/login": ("com.apple.login", None, "platform", 0o104555),
    "/bin/zsh": ("com.apple.zsh", None, "platform", 0o100555),
    "/usr/libexec/path_helper": ("com.apple.path_helper", None, "platform", 0o100555),
    "/usr/bin/sudo": ("com.apple.sudo", None, "platform", 0o104511),
    "/usr/bin/su": ("com.apple.su", None, "platform", 0o104555),
    "/usr/bin/ssh": ("com.apple.ssh", None, "platform", 0o100755),
    "/usr/bin/ssh-add": ("com.apple.ssh-add", None, "platform", 0o100755),
    "/usr/bin/ssh-agent": ("com.apple.ssh-agent", None, "platform", 0o100755),
    "/bin/ls": ("com.apple.ls", None, "platform", 0o100755),
    "/bin/cat": ("com.apple.cat", None, "platform", 0o100755),
    "/bin/ln": ("com.apple.ln", None, "platform", 0o100755),
    "/bin/ps": ("com.apple.ps", None, "platform", 0o104755),
    "/usr/bin/grep": ("com.apple.grep", None, "platform", 0o100755),
    "/usr/bin/vim": ("com.apple.vim", None, "platform", 0o100755),
    "/usr/bin/curl": ("com.apple.curl", None, "platform", 0o100755),
    "/usr/bin/git": ("com.apple.dt.xcode_select.tool-shim", None, "platform", 0o100755),
    "/usr/bin/python3": ("com.apple.dt.xcode_select.tool-shim", None, "platform", 0o100755),
    f"{_CLT}/git": ("com.apple.git", None, "platform", 0o100755),
    f"{_CLT}/python3": ("com.apple.python3", None, "platform", 0o100755),
    "/usr/bin/softwareupdate": ("com.apple.softwareupdate", None, "platform", 0o100755),
    "/usr/sbin/ipconfig": ("com.apple.ipconfig", None, "platform", 0o100755),
    f"{_MDS}/Versions/A/Support/mdworker_shared": (
        "com.apple.mdworker_shared", None, "platform", 0o100755),
    "/usr/libexec/nsurlsessiond": ("com.apple.nsurlsessiond", None, "platform", 0o100755),
    "/usr/libexec/trustd": ("com.apple.trustd", None, "platform", 0o100755),
    "/usr/sbin/cfprefsd": ("com.apple.cfprefsd.xpc.daemon", None, "platform", 0o100755),
    "/usr/libexec/periodic-wrapper": ("com.apple.periodic-wrapper", None, "platform", 0o100755),
    "/usr/libexec/mdmclient": ("com.apple.mdmclient", None, "platform", 0o100755),
    f"{_CHROME}/MacOS/Google Chrome": ("com.google.Chrome", "EQHXZ8M8AV", "team", 0o100755),
    _CHROME_HELPER: ("com.google.Chrome.helper.renderer", "EQHXZ8M8AV", "team", 0o100755),
    "/Applications/Slack.app/Contents/MacOS/Slack": (
        "com.tinyspeck.slackmacgap", "BQR82RBBHL", "team", 0o100755),
    "/opt/homebrew/Cellar/tmux/3.5a/bin/tmux": ("tmux-55d2e5b8e1c3a0f4", None, "adhoc", 0o100755),
}
CHROME = f"{_CHROME}/MacOS/Google Chrome"
CHROME_HELPER = _CHROME_HELPER
MDWORKER = f"{_MDS}/Versions/A/Support/mdworker_shared"
CLT_GIT = f"{_CLT}/git"
CLT_PYTHON = f"{_CLT}/python3"
TMUX = "/opt/homebrew/Cellar/tmux/3.5a/bin/tmux"


def _binary(path: str) -> Binary:
    sid, team, kind, mode = _CATALOGUE[path]
    digest = hashlib.sha1(path.encode()).digest()
    ino = int.from_bytes(digest[:4], "big") + (1152921500311879680 if kind == "platform" else 0)
    size = 40_000 + int.from_bytes(digest[4:7], "big") % 3_000_000
    return Binary(path, sid, team, kind, mode, ino, size, digest.hex().upper())


BINARIES: dict[str, Binary] = {p: _binary(p) for p in _CATALOGUE}
