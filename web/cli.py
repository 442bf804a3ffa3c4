"""`kyc serve`: run the web application with uvicorn; `kyc reviewers`: the console's accounts."""

from __future__ import annotations

import argparse
import getpass
import sys
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


def _password() -> str:
    """The new password: asked twice at a terminal, else the first line of stdin (never argv)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("kyc reviewers: the two passwords differ")
    return first


def cmd_reviewers(args: argparse.Namespace) -> int:
    """Add (or reset the password of), disable, or list the review console's reviewer accounts."""
    from workers.config import WorkerConfig
    from workers.connection import connect

    from .reviewers import ReviewerError, Reviewers

    config = WorkerConfig.from_env()
    reviewers = Reviewers(connect(config.redis_url), config.key_prefix)
    try:
        if args.reviewers_command == "add":
            reviewer = reviewers.add(args.name, _password())
            print(f"reviewer {reviewer.name} can sign in")
        elif args.reviewers_command == "disable":
            reviewer = reviewers.disable(args.name)
            print(f"reviewer {reviewer.name} disabled")
        else:
            for reviewer in reviewers.list():
                print(f"{reviewer.name}\t{'enabled' if reviewer.enabled else 'disabled'}\t{reviewer.created_at}")
    except ReviewerError as exc:
        print(f"kyc reviewers: {exc}", file=sys.stderr)
        return 2
    return 0


def register(subparsers: Any) -> None:
    """Add `kyc serve` and `kyc reviewers` to the `kyc` command."""
    p = subparsers.add_parser("serve", help=cmd_serve.__doc__, description=cmd_serve.__doc__)
    p.add_argument("--host", help="address to listen on (default KYC_WEB_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default KYC_WEB_PORT or 8080)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.set_defaults(run=cmd_serve)
    from .clients import register as register_clients  # `kyc clients add|list|revoke`

    register_clients(subparsers)
    p = subparsers.add_parser("reviewers", help=cmd_reviewers.__doc__, description=cmd_reviewers.__doc__)
    rsub = p.add_subparsers(dest="reviewers_command", required=True)
    for name, text in (("add", "add a reviewer (password from a prompt, or the first line of stdin)"),
                       ("disable", "disable a reviewer: no more sign-in, open sessions end")):
        r = rsub.add_parser(name, help=text)
        r.add_argument("name")
        r.set_defaults(run=cmd_reviewers)
    rsub.add_parser("list", help="list the reviewers").set_defaults(run=cmd_reviewers)
