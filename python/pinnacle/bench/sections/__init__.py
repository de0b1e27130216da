"""Benchmark sections, one module per area; ``ALL`` is the order ``run.py`` runs them in.

A section module exposes ``SECTION`` (a ``harness.Section``): its ``run(ctx)`` returns tables,
metrics and plot series, and its ``targets`` are checked against those metrics. To add an area
(order books, persistence), add a module here and list its ``SECTION`` below.
"""

from pinnacle.bench.harness import Section
from pinnacle.bench.sections import append, book, bulk, durable, ledger, pipeline, recovery, security

ALL: tuple[Section, ...] = (
    append.SECTION,
    bulk.SECTION,
    durable.SECTION,
    recovery.SECTION,
    book.SECTION,
    ledger.SECTION,
    security.SECTION,
    pipeline.SECTION,
)
