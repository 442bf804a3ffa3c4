"""The `kyc` command: verify, mrz, compare-faces, liveness, models, reasons, synth, worker, review.

Errors print one line and exit non-zero: 2 for bad input (a missing or unreadable file, a bad
option), 3 for an internal error. Output cut short by a closed pipe (`kyc ... | head`) ends quietly."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import KycError

EXIT_USAGE = 2  # argparse's own code for bad usage, reused for bad input
EXIT_INTERNAL = 3
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader went away


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT") from None
    if not (16 <= width <= 3840 and 16 <= height <= 3840):
        raise argparse.ArgumentTypeError(f"{text!r}: each side must be 16-3840 px")
    return width, height


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM-DD date") from None


def _print(data: Any, as_json: bool, text: str) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False) if as_json else text)


def cmd_verify(args: argparse.Namespace) -> int:
    """Verify a document video and a selfie video; print the verdict."""
    from .errors import InvalidMedia
    from .findings import FindingCode
    from .pipeline import Verifier
    from .settings import Settings
    from .video import check_media_file

    declared = _declared(args)
    for path in (args.document, args.selfie):  # an operator's typo is not the customer's fault
        check_media_file(Path(path))
    verifier = Verifier(Settings(face_backend=args.backend))
    verdict = verifier.verify(args.document, args.selfie, declared=declared, today=args.today)
    for evidence in (verdict.document, verdict.face):
        unreadable = [f for f in evidence.findings if f.code is FindingCode.VIDEO_UNREADABLE]
        if unreadable:
            raise InvalidMedia(unreadable[0].detail)
    lines = [f"status: {verdict.status.value}"]
    lines += [f"reason: {r.value} ({verdict.effects[r].value}): {r.message_en}" for r in verdict.reasons]
    for name, stage in (("document", verdict.document), ("face", verdict.face), ("liveness", verdict.liveness)):
        lines.append(f"{name}: {stage.state.value}" + (f" ({stage.note})" if stage.note else ""))
    if verdict.declared is not None and verdict.declared.comparison is not None:
        lines += [f"declared {f.field.value}: {f.outcome.value} ({f.rule.value}; document {f.document!r})"
                  for f in verdict.declared.comparison.fields]
    lines.append(f"time: {verdict.timings_ms.get('total', 0):.0f} ms")
    _print(verdict.to_dict(), args.json, "\n".join(lines))
    return 0


def _declared(args: argparse.Namespace) -> Any:
    """The identity the customer declared, from `kyc verify`'s options (None when none was given)."""
    from .errors import InvalidInput
    from .schema import DeclaredIdentity

    given = {"--surname": args.surname, "--given-names": args.given_names, "--birth-date": args.birth_date}
    if not any(given.values()) and args.birth_place is None:
        return None
    missing = [flag for flag, value in given.items() if not value]
    if missing:
        raise InvalidInput(f"a declared identity needs --surname, --given-names and --birth-date "
                           f"(missing {', '.join(missing)})")
    return DeclaredIdentity(surname=args.surname, given_names=args.given_names, birth_date=args.birth_date,
                            birth_place=args.birth_place)


def cmd_mrz(args: argparse.Namespace) -> int:
    """Read the MRZ of a document image or video."""
    from .document.analyser import read_mrz_file

    read = read_mrz_file(args.path)
    if read is None:
        _print({"found": False}, args.json, "no MRZ found")
        return 1
    mrz = read.mrz
    text = "\n".join([*mrz.lines, f"format: {mrz.format.value}", f"valid: {mrz.valid}",
                      f"score: {mrz.score}", *(f"unconfirmed: {d}" for d in read.doubts)])
    _print({"found": True, **mrz.to_dict(), "unconfirmed": list(read.doubts)}, args.json, text)
    return 0


def cmd_compare_faces(args: argparse.Namespace) -> int:
    """Compare the largest face of two images."""
    from .face import compare_faces
    from .image import read_image

    result = compare_faces(read_image(args.image_a), read_image(args.image_b), backend=args.backend)
    _print(result.to_dict(), args.json,
           f"{result.decision.value} (score {result.score:.3f}, threshold {result.threshold:.2f}, "
           f"backend {result.backend})")
    return 0


def cmd_liveness(args: argparse.Namespace) -> int:
    """Liveness cues of a selfie video."""
    from .decision import decide
    from .liveness import assess_video

    evidence = assess_video(args.video, backend=args.backend)
    live = "live" if evidence.live else "not live" if evidence.live is False else "undetermined"
    reasons = decide(evidence).reasons
    _print({"live": evidence.live, "reasons": [r.value for r in reasons],
            "findings": [f.to_dict() for f in evidence.findings],
            "scores": evidence.scores, "thresholds": evidence.thresholds, "state": evidence.state.value},
           args.json, "\n".join([live, *(f"reason: {r.value}" for r in reasons)]))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    """List every model of the manifest, whether it is present and verified, and its licence."""
    from .models import default_registry

    rows = default_registry().status()
    lines = []
    for row in rows:
        state = "verified" if row.verified else ("optional, absent" if row.optional and not row.present
                                                 else "MISSING" if not row.present else "BAD CHECKSUM")
        lines.append(f"{row.id:22} {row.task:18} {state:17} {row.source:28} {row.licence}")
    _print([r.to_dict() for r in rows], args.json, "\n".join(lines))
    required_ok = all(r.verified or r.optional for r in rows)
    return 0 if required_ok else 1


def cmd_reasons(args: argparse.Namespace) -> int:
    """List every reason code: default effect, customer texts (en, fr) and meaning for the bank."""
    from .reasons import TEXTS, Reason, markdown_table

    rows = [{"code": r.value, "effect": TEXTS[r].effect.value, "policy": TEXTS[r].policy,
             "customer_en": TEXTS[r].customer_en, "customer_fr": TEXTS[r].customer_fr,
             "meaning": TEXTS[r].meaning} for r in Reason]
    text = markdown_table() if args.markdown else "\n".join(f"{r['code']:30} {r['effect']:7} {r['customer_en']}"
                                                            for r in rows)
    _print(rows, args.json, text)
    return 0


# Which `kyc synth` options each kind of output takes; any other given option is refused.
_SYNTH_OPTIONS = {
    "document": {"type", "variant", "person", "usage_name", "capture"},
    "selfie": {"variant", "person"},
    "sample": {"type", "person", "usage_name", "document_variant", "selfie_variant"},
}


def cmd_synth(args: argparse.Namespace) -> int:
    """Generate labelled capture videos for tests, demos and benchmarks."""
    from . import synth
    from .errors import InvalidInput

    given = {name for name in set().union(*_SYNTH_OPTIONS.values()) if getattr(args, name) not in (None, False)}
    refused = sorted(given - _SYNTH_OPTIONS[args.what])
    if refused:
        hint = " (use --document-variant / --selfie-variant)" if args.what == "sample" and "variant" in refused else ""
        options = ", ".join("--" + name.replace("_", "-") for name in refused)
        raise InvalidInput(f"synth {args.what}: {options} does not apply{hint}")
    out = Path(args.out)
    common = {"seed": args.seed, "hard": args.hard, "size": args.size, "fps": args.fps,
              **({} if args.seconds is None else {"seconds": args.seconds})}
    document_type = synth.DocumentType(args.type or "fr_cni_1988")
    if args.what == "sample":
        labels = synth.make_sample(out, document_type=document_type, person=args.person,
                                   usage_name=args.usage_name,
                                   document_variant=synth.DocumentVariant(args.document_variant or "genuine"),
                                   selfie_variant=synth.SelfieVariant(args.selfie_variant or "live"), **common)
        _print({k: v.to_dict() for k, v in labels.items()}, args.json,
               "\n".join(str(out / name) for name in labels))
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    label: synth.DocumentLabels | synth.SelfieLabels
    if args.what == "document":
        label = synth.make_document_video(out, document_type=document_type, person=args.person,
                                          variant=synth.DocumentVariant(args.variant or "genuine"),
                                          usage_name=args.usage_name,
                                          capture=synth.Capture(args.capture or "standard"), **common)
    else:
        label = synth.make_selfie_video(out, person=args.person or synth.PEOPLE[0],
                                        variant=synth.SelfieVariant(args.variant or "live"), **common)
    _print(label.to_dict(), args.json, f"{out}\n{out.with_suffix('.json')}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so tests and docs can inspect it)."""
    from .document.types import DocumentType
    from .synth.document_video import Capture
    from .synth.faces import PEOPLE

    parser = argparse.ArgumentParser(prog="kyc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("verify", help=cmd_verify.__doc__)
    p.add_argument("--document", required=True, help="video of the identity document")
    p.add_argument("--selfie", required=True, help="video of the holder's face")
    p.add_argument("--backend", choices=("insightface", "opencv"), default="insightface")
    p.add_argument("--today", type=_date, default=None, help="date used for expiry rules")
    p.add_argument("--surname", help="declared surname (birth or usage name, as the customer typed it)")
    p.add_argument("--given-names", help="declared given names, space-separated")
    p.add_argument("--birth-date", type=_date, help="declared birth date, YYYY-MM-DD")
    p.add_argument("--birth-place", help="declared birth place (optional)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_verify)

    p = sub.add_parser("mrz", help=cmd_mrz.__doc__)
    p.add_argument("path", help="image or video of a document")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_mrz)

    p = sub.add_parser("compare-faces", help=cmd_compare_faces.__doc__)
    p.add_argument("image_a")
    p.add_argument("image_b")
    p.add_argument("--backend", choices=("insightface", "opencv"), default="insightface")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_compare_faces)

    p = sub.add_parser("liveness", help=cmd_liveness.__doc__)
    p.add_argument("video")
    p.add_argument("--backend", choices=("insightface", "opencv"), default="insightface")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_liveness)

    p = sub.add_parser("models", help=cmd_models.__doc__)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_models)

    p = sub.add_parser("reasons", help=cmd_reasons.__doc__)
    p.add_argument("--markdown", action="store_true", help="the table of docs/reasons.md")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_reasons)

    p = sub.add_parser("synth", help=cmd_synth.__doc__)
    p.add_argument("what", choices=("document", "selfie", "sample"))
    p.add_argument("out", help="output .mp4 (document, selfie) or folder (sample)")
    p.add_argument("--type", choices=[t.value for t in DocumentType], help="document kind (default: fr_cni_1988)")
    p.add_argument("--variant", help="document or selfie variant (default: genuine / live)")
    p.add_argument("--document-variant", help="sample: the document's variant (default: genuine)")
    p.add_argument("--selfie-variant", help="sample: the selfie's variant (default: live)")
    p.add_argument("--person", choices=PEOPLE, help=f"the holder (default: drawn from the seed; selfie: {PEOPLE[0]})")
    p.add_argument("--usage-name", action="store_true", help="document, sample: print a usage name")
    p.add_argument("--capture", choices=[c.value for c in Capture],
                   help="document: how the customer films it (default: standard)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hard", action="store_true", help="harder filming conditions")
    p.add_argument("--size", type=_size, default=(1280, 720), help="WIDTHxHEIGHT")
    p.add_argument("--fps", type=int, default=30, choices=range(5, 61), metavar="5-60")
    p.add_argument("--seconds", type=float, help="length (default: 4 s of document, 5 s of selfie)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_synth)

    from workers.cli import register as register_workers  # `kyc worker`, `kyc review`, `kyc customer`

    register_workers(sub)
    from web.cli import register as register_web  # `kyc serve` and the web application's accounts

    register_web(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `kyc` console script."""
    logging.basicConfig(level=os.environ.get("KYC_LOG_LEVEL", "WARNING"),
                        format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except KycError as exc:
        print(f"kyc: error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # bad enum values and the like, from user input
        print(f"kyc: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that flushing stdout at exit does not fail again
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # one line for the user; the traceback only on request
        if os.environ.get("KYC_DEBUG"):
            raise
        print(f"kyc: internal error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
