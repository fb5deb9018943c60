"""The systemd units and `tars-edge install-service`.

`systemd-analyze verify` needs no running systemd: it loads the unit files offline, checks
every directive and that ExecStart is an executable. The units are rendered the way
install-service renders them (this venv's interpreter, the committed bundle) into a temporary
directory first. Debian's `systemd` package provides the tool (README's test command installs it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tars_edge import service

REPO = Path(__file__).resolve().parent.parent
BUNDLE = Path(os.environ.get("TARS_EDGE_TEST_BUNDLE", REPO / "models"))
PYTHON = Path(os.path.abspath(sys.executable))


def verify(unit: Path, user: bool) -> str:
    """systemd-analyze's complaints about ``unit`` ("" when there are none)."""
    tool = shutil.which("systemd-analyze")
    assert tool, "systemd-analyze is missing: apt-get install systemd (see README's test command)"
    runtime = unit.parent / "xdg-runtime"  # a user manager wants $XDG_RUNTIME_DIR
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "SYSTEMD_LOG_COLOR": "0"}
    argv = [tool, *(["--user"] if user else []), "verify", "--man=no", str(unit)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env,
                          cwd=unit.parent, check=False)
    complaints = (done.stdout + done.stderr).strip()
    return complaints or ("" if done.returncode == 0 else f"exit {done.returncode}")


@pytest.mark.parametrize("user", [False, True], ids=["system", "user"])
def test_rendered_units_pass_systemd_analyze_verify(tmp_path, user):
    unit = tmp_path / "tars-edge.service"
    unit.write_text(service.render(user, PYTHON, BUNDLE))
    assert verify(unit, user) == ""


def test_verify_catches_a_broken_unit(tmp_path):
    """The check above can fail: an unknown directive and a missing interpreter are caught."""
    text = service.render(False, PYTHON, BUNDLE).replace("Nice=5", "Nice=5\nNiceness=5")
    unit = tmp_path / "tars-edge.service"
    unit.write_text(text)
    assert "Unknown key 'Niceness'" in verify(unit, False)
    unit.write_text(service.render(False, tmp_path / "no-venv" / "python", BUNDLE))
    assert "is not executable" in verify(unit, False)


def test_odd_characters_in_paths_are_escaped_for_systemd(tmp_path):
    odd = tmp_path / "50%off $HOME"
    odd.mkdir()
    (odd / "python").symlink_to(PYTHON)
    unit = tmp_path / "tars-edge.service"
    unit.write_text(service.render(False, odd / "python", BUNDLE))
    assert '50%%off $HOME/python" -m tars_edge.cli serve' in unit.read_text()
    assert verify(unit, False) == ""
    with pytest.raises(service.ServiceError, match="quotes, backslashes"):
        service.render(False, Path('/opt/a"b/python'), BUNDLE)


def test_committed_templates_have_the_required_settings():
    system = (REPO / "systemd" / "tars-edge.service").read_text()
    for line in ("Type=notify", "NotifyAccess=main", "WatchdogSec=", "Restart=on-failure",
                 "User=tars-edge", "SupplementaryGroups=audio", "StateDirectory=tars-edge",
                 "RuntimeDirectory=tars-edge", "ConfigurationDirectory=tars-edge",
                 "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=", "PrivateTmp=yes",
                 "RestrictAddressFamilies=AF_UNIX\n", "MemoryMax=", "Nice=", "CPUWeight="):
        assert line in system, line
    user = (REPO / "systemd" / "tars-edge-user.service").read_text()
    for line in ("Type=notify", "WatchdogSec=", "Restart=on-failure", "WantedBy=default.target",
                 "RuntimeDirectory=tars-edge"):
        assert line in user, line
    assert "User=" not in user  # a user service runs as its user, in the desktop session


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tars_edge.cli", "install-service", *args],
                          capture_output=True, text=True, timeout=60, check=False,
                          env=env or dict(os.environ))


def test_dry_run_prints_the_unit_and_the_next_steps(tmp_path):
    done = run_cli("--dry-run", "--bundle", str(BUNDLE))
    assert done.returncode == 0, done.stderr
    assert done.stdout == service.plan(False, str(BUNDLE)).unit
    assert f'ExecStart="{PYTHON}" -m tars_edge.cli serve' in done.stdout
    assert f'Environment="TARS_EDGE_BUNDLE={BUNDLE}"' in done.stdout
    assert "@@" not in done.stdout
    assert "would write /etc/systemd/system/tars-edge.service" in done.stderr
    assert "sudo systemctl enable --now tars-edge" in done.stderr
    assert "journalctl -u tars-edge" in done.stderr
    (tmp_path / "tars-edge.service").write_text(done.stdout)
    assert verify(tmp_path / "tars-edge.service", False) == ""


def test_user_install_into_a_temporary_home(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("XDG_CONFIG_HOME", None)
    done = run_cli("--user", env=env)
    assert done.returncode == 0, done.stderr
    unit = tmp_path / ".config" / "systemd" / "user" / "tars-edge.service"
    assert f"{unit}: written" in done.stdout
    assert "systemctl --user enable --now tars-edge" in done.stdout
    assert "journalctl --user -u tars-edge" in done.stdout
    assert f'ExecStart="{PYTHON}"' in unit.read_text()
    # the one file it writes (ONNX Runtime, imported on the way, leaves its own ~/.cache)
    assert [p for p in (tmp_path / ".config").rglob("*") if p.is_file()] == [unit]
    again = run_cli("--user", env=env)
    assert f"{unit}: unchanged" in again.stdout


def test_errors_are_one_line(tmp_path, monkeypatch):
    done = run_cli("--dry-run", "--bundle", str(tmp_path / "nothing"))
    assert done.returncode == 2
    assert done.stderr.startswith("tars-edge: ") and done.stderr.count("\n") == 1
    assert "no model bundle here" in done.stderr

    monkeypatch.setattr(service, "SYSTEM_UNIT_DIR", tmp_path / "etc-systemd-system")
    with pytest.raises(service.ServiceError, match="is this a systemd system"):
        service.write(service.plan(False, str(BUNDLE)))

    (tmp_path / "etc-systemd-system").mkdir()

    def refuse(*args, **kwargs):  # a non-root user writing to /etc/systemd/system
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(service.os, "replace", refuse)
    with pytest.raises(service.ServiceError) as err:
        service.write(service.plan(False, str(BUNDLE)))
    assert str(err.value) == (f"cannot write {tmp_path}/etc-systemd-system/tars-edge.service: "
                              "permission denied; run with sudo, or use --user")


def test_home_paths_get_protect_home_read_only(monkeypatch):
    monkeypatch.setattr(service, "CHECKOUT", Path("/home/pi/tars-edge"))
    p = service.plan(False, str(BUNDLE))
    assert "ProtectHome=read-only" in p.unit
    assert any("ProtectHome=read-only" in w for w in p.warnings)
