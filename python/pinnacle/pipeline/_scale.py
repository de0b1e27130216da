"""run_pipelines: one pipeline per symbol on any ``concurrent.futures.Executor`` (a
process pool by default). Each spec is the keyword arguments of :class:`Pipeline`, so it
pickles; a worker that dies mid-run loses nothing: running the spec again resumes that
symbol from its checkpoint directory."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from pinnacle.errors import InvalidArgumentError
from pinnacle.pipeline._run import Pipeline, PipelineResult


def _run_one(spec: Mapping[str, Any]) -> PipelineResult:
    return Pipeline(**spec).run()


def run_pipelines(
    specs: Sequence[Mapping[str, Any]], executor: Executor | None = None
) -> dict[str, PipelineResult]:
    """Runs every spec (``Pipeline`` keyword arguments, ``symbol`` required and unique);
    returns each symbol's result. Raises the first failure after every run ended."""
    symbols = []
    for spec in specs:
        if not isinstance(spec, Mapping) or "symbol" not in spec:
            raise InvalidArgumentError("each spec must be a mapping of Pipeline arguments with a 'symbol'")
        symbols.append(spec["symbol"])
    if len(set(symbols)) != len(symbols):
        raise InvalidArgumentError("two specs name the same symbol")
    own = executor is None
    pool: Executor = ProcessPoolExecutor() if executor is None else executor
    try:
        futures = [pool.submit(_run_one, dict(spec)) for spec in specs]
        errors = [f.exception() for f in futures]
        for e in errors:
            if e is not None:
                raise e
        return {s: f.result() for s, f in zip(symbols, futures, strict=True)}
    finally:
        if own:
            pool.shutdown()
