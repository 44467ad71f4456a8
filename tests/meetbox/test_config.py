"""Settings precedence: command line > environment > TOML file > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from meetbox.config import ConfigError, default_workers, load_settings


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
        ({"workers": "0"}, "workers must be between 1 and 256"),
        ({"workers": "two"}, "workers must be a whole number"),
        ({"workers": "4", "rtc_ports": "40000-40010"}, "too few for 4 media workers"),
    ],
)
def test_bad_media_settings(cli: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(cli, {})


def test_trusted_proxies_default_to_none_and_take_addresses_and_networks(tmp_path: Path) -> None:
    assert load_settings({}, {}).trusted_proxies == ()  # X-Forwarded-For ignored
    cli = load_settings({"trusted_proxies": "10.0.0.1, 10.1.0.0/16"}, {})
    assert cli.trusted_proxies == ("10.0.0.1", "10.1.0.0/16")
    env = load_settings({}, {"MEETBOX_TRUSTED_PROXIES": "::1,192.168.1.7/24"})
    assert env.trusted_proxies == ("::1", "192.168.1.0/24")  # normalized
    toml = tmp_path / "m.toml"
    toml.write_text('trusted_proxies = ["127.0.0.1"]\n')
    assert load_settings({"config": str(toml)}, {}).trusted_proxies == ("127.0.0.1",)


@pytest.mark.parametrize("value", ["proxy.example.com", "10.0.0.0/33", "1.2.3"])
def test_a_trusted_proxy_that_is_no_address_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="trusted proxy"):
        load_settings({"trusted_proxies": value}, {})


def test_workers_default_to_one_per_core_and_come_from_every_source(tmp_path: Path) -> None:
    assert load_settings({}, {}).workers == default_workers() >= 1
    toml = tmp_path / "meetbox.toml"
    toml.write_text("workers = 3\n")
    assert load_settings({"config": str(toml)}, {}).workers == 3
    assert load_settings({"config": str(toml)}, {"MEETBOX_WORKERS": "2"}).workers == 2
    assert load_settings({"workers": "1"}, {"MEETBOX_WORKERS": "2"}).workers == 1
