"""`kyc serve`: run the web application with uvicorn."""

from __future__ import annotations

import argparse
from typing import Any


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the bank API and the review console (settings from KYC_* and KYC_WEB_* variables)."""
    import uvicorn

    from .app import create_app
    from .config import WebConfig

    config = WebConfig.from_env()
    config = config.with_(host=args.host or config.host, port=args.port or config.port)
    config.secret_bytes()  # refuse to start without a signing key
    from .logs import configure

    configure()  # JSON access log lines (web.logs), instead of uvicorn's
    uvicorn.run(create_app(config), host=config.host, port=config.port, log_level=args.log_level,
                proxy_headers=False, server_header=False, access_log=False)
    return 0


def register(subparsers: Any) -> None:
    """Add `kyc serve` to the `kyc` command."""
    p = subparsers.add_parser("serve", help=cmd_serve.__doc__, description=cmd_serve.__doc__)
    p.add_argument("--host", help="address to listen on (default KYC_WEB_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default KYC_WEB_PORT or 8080)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.set_defaults(run=cmd_serve)
    from .clients import register as register_clients  # `kyc clients add|list|revoke`

    register_clients(subparsers)
