"""Hourly market candles with pandas: load a file, check it, and turn it into features.

* :func:`load_candles` reads a real candle file: a Binance kline CSV (12
  columns, no header) or a plain ``timestamp,open,high,low,close,volume`` CSV.
  It sorts the rows and applies the course's data rules (below).
* :func:`build_features` computes the six features of the notebooks, with
  exactly the definitions of the course (see its docstring).
* :func:`load_market_data` ties them together: ``DATA_PATH`` from the
  environment when it is set, the bundled file otherwise.

The generator of synthetic candles lives in :mod:`course_helpers.market_generator`
(re-exported here), and the same reading, rules and features in Spark, for data
that does not fit on one machine, in :mod:`course_helpers.spark_data`. This module
serves the tests and scikit-learn users; the Spark notebooks read with Spark.

**The data rules** (the same in pandas and Spark, tested against both):

* a value that is missing or not a number is an error naming the column;
* a non-positive price, a negative volume, or a high below the low is an
  error naming the first timestamps;
* duplicate timestamps: identical rows are dropped and reported; rows that
  disagree are an error naming the timestamps (there is no right one to keep);
* a gap is never bridged: a row whose 24-hour history is incomplete gets no
  features and is dropped (reported, with the count);
* a row whose ``volume_change`` or ``volume_ratio`` divides by a zero volume
  is dropped, reported as such.
"""

import glob
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from .market_generator import EVENT_KINDS, NO_EVENT, generate_candles

__all__ = [
    "CANDLE_COLUMNS",
    "EVENT_KINDS",
    "FEATURE_COLUMNS",
    "CandleDataError",
    "CandleDataWarning",
    "build_features",
    "bundled_data_path",
    "generate_candles",
    "load_candles",
    "load_market_data",
    "resolve_data_path",
    "write_candles",
]

#: The columns of a candle table, in order.
CANDLE_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")

#: The six features of the Spark notebooks, in the seeds' order.
FEATURE_COLUMNS = (
    "return",
    "log_return",
    "volatility_24h",
    "volume_change",
    "volume_ratio",
    "price_range",
)

#: Rolling window (hours) of ``volatility_24h`` and ``volume_ratio``.
WINDOW = 24

#: The name of the bundled data set (in ``data/`` and inside the wheel).
BUNDLED_FILE = "btcusdt_1h_synthetic.csv"


class CandleDataWarning(UserWarning):
    """Rows were dropped by a data rule: duplicates, gaps, or zero volumes."""


class CandleDataError(ValueError):
    """A candle file breaks a data rule that no drop can fix (see the module's rules)."""


#: Rows named in a message, at most.
_SHOWN = 3


def _examples(values, total):
    shown = ", ".join(str(v) for v in list(values)[:_SHOWN])
    more = f" and {total - _SHOWN} more" if total > _SHOWN else ""
    return f"{shown}{more}"


# The messages of the data rules: one text, whether pandas or Spark applied the rule.
def invalid_rows_message(source, problem, total, where):
    """The error for rows no drop can fix (``problem``: "high below low", ...)."""
    return (
        f"{source}: {total} row(s) with {problem} (at {_examples(where, total)}); "
        "fix or remove them in the file: the course will not guess the right values"
    )


def conflicting_duplicates_message(source, total, where):
    """The error for timestamps that appear twice with different values."""
    return (
        f"{source}: {total} timestamp(s) appear more than once with different values "
        f"(at {_examples(where, total)}); there is no right row to keep: remove the wrong ones"
    )


def identical_duplicates_message(source, total):
    """The report of identical duplicate rows, dropped."""
    return f"{source}: dropped {total} duplicate row(s) identical to another row"


def gap_message(source, total, where):
    """The report of rows dropped because their 24-hour window spans a gap."""
    return (
        f"{source}: dropped {total} row(s) whose {WINDOW}-hour window spans a gap in the "
        f"candles (first at {_examples(where, total)}); gaps are not filled, and a return "
        "across a gap is not an hourly return"
    )


def zero_volume_message(source, total, where):
    """The report of rows dropped because a volume feature divides by zero."""
    return (
        f"{source}: dropped {total} row(s) whose volume_change or volume_ratio is undefined "
        f"because the previous candle (or a whole {WINDOW}-hour window) had zero volume "
        f"(at {_examples(where, total)})"
    )


def bundled_data_path():
    """Return the path of the bundled candle file.

    The file lives in the repository's ``data/`` folder, and a copy ships
    inside the wheel as ``course_helpers/data/`` (so ``pip install`` from git,
    as on Colab, finds it without the repository).
    """
    package_dir = Path(__file__).resolve().parent
    candidates = (
        package_dir / "data" / BUNDLED_FILE,  # wheel install
        package_dir.parent / "data" / BUNDLED_FILE,  # editable install / repository
    )
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"the bundled data set {BUNDLED_FILE} is missing: looked in "
        + " and ".join(str(c) for c in candidates)
        + ". Reinstall course_helpers, or set DATA_PATH to a candle file."
    )


def is_remote_path(path):
    """Return True for a cluster file-system URL (``s3a://``, ``hdfs://``): Spark reads it, not Python."""
    return "://" in str(path) and not str(path).startswith("file://")


def resolve_data_path(path=None):
    """Return the candles to use: ``path``, else ``$DATA_PATH``, else the bundled file.

    Parameters
    ----------
    path : str or Path, default=None
        A file, a folder of files (e.g. Binance monthly kline CSVs of several
        symbols), a glob (``data/*-1h-2025-*.csv``) or a URL that Spark reads
        (``s3a://bucket/klines/``). When None, the environment variable
        ``DATA_PATH`` is used if set (and not empty), and the bundled data set
        otherwise.

    Returns
    -------
    path : Path or str
        A Path for local files and folders; a URL or a glob is returned as a
        string, unchanged.

    Raises
    ------
    FileNotFoundError
        If a local file, folder or glob matches nothing. The message names it,
        where the name came from, and the bundled default.
    """
    if path is not None:
        chosen, source = str(path), "the path given"
    elif os.environ.get("DATA_PATH"):
        chosen, source = os.environ["DATA_PATH"], "DATA_PATH"
    else:
        return bundled_data_path()
    if is_remote_path(chosen):
        return chosen  # a cluster file system: Spark checks it when it reads
    local = chosen.removeprefix("file://")
    if any(ch in local for ch in "*?["):
        if not glob.glob(local):
            raise FileNotFoundError(
                f"no candle file matches {local} (from {source}); "
                f"unset it to use the bundled data set ({BUNDLED_FILE})"
            )
        return chosen
    if not Path(local).exists():
        raise FileNotFoundError(
            f"candle file not found: {local} (from {source}). "
            f"Point DATA_PATH at a Binance kline CSV, a timestamp,open,high,low,close,volume "
            f"CSV, a Parquet file or a folder of them, or unset it to use the bundled data set "
            f"({BUNDLED_FILE})."
        )
    return Path(local)


def _to_datetime(values, *, path):
    """Parse open times: epoch numbers (s, ms or µs, by size) or date strings."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        numbers = numeric.to_numpy(dtype=float)
        # Binance spot files: milliseconds before 2025, microseconds from 2025-01-01 on.
        # Today in seconds is ~1.7e9, in ms ~1.7e12, in µs ~1.7e15.
        unit = np.where(numbers > 1e14, "us", np.where(numbers > 1e11, "ms", "s"))
        result = np.empty(len(numbers), dtype="datetime64[ns]")
        for u in ("s", "ms", "us"):
            mask = unit == u
            if mask.any():
                result[mask] = pd.to_datetime(numbers[mask].astype(np.int64), unit=u).to_numpy()
        return pd.Series(result, index=values.index)
    try:
        parsed = pd.to_datetime(values, utc=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: the timestamp column cannot be read as dates: {exc}") from None
    return parsed.dt.tz_convert("UTC").dt.tz_localize(None)


def _read_table(path):
    """Read a candle CSV of either supported format into the plain columns."""
    first_line = ""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                first_line = line.strip()
                break
    if not first_line:
        raise ValueError(f"{path} is empty: no candles to read")
    first_fields = [f.strip() for f in first_line.split(",")]
    try:
        float(first_fields[0])
        has_header = False
    except ValueError:
        has_header = True
    if not has_header:
        # Binance kline CSV: 12 columns, no header.
        if len(first_fields) != 12:
            raise ValueError(
                f"{path} has no header and {len(first_fields)} columns; a Binance kline CSV has 12 "
                "(open time, open, high, low, close, volume, close time, ...). A file with a "
                "header needs the columns timestamp, open, high, low, close, volume."
            )
        table = pd.read_csv(path, header=None)
        table = table.iloc[:, :6]
        table.columns = list(CANDLE_COLUMNS)
        return table
    table = pd.read_csv(path)
    table.columns = [str(c).strip().lower() for c in table.columns]
    # Binance futures files carry a header; their open time is "open_time".
    if "timestamp" not in table.columns and "open_time" in table.columns:
        table = table.rename(columns={"open_time": "timestamp"})
    missing = [c for c in CANDLE_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(
            f"{path} is missing the column(s) {missing}; a candle file needs "
            f"{', '.join(CANDLE_COLUMNS)} (found: {', '.join(map(str, table.columns))})"
        )
    keep = list(CANDLE_COLUMNS) + (["event"] if "event" in table.columns else [])
    return table[keep]


def load_candles(path, *, freq="h"):
    """Read a candle file with pandas, sort it, and apply the data rules.

    Two formats are recognised by their first line:

    * **Binance kline CSV** (``data.binance.vision``): 12 columns, no header.
      Open times are epoch milliseconds before 2025 and epoch **microseconds**
      from 2025-01-01 on; values above 1e14 are read as microseconds.
    * **Plain CSV** with a header holding at least
      ``timestamp, open, high, low, close, volume`` (in any order, any case).
      The timestamp may be a date string or an epoch number. A column
      ``event`` (the labels of generated data) is kept.

    The rules (see the module's docstring): missing or non-numeric values,
    non-positive prices, negative volumes, a high below the low and
    conflicting duplicates raise :class:`CandleDataError`; identical
    duplicates are dropped with a :class:`CandleDataWarning`; gaps are
    recorded, never filled (:func:`build_features` drops the rows whose
    window spans one).

    Parameters
    ----------
    path : str or Path
        The CSV file.
    freq : str, default="h"
        The expected spacing of the candles, as a pandas offset alias.

    Returns
    -------
    candles : pandas.DataFrame
        Columns ``timestamp`` (UTC without a time zone), ``open``, ``high``,
        ``low``, ``close``, ``volume`` (floats) and ``event`` when the file
        has it. ``candles.attrs`` holds ``"source"`` (the path), ``"gaps"``
        (a list of (after, before) timestamps) and ``"duplicates"`` (the
        number of identical rows dropped).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"candle file not found: {path}")
    table = _read_table(path)
    candles = pd.DataFrame({"timestamp": _to_datetime(table["timestamp"], path=path)})
    for column in CANDLE_COLUMNS[1:]:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise CandleDataError(
                f"{path}: column {column!r} has a missing or non-numeric value "
                f"({table[column].iloc[row]!r}) at data row {row + 1}"
            )
        candles[column] = values.astype(float)
    if "event" in table.columns:
        candles["event"] = table["event"].fillna(NO_EVENT).astype(str)
    check_candle_values(candles, source=path.name)

    candles = candles.sort_values("timestamp", kind="stable").reset_index(drop=True)
    candles, n_duplicates = _drop_identical_duplicates(candles, source=path.name)
    step = pd.Timedelta(to_offset(freq))
    jumps = candles["timestamp"].diff() > step
    gaps = [
        (candles["timestamp"].iloc[i - 1], candles["timestamp"].iloc[i])
        for i in np.flatnonzero(jumps.to_numpy())
    ]
    candles.attrs.update(source=str(path), gaps=gaps, duplicates=n_duplicates)
    return candles


def check_candle_values(candles, *, source="candles"):
    """Raise :class:`CandleDataError` for prices <= 0, volumes < 0 or a high below the low."""
    prices = candles[["open", "high", "low", "close"]]
    for problem, bad in (
        ("a non-positive price", (prices <= 0).any(axis=1)),
        ("a negative volume", candles["volume"] < 0),
        ("high below low", candles["high"] < candles["low"]),
    ):
        if bad.any():
            where = candles.loc[bad, "timestamp"].sort_values()
            raise CandleDataError(
                invalid_rows_message(source, problem, int(bad.sum()), where.astype(str))
            )


def _drop_identical_duplicates(candles, *, source):
    """Drop repeated identical rows; raise when one timestamp has different values."""
    keys = list(CANDLE_COLUMNS)
    identical = candles.duplicated(subset=keys, keep="first")
    n_identical = int(identical.sum())
    if n_identical:
        warnings.warn(
            identical_duplicates_message(source, n_identical), CandleDataWarning, stacklevel=3
        )
        candles = candles.loc[~identical].reset_index(drop=True)
    conflicting = candles["timestamp"].duplicated(keep=False)
    if conflicting.any():
        where = candles.loc[conflicting, "timestamp"].drop_duplicates().astype(str)
        raise CandleDataError(conflicting_duplicates_message(source, len(where), where))
    return candles, n_identical


def build_features(candles, *, freq="h"):
    """Compute the six features of the Spark notebooks.

    The definitions (``return`` and ``volume_change`` reproduce the seed's
    printed values on the real candles behind it):

    * ``return = close.pct_change() * 100``
    * ``log_return = ln(close / close.shift(1)) * 100``
    * ``volatility_24h`` = the 24-row rolling standard deviation (ddof=1) of
      ``log_return``
    * ``volume_change = volume.pct_change() * 100``
    * ``volume_ratio = volume / volume.rolling(24).mean()`` (the window
      includes the current row)
    * ``price_range = (high - low) / close * 100``

    A row needs the 24 candles before it, one ``freq`` apart: the first 24
    rows never have them (1,000 candles give 976 rows), and a row whose
    window spans a **gap** is dropped too, with a :class:`CandleDataWarning`
    (a return across a 48-hour gap is not an hourly return).

    **Zero volume** (an exchange outage, a halted market): the candle after a
    zero-volume candle has an undefined ``volume_change`` (division by zero).
    Such rows are dropped, with a :class:`CandleDataWarning` that says how
    many and where; the zero-volume candle itself is kept (its change, -100%,
    is defined), and the rolling windows still see it.

    Parameters
    ----------
    candles : pandas.DataFrame
        Columns ``timestamp, open, high, low, close, volume``, e.g. from
        :func:`load_candles` or :func:`generate_candles`. The rules of
        :func:`load_candles` apply (duplicates, non-positive prices, ...).
    freq : str, default="h"
        The spacing of the candles, as a pandas offset alias.

    Returns
    -------
    features : pandas.DataFrame
        ``timestamp``, ``open``, ``high``, ``low``, ``close``, ``volume``, the
        six features, and, when the candles have an ``event`` column, the
        ``event`` and ``is_event`` (1 where an event was injected) labels.
        The index runs from 0.
    """
    if not isinstance(candles, pd.DataFrame):
        raise TypeError(f"candles must be a pandas DataFrame, got {type(candles).__name__}")
    missing = [c for c in CANDLE_COLUMNS if c not in candles.columns]
    if missing:
        raise ValueError(
            f"candles is missing the column(s) {missing}; found {list(map(str, candles.columns))}"
        )
    if len(candles) <= WINDOW:
        raise ValueError(
            f"candles has {len(candles)} rows; at least {WINDOW + 1} are needed for the "
            f"{WINDOW}-hour windows"
        )
    source = str(candles.attrs.get("source", "candles"))
    source = Path(source).name if source != "candles" else source
    check_candle_values(candles, source=source)
    candles = candles.sort_values("timestamp", kind="stable").reset_index(drop=True)
    candles, _ = _drop_identical_duplicates(candles, source=source)
    close = candles["close"].astype(float)
    volume = candles["volume"].astype(float)
    features = candles[list(CANDLE_COLUMNS)].copy()
    features["return"] = close.pct_change() * 100
    features["log_return"] = np.log(close / close.shift(1)) * 100
    features["volatility_24h"] = features["log_return"].rolling(WINDOW).std()
    with np.errstate(divide="ignore", invalid="ignore"):
        features["volume_change"] = volume.pct_change() * 100
        features["volume_ratio"] = volume / volume.rolling(WINDOW).mean()
    features["price_range"] = (candles["high"] - candles["low"]) / close * 100
    if "event" in candles.columns:
        features["event"] = candles["event"].astype(str)
        features["is_event"] = (features["event"] != NO_EVENT).astype(int)

    # A full history: the candle 24 rows back is exactly 24 steps earlier (rows are
    # sorted and unique, so nothing is missing in between).
    step = pd.Timedelta(to_offset(freq))
    span = features["timestamp"] - features["timestamp"].shift(WINDOW)
    complete = (span == WINDOW * step).to_numpy()
    complete[:WINDOW] = False
    warm_up = np.zeros(len(features), dtype=bool)
    warm_up[:WINDOW] = True
    across_gap = ~complete & ~warm_up
    if across_gap.any():
        where = features.loc[across_gap, "timestamp"].astype(str)
        warnings.warn(
            gap_message(source, int(across_gap.sum()), where), CandleDataWarning, stacklevel=2
        )
    values = features[list(FEATURE_COLUMNS)].to_numpy(dtype=float)
    undefined = complete & ~np.isfinite(values).all(axis=1)
    if undefined.any():
        where = features.loc[undefined, "timestamp"].astype(str)
        warnings.warn(
            zero_volume_message(source, int(undefined.sum()), where),
            CandleDataWarning,
            stacklevel=2,
        )
    features = features.loc[complete & ~undefined]
    return features.reset_index(drop=True)


def load_market_data(path=None):
    """Return the feature table of one candle file, built with pandas.

    The candle file is ``path`` if given, else ``$DATA_PATH`` if set, else
    the bundled data set (see :func:`resolve_data_path`); it is read with
    :func:`load_candles` and turned into features with :func:`build_features`.
    The Spark notebooks use :func:`course_helpers.spark_data.load_features`
    instead, which also reads folders, globs and Parquet, and never holds the
    data on the driver.

    Returns
    -------
    features : pandas.DataFrame
        See :func:`build_features`. ``features.attrs["source"]`` names the file.
    """
    source = resolve_data_path(path)
    if not (isinstance(source, Path) and source.is_file()):
        raise ValueError(
            f"{source} is not a single file: pandas reads one CSV; read folders, globs and "
            "URLs with course_helpers.spark_data.load_features"
        )
    features = build_features(load_candles(source))
    features.attrs["source"] = str(source)
    return features


def write_candles(candles, path):
    """Write candles as a plain CSV (``timestamp`` as ``YYYY-MM-DD HH:MM:SS``)."""
    candles.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")


def main(argv=None):
    """``python -m course_helpers.market_data OUT.csv`` regenerates the bundled data set."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m course_helpers.market_data",
        description="Write the generated candles (the bundled data set by default) to a CSV.",
    )
    parser.add_argument("out", help=f"output file, e.g. data/{BUNDLED_FILE}")
    parser.add_argument("--candles", type=int, default=1000, help="number of hourly candles")
    parser.add_argument("--seed", type=int, default=39, help="random seed")
    args = parser.parse_args(argv)
    candles = generate_candles(args.candles, seed=args.seed)
    write_candles(candles, args.out)
    print(f"wrote {len(candles)} candles to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
