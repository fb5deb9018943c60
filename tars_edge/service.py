"""`tars-edge install-service`: write the systemd unit for this installation (docs/service.md).

The unit templates live in the checkout's ``systemd/`` folder. Rendering fills in what only
this machine knows — the interpreter of the venv that runs this command (``sys.executable``,
not its symlink target, so the venv's site-packages are used), the model bundle, and whether
the service may see ``/home`` — and installing writes exactly one file. Everything else (the
``tars-edge`` user, ``systemctl enable``) is printed as the next steps for the person to run,
because creating users or starting services behind someone's back is not an installer's call.
"""

from __future__ import annotations

import os
import pwd
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from tars_edge.bundle import Bundle, BundleError, default_bundle_dir

CHECKOUT = Path(__file__).resolve().parent.parent
TEMPLATES = CHECKOUT / "systemd"
SYSTEM_TEMPLATE = "tars-edge.service"
USER_TEMPLATE = "tars-edge-user.service"
UNIT_NAME = "tars-edge.service"
SYSTEM_UNIT_DIR = Path("/etc/systemd/system")
SERVICE_USER = "tars-edge"
# the system service hides these unless a path it needs lives there (then: read-only)
HOME_TREES = (Path("/home"), Path("/root"), Path("/run/user"))


class ServiceError(ValueError):
    """install-service cannot go on; one line saying what to do (exit code 2)."""


@dataclass
class Plan:
    """What install-service will do: ``unit`` (the text) goes to ``path``."""

    user: bool
    path: Path
    unit: str
    python: Path
    bundle: Path
    warnings: list[str]


def _unit_value(value: str) -> str:
    """A path inside a double-quoted unit-file value. ``%`` starts a specifier everywhere, so
    it is doubled (ExecStart's executable is not subject to ``$VAR`` expansion; the others are
    Environment= values, which are not either). A quote, backslash or control character is
    refused rather than escaped, since nobody's venv needs one."""
    if any(c in value for c in '"\\') or any(ord(c) < 32 for c in value):
        raise ServiceError(f"{value!r}: a path with quotes, backslashes or control characters "
                           "cannot go into a unit file; move it")
    return value.replace("%", "%%")


def _under(path: Path, trees: tuple[Path, ...]) -> bool:
    return any(path == tree or tree in path.parents for tree in trees)


def _closed_to_others(path: Path) -> Path | None:
    """The first directory on the way to ``path`` that other users cannot enter (no o+x), or
    the file itself when they cannot read it: the tars-edge user would fail there."""
    for parent in reversed(path.parents):
        try:
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                return parent
        except OSError:
            return parent
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return path
    needed = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(mode) else 0)
    return None if mode & needed == needed else path


def user_unit_dir(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "systemd" / "user"


def render(user: bool, python: Path, bundle: Path, protect_home: str = "yes") -> str:
    """The unit text with every @@PLACEHOLDER@@ filled in."""
    template = TEMPLATES / (USER_TEMPLATE if user else SYSTEM_TEMPLATE)
    try:
        text = template.read_text(encoding="utf-8")
    except OSError as exc:
        raise ServiceError(f"{template}: cannot read the unit template ({exc.strerror}); "
                           "install-service runs from a source checkout (pip install -e .)") \
            from None
    values = {
        "@@PYTHON@@": _unit_value(str(python)),
        "@@BUNDLE@@": _unit_value(str(bundle)),
        "@@DOCS@@": _unit_value(str(CHECKOUT / "docs")),
        "@@PROTECT_HOME@@": protect_home,
    }
    for key, value in values.items():
        text = text.replace(key, value)
    if "@@" in text:
        raise ServiceError(f"{template}: a placeholder was left unfilled")
    return text


def plan(user: bool, bundle: str | None = None, env: dict[str, str] | None = None) -> Plan:
    """Check the bundle and the paths, render the unit; nothing is written."""
    python = Path(os.path.abspath(sys.executable))
    root = Path(bundle).expanduser().absolute() if bundle else default_bundle_dir().absolute()
    try:
        Bundle.load(root)
    except BundleError as exc:
        raise ServiceError(str(exc)) from None
    warnings = []
    if sys.prefix == sys.base_prefix:
        warnings.append(f"{python} is not a virtual environment's interpreter; the service will "
                        "use whatever tars-edge that Python imports")
    needed = (python, root, CHECKOUT)
    protect_home = "yes"
    if not user:
        if any(_under(p, HOME_TREES) for p in needed):
            protect_home = "read-only"
            warnings.append("the interpreter, code or bundle lives under /home: the service gets "
                            "ProtectHome=read-only instead of yes; /opt/tars-edge is a better "
                            "place for a system service")
        for p in needed:
            closed = _closed_to_others(p)
            if closed is not None:
                warnings.append(f"{closed} is not readable by other users, so the "
                                f"{SERVICE_USER} user cannot load {p}; `chmod o+rx` it or "
                                "install under /opt")
                break
    path = (user_unit_dir(env) if user else SYSTEM_UNIT_DIR) / UNIT_NAME
    return Plan(user, path, render(user, python, root, protect_home), python, root, warnings)


def write(p: Plan) -> str:
    """Write the unit file (creating ~/.config/systemd/user for --user); returns what
    happened: "written", "replaced" or "unchanged"."""
    try:
        old = p.path.read_text(encoding="utf-8") if p.path.exists() else None
    except OSError:
        old = None
    if old == p.unit:
        return "unchanged"
    try:
        if p.user:
            p.path.parent.mkdir(parents=True, exist_ok=True)
        elif not p.path.parent.is_dir():
            raise ServiceError(f"{p.path.parent} does not exist: is this a systemd system? "
                               "use --dry-run to see the unit")
        tmp = p.path.with_name(p.path.name + ".tmp")
        tmp.write_text(p.unit, encoding="utf-8")
        os.chmod(tmp, 0o644)
        os.replace(tmp, p.path)
    except PermissionError:
        hint = "check that directory's owner" if p.user else "run with sudo, or use --user"
        raise ServiceError(f"cannot write {p.path}: permission denied; {hint}") from None
    except OSError as exc:
        raise ServiceError(f"cannot write {p.path}: {exc.strerror}") from None
    return "written" if old is None else "replaced"


def next_steps(p: Plan) -> list[str]:
    """The commands a person runs after the unit is in place."""
    if p.user:
        return [
            "systemctl --user daemon-reload",
            "systemctl --user enable --now tars-edge",
            "systemctl --user status tars-edge",
            "journalctl --user -u tars-edge -f",
            "tars-edge status",
            "# optional, to run it without being logged in: loginctl enable-linger \"$USER\"",
        ]
    steps = []
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        steps.append(f"sudo useradd --system --user-group --home-dir "
                     f"/var/lib/{SERVICE_USER} --no-create-home --shell /usr/sbin/nologin "
                     f"{SERVICE_USER}")
    person = os.environ.get("SUDO_USER") or os.environ.get("USER") or "YOUR_USER"
    steps += [
        f"sudo usermod -aG {SERVICE_USER} {person}   # lets {person} use the socket (log in again)",
        "sudo systemctl daemon-reload",
        "sudo systemctl enable --now tars-edge",
        "systemctl status tars-edge",
        "journalctl -u tars-edge -f",
        "tars-edge status   # talks to /run/tars-edge/tars.sock",
    ]
    return steps


def install(user: bool = False, dry_run: bool = False, bundle: str | None = None) -> int:
    """The CLI command. With ``dry_run`` the unit goes to stdout and nothing is written; the
    target and the next steps then go to stderr, so ``--dry-run > FILE`` is a clean unit."""
    p = plan(user, bundle)
    out = sys.stderr if dry_run else sys.stdout
    for warning in p.warnings:
        print(f"tars-edge: warning: {warning}", file=sys.stderr)
    if dry_run:
        print(p.unit, end="")
        print(f"# dry run: would write {p.path}", file=out)
    else:
        done = write(p)
        print(f"{p.path}: {done} (python {p.python}, bundle {p.bundle})", file=out)
    print("next steps:", file=out)
    for step in next_steps(p):
        print(f"  {step}", file=out)
    return 0
