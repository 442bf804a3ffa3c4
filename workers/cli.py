"""`kyc worker`, `kyc review` and `kyc customer`: added to kycengine's parser by `register(subparsers)`.

Settings come from the KYC_* environment variables (workers/config.py, docs/workers.md).
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def _print(data: Any, as_json: bool, text: str) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str) if as_json else text)


def _config_and_redis() -> tuple[Any, Any]:
    from .config import WorkerConfig
    from .enqueue import connect

    config = WorkerConfig.from_env()
    return config, connect(config)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run a verification worker (models load once, before the first job)."""
    from .allocator import reexec_with_allocator_settings
    from .config import WorkerConfig
    from .enqueue import connect
    from .worker import housekeeping, run_worker

    config = WorkerConfig.from_env()
    if args.backend:
        config = config.with_(face_backend=args.backend)
    if args.check:
        from .probe import check

        probe = check(config, min_workers=args.min_workers)
        _print(probe.to_dict(), args.json, probe.message)
        return 0 if probe.ok else 1
    if args.housekeeping:
        done = housekeeping(config, connect(config))
        _print(done, args.json, " ".join(f"{k}: {v if not isinstance(v, list) else len(v)}"
                                         for k, v in done.items()))
        return 0
    config.check_worker_ready()  # a configuration error is reported by this process, before any restart
    reexec_with_allocator_settings()
    run_worker(config, burst=args.burst, worker_class=args.worker_class, max_jobs=args.max_jobs,
               name=args.name, with_scheduler=not args.no_scheduler, logging_level=args.log_level,
               processes=args.processes)
    return 0


def cmd_review_list(args: argparse.Namespace) -> int:
    """List queued cases by deadline; overdue ones are escalated and reported."""
    from .review import escalate_overdue, list_queue

    config, redis = _config_and_redis()
    escalated = escalate_overdue(config, redis)
    rows = list_queue(config, redis)
    lines = [f"{r['case_id']:30} #{r['attempt']:<3} deadline {r['deadline']}  "
             f"{'OVERDUE' if r['overdue'] else str(r['hours_left']) + ' h left':>12}  {r['state']:9} "
             f"customer {r['customer_id'] or '-'} ({r['customer_status'] or '-'}, "
             f"{len(r['earlier_attempts'])} earlier attempt(s))  {','.join(r['reasons'])}" for r in rows]
    lines = lines or ["review queue is empty"]
    overdue = [r for r in rows if r["overdue"]]
    if overdue:
        lines.append(f"{len(overdue)} case(s) past their deadline ({len(escalated)} escalated now)")
    _print({"queue": rows, "escalated_now": escalated}, args.json, "\n".join(lines))
    return 0


def cmd_review_show(args: argparse.Namespace) -> int:
    """Show a case: verdicts with their evidence, decisions, deliveries and the audit trail."""
    from .review import show

    config, redis = _config_and_redis()
    data = show(config, redis, args.case)
    lines = [f"case {args.case}: {data['case'].get('status', '?')}"]
    if data["review"]:
        r = data["review"]
        lines.append(f"review: {r.get('state')} (attempt {r.get('attempt')}, deadline {r.get('deadline')})")
    for a in data["attempts"]:
        lines.append(f"attempt {a['attempt']}: {a['state']}  media {a['media_state']}: {', '.join(a['media'])}")
        if a["failed_reason"]:
            lines.append(f"  failed: {a['failed_reason']}: {a['failed_detail']}")
        v = a["verdict"]
        if v:
            lines.append(f"  verdict: {v['status']}  reasons: {', '.join(v.get('reasons', [])) or '-'}")
            for stage in ("document", "face", "liveness"):
                ev = v.get(stage) or {}
                note = f" ({ev['note']})" if ev.get("note") else ""
                lines.append(f"    {stage}: {ev.get('state')}{note}")
                for check in ev.get("checks", []):
                    lines.append(f"      check {check['name']}: {check['passed']} {check.get('detail', '')}")
                if ev.get("fields"):
                    lines.append("      fields: " + ", ".join(f"{k}={val}" for k, val in ev["fields"].items()))
            if v.get("scores"):
                lines.append("    scores: " + ", ".join(f"{k}={val:.3g}" for k, val in v["scores"].items()))
        if a["decision"]:
            d = a["decision"]
            lines.append(f"  decision: {d['status']} by {d['reviewer']} at {d['decided_at']}: {d['reason']}")
        for event, dlv in a["deliveries"].items():
            lines.append(f"  delivery {event}: {dlv.get('state')} after {dlv.get('tries')} tries")
    lines.append("history:")
    lines += [f"  {h['at']} {h['event']} " + ", ".join(f"{k}={val}" for k, val in h.items()
                                                         if k not in ("at", "event", "verdict"))
              for h in data["history"]]
    _print(data, args.json, "\n".join(lines))
    return 0


def cmd_review_decide(args: argparse.Namespace) -> int:
    """Record a reviewer's decision (written once, audited) and send it to the bank."""
    from .review import decide

    config, redis = _config_and_redis()
    record = decide(config, redis, args.case, args.decision, reason=args.reason, reviewer=args.reviewer)
    _print(record, args.json, f"case {args.case}: {record['status']} by {record['reviewer']}")
    return 0


def cmd_review_reverify(args: argparse.Namespace) -> int:
    """Re-run the strict engine on queued cases; results go into the audit trail."""
    from .review import reverify

    if not args.all and not args.cases:
        from .review import ReviewError

        raise ReviewError("name the cases to re-verify, or give --all")
    config, redis = _config_and_redis()
    results = reverify(config, redis, None if args.all else args.cases, progress=not args.no_progress)
    lines = [f"{r['case_id']}: " + (f"skipped ({r['skipped']})" if "skipped" in r else
                                    f"{r['status']} {','.join(r['reasons'])}") for r in results]
    _print(results, args.json, "\n".join(lines) or "nothing to re-verify")
    return 0


def cmd_review_escalate(args: argparse.Namespace) -> int:
    """Escalate every case past its review deadline (for cron); prints those escalated now."""
    from .review import escalate_overdue

    config, redis = _config_and_redis()
    escalated = escalate_overdue(config, redis)
    _print(escalated, args.json, "\n".join(f"{e['case_id']} (deadline {e['deadline']})" for e in escalated)
           or "nothing overdue")
    return 0


def cmd_customer(args: argparse.Namespace) -> int:
    """A customer's identity: status, audit trail, status events; revocation and consent withdrawal."""
    from . import identity

    config, redis = _config_and_redis()
    data: Any
    if args.customer_command == "show":
        data = identity.show(config, redis, args.customer)
    elif args.customer_command == "history":
        data = identity.history(config, redis, args.customer)
    elif args.customer_command == "events":
        data = identity.events(config, redis, args.customer)
    elif args.customer_command == "revoke":
        data = identity.revoke(config, redis, args.customer, args.reason, event_id=args.event_id,
                               note=args.note, actor=args.actor)
    elif args.customer_command == "confirm":
        data = identity.confirm_strong_authentication(config, redis, args.customer, event_id=args.event_id,
                                                      actor=args.actor)
    else:
        data = identity.withdraw_consent(config, redis, args.customer, channel=args.channel, at=args.at)
    _print(data, True, "")
    return 0


def _register_customer(subparsers: Any) -> None:
    from .states import RevocationReason

    customer = subparsers.add_parser("customer", help="customer identity status (JSON output)")
    csub = customer.add_subparsers(dest="customer_command", required=True)
    for name, text in (("show", "status, next action and attempts"), ("history", "the audit trail"),
                       ("events", "status events in sequence, with their deliveries")):
        c = csub.add_parser(name, help=text)
        c.add_argument("customer")
        c.set_defaults(run=cmd_customer)
    c = csub.add_parser("revoke", help="apply a revocation event (idempotent by --event-id)")
    c.add_argument("customer")
    c.add_argument("reason", choices=[r.value for r in RevocationReason])
    c.add_argument("--event-id", required=True, help="the bank's id of the event (the same id twice changes nothing)")
    c.add_argument("--note", default="", help="why (required for 'other')")
    c.add_argument("--actor", default="operator", help="who or what revoked")
    c.set_defaults(run=cmd_customer)
    c = csub.add_parser("confirm", help="a fresh strong authentication by the bank restores a revoked access "
                                        "when the revocation's policy allows it")
    c.add_argument("customer")
    c.add_argument("--event-id", required=True)
    c.add_argument("--actor", default="operator")
    c.set_defaults(run=cmd_customer)
    c = csub.add_parser("withdraw", help="record a consent withdrawal and delete the customer's media at once")
    c.add_argument("customer")
    c.add_argument("--channel", required=True, help="how the customer withdrew (web, app, branch, mail)")
    c.add_argument("--at", default=None, help="when (ISO 8601; default: now)")
    c.set_defaults(run=cmd_customer)


def register(subparsers: Any) -> None:
    """Add `worker`, `review` and `customer` to the `kyc` command's subparsers."""
    from .config import FACE_BACKENDS

    p = subparsers.add_parser("worker", help=cmd_worker.__doc__, description=cmd_worker.__doc__)
    p.add_argument("--burst", action="store_true", help="quit when the queues are empty")
    p.add_argument("--max-jobs", type=int, default=None, help="quit after this many jobs")
    p.add_argument("--worker-class", choices=("prefork", "fork", "simple"), default=None,
                   help="prefork (default: KYC_WORKER_CLASS), fork or simple; see docs/workers.md")
    p.add_argument("--processes", type=int, default=None,
                   help="prefork: worker processes sharing the loaded models (default: KYC_WORKER_PROCESSES)")
    p.add_argument("--name", default=None, help="worker name (default: random)")
    p.add_argument("--no-scheduler", action="store_true", help="do not run rq's scheduler")
    p.add_argument("--log-level", default="INFO")
    p.add_argument("--housekeeping", action="store_true",
                   help="run retention and escalation once, then exit")
    p.add_argument("--backend", choices=FACE_BACKENDS, default=None,
                   help="face backend of the worker's Verifier (default: KYC_FACE_BACKEND, insightface)")
    p.add_argument("--check", action="store_true",
                   help="probe: exit 0 when Redis answers and a worker of this host is live, else 1 "
                        "(docs/operations.md)")
    p.add_argument("--min-workers", type=int, default=1, help="--check: live workers needed (default 1)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_worker)

    review = subparsers.add_parser("review", help="manual review queue")
    rsub = review.add_subparsers(dest="review_command", required=True)
    r = rsub.add_parser("list", help=cmd_review_list.__doc__)
    r.add_argument("--json", action="store_true")
    r.set_defaults(run=cmd_review_list)
    r = rsub.add_parser("show", help=cmd_review_show.__doc__)
    r.add_argument("case")
    r.add_argument("--json", action="store_true")
    r.set_defaults(run=cmd_review_show)
    r = rsub.add_parser("decide", help=cmd_review_decide.__doc__)
    r.add_argument("case")
    r.add_argument("decision", choices=("approve", "refuse", "retry"))
    r.add_argument("--reason", required=True, help="why (free text; reason codes are recognised)")
    r.add_argument("--reviewer", required=True, help="who decides")
    r.add_argument("--json", action="store_true")
    r.set_defaults(run=cmd_review_decide)
    r = rsub.add_parser("reverify", help=cmd_review_reverify.__doc__)
    r.add_argument("cases", nargs="*")
    r.add_argument("--all", action="store_true", help="every queued case")
    r.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    r.add_argument("--json", action="store_true")
    r.set_defaults(run=cmd_review_reverify)
    r = rsub.add_parser("escalate", help=cmd_review_escalate.__doc__)
    r.add_argument("--json", action="store_true")
    r.set_defaults(run=cmd_review_escalate)
    _register_customer(subparsers)
