"""Settings from, in order of precedence: command line, ``MEETBOX_*`` environment variables,
an optional TOML file (``--config`` or ``MEETBOX_CONFIG``), and defaults."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from meetbox.errors import MeetboxCommandError
from sfu.ports import parse_addresses, parse_port_range

__all__ = ["CLI_KEYS", "ConfigError", "Settings", "default_workers", "load_settings"]


class ConfigError(MeetboxCommandError):
    """A setting is missing or wrong; the message names it."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("meetbox-data")
    public_url: str = ""
    log_format: str = "human"
    log_level: str = "info"
    initial_api_key: str | None = None
    initial_admin_password: str | None = None
    #: Advertised in media candidates (a server behind 1:1 NAT or a cloud firewall).
    public_ip: str | None = None
    #: Media worker processes (``--workers``); 1 keeps the media in the server's process.
    #: Default: one per core this process may run on.
    workers: int = 0
    #: "40000-40999": every media socket binds inside it (split between the workers).
    rtc_ports: str | None = None
    #: Local addresses media gathers host candidates on (default: every interface's but
    #: loopback).
    rtc_ips: tuple[str, ...] = ()
    #: stun:/turn:/turns: URLs handed to clients.
    ice_servers: tuple[str, ...] = ()
    #: coturn ``static-auth-secret``: TURN URLs get time-limited credentials made from it.
    turn_secret: str | None = None
    #: Hosts webhook endpoints may point at; empty: any.
    webhook_hosts: tuple[str, ...] = ()
    #: Reverse proxies (IPs, CIDRs) whose X-Forwarded-For is believed; empty: none is.
    trusted_proxies: tuple[str, ...] = ()
    #: Recordings under way at once (each is a process using about a third of a core).
    max_recordings: int = 2
    #: A recording stops by itself after this many minutes.
    recording_max_minutes: int = 240
    #: No recording starts with less free disk than this (MiB) where recordings are kept.
    recording_min_free_mb: int = 256

    @property
    def db_path(self) -> Path:
        return self.data_dir / "meetbox.db"


#: Settings that may come from the command line, the environment and the TOML file.
_FILE_KEYS = (
    "host",
    "port",
    "data_dir",
    "public_url",
    "log_format",
    "log_level",
    "public_ip",
    "workers",
    "rtc_ports",
    "rtc_ips",
    "ice_servers",
    "webhook_hosts",
    "trusted_proxies",
    "max_recordings",
    "recording_max_minutes",
    "recording_min_free_mb",
)
#: What the command line may set (``config`` names the TOML file itself).
CLI_KEYS = ("config", *_FILE_KEYS)
#: Settings that come from the environment only (secrets do not belong on a command line).
_ENV_ONLY = ("initial_api_key", "initial_admin_password", "turn_secret")


_COUNTS = {
    "max_recordings": (0, 64),
    "recording_max_minutes": (1, 24 * 60),
    "recording_min_free_mb": (0, 1 << 20),
    "workers": (1, 256),
}


def _networks(value: Any, source: str) -> tuple[str, ...]:
    """Comma-separated (or a TOML list of) IP addresses and CIDR networks, normalized."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise ConfigError(f"{source}: trusted_proxies is a list of IP addresses or networks")
    out = []
    for item in (i.strip() for i in items if i.strip()):
        try:
            out.append(
                str(ipaddress.ip_network(item, strict=False))
                if "/" in item
                else str(ipaddress.ip_address(item))
            )
        except ValueError:
            raise ConfigError(
                f"{source}: trusted proxy {item!r} is not an IP address or network "
                "(such as 10.0.0.0/8)"
            ) from None
    return tuple(out)


def _coerce(name: str, value: Any, source: str) -> Any:
    if name in _COUNTS:
        low, high = _COUNTS[name]
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: {name} must be a whole number, not {value!r}") from None
        if not low <= number <= high:
            raise ConfigError(f"{source}: {name} must be between {low} and {high}, not {number}")
        return number
    if name == "port":
        try:
            port = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: port must be a number, not {value!r}") from None
        if not 1 <= port <= 65535:
            raise ConfigError(f"{source}: port must be between 1 and 65535, not {port}")
        return port
    if name == "ice_servers":
        urls = value.split(",") if isinstance(value, str) else value
        if not isinstance(urls, list | tuple) or not all(isinstance(u, str) for u in urls):
            raise ConfigError(f"{source}: ice_servers is a list of stun:/turn: URLs")
        urls = tuple(u.strip() for u in urls if u.strip())
        for url in urls:
            if not url.startswith(("stun:", "turn:", "turns:")):
                raise ConfigError(
                    f"{source}: ICE server {url!r} must start with stun:, turn: or turns:"
                )
        return urls
    if name == "rtc_ips":
        if isinstance(value, list | tuple) and all(isinstance(a, str) for a in value):
            value = ",".join(value)
        if not isinstance(value, str):
            raise ConfigError(f"{source}: rtc_ips is a list of IP addresses")
        try:
            return parse_addresses(value)
        except ValueError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    if name == "webhook_hosts":
        hosts = value.split(",") if isinstance(value, str) else value
        if not isinstance(hosts, list | tuple) or not all(isinstance(h, str) for h in hosts):
            raise ConfigError(f"{source}: webhook_hosts is a list of host names or addresses")
        return tuple(h.strip().lower() for h in hosts if h.strip())
    if name == "trusted_proxies":
        return _networks(value, source)
    if not isinstance(value, str):
        raise ConfigError(f"{source}: {name} must be a string")
    if name == "public_ip":
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ConfigError(f"{source}: public_ip must be an IP address, not {value!r}") from None
    if name == "rtc_ports":
        try:
            parse_port_range(value)
        except ValueError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        return value
    if name == "data_dir":
        return Path(value).expanduser()
    if name == "log_format" and value not in ("human", "json"):
        raise ConfigError(f"{source}: log_format must be 'human' or 'json', not {value!r}")
    if name == "log_level" and value.lower() not in ("debug", "info", "warning", "error"):
        raise ConfigError(f"{source}: log_level must be debug, info, warning or error")
    if name == "public_url" and value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                f"{source}: public_url must be an http(s) URL such as https://meet.example.com"
            )
        return value.rstrip("/")
    return value


def default_workers() -> int:
    """One media worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def load_settings(cli: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Merge the sources. ``cli`` holds the command-line values (``None`` when not given)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_path = cli.get("config") or environ.get("MEETBOX_CONFIG")
    if config_path:
        path = Path(config_path).expanduser()
        try:
            table = tomllib.loads(path.read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        unknown = sorted(set(table) - set(_FILE_KEYS))
        if unknown:
            raise ConfigError(
                f"config file {path}: unknown keys {', '.join(unknown)} "
                f"(known: {', '.join(_FILE_KEYS)})"
            )
        for name, value in table.items():
            values[name] = _coerce(name, value, str(path))
    for name in _FILE_KEYS + _ENV_ONLY:
        env_name = "MEETBOX_" + name.upper()
        value = environ.get(env_name)
        if value:
            values[name] = value if name in _ENV_ONLY else _coerce(name, value, env_name)
    for name in _FILE_KEYS:
        if cli.get(name) is not None:
            values[name] = _coerce(name, cli[name], "--" + name.replace("_", "-"))
    known = {f.name for f in fields(Settings)}
    settings = Settings(**{k: v for k, v in values.items() if k in known})
    if not settings.workers:
        settings = replace(settings, workers=default_workers())
    if settings.rtc_ports and settings.workers > 1:
        try:
            parse_port_range(settings.rtc_ports).split(settings.workers)
        except ValueError as exc:
            raise ConfigError(f"rtc_ports: {exc}") from None
    if not settings.public_url:
        shown = (
            "localhost" if settings.host in ("127.0.0.1", "0.0.0.0", "::", "") else settings.host
        )
        if ":" in shown:
            shown = f"[{shown}]"
        settings = Settings(
            **{**settings.__dict__, "public_url": f"http://{shown}:{settings.port}"}
        )
    return settings
