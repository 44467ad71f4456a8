"""Settings precedence: command line > environment > TOML file > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from meetbox.config import ConfigError, load_settings


def test_defaults() -> None:
    s = load_settings({}, {})
    assert (s.host, s.port, s.data_dir, s.public_url) == (
        "127.0.0.1",
        8080,
        Path("meetbox-data"),
        "http://localhost:8080",
    )
    assert s.db_path == Path("meetbox-data/meetbox.db")


def test_cli_beats_env_beats_file(tmp_path: Path) -> None:
    toml = tmp_path / "meetbox.toml"
    toml.write_text('port = 9000\nhost = "0.0.0.0"\ndata_dir = "/srv/meet"\nlog_format = "json"\n')
    env = {"MEETBOX_CONFIG": str(toml), "MEETBOX_PORT": "9100", "MEETBOX_DATA_DIR": "/var/meet"}
    s = load_settings({"port": "9200"}, env)
    assert s.port == 9200  # command line
    assert s.data_dir == Path("/var/meet")  # environment over file
    assert s.host == "0.0.0.0" and s.log_format == "json"  # file
    assert s.public_url == "http://localhost:9200"


def test_public_url_is_used_as_given_without_trailing_slash() -> None:
    s = load_settings({"public_url": "https://meet.example.com/"}, {})
    assert s.public_url == "https://meet.example.com"


def test_initial_credentials_come_from_the_environment_only(tmp_path: Path) -> None:
    toml = tmp_path / "m.toml"
    toml.write_text('initial_api_key = "from-a-file-0123456789abcdef"\n')
    with pytest.raises(ConfigError, match="unknown keys initial_api_key"):
        load_settings({"config": str(toml)}, {})
    s = load_settings({}, {"MEETBOX_INITIAL_API_KEY": "k" * 30})
    assert s.initial_api_key == "k" * 30


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("port = [", "not valid TOML"),
        ('colour = "red"', "unknown keys colour"),
        ('log_format = "xml"', "log_format must be"),
        ("port = 0", "between 1 and 65535"),
    ],
)
def test_bad_config_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    toml = tmp_path / "m.toml"
    toml.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings({"config": str(toml)}, {})


def test_missing_config_file() -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings({"config": "/nonexistent/meetbox.toml"}, {})


def test_media_settings() -> None:
    s = load_settings(
        {"rtc_ports": "40000-40999", "public_ip": "203.0.113.7"},
        {"MEETBOX_ICE_SERVERS": "stun:stun.example.com:3478, turn:turn.example.com:3478",
         "MEETBOX_TURN_SECRET": "s3cret"},
    )  # fmt: skip
    assert s.rtc_ports == "40000-40999" and s.public_ip == "203.0.113.7"
    assert s.ice_servers == ("stun:stun.example.com:3478", "turn:turn.example.com:3478")
    assert s.turn_secret == "s3cret"
    assert s.rtc_ips == ()


def test_rtc_ips_from_every_source(tmp_path: Path) -> None:
    assert load_settings({"rtc_ips": "127.0.0.1, ::1"}, {}).rtc_ips == ("127.0.0.1", "::1")
    assert load_settings({}, {"MEETBOX_RTC_IPS": "10.0.0.5"}).rtc_ips == ("10.0.0.5",)
    toml = tmp_path / "meetbox.toml"
    toml.write_text('rtc_ips = ["192.0.2.1", "192.0.2.2"]\n')
    assert load_settings({"config": str(toml)}, {}).rtc_ips == ("192.0.2.1", "192.0.2.2")


@pytest.mark.parametrize(
    ("cli", "message"),
    [
        ({"rtc_ports": "40000"}, "looks like 40000-40999"),
        ({"rtc_ports": "500-600"}, "within 1024-65535"),
        ({"public_ip": "meet.example.com"}, "public_ip must be an IP address"),
        ({"ice_servers": "http://x"}, "must start with stun:, turn: or turns:"),
        ({"rtc_ips": "localhost"}, "--rtc-ips: rtc_ips holds IP addresses, and 'localhost'"),
        ({"rtc_ips": " , "}, "rtc_ips names no address"),
    ],
)
def test_bad_media_settings(cli: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(cli, {})
