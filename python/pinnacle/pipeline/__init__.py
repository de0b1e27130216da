"""The market-data pipeline: rebuilds L2 books from exchange depth files (Binance
diff-depth JSON lines, tardis.dev incremental_book_L2 CSV; plain or gzip) in Rust, with
gap detection and drift metrics, checkpoints to Parquet without stopping, and exact
resume after a crash (no message applied twice, none skipped; sink output equal to an
uninterrupted run's). Parquet needs pyarrow: ``pip install 'pinnacle[pipeline]'``.

    from pinnacle.pipeline import Pipeline, ParquetSink
    p = Pipeline("BTCUSDT", inputs=[...], format="binance-depth", checkpoint_dir="ckpt",
                 every_events=1_000_000, every_s=300, sink=ParquetSink("out", every_ms=1000))
    result = p.run()
"""

from pinnacle.pipeline._arrow import MissingDependencyError
from pinnacle.pipeline._run import BookView, Pipeline, PipelineResult
from pinnacle.pipeline._scale import run_pipelines
from pinnacle.pipeline._sink import ParquetSink
from pinnacle.pipeline.generate import generate

__all__ = [
    "BookView",
    "MissingDependencyError",
    "ParquetSink",
    "Pipeline",
    "PipelineResult",
    "generate",
    "run_pipelines",
]
