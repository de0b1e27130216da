"""``pinnacle pipeline generate|run|status``: synthetic depth files, a pipeline run with
progress, and a checkpoint directory's manifest and metrics."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from pinnacle.cli._console import EXIT_OK, CliError, UsageError, int_in

FORMATS = ("binance-depth", "tardis-l2")


def add_parsers(sub: Any) -> None:
    """Registers ``pipeline generate``, ``pipeline run`` and ``pipeline status``."""
    p = sub.add_parser("pipeline", help="market-data pipeline: generate inputs, run, show checkpoints")
    psub = p.add_subparsers(dest="pipeline_command", metavar="SUBCOMMAND")
    psub.required = True
    g = psub.add_parser("generate", help="write synthetic depth files (random walk, bursts, gaps, snapshots)")
    g.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    g.add_argument("--format", choices=FORMATS, default="binance-depth")
    g.add_argument("--symbol", default="BTCUSDT")
    g.add_argument("--files", type=int_in(1, 10_000), default=3)
    g.add_argument("--events", type=int_in(1, 10**9), default=100_000, help="messages per file")
    g.add_argument("--gap-rate", type=float, default=0.001, help="probability a message is missed")
    g.add_argument("--depth", type=int_in(1, 100_000), default=50, help="levels per side")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--gzip", action="store_true", help="gzip-compress the files")
    g.set_defaults(run=run_generate)
    r = psub.add_parser(
        "run", help="rebuild the book from INPUT files, checkpointing (resumes automatically)"
    )
    r.add_argument("symbol", metavar="SYMBOL")
    r.add_argument("inputs", nargs="+", type=Path, metavar="INPUT")
    r.add_argument("--format", choices=FORMATS, default="binance-depth")
    r.add_argument("--checkpoint-dir", type=Path, default=None)
    r.add_argument("--every-events", type=int_in(1, 10**12), default=1_000_000)
    r.add_argument("--every-s", type=float, default=300.0)
    r.add_argument("--keep", type=int_in(1, 1000), default=3, help="checkpoints kept")
    r.add_argument("--sink", type=Path, default=None, metavar="DIR", help="write sampled top-N rows here")
    r.add_argument("--sink-every-ms", type=int_in(1, 10**9), default=1000)
    r.add_argument("--sink-levels", type=int_in(1, 1000), default=10)
    r.add_argument("--json", action="store_true", help="print the result as JSON")
    r.set_defaults(run=run_run)
    s = psub.add_parser("status", help="print a checkpoint directory's manifest and metrics")
    s.add_argument("checkpoint_dir", type=Path, metavar="CKPT_DIR")
    s.add_argument("--json", action="store_true", help="print the manifest as JSON")
    s.set_defaults(run=run_status)


def run_generate(args: argparse.Namespace) -> int:
    from pinnacle.pipeline import generate

    if not 0 <= args.gap_rate < 1:
        raise UsageError(f"--gap-rate {args.gap_rate} is not in [0, 1)")
    paths = generate(
        args.out_dir,
        symbol=args.symbol,
        format=args.format,
        files=args.files,
        events_per_file=args.events,
        seed=args.seed,
        gap_rate=args.gap_rate,
        depth=args.depth,
        gzip_files=args.gzip,
    )
    for p in paths:
        print(p)
    return EXIT_OK


def run_run(args: argparse.Namespace) -> int:
    from pinnacle.cli.recover_cmd import capture_log
    from pinnacle.pipeline import ParquetSink, Pipeline

    for path in args.inputs:
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
    if not args.every_s > 0:
        raise UsageError(f"--every-s {args.every_s} is not > 0")
    sink = ParquetSink(args.sink, every_ms=args.sink_every_ms, levels=args.sink_levels) if args.sink else None
    p = Pipeline(
        args.symbol,
        args.inputs,
        format=args.format,
        checkpoint_dir=args.checkpoint_dir,
        every_events=args.every_events,
        every_s=args.every_s,
        sink=sink,
        keep=args.keep,
    )
    tty = sys.stderr.isatty() and not args.json
    if tty:

        def progress(d: dict[str, Any]) -> None:
            print(
                f"\r{d['events']:>12,} events  {d['events_per_s']:>12,.0f} events/s  "
                f"{d['checkpoints']} checkpoints",
                end="",
                file=sys.stderr,
                flush=True,
            )

        p.on_progress = progress

    def warn(record: logging.LogRecord) -> None:
        print(("\n" if tty else "") + f"warning: {record.getMessage()}", file=sys.stderr, flush=True)

    # A checkpoint not used (damaged, and the previous one taken instead) is logged at
    # WARNING by the pipeline; the user sees why on stderr.
    with capture_log(logging.WARNING, on_record=warn):
        r = p.run()
    if tty:
        print(file=sys.stderr)
    doc = {
        "symbol": args.symbol,
        "events_processed": r.events_processed,
        "book_checksum": r.book_checksum,
        "stale": r.stale,
        "resumed_from": r.resumed_from,
        "gaps": {k: v for k, v in r.gaps.items() if k != "records"},
        "drift": r.drift,
        "metrics": r.metrics,
    }
    if args.json:
        print(json.dumps(doc, indent=1))
        return EXIT_OK
    m = r.metrics
    print(
        f"{args.symbol}: {r.events_processed:,} events "
        f"({m['events_this_run']:,} this run, {m['events_per_s']:,.0f}/s)"
    )
    if r.resumed_from is not None:
        print(f"resumed from checkpoint {r.resumed_from} in {m['resume_ms']:.1f} ms")
    print(
        f"gaps: {r.gaps['count']} {r.gaps['by_kind']}; snapshots {r.gaps['snapshots']}; book stale: {r.stale}"
    )
    d = r.drift
    print(f"drift (local - exchange): p50 {d['p50_us']} µs, p99 {d['p99_us']} µs, max {d['max_us']} µs")
    print(f"best bid {p.book.bids(1)}, best ask {p.book.asks(1)}, checksum {r.book_checksum:#010x}")
    return EXIT_OK


def run_status(args: argparse.Namespace) -> int:
    path = args.checkpoint_dir / "manifest.json"
    if not args.checkpoint_dir.is_dir():
        raise UsageError(f"{args.checkpoint_dir}: no such directory")
    try:
        doc = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise CliError(f"{path}: no manifest (no checkpoint yet)") from None
    except ValueError as err:
        raise CliError(f"{path}: unreadable manifest ({err}); 'pipeline run' rebuilds it") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("entries", []), list):
        raise CliError(
            f"{path}: damaged manifest (not an object with an entries list); 'pipeline run' rebuilds it"
        )
    if args.json:
        print(json.dumps(doc, indent=1))
        return EXIT_OK
    inputs = doc.get("inputs")
    print(
        f"symbol {doc.get('symbol')}  format {doc.get('format')}  "
        f"inputs {len(inputs) if isinstance(inputs, list) else '?'}"
    )
    print(f"{'seq':>6} {'events':>12} {'file':>5} {'offset':>12} {'size':>9} {'sync ms':>8} {'async ms':>9}")
    damaged = []
    for e in doc.get("entries", []):
        if not isinstance(e, dict) or any(not isinstance(e.get(k), int) for k in _STATUS_FIELDS):
            damaged.append(e.get("seq", "?") if isinstance(e, dict) else "?")
            continue
        print(
            f"{e['seq']:>6} {e['events_processed']:>12,} {e['file_index']:>5} {e['byte_offset']:>12,} "
            f"{_num(e, 'checkpointed_size'):>9,} {_num(e, 'sync_duration_ms'):>8.3f} "
            f"{_num(e, 'async_duration_ms'):>9.1f}"
        )
    if damaged:
        print(
            f"damaged manifest: entries {damaged} lack fields ({', '.join(_STATUS_FIELDS)}); "
            "'pipeline run' verifies the checkpoint files and rewrites it",
            file=sys.stderr,
        )
    return EXIT_OK


_STATUS_FIELDS = ("seq", "events_processed", "file_index", "byte_offset")


def _num(e: dict[str, Any], key: str) -> float:
    v = e.get(key, 0)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else 0
