"""Config: defaults, file locations and precedence, environment overrides, and errors that
name the file, the key and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from tars_edge.config import SCHEMA, ConfigError, example_toml, load_config

DOCS = Path(__file__).resolve().parent.parent / "docs" / "config.md"


def clean_env(tmp_path, **extra):
    """An environment with nothing from the machine running the tests."""
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
           "XDG_STATE_HOME": str(tmp_path / "xdg-state"),
           "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    env.update(extra)
    return env


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_and_xdg_locations(tmp_path):
    config = load_config(env=clean_env(tmp_path))
    assert config["daemon"]["max_line_bytes"] == 65536
    assert config["cascade"]["memo_threshold"] == 0.92
    assert config["cascade"]["reflex_threshold"] is None
    assert config.state_dir == tmp_path / "xdg-state" / "tars-edge"
    assert config.socket_path == tmp_path / "run" / "tars-edge" / "tars.sock"
    assert config.sources == []


def test_systemd_directories_win_over_xdg(tmp_path):
    env = clean_env(tmp_path, STATE_DIRECTORY="/var/lib/tars-edge",
                    RUNTIME_DIRECTORY="/run/tars-edge")
    config = load_config(env=env)
    assert config.state_dir == Path("/var/lib/tars-edge")
    assert config.socket_path == Path("/run/tars-edge/tars.sock")


def test_without_runtime_dir_the_socket_lives_in_the_state_dir(tmp_path):
    env = clean_env(tmp_path)
    del env["XDG_RUNTIME_DIR"]
    config = load_config(env=env)
    assert config.socket_path == config.state_dir / "tars.sock"


def test_user_file_then_env_then_flags(tmp_path):
    env = clean_env(tmp_path)
    write(tmp_path / "xdg-config" / "tars-edge" / "config.toml", """
[daemon]
log_level = "debug"
max_connections = 10
state_dir = "state"          # relative to this file

[skills]
clock = "12h"

[actions.lights_on]
command = ["true"]
""")
    env["TARS_EDGE__DAEMON__MAX_CONNECTIONS"] = "20"
    env["TARS_EDGE__CASCADE__FACT_THRESHOLD"] = "0.7"
    env["TARS_EDGE_LOG_LEVEL"] = "warning"
    config = load_config(env=env, overrides={("daemon", "max_connections"): 30,
                                             ("daemon", "socket"): None})
    assert config["daemon"]["log_level"] == "warning"
    assert config["daemon"]["max_connections"] == 30
    assert config["cascade"]["fact_threshold"] == 0.7
    assert config["skills"]["clock"] == "12h"
    assert config.state_dir == tmp_path / "xdg-config" / "tars-edge" / "state"
    assert config.actions == {"lights_on": {"command": ["true"]}}
    assert config.skill_settings().clock == "12h"


def test_explicit_file_replaces_the_search(tmp_path):
    env = clean_env(tmp_path)
    write(tmp_path / "xdg-config" / "tars-edge" / "config.toml", "[daemon]\nlog_level = 'debug'\n")
    mine = write(tmp_path / "mine.toml", "[daemon]\nmax_inflight = 2\n")
    config = load_config(mine, env=env)
    assert config["daemon"]["log_level"] == "info" and config["daemon"]["max_inflight"] == 2
    assert config.sources == [str(mine)]
    env["TARS_EDGE_CONFIG"] = str(mine)
    assert load_config(env=env).sources == [str(mine)]


@pytest.mark.parametrize("text, message", [
    ("[daemon]\nmax_line_bytes = 'big'\n", "daemon.max_line_bytes: must be a whole number"),
    ("[daemon]\nmax_line_byte = 100\n", "daemon.max_line_byte: unknown key (did you mean 'max_line_bytes'?)"),
    ("[daemon]\nmax_line_bytes = 10\n", "daemon.max_line_bytes: 10 is below the minimum 1024"),
    ("[daemon]\nlog_level = 'loud'\n", "daemon.log_level: 'loud' is not one of debug, info"),
    ("[daemon]\nsocket_mode = '0999'\n", "daemon.socket_mode: '0999' is not an octal mode"),
    ("[cascade]\nmemory = 'yes'\n", "cascade.memory: must be true or false"),
    ("[cascade]\nmemo_threshold = 2\n", "cascade.memo_threshold: 2.0 is above the maximum 1"),
    ("[casacde]\n", "[casacde]: unknown section (did you mean [cascade]?)"),
    ("[daemon\n", "not valid TOML"),
    ("[actions.garage]\nevent = 'garage.open'\n", "actions.garage.phrases"),
])
def test_bad_config_names_file_key_and_reason(tmp_path, text, message):
    path = write(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env=clean_env(tmp_path))
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_environment_value_names_the_variable(tmp_path):
    env = clean_env(tmp_path, TARS_EDGE__DAEMON__MAX_INFLIGHT="lots")
    with pytest.raises(ConfigError, match=r"^\$TARS_EDGE__DAEMON__MAX_INFLIGHT: daemon.max_inflight"):
        load_config(env=env)
    env = clean_env(tmp_path, TARS_EDGE__NOPE__X="1")
    with pytest.raises(ConfigError, match="TARS_EDGE__SECTION__KEY"):
        load_config(env=env)


def test_missing_explicit_file_and_too_long_socket(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.toml", env=clean_env(tmp_path))
    with pytest.raises(ConfigError, match="107 bytes"):
        load_config(env=clean_env(tmp_path), overrides={("daemon", "socket"): "/tmp/" + "x" * 120})


def test_every_key_is_documented_and_the_example_parses(tmp_path):
    docs = DOCS.read_text(encoding="utf-8")
    for section, keys in SCHEMA.items():
        assert f"[{section}]" in docs
        for name in keys:
            assert f"`{name}`" in docs, f"docs/config.md misses {section}.{name}"
    example = write(tmp_path / "example.toml", example_toml())
    assert load_config(example, env=clean_env(tmp_path))["daemon"]["max_line_bytes"] == 65536
