"""Candles in Spark, from the file to the features, with nothing whole on the driver.

The Spark notebooks start here. :func:`load_features` reads the candles with
``spark.read`` (a plain CSV, Binance's raw 12-column kline CSVs, or Parquet; a
file, a folder or a glob, one symbol or many), applies the course's data rules
(the same as the pandas loader's, see :mod:`course_helpers.market_data`),
builds the six features with window functions partitioned by symbol, and
splits the rows into a fixed number of partitions keyed by symbol and time.
The driver only ever receives counts, a few example rows, and bounded
summaries.

Why the fixed partitioning: Spark's k-means|| initialisation samples each
partition with its own random stream, so its result depends on how the rows
are split. Hash-partitioning on ``(symbol, timestamp)`` into a number of
partitions that depends only on the number of rows, then sorting each
partition, gives every row the same partition and position on 1 core, 2
cores or a cluster.

The figure helpers (:func:`downsampled_series`, :func:`histogram`,
:func:`threshold_sweep`, :func:`bounded_sample`) return small pandas tables
computed by Spark, whatever the size of the data.
"""

import glob
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .market_data import (
    CANDLE_COLUMNS,
    FEATURE_COLUMNS,
    NO_EVENT,
    WINDOW,
    CandleDataError,
    CandleDataWarning,
    conflicting_duplicates_message,
    gap_message,
    identical_duplicates_message,
    invalid_rows_message,
    is_remote_path,
    resolve_data_path,
    zero_volume_message,
)

__all__ = [
    "ROWS_PER_PARTITION",
    "FeatureReport",
    "bounded_sample",
    "build_features",
    "confusion_counts_spark",
    "downsampled_series",
    "histogram",
    "load_features",
    "partition_count",
    "read_candles",
    "threshold_sweep",
]

#: Rows per partition of the feature table (see :func:`partition_count`).
ROWS_PER_PARTITION = 200_000

#: The 12 columns of a Binance kline CSV (no header in spot files).
BINANCE_COLUMNS = (
    "timestamp",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_buy_base",
    "taker_buy_quote",
    "ignore",
)

_PRICES = ("open", "high", "low", "close")


def _local_files(path):
    """The local files a Spark path names (a file, a folder's files, or a glob)."""
    local = path.removeprefix("file://")
    if any(ch in local for ch in "*?["):
        matches = sorted(glob.glob(local))
    elif os.path.isdir(local):
        matches = sorted(
            os.path.join(root, name)
            for root, _, names in os.walk(local)
            for name in names
            if not name.startswith((".", "_"))
        )
    else:
        matches = [local]
    return [m for m in matches if os.path.isfile(m)]


def _detect_format(spark, path, files):
    """ "parquet", "csv-header" or "csv-binance", from the names and the first line."""
    names = files or [path]
    if all(str(n).endswith(".parquet") for n in names):
        return "parquet", None
    if any(str(n).endswith(".zip") for n in names):
        raise CandleDataError(
            f"{path}: Spark cannot read .zip files; unzip the Binance downloads first "
            "(each holds one CSV)"
        )
    if files:
        with open(files[0], encoding="utf-8") as handle:
            first = next((line.strip() for line in handle if line.strip()), "")
    else:  # a cluster file system: let Spark read the first line
        row = spark.read.text(path).limit(1).collect()
        first = row[0][0].strip() if row else ""
    if not first:
        raise CandleDataError(f"{path} is empty: no candles to read")
    fields = [f.strip() for f in first.split(",")]
    try:
        float(fields[0])
    except ValueError:
        return "csv-header", fields
    if len(fields) != len(BINANCE_COLUMNS):
        raise CandleDataError(
            f"{path} has no header and {len(fields)} columns; a Binance kline CSV has 12 "
            "(open time, open, high, low, close, volume, close time, ...). A file with a "
            "header needs the columns timestamp, open, high, low, close, volume."
        )
    return "csv-binance", fields


def read_candles(spark, path=None):
    """Read candles with Spark and check their values: a lazy DataFrame.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    path : str or Path, default=None
        A file, a folder or a glob of CSV or Parquet files, or a URL
        (``s3a://``, ``hdfs://``). None means ``$DATA_PATH``, else the bundled
        data set (:func:`~course_helpers.market_data.resolve_data_path`).
        Formats, recognised by the file names and the first line:

        * Binance kline CSV: 12 columns, no header; open times in epoch
          milliseconds before 2025 and microseconds from 2025-01-01 (values
          above 1e14 are read as microseconds);
        * a CSV with a header holding ``timestamp, open, high, low, close,
          volume`` (any order and case; ``open_time`` is accepted, as in
          Binance's futures files); timestamps as dates or epoch numbers;
        * Parquet with those columns (``timestamp`` a timestamp).

        A ``symbol`` column is kept; without one, the symbol is the leading
        letters and digits of each file's name, upper-cased
        (``BTCUSDT-1h-2025-01.csv`` gives ``BTCUSDT``). An ``event`` column
        (generated data's labels) is kept.

    Returns
    -------
    candles : pyspark.sql.DataFrame
        ``symbol, timestamp, open, high, low, close, volume`` (and ``event``).

    Raises
    ------
    CandleDataError
        A missing column, a value that is not a number or a date, a
        non-positive price, a negative volume, or a high below the low. The
        message names the first timestamps (one small Spark job checks all
        rows).
    """
    from pyspark.sql import functions as F

    source = resolve_data_path(path)
    path = str(source)
    files = [] if is_remote_path(path) else _local_files(path)
    if not is_remote_path(path) and not files:
        raise FileNotFoundError(f"no candle file in {path}")
    kind, _ = _detect_format(spark, path, files)
    read_path = path.removeprefix("file://")
    if kind == "parquet":
        raw = spark.read.parquet(read_path)
    elif kind == "csv-binance":
        schema = ", ".join(f"`{name}` STRING" for name in BINANCE_COLUMNS)
        raw = spark.read.csv(read_path, header=False, schema=schema)
    else:
        raw = spark.read.option("header", True).csv(read_path)
    renamed = {c: c.strip().lower() for c in raw.columns}
    if "timestamp" not in renamed.values() and "open_time" in renamed.values():
        renamed = {c: ("timestamp" if n == "open_time" else n) for c, n in renamed.items()}
    raw = raw.select(
        *[F.col(f"`{c}`").alias(n) for c, n in renamed.items()],
        F.col("_metadata.file_name").alias("_file"),
    )
    missing = [c for c in CANDLE_COLUMNS if c not in raw.columns]
    if missing:
        found = ", ".join(c for c in raw.columns if c != "_file")
        raise CandleDataError(
            f"{path} is missing the column(s) {missing}; a candle file needs "
            f"{', '.join(CANDLE_COLUMNS)} (found: {found})"
        )

    if "symbol" in raw.columns:
        symbol = F.upper(F.col("symbol").cast("string"))
    else:
        symbol = F.upper(F.regexp_extract("_file", r"^([A-Za-z0-9]+)", 1))
    stamp = F.col("timestamp")
    type_name = dict(raw.dtypes)["timestamp"]
    if type_name.startswith("timestamp"):
        timestamp = stamp.cast("timestamp")
    elif type_name in ("bigint", "int", "double"):
        timestamp = _epoch_to_timestamp(stamp.cast("long"))
    else:
        text = F.trim(stamp.cast("string"))
        timestamp = F.when(
            text.rlike(r"^[0-9]+$"), _epoch_to_timestamp(text.try_cast("long"))
        ).otherwise(F.try_to_timestamp(text))
    columns = [
        symbol.alias("symbol"),
        timestamp.alias("timestamp"),
        *[F.col(c).try_cast("double").alias(c) for c in CANDLE_COLUMNS[1:]],
    ]
    if "event" in raw.columns:
        columns.append(F.coalesce(F.col("event").cast("string"), F.lit(NO_EVENT)).alias("event"))
    raw_values = [F.col(c).cast("string").alias(f"_raw_{c}") for c in CANDLE_COLUMNS]
    candles = raw.select(*columns, *raw_values)
    _check_values(candles, source=path)
    return candles.drop(*[f"_raw_{c}" for c in CANDLE_COLUMNS])


def _epoch_to_timestamp(number):
    """Epoch seconds, milliseconds or microseconds (told apart by size) as a timestamp."""
    from pyspark.sql import functions as F

    micros = (
        F.when(number > F.lit(10**14), number)
        .when(number > F.lit(10**11), number * 1000)
        .otherwise(number * 1_000_000)
    )
    return F.timestamp_micros(micros)


def _check_values(candles, *, source):
    """One Spark job counts every rule's violations; the first few are named."""
    from pyspark.sql import functions as F

    price_bad = None
    for c in _PRICES:
        term = F.col(c) <= 0
        price_bad = term if price_bad is None else price_bad | term
    unreadable = {c: F.col(c).isNull() for c in CANDLE_COLUMNS}
    rules = {
        "a non-positive price": price_bad,
        "a negative volume": F.col("volume") < 0,
        "high below low": F.col("high") < F.col("low"),
    }
    counts = candles.agg(
        *[F.count_if(cond).alias(f"unreadable_{c}") for c, cond in unreadable.items()],
        *[F.count_if(cond).alias(problem) for problem, cond in rules.items()],
    ).first()
    for column, cond in unreadable.items():
        if counts[f"unreadable_{column}"]:
            row = candles.filter(cond).select(f"_raw_{column}", "_raw_timestamp").first()
            what = "date" if column == "timestamp" else "numeric"
            raise CandleDataError(
                f"{source}: column {column!r} has a missing or non-{what} value "
                f"({row[0]!r}) in {counts[f'unreadable_{column}']} row(s), "
                f"e.g. the row with timestamp {row[1]!r}"
            )
    for problem, cond in rules.items():
        total = counts[problem]
        if total:
            where = _first_timestamps(candles.filter(cond))
            raise CandleDataError(invalid_rows_message(source, problem, total, where))


def _first_timestamps(df, n=3):
    from pyspark.sql import functions as F

    rows = (
        df.select(F.date_format("timestamp", "yyyy-MM-dd HH:mm:ss").alias("t"), "symbol")
        .orderBy("t", "symbol")
        .limit(n)
        .collect()
    )
    symbols = {row["symbol"] for row in rows}
    if len(symbols) > 1:
        return [f"{row['symbol']} {row['t']}" for row in rows]
    return [row["t"] for row in rows]


def _interval_micros(freq):
    from pandas.tseries.frequencies import to_offset

    try:
        step = pd.Timedelta(to_offset(freq))
    except (ValueError, TypeError):
        raise ValueError(f"freq must be a pandas offset alias such as 'h', got {freq!r}") from None
    return int(step / pd.Timedelta(microseconds=1))


def build_features(candles, *, freq="h", source="candles"):
    """The six features of the notebooks, with window functions per symbol; lazy.

    The definitions are those of
    :func:`course_helpers.market_data.build_features`, and so are the rules:
    identical duplicates are dropped; conflicting duplicates raise
    :class:`~course_helpers.market_data.CandleDataError`; a row needs the 24
    candles before it, one ``freq`` apart (so a gap is never bridged); rows
    whose volume features divide by zero are dropped.

    Returns
    -------
    features : pyspark.sql.DataFrame
        The candles, the six features, ``is_event`` when there are labels,
        and the columns ``_keep`` (a usable row), ``_warm_up`` (among the
        first 24 of its symbol), ``_gap`` (its window spans a gap) and
        ``_zero_volume``, the duplicates counted per symbol (on its first
        row: ``_identical_count``, ``_conflict_count``) and ``_conflict``.
        :func:`load_features` counts, filters and reports them in one job.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    step = _interval_micros(freq)
    values = list(CANDLE_COLUMNS[1:])
    # Ordering by the values too puts identical rows next to each other.
    by_time = Window.partitionBy("symbol").orderBy("timestamp", *values)
    previous = [F.lag(c).over(by_time) for c in ["timestamp", *values]]
    same_time = F.col("timestamp") == previous[0]
    same_values = None
    for c, prev in zip(values, previous[1:], strict=True):
        term = F.col(c) == prev
        same_values = term if same_values is None else same_values & term
    identical = F.coalesce(same_time & same_values, F.lit(False))
    conflict = F.coalesce(same_time & ~same_values, F.lit(False))
    marked = candles.withColumn("_identical", identical).withColumn("_conflict", conflict)
    # Counted per symbol, on its first row (never a duplicate): they survive the filter
    # below, so the one summary job of load_features also counts the duplicates.
    whole_symbol = Window.partitionBy("symbol")
    first_row = F.lag("timestamp").over(by_time).isNull()
    marked = marked.select(
        "*",
        F.when(first_row, F.sum(F.col("_identical").cast("long")).over(whole_symbol)).alias(
            "_identical_count"
        ),
        F.when(first_row, F.sum(F.col("_conflict").cast("long")).over(whole_symbol)).alias(
            "_conflict_count"
        ),
    )
    unique = marked.filter(~F.col("_identical")).drop("_identical")

    w = Window.partitionBy("symbol").orderBy("timestamp")
    last_24 = w.rowsBetween(-(WINDOW - 1), 0)
    micros = F.unix_micros("timestamp")
    prev_close = F.lag("close").over(w)
    prev_volume = F.lag("volume").over(w)
    mean_volume = F.avg("volume").over(last_24)
    # Every division is guarded: Spark's ANSI mode raises on a division by zero, and
    # broken rows must reach the rules' report, not a Spark error.
    ratio = F.when(prev_close > 0, F.col("close") / prev_close)
    stage = unique.select(
        "*",
        ((ratio - 1) * 100).alias("return"),
        (F.ln(ratio) * 100).alias("log_return"),
        F.when(prev_volume > 0, (F.col("volume") / prev_volume - 1) * 100).alias("volume_change"),
        F.when(mean_volume > 0, F.col("volume") / mean_volume).alias("volume_ratio"),
        F.when(F.col("close") > 0, (F.col("high") - F.col("low")) / F.col("close") * 100).alias(
            "price_range"
        ),
        # The candle 24 rows back is exactly 24 steps earlier: nothing missing between.
        ((micros - F.unix_micros(F.lag("timestamp", WINDOW).over(w))) == WINDOW * step).alias(
            "_complete"
        ),
        (F.row_number().over(w) <= WINDOW).alias("_warm_up"),
    )
    stage = stage.withColumn("volatility_24h", F.stddev_samp("log_return").over(last_24))
    complete = F.coalesce(F.col("_complete"), F.lit(False))
    defined = F.col("volume_change").isNotNull() & F.col("volume_ratio").isNotNull()
    columns = ["symbol", *CANDLE_COLUMNS, *FEATURE_COLUMNS]
    extra = []
    if "event" in candles.columns:
        columns.append("event")
        extra.append((F.col("event") != NO_EVENT).cast("int").alias("is_event"))
    features = stage.select(
        *columns,
        *extra,
        (complete & defined).alias("_keep"),
        F.col("_warm_up"),
        (~complete & ~F.col("_warm_up")).alias("_gap"),
        (complete & ~defined).alias("_zero_volume"),
        "_identical_count",
        "_conflict_count",
        "_conflict",
    )
    return features


def partition_count(n_rows, *, rows_per_partition=ROWS_PER_PARTITION):
    """The number of partitions for ``n_rows``: one per ``rows_per_partition``, at least 1.

    It depends on the data only, never on the machine, so that k-means gives
    the same result everywhere (see the module's docstring).
    """
    if isinstance(n_rows, bool) or not isinstance(n_rows, int) or n_rows < 0:
        raise ValueError(f"n_rows must be a non-negative integer, got {n_rows!r}")
    if (
        isinstance(rows_per_partition, bool)
        or not isinstance(rows_per_partition, int)
        or rows_per_partition < 1
    ):
        raise ValueError(
            f"rows_per_partition must be a positive integer, got {rows_per_partition!r}"
        )
    return max(1, math.ceil(n_rows / rows_per_partition))


@dataclass(frozen=True)
class FeatureReport:
    """What :func:`load_features` read, kept and dropped (all counted by Spark).

    Attributes
    ----------
    source : str
    rows : int
        Feature rows kept.
    symbols : list of str
        The symbols, sorted (at most 20 listed; ``n_symbols`` counts them all).
    n_symbols : int
    first, last : str
        The first and last kept timestamps (``YYYY-MM-DD HH:MM:SS``).
    event_rows : int or None
        Rows with an injected event; None when the data has no labels.
    warm_up : int
        Rows dropped for lack of a full window: the first 24 of each symbol.
    gaps : int
        Rows dropped because their window spans a gap.
    zero_volume : int
        Rows dropped because a volume feature divides by zero.
    duplicates : int
        Identical duplicate rows dropped.
    partitions : int
        Partitions of the feature table (:func:`partition_count`).
    """

    source: str
    rows: int
    symbols: list
    n_symbols: int
    first: str
    last: str
    event_rows: int | None
    warm_up: int
    gaps: int
    zero_volume: int
    duplicates: int
    partitions: int


def load_features(
    spark,
    path=None,
    *,
    freq="h",
    partitions=None,
    rows_per_partition=ROWS_PER_PARTITION,
):
    """Read candles, apply the data rules, build the features: the notebooks' first step.

    Nothing whole reaches the driver: one Spark job checks the values, one
    counts duplicates, gaps and what was kept (raising or warning from the
    counts), and one writes the partitioned, persisted result. Dropped
    rows are reported with a :class:`~course_helpers.market_data.CandleDataWarning`
    each rule (gaps, zero volumes, duplicates); broken data raises
    :class:`~course_helpers.market_data.CandleDataError`.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    path : str or Path, default=None
        See :func:`read_candles`.
    freq : str, default="h"
        The spacing of the candles.
    partitions : int, default=None
        Partitions of the result. None: :func:`partition_count` of the rows.
    rows_per_partition : int, default=200_000
        Used when ``partitions`` is None.

    Returns
    -------
    features : pyspark.sql.DataFrame
        ``symbol, timestamp, open, high, low, close, volume``, the six
        features, and ``event, is_event`` for labelled data; hash-partitioned
        on ``(symbol, timestamp)`` into a fixed number of partitions, each
        sorted by symbol and time, and persisted on disk (``DISK_ONLY``: the
        notebooks cache the scaled copy in memory; two copies in memory ran a
        2 GB driver out of heap at 10 million rows).
    report : FeatureReport
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    if partitions is not None and (
        isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1
    ):
        raise ValueError(f"partitions must be a positive integer or None, got {partitions!r}")
    source = str(resolve_data_path(path))
    name = source if is_remote_path(source) else Path(source.removeprefix("file://")).name
    candles = read_candles(spark, source)
    # Persisted for the two passes below (the report, then the repartitioned copy), so the
    # file is read and the windows computed once; released once the copy exists. On disk:
    # its partitions hold whole symbols (a million rows each), too big to unroll in memory.
    features = build_features(candles, freq=freq, source=name).persist(StorageLevel.DISK_ONLY)
    summary = features.agg(
        F.sum("_identical_count").alias("duplicates"),
        F.sum("_conflict_count").alias("conflicts"),
        F.slice(F.array_sort(F.collect_set("symbol")), 1, 20).alias("symbols"),
        F.count_if("_keep").alias("rows"),
        F.count_if("_warm_up").alias("warm_up"),
        F.count_if("_gap").alias("gaps"),
        F.count_if("_zero_volume").alias("zero_volume"),
        F.countDistinct("symbol").alias("n_symbols"),
        F.date_format(
            F.min(F.when(F.col("_keep"), F.col("timestamp"))), "yyyy-MM-dd HH:mm:ss"
        ).alias("first"),
        F.date_format(
            F.max(F.when(F.col("_keep"), F.col("timestamp"))), "yyyy-MM-dd HH:mm:ss"
        ).alias("last"),
        *(
            [F.sum(F.when(F.col("_keep"), F.col("is_event"))).alias("event_rows")]
            if "is_event" in features.columns
            else []
        ),
    ).first()
    if summary["conflicts"]:
        where = _first_timestamps(features.filter("_conflict"))
        features.unpersist()
        raise CandleDataError(conflicting_duplicates_message(name, summary["conflicts"], where))
    duplicates = summary["duplicates"] or 0
    if duplicates:
        warnings.warn(
            identical_duplicates_message(name, duplicates), CandleDataWarning, stacklevel=2
        )
    if summary["gaps"]:
        where = _first_timestamps(features.filter("_gap"))
        warnings.warn(gap_message(name, summary["gaps"], where), CandleDataWarning, stacklevel=2)
    if summary["zero_volume"]:
        where = _first_timestamps(features.filter("_zero_volume"))
        warnings.warn(
            zero_volume_message(name, summary["zero_volume"], where),
            CandleDataWarning,
            stacklevel=2,
        )
    if not summary["rows"]:
        features.unpersist()
        raise CandleDataError(
            f"{name}: no row has a full {WINDOW}-hour window; each symbol needs at least "
            f"{WINDOW + 1} consecutive candles"
        )
    n_partitions = partitions or partition_count(
        summary["rows"], rows_per_partition=rows_per_partition
    )
    kept = (
        features.filter("_keep")
        .drop(
            "_keep",
            "_warm_up",
            "_gap",
            "_zero_volume",
            "_identical_count",
            "_conflict_count",
            "_conflict",
        )
        .repartition(n_partitions, "symbol", "timestamp")
        .sortWithinPartitions("symbol", "timestamp")
        .persist(StorageLevel.DISK_ONLY)
    )
    kept.count()
    features.unpersist()
    report = FeatureReport(
        source=name,
        rows=summary["rows"],
        symbols=list(summary["symbols"]),
        n_symbols=summary["n_symbols"],
        first=summary["first"],
        last=summary["last"],
        event_rows=summary.asDict().get("event_rows"),
        warm_up=summary["warm_up"],
        gaps=summary["gaps"],
        zero_volume=summary["zero_volume"],
        duplicates=duplicates,
        partitions=n_partitions,
    )
    return kept, report


# --- bounded views for figures and tables ------------------------------------------------


def bounded_sample(df, *, max_rows=5000, seed=0, total=None):
    """Up to ``max_rows`` rows of ``df`` as pandas: all of them if there are few, else a seeded sample.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        Select only the columns you need first.
    max_rows : int, default=5000
    seed : int, default=0
        Seed of Spark's sampler (the sample depends on the partitioning, which
        :func:`load_features` fixes).
    total : int, default=None
        ``df.count()`` when already known.
    """
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
        raise ValueError(f"max_rows must be a positive integer, got {max_rows!r}")
    total = df.count() if total is None else total
    if total > max_rows:
        # A little more than needed, then cut: the sampler's count varies around the fraction.
        df = df.sample(fraction=min(1.0, 1.2 * max_rows / total), seed=seed).limit(max_rows)
    return df.toPandas()


def downsampled_series(df, columns, *, max_points=2000, how="max", symbol=None):
    """A time series of at most ``max_points`` points per column, aggregated by Spark.

    The time axis is cut into ``max_points`` equal buckets; each bucket gives
    one point, the ``how`` (``"max"``, ``"mean"``, ``"last"``) of its rows.
    With fewer rows than buckets, every row is its own point (the series is
    returned unchanged).

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        With ``timestamp`` (and ``symbol``).
    columns : list of str
    max_points : int, default=2000
    how : {"max", "mean", "last"}, default="max"
        "max" keeps spikes visible, which is what an anomaly figure needs.
    symbol : str, default=None
        Keep one symbol (the first in sort order when None and there are several).

    Returns
    -------
    pandas.DataFrame
        ``timestamp`` and the columns, in time order.
    """
    from pyspark.sql import functions as F

    if how not in ("max", "mean", "last"):
        raise ValueError(f"how must be 'max', 'mean' or 'last', got {how!r}")
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 2:
        raise ValueError(f"max_points must be an integer >= 2, got {max_points!r}")
    columns = list(columns)
    if "symbol" in df.columns:
        if symbol is None:
            symbol = df.agg(F.min("symbol")).first()[0]
        df = df.filter(F.col("symbol") == symbol)
    micros = F.unix_micros("timestamp")
    bounds = df.agg(F.min(micros).alias("lo"), F.max(micros).alias("hi"), F.count("*")).first()
    if bounds[2] <= max_points:
        return df.select("timestamp", *columns).orderBy("timestamp").toPandas()
    width = (bounds["hi"] - bounds["lo"]) / max_points
    bucket = F.least(F.floor((micros - bounds["lo"]) / width), F.lit(max_points - 1))
    if how == "last":
        aggregates = [F.max_by(c, "timestamp").alias(c) for c in columns]  # the bucket's last value
    else:
        function = F.max if how == "max" else F.mean
        aggregates = [function(c).alias(c) for c in columns]
    return (
        df.groupBy(bucket.alias("_bucket"))
        .agg(F.min("timestamp").alias("timestamp"), *aggregates)
        .orderBy("_bucket")
        .drop("_bucket")
        .toPandas()
    )


def histogram(df, column, *, bins=60, log=False):
    """Bin counts of ``column``, computed by Spark: ``(edges, counts)`` as NumPy arrays.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
    column : str
    bins : int, default=60
    log : bool, default=False
        Logarithmic bins (for positive, skewed values such as distances).
    """
    import numpy as np
    from pyspark.sql import functions as F

    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    value = F.col(column)
    if log:
        value = F.log10(value)
    stats = df.agg(F.min(value).alias("lo"), F.max(value).alias("hi")).first()
    lo, hi = stats["lo"], stats["hi"]
    if lo is None:
        raise ValueError(f"column {column!r} has no values")
    width = (hi - lo) / bins if hi > lo else 1.0
    index = F.least(F.floor((value - lo) / width).cast("int"), F.lit(bins - 1))
    rows = df.groupBy(index.alias("b")).count().collect()
    counts = np.zeros(bins, dtype=int)
    for row in rows:
        counts[row["b"]] = row["count"]
    edges = lo + width * np.arange(bins + 1)
    return (10**edges if log else edges), counts


def threshold_sweep(df, score, label, *, max_rows=5000, descending=True):
    """Precision and recall at every distinct threshold among the top ``max_rows`` scores.

    Spark orders the rows by ``score`` (most anomalous first), keeps the top
    ``max_rows`` (all rows when there are fewer), and counts, for each
    distinct score ``t`` among them, the rows and the labelled rows at or
    beyond ``t``: flagging ``score >= t`` (or ``<= t`` when
    ``descending=False``) gives the precision and recall below.

    Returns
    -------
    pandas.DataFrame
        ``threshold, flagged, true_positives, precision, recall``, from the
        strictest threshold to the loosest.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
        raise ValueError(f"max_rows must be a positive integer, got {max_rows!r}")
    positives = df.agg(F.sum(F.col(label).cast("long"))).first()[0] or 0
    order = F.col(score).desc() if descending else F.col(score).asc()
    top = df.select(F.col(score).alias("threshold"), F.col(label).cast("long").alias("y"))
    top = top.orderBy(order).limit(max_rows)
    per_value = top.groupBy("threshold").agg(F.count("*").alias("n"), F.sum("y").alias("tp"))
    ordering = F.col("threshold").desc() if descending else F.col("threshold").asc()
    # At most max_rows rows: a window without partitions is fine here.
    running = Window.orderBy(ordering).rowsBetween(Window.unboundedPreceding, 0)
    sweep = (
        per_value.select(
            "threshold",
            F.sum("n").over(running).alias("flagged"),
            F.sum("tp").over(running).alias("true_positives"),
        )
        .orderBy(ordering)
        .toPandas()
    )
    sweep["precision"] = sweep["true_positives"] / sweep["flagged"]
    sweep["recall"] = sweep["true_positives"] / positives if positives else float("nan")
    return sweep


def confusion_counts_spark(df, *, label="is_event", flag="is_anomaly"):
    """:class:`~course_helpers.counting.ConfusionCounts` of a flag column, counted by Spark."""
    from pyspark.sql import functions as F

    from .counting import ConfusionCounts

    y, p = F.col(label) == 1, F.col(flag) == 1
    row = df.agg(
        F.count_if(y & p).alias("tp"),
        F.count_if(~y & p).alias("fp"),
        F.count_if(~y & ~p).alias("tn"),
        F.count_if(y & ~p).alias("fn"),
    ).first()
    return ConfusionCounts(row["tp"], row["fp"], row["tn"], row["fn"])
