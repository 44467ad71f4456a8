"""``meetbox`` command line: ``serve`` and the admin subcommands."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from meetbox import __version__
from meetbox.config import CLI_KEYS, ConfigError, Settings, load_settings
from meetbox.server import serve
from signaling.accounts.service import Accounts
from signaling.clock import SystemClock, format_ts
from signaling.errors import MeetboxError
from signaling.pagination import MAX_LIMIT, encode_cursor
from signaling.store import SqliteStore, StoreError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meetbox", description="Self-hosted video meeting server."
    )
    parser.add_argument("--version", action="version", version=f"meetbox {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--config", help="TOML settings file (env: MEETBOX_CONFIG)")
        sub.add_argument(
            "--data-dir", help="where meetbox.db and recordings live (default ./meetbox-data)"
        )

    serve_p = commands.add_parser("serve", help="run the server")
    common(serve_p)
    serve_p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve_p.add_argument("--port", help="port to listen on (default 8080)")
    serve_p.add_argument("--public-url", help="URL people reach this server at; used in room links")
    serve_p.add_argument("--public-ip", help="IP address to advertise in media candidates")
    serve_p.add_argument(
        "--workers",
        help="media worker processes (default: one per core; 1 keeps media in the server's "
        "own process)",
    )
    serve_p.add_argument(
        "--rtc-ports",
        help="UDP port range for media, e.g. 40000-40999 (split evenly between the workers)",
    )
    serve_p.add_argument(
        "--rtc-ips",
        help="comma-separated local addresses to gather media candidates on, e.g. 127.0.0.1"
        " (default: every interface's but loopback)",
    )
    serve_p.add_argument("--ice-servers", help="comma-separated stun:/turn: URLs handed to clients")
    serve_p.add_argument(
        "--webhook-hosts", help="comma-separated hosts webhook URLs may point at (default: any)"
    )
    serve_p.add_argument(
        "--trusted-proxies",
        help="comma-separated IPs/CIDRs of reverse proxies whose X-Forwarded-For is believed "
        "(default: none, the header is ignored)",
    )
    serve_p.add_argument(
        "--max-recordings", help="recordings under way at once (default 2; 0 turns recording off)"
    )
    serve_p.add_argument(
        "--recording-max-minutes", help="a recording stops by itself after this long (default 240)"
    )
    serve_p.add_argument(
        "--recording-min-free-mb",
        help="free disk (MiB) below which no recording starts and running ones stop (default 256)",
    )
    serve_p.add_argument("--log-format", choices=["human", "json"])
    serve_p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])

    keys = commands.add_parser("api-key", help="manage API keys").add_subparsers(
        dest="action", required=True
    )
    create = keys.add_parser("create", help="create a key and print it (once)")
    common(create)
    create.add_argument("--name", required=True)
    listing = keys.add_parser("list", help="list keys (never the keys themselves)")
    common(listing)
    revoke = keys.add_parser("revoke", help="revoke a key by id")
    common(revoke)
    revoke.add_argument("key_id")
    return parser


async def _api_key(settings: Settings, args: argparse.Namespace) -> int:
    store = await SqliteStore.open(settings.db_path)
    try:
        accounts = Accounts(store, SystemClock())
        if args.action == "create":
            record, key = await accounts.create_api_key(args.name)
            print(f"created API key {record.id} ({record.name}); it is shown only this once:")
            print(key)
        elif args.action == "list":
            rows = []
            cursor = None
            while True:
                page = await accounts.list_api_keys(MAX_LIMIT, cursor)
                rows += page.items
                if page.next_after is None:
                    break
                cursor = encode_cursor(page.next_after)
            print(f"{'ID':<14} {'NAME':<24} {'PREFIX':<10} {'CREATED':<28} STATE")
            for r in rows:
                state = "revoked" if r.revoked_at else "active"
                created = format_ts(r.created_at)
                print(f"{r.id:<14} {r.name[:24]:<24} {r.prefix:<10} {created:<28} {state}")
        else:
            record = await accounts.revoke_api_key(args.key_id)
            print(f"revoked API key {record.id} ({record.name})")
    finally:
        await store.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    cli_values = {name: getattr(args, name, None) for name in CLI_KEYS}
    try:
        settings = load_settings(cli_values)
    except ConfigError as exc:
        print(f"meetbox: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        return serve(settings)
    try:
        return asyncio.run(_api_key(settings, args))
    except StoreError as exc:
        print(f"meetbox: {exc.message}", file=sys.stderr)
        return 1
    except MeetboxError as exc:
        print(f"meetbox: {exc.detail}", file=sys.stderr)
        return 1
