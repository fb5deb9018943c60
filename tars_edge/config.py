"""The daemon's configuration: TOML files, environment overrides, command-line flags.

Precedence, lowest first (docs/config.md has every key with its default):

1. the defaults in :data:`SCHEMA`;
2. ``/etc/tars-edge/config.toml``, then ``$XDG_CONFIG_HOME/tars-edge/config.toml``
   (``~/.config/...``) — both when they exist; or only ``--config FILE`` / ``$TARS_EDGE_CONFIG``
   when one is given (then it must exist);
3. environment: ``TARS_EDGE_SOCKET``, ``TARS_EDGE_STATE_DIR``, ``TARS_EDGE_BUNDLE``,
   ``TARS_EDGE_LOG_LEVEL``, and any key as ``TARS_EDGE__SECTION__KEY=value`` (a TOML value,
   or a bare string);
4. command-line flags (``serve --socket PATH --state-dir DIR --bundle DIR``).

Every problem is a :class:`ConfigError` whose message is one line naming the file (or the
variable), the key and the reason. Relative paths in a file are relative to that file.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

APP = "tars-edge"
FILE_NAME = "config.toml"
SYSTEM_CONFIG = Path("/etc/tars-edge") / FILE_NAME
ENV_PREFIX = "TARS_EDGE__"
ENV_ALIASES = {
    "TARS_EDGE_SOCKET": ("daemon", "socket"),
    "TARS_EDGE_STATE_DIR": ("daemon", "state_dir"),
    "TARS_EDGE_BUNDLE": ("daemon", "bundle"),
    "TARS_EDGE_LOG_LEVEL": ("daemon", "log_level"),
}
LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(ValueError):
    """A configuration that cannot be used; one line: where, which key, why."""


@dataclass(frozen=True)
class Key:
    type: type  # str, int, float, bool; "path" keys are str resolved against their file
    default: Any
    doc: str
    path: bool = False
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None


# section -> key -> Key. docs/config.md documents exactly these (a test checks).
SCHEMA: dict[str, dict[str, Key]] = {
    "daemon": {
        "socket": Key(str, "", "Unix socket path; \"\" = $RUNTIME_DIRECTORY/tars.sock (systemd), "
                      "$XDG_RUNTIME_DIR/tars-edge/tars.sock, else STATE_DIR/tars.sock", path=True),
        "state_dir": Key(str, "", "databases and state; \"\" = $STATE_DIRECTORY (systemd), else "
                         "$XDG_STATE_HOME/tars-edge (~/.local/state/tars-edge)", path=True),
        "bundle": Key(str, "", "model bundle directory; \"\" = the default bundle", path=True),
        "log_level": Key(str, "info", "debug shows a trace of every cascade decision",
                         choices=LOG_LEVELS),
        "log_format": Key(str, "text", "text (key=value) or json (one object per line)",
                          choices=("text", "json")),
        "socket_mode": Key(str, "0660", "file mode of the socket, octal"),
        "socket_group": Key(str, "", "group to give the socket to; \"\" = unchanged"),
        "max_line_bytes": Key(int, 65536, "longest request line; longer closes the connection",
                              min=1024, max=16 << 20),
        "max_connections": Key(int, 64, "clients connected at once; more are refused",
                               min=1, max=10000),
        "max_inflight": Key(int, 8, "requests one connection may have running at once",
                            min=1, max=1000),
        "idle_timeout_s": Key(float, 600.0, "a connection with nothing running, no subscription "
                              "and nothing sent this long is closed; 0 = never", min=0),
        "line_timeout_s": Key(float, 10.0, "a started line must be finished within this",
                              min=0.1),
        "write_timeout_s": Key(float, 10.0, "a client that does not read its replies this long "
                               "is disconnected", min=0.1),
        "request_timeout_s": Key(float, 300.0, "the longest one request may run", min=0.1),
        "shutdown_grace_s": Key(float, 5.0, "on SIGTERM: time in-flight requests get to finish "
                                "before they are cancelled", min=0),
    },
    "cascade": {
        "reflex_threshold": Key(float, None, "reflex confidence needed to answer with a skill; "
                                "unset = the bundle's (0.85)", min=0, max=1),
        "memory": Key(bool, True, "use the memo and memory tiers (T2) when the bundle has an "
                      "embedder"),
        "memo_threshold": Key(float, 0.92, "cosine for a memo-cache hit", min=0, max=1),
        "fact_threshold": Key(float, 0.55, "cosine at which an English question is answered "
                              "straight from a stored fact", min=0, max=1),
        "fact_min_shared": Key(int, 2, "content words a question (any language) must share with "
                               "a stored fact to be answered by it directly", min=1, max=20),
        "recall_k": Key(int, 3, "memories given to the core as context", min=0, max=20),
        "log_conversation": Key(bool, True, "keep the conversation log in the memory database"),
    },
    "core": {
        "persona_file": Key(str, "", "persona text; \"\" = the built-in TARS persona", path=True),
        "max_tokens": Key(int, 200, "default reply length in tokens (bytes)", min=1, max=8192),
        "temperature": Key(float, 0.0, "default sampling temperature; 0 = greedy", min=0, max=5),
        "speculative": Key(bool, True, "draft-head speculative decoding by default"),
        "speculative_policy": Key(str, "auto", "auto = speculate only when a measured draft + "
                                  "verify round beats plain steps on this CPU; always; never",
                                  choices=("auto", "always", "never")),
        "prefix_cache_mb": Key(int, 32, "RAM for cached persona/session states (LRU)",
                               min=1, max=4096),
        "prefix_cache_persist": Key(bool, True, "keep the persona state in STATE_DIR/"
                                    "prefix_cache.sqlite so a restart skips its prefill"),
        "threads": Key(int, 0, "ONNX Runtime threads; 0 = physical cores", min=0, max=256),
        "idle_unload_s": Key(float, 600.0, "unload the core after this long unused; 0 = never",
                             min=0),
    },
    "skills": {
        "default_language": Key(str, "en", "reply language when the text has no letters",
                                choices=("en", "ru")),
        "clock": Key(str, "24h", "24h or 12h clock in English replies", choices=("24h", "12h")),
        "snooze_minutes": Key(float, 10.0, "\"snooze\" without a duration", min=0.1, max=1440),
        "max_timer_hours": Key(float, 168.0, "longest timer or reminder", min=0.01),
        "ring_s": Key(float, 300.0, "how long a fired alarm counts as ringing for \"stop\"",
                      min=1),
        "disk_path": Key(str, "", "the disk \"how much space\" reports; \"\" = the state dir",
                         path=True),
        "alert_command": Key(list, [], "argv that speaks a fired timer's text, given on stdin; "
                             "{lang} becomes ru/en, e.g. [\"espeak-ng\", \"-v\", \"{lang}\"]"),
    },
}
# Free-form tables checked by their owners: actions by skills.ActionBook, sensors by plugins.
FREE_SECTIONS = ("actions", "sensors")

# Keys the sensor host reads in every [sensors.NAME] section (docs/sensors.md); the section's
# other keys belong to the plugin and are checked against its CONFIG in the plugin's process.
SENSOR_KEYS: dict[str, Key] = {
    "enabled": Key(bool, False, "run this plugin; default true for system, false for the others"),
    "hang_timeout_s": Key(float, 30.0, "a plugin that sends no heartbeat this long is killed "
                          "and restarted", min=0.2, max=3600),
    "start_timeout_s": Key(float, 60.0, "time a starting plugin gets until its first heartbeat",
                           min=0.2, max=3600),
    "restart_backoff_s": Key(float, 1.0, "wait before the first restart; doubles each failure",
                             min=0.01, max=3600),
    "max_backoff_s": Key(float, 60.0, "the longest wait between restarts", min=0.01, max=86400),
    "stable_after_s": Key(float, 60.0, "a plugin that ran this long before failing restarts "
                          "with the first backoff again", min=0.1),
    "stop_timeout_s": Key(float, 3.0, "on stop: time before SIGTERM becomes SIGKILL",
                          min=0.05, max=60),
}
SENSORS_ENABLED_BY_DEFAULT = ("system",)
SENSOR_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


@dataclass
class Config:
    values: dict[str, dict[str, Any]]
    actions: dict = field(default_factory=dict)
    sensors: dict = field(default_factory=dict)  # name -> {key: value} as written
    sensor_dirs: dict = field(default_factory=dict)  # name -> directory its paths are relative to
    sources: list[str] = field(default_factory=list)  # files read, in order

    def __getitem__(self, section: str) -> dict[str, Any]:
        return self.values[section]

    @property
    def state_dir(self) -> Path:
        return Path(self.values["daemon"]["state_dir"])

    @property
    def socket_path(self) -> Path:
        return Path(self.values["daemon"]["socket"])

    @property
    def bundle_dir(self) -> Path | None:
        value = self.values["daemon"]["bundle"]
        return Path(value) if value else None

    def skill_settings(self):
        from tars_edge.skills import SkillSettings

        fields = SkillSettings.__dataclass_fields__
        return SkillSettings(**{k: v for k, v in self.values["skills"].items() if k in fields})


def user_config_path(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / APP / FILE_NAME


def default_state_dir(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("STATE_DIRECTORY"):  # systemd StateDirectory=
        return Path(env["STATE_DIRECTORY"].split(":")[0])
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / APP


SYSTEM_SOCKET = Path("/run/tars-edge/tars.sock")  # the system service's (RuntimeDirectory=)


def default_socket(state_dir: Path, env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("RUNTIME_DIRECTORY"):  # systemd RuntimeDirectory=
        return Path(env["RUNTIME_DIRECTORY"].split(":")[0]) / "tars.sock"
    if env.get("XDG_RUNTIME_DIR"):
        return Path(env["XDG_RUNTIME_DIR"]) / APP / "tars.sock"
    return state_dir / "tars.sock"


def _check(where: str, section: str, name: str, value: Any, base: Path | None) -> Any:
    """The value converted and checked against its Key, or ConfigError naming it."""
    spec = SCHEMA[section].get(name)
    label = f"{where}: {section}.{name}"
    if spec is None:
        raise ConfigError(f"{label}: unknown key{_known_hint(name, SCHEMA[section])}")
    value = check_key(label, spec, value, base)
    if section == "daemon" and name == "socket_mode":
        try:
            mode = int(value, 8)
        except ValueError:
            raise ConfigError(f"{label}: {value!r} is not an octal mode like \"0660\"") from None
        if not 0 < mode <= 0o777:
            raise ConfigError(f"{label}: {value!r} is not a file mode between 0001 and 0777")
    return value


def _known_hint(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(known)})"


def check_key(label: str, spec: Key, value: Any, base: Path | None) -> Any:
    """``value`` converted and checked against ``spec``; ConfigError("LABEL: why") if not."""
    if value is None and spec.default is None:
        return None
    kind = spec.type
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{label}: must be true or false, not {value!r}")
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{label}: must be a whole number, not {value!r}")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{label}: must be a number, not {value!r}")
        value = float(value)
    elif kind is str and not isinstance(value, str):
        raise ConfigError(f"{label}: must be a string, not {value!r}")
    elif kind is list and (not isinstance(value, list)
                           or not all(isinstance(v, str) for v in value)):
        raise ConfigError(f"{label}: must be a list of strings, not {value!r}")
    if spec.min is not None and value < spec.min:
        raise ConfigError(f"{label}: {value!r} is below the minimum {spec.min:g}")
    if spec.max is not None and value > spec.max:
        raise ConfigError(f"{label}: {value!r} is above the maximum {spec.max:g}")
    if spec.choices and value not in spec.choices:
        raise ConfigError(f"{label}: {value!r} is not one of {', '.join(spec.choices)}")
    if spec.path and value:
        path = Path(value).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        value = str(path)
    return value


def check_section(label: str, schema: dict[str, Key], table: dict, base: Path | None,
                  also_known: tuple[str, ...] = ()) -> dict:
    """Every key of ``schema`` (defaults filled in) from ``table``, each checked; an unknown
    key is a ConfigError that suggests the nearest known one. ``label`` names the section,
    e.g. "/etc/tars-edge/config.toml: sensors.voice"."""
    values = {name: spec.default for name, spec in schema.items()}
    for name, value in table.items():
        spec = schema.get(name)
        if spec is None:
            raise ConfigError(f"{label}.{name}: unknown key"
                              f"{_known_hint(name, [*schema, *also_known])}")
        values[name] = check_key(f"{label}.{name}", spec, value, base)
    return values


def _apply_sensors(config: Config, body: Any, where: str, base: Path | None) -> None:
    """[sensors.NAME] tables: the host's keys are checked here, the plugin's own keys by the
    plugin's CONFIG when it starts (the daemon never imports plugin code)."""
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: [sensors] must hold tables like [sensors.system]")
    for name, table in body.items():
        if not SENSOR_NAME.match(name):
            raise ConfigError(f"{where}: [sensors.{name}]: a sensor name is lowercase letters, "
                              "digits and _")
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: sensors.{name}: must be a table [sensors.{name}]")
        section = config.sensors.setdefault(name, {})
        for key, value in table.items():
            spec = SENSOR_KEYS.get(key)
            section[key] = check_key(f"{where}: sensors.{name}.{key}", spec, value, base) \
                if spec else value
        if base is not None:
            config.sensor_dirs[name] = str(base)


def _apply_table(config: Config, table: dict, where: str, base: Path | None) -> None:
    for section, body in table.items():
        if section == "sensors":
            _apply_sensors(config, body, where, base)
            continue
        if section in FREE_SECTIONS:
            if not isinstance(body, dict):
                raise ConfigError(f"{where}: [{section}] must be a table")
            target = config.actions if section == "actions" else config.sensors
            for name, sub in body.items():
                target[name] = sub
            continue
        if section not in SCHEMA:
            close = difflib.get_close_matches(section, [*SCHEMA, *FREE_SECTIONS], n=1)
            hint = f" (did you mean [{close[0]}]?)" if close else \
                f" (known: {', '.join([*SCHEMA, *FREE_SECTIONS])})"
            raise ConfigError(f"{where}: [{section}]: unknown section{hint}")
        if not isinstance(body, dict):
            raise ConfigError(f"{where}: {section}: must be a table [{section}]")
        for name, value in body.items():
            config.values[section][name] = _check(where, section, name, value, base)


def _read_file(path: Path) -> dict:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the config file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _env_value(raw: str) -> Any:
    """An environment value as TOML when it parses (``0.9``, ``true``, ``"x"``), else text."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def load_config(
    path: str | os.PathLike | None = None,
    *,
    env: dict[str, str] | None = None,
    overrides: dict[tuple[str, str], Any] | None = None,
) -> Config:
    """The effective configuration. ``path`` (or ``$TARS_EDGE_CONFIG``) replaces the search of
    the system and user files; ``overrides`` are command-line flags, applied last."""
    env = dict(os.environ if env is None else env)
    config = Config({s: {k: spec.default for k, spec in keys.items()} for s, keys in SCHEMA.items()})
    explicit = path or env.get("TARS_EDGE_CONFIG")
    files = [Path(explicit)] if explicit else [
        p for p in (SYSTEM_CONFIG, user_config_path(env)) if p.is_file()
    ]
    for file in files:
        file = file.expanduser()
        _apply_table(config, _read_file(file), str(file), file.resolve().parent)
        config.sources.append(str(file))
    for var, (section, name) in ENV_ALIASES.items():
        if env.get(var):
            config.values[section][name] = _check(f"${var}", section, name, env[var], Path.cwd())
    for var, raw in sorted(env.items()):
        if not var.startswith(ENV_PREFIX):
            continue
        parts = var[len(ENV_PREFIX):].lower().split("__")
        if len(parts) == 3 and parts[0] == "sensors":  # TARS_EDGE__SENSORS__NAME__KEY
            _apply_sensors(config, {parts[1]: {parts[2]: _env_value(raw)}}, f"${var}", Path.cwd())
            continue
        if len(parts) != 2 or parts[0] not in SCHEMA:
            raise ConfigError(f"${var}: expected TARS_EDGE__SECTION__KEY with a section of "
                              f"{', '.join(SCHEMA).upper()}")
        config.values[parts[0]][parts[1]] = _check(f"${var}", parts[0], parts[1],
                                                   _env_value(raw), Path.cwd())
    for (section, name), value in (overrides or {}).items():
        if value is not None:
            config.values[section][name] = _check("command line", section, name, value, Path.cwd())
    daemon = config.values["daemon"]
    state_dir = Path(daemon["state_dir"]) if daemon["state_dir"] else default_state_dir(env)
    daemon["state_dir"] = str(state_dir.absolute())
    socket = Path(daemon["socket"]) if daemon["socket"] else default_socket(state_dir, env)
    daemon["socket"] = str(socket.absolute())
    if len(os.fsencode(daemon["socket"])) > 107:
        raise ConfigError(f"daemon.socket: {daemon['socket']} is longer than the 107 bytes a "
                          "Unix socket path may have; choose a shorter path")
    try:
        from tars_edge.skills.actions import ActionBook, ActionConfigError

        ActionBook.from_config(config.actions)
    except ActionConfigError as exc:
        where = config.sources[-1] if config.sources else "config"
        raise ConfigError(f"{where}: {exc}") from None
    return config


def example_toml() -> str:
    """Every key with its default and description: ``tars-edge serve --print-config``."""
    lines = []
    for section, keys in SCHEMA.items():
        lines.append(f"[{section}]")
        for name, spec in keys.items():
            lines.append(f"# {spec.doc}")
            if spec.default is None:
                lines.append(f"# {name} =")
            elif isinstance(spec.default, bool):
                lines.append(f"{name} = {'true' if spec.default else 'false'}")
            elif isinstance(spec.default, str | list):
                lines.append(f"{name} = {json.dumps(spec.default)}")
            else:
                lines.append(f"{name} = {spec.default!r}")
        lines.append("")
    lines += ["# Sensor plugins: see docs/sensors.md", "# [sensors.system]", "# enabled = true",
              "# [sensors.voice]", "# enabled = true", ""]
    lines += ["# Device actions: see docs/skills.md", "# [actions.lights_on]",
              '# command = ["mosquitto_pub", "-t", "home/lights", "-m", "on"]', ""]
    return "\n".join(lines)
