"""Hourly market candles for the Spark notebooks: generate, load, and turn into features.

Three jobs, one function each:

* :func:`generate_candles` makes realistic hourly BTCUSDT-like candles
  (volatility clustering, heavy tails, a daily volume rhythm, prices near
  90,000) with a documented set of **injected, labelled events**. The bundled
  data set (:func:`bundled_data_path`) was made with it.
* :func:`load_candles` reads a real candle file: a Binance kline CSV (12
  columns, no header) or a plain ``timestamp,open,high,low,close,volume`` CSV.
  It sorts the rows and reports gaps and duplicate timestamps.
* :func:`build_features` computes the six features of the notebooks, with
  exactly the definitions of the course (see its docstring).

:func:`load_market_data` ties them together the way the notebooks need it:
``DATA_PATH`` from the environment when it is set, the bundled file otherwise.
"""

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

__all__ = [
    "CANDLE_COLUMNS",
    "EVENT_KINDS",
    "FEATURE_COLUMNS",
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

#: Label of the rows where no event was injected.
NO_EVENT = "none"

#: The injected event kinds, with what each does to the candles.
EVENT_KINDS = {
    "flash_crash": "a -5.5% hour on 9x volume with a deep lower wick, then a +2.5% rebound on 4x volume",
    "pump": "two rising hours (+3.0%, +2.5%) on 6x and 5x volume",
    "volume_burst": "10x (and, later, 7x) volume while the price moves as usual",
    "volatility_regime": "12 hours in which the volatility is 3.5 times higher, on 2x volume",
    "wick": "a spike of the high 3.5% above the open that closes back where it started",
}

# Where the events sit, as a fraction of the series (so they scale with n_candles),
# and how many rows each labels.
_EVENT_PLACES = (
    ("volume_burst", 0.20, 1),
    ("pump", 0.35, 2),
    ("volatility_regime", 0.50, 12),
    ("flash_crash", 0.62, 2),
    ("volume_burst", 0.80, 1),
    ("wick", 0.90, 1),
)

# The smallest series that leaves room for the rolling window and every event.
_MIN_CANDLES_WITH_EVENTS = 200


class CandleDataWarning(UserWarning):
    """A candle file has gaps, duplicate timestamps or zero-volume candles."""


def _check_positive_int(value, *, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def generate_candles(
    n_candles=1000,
    *,
    seed=39,
    start="2025-12-10 00:00:00",
    start_price=90_000.0,
    with_events=True,
):
    """Generate realistic hourly candles with labelled, injected events.

    The model, step by step:

    * **Returns**: hourly log returns follow a GARCH(1, 1) process (so calm
      and turbulent periods cluster) driven by Student-t shocks with 4 degrees
      of freedom (heavy tails), about 0.45% a hour in the long run.
    * **Volume**: log volume is a daily rhythm (busiest around 15:00 UTC, when
      both Europe and the US trade), a slowly moving AR(1) level, and a term
      that rises with the size of the hour's move (big moves trade more).
    * **Candles**: each hour opens at the previous close; the high and low
      extend beyond open and close by a random wick that scales with the
      current volatility. Prices are rounded to cents and volumes to 5
      decimals, as on Binance.
    * **Events** (``with_events=True``): see :data:`EVENT_KINDS`. They sit at
      fixed fractions of the series (20%, 35%, 50%, 62%, 80%, 90%), and the
      ``event`` column names the kind on the rows they touch (``"none"``
      elsewhere). The events feed back into the volatility, as real shocks do.

    Parameters
    ----------
    n_candles : int, default=1000
        Number of hourly candles.
    seed : int, default=39
        Seed of the random generator; the same seed gives the same candles.
        The default made the bundled data set: among seeds 0-59 it is the only
        one whose price stays between 82,000 and 98,000, like the seed
        notebook's real window (Dec 2025 - Jan 2026).
    start : str or Timestamp, default="2025-12-10 00:00:00"
        Open time of the first candle (UTC, without a time zone).
    start_price : float, default=90000.0
        Open of the first candle.
    with_events : bool, default=True
        Whether to inject the events. Needs at least 200 candles.

    Returns
    -------
    candles : pandas.DataFrame
        Columns ``timestamp, open, high, low, close, volume, event``.
    """
    n_candles = _check_positive_int(n_candles, name="n_candles", minimum=WINDOW + 2)
    if with_events and n_candles < _MIN_CANDLES_WITH_EVENTS:
        raise ValueError(
            f"n_candles={n_candles} is too short for the injected events: "
            f"use at least {_MIN_CANDLES_WITH_EVENTS}, or with_events=False"
        )
    if not (np.isfinite(start_price) and start_price > 0):
        raise ValueError(f"start_price must be a positive number, got {start_price!r}")
    rng = np.random.default_rng(seed)
    timestamps = pd.date_range(pd.Timestamp(start), periods=n_candles, freq="h")

    # Event plan: which rows, what return, volume multiplier, volatility multiplier.
    event = np.full(n_candles, NO_EVENT, dtype=object)
    forced_return = np.full(n_candles, np.nan)
    volume_factor = np.ones(n_candles)
    vol_factor = np.ones(n_candles)
    wick_low = np.zeros(n_candles)  # extra depth of the lower wick, in log terms
    wick_high = np.zeros(n_candles)
    if with_events:
        for kind, where, length in _EVENT_PLACES:
            i = round(where * n_candles)
            rows = slice(i, i + length)
            event[rows] = kind
            if kind == "flash_crash":
                forced_return[i : i + 2] = np.log1p([-0.055, 0.025])
                volume_factor[i : i + 2] = (9.0, 4.0)
                wick_low[i] = 0.015
            elif kind == "pump":
                forced_return[i : i + 2] = np.log1p([0.030, 0.025])
                volume_factor[i : i + 2] = (6.0, 5.0)
            elif kind == "volume_burst":
                volume_factor[i] = 10.0 if where < 0.5 else 7.0
            elif kind == "volatility_regime":
                vol_factor[rows] = 3.5
                volume_factor[rows] = 2.0
            elif kind == "wick":
                forced_return[i] = 0.0005
                wick_high[i] = 0.035
                volume_factor[i] = 3.0

    # GARCH(1, 1) with Student-t(4) shocks scaled to unit variance.
    long_run_sigma = 0.0045
    alpha, beta = 0.08, 0.90
    omega = long_run_sigma**2 * (1 - alpha - beta)
    shocks = rng.standard_t(4, size=n_candles) / np.sqrt(2.0)
    log_returns = np.empty(n_candles)
    sigma = np.empty(n_candles)
    variance = long_run_sigma**2
    for t in range(n_candles):
        sigma[t] = np.sqrt(variance) * vol_factor[t]
        log_returns[t] = forced_return[t] if np.isfinite(forced_return[t]) else sigma[t] * shocks[t]
        # The regime multiplier is external, and the feedback of one hour is capped at
        # 4 sigma: otherwise a 12-sigma crash would make the process explode.
        feedback = min(abs(log_returns[t]) / vol_factor[t], 4 * np.sqrt(variance))
        variance = omega + alpha * feedback**2 + beta * variance
    log_returns[0] = 0.0 if not np.isfinite(forced_return[0]) else log_returns[0]

    closes = start_price * np.exp(np.cumsum(log_returns))
    opens = np.concatenate([[start_price], closes[:-1]])
    wick_scale = 0.45 * sigma
    high_wick = np.abs(rng.normal(size=n_candles)) * wick_scale + wick_high
    low_wick = np.abs(rng.normal(size=n_candles)) * wick_scale + wick_low
    highs = np.maximum(opens, closes) * np.exp(high_wick)
    lows = np.minimum(opens, closes) * np.exp(-low_wick)

    hours = timestamps.hour.to_numpy()
    daily_rhythm = 0.35 * np.cos(2 * np.pi * (hours - 15) / 24)
    level = np.empty(n_candles)
    noise = rng.normal(scale=0.22, size=n_candles)
    level[0] = noise[0]
    for t in range(1, n_candles):
        level[t] = 0.75 * level[t - 1] + noise[t]
    move = np.minimum(np.abs(log_returns) / long_run_sigma, 6.0)
    volumes = 850.0 * np.exp(daily_rhythm + level + 0.12 * move) * volume_factor

    candles = pd.DataFrame(
        {
            "timestamp": timestamps,
            "open": np.round(opens, 2),
            "high": np.round(highs, 2),
            "low": np.round(lows, 2),
            "close": np.round(closes, 2),
            "volume": np.round(volumes, 5),
            "event": event.astype(str),
        }
    )
    return candles


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


def resolve_data_path(path=None):
    """Return the candle file to use: ``path``, else ``$DATA_PATH``, else the bundled file.

    Parameters
    ----------
    path : str or Path, default=None
        An explicit file; when None, the environment variable ``DATA_PATH``
        is used if set (and not empty), and the bundled data set otherwise.

    Returns
    -------
    path : Path
        An existing file.

    Raises
    ------
    FileNotFoundError
        If the chosen file does not exist. The message names it, where the
        name came from, and the bundled default.
    """
    if path is not None:
        chosen, source = Path(path), "the path given"
    elif os.environ.get("DATA_PATH"):
        chosen, source = Path(os.environ["DATA_PATH"]), "DATA_PATH"
    else:
        return bundled_data_path()
    if not chosen.is_file():
        raise FileNotFoundError(
            f"candle file not found: {chosen} (from {source}). "
            f"Point DATA_PATH at a Binance kline CSV or a timestamp,open,high,low,close,volume "
            f"CSV, or unset it to use the bundled data set ({BUNDLED_FILE})."
        )
    return chosen


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
    """Read a candle file, sort it, and report gaps and duplicate timestamps.

    Two formats are recognised by their first line:

    * **Binance kline CSV** (``data.binance.vision``): 12 columns, no header.
      Open times are epoch milliseconds before 2025 and epoch **microseconds**
      from 2025-01-01 on; values above 1e14 are read as microseconds.
    * **Plain CSV** with a header holding at least
      ``timestamp, open, high, low, close, volume`` (in any order, any case).
      The timestamp may be a date string or an epoch number. A column
      ``event`` (the labels of generated data) is kept.

    What is done with irregular rows (the documented rule):

    * rows are sorted by timestamp;
    * **duplicate timestamps**: the first row is kept, and a
      :class:`CandleDataWarning` says how many were dropped;
    * **gaps** (a step longer than ``freq``) are *not* filled, because filling
      would invent prices: a :class:`CandleDataWarning` names the first
      ones, and the features then treat the rows on either side as
      consecutive;
    * **zero-volume candles** are kept here and handled by
      :func:`build_features`.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    freq : str, default="h"
        The expected spacing of the candles, as a pandas offset alias.

    Returns
    -------
    candles : pandas.DataFrame
        Columns ``timestamp`` (datetime64, UTC without a time zone), ``open``,
        ``high``, ``low``, ``close``, ``volume`` (floats) and ``event`` when
        the file has it. ``candles.attrs`` holds ``"source"`` (the path),
        ``"gaps"`` (a list of (after, before) timestamps) and
        ``"duplicates"`` (the number of rows dropped).
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
            raise ValueError(
                f"{path}: column {column!r} has a missing or non-numeric value "
                f"({table[column].iloc[row]!r}) at data row {row + 1}"
            )
        candles[column] = values.astype(float)
    if "event" in table.columns:
        candles["event"] = table["event"].fillna(NO_EVENT).astype(str)
    negative = (candles[list(CANDLE_COLUMNS[1:])] < 0).any(axis=1)
    if negative.any():
        row = int(np.flatnonzero(negative.to_numpy())[0])
        raise ValueError(f"{path}: negative price or volume at data row {row + 1}")

    candles = candles.sort_values("timestamp", kind="stable").reset_index(drop=True)
    duplicated = candles["timestamp"].duplicated(keep="first")
    n_duplicates = int(duplicated.sum())
    if n_duplicates:
        first = candles.loc[duplicated, "timestamp"].iloc[0]
        warnings.warn(
            f"{path.name}: {n_duplicates} duplicate timestamp(s) (first: {first}); "
            "kept the first row of each",
            CandleDataWarning,
            stacklevel=2,
        )
        candles = candles.loc[~duplicated].reset_index(drop=True)
    step = pd.Timedelta(to_offset(freq))
    jumps = candles["timestamp"].diff() > step
    gaps = [
        (candles["timestamp"].iloc[i - 1], candles["timestamp"].iloc[i])
        for i in np.flatnonzero(jumps.to_numpy())
    ]
    if gaps:
        shown = "; ".join(f"{a} -> {b}" for a, b in gaps[:3])
        more = f" and {len(gaps) - 3} more" if len(gaps) > 3 else ""
        warnings.warn(
            f"{path.name}: {len(gaps)} gap(s) longer than {freq} ({shown}{more}); "
            "they are not filled, so a return across a gap spans more than one candle",
            CandleDataWarning,
            stacklevel=2,
        )
    candles.attrs.update(source=str(path), gaps=gaps, duplicates=n_duplicates)
    return candles


def build_features(candles):
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

    The first 24 rows lack a full window and are dropped, so 1,000 candles
    give 976 rows.

    **Zero volume** (an exchange outage, a halted market): the candle after a
    zero-volume candle has an undefined ``volume_change`` (division by zero).
    Such rows are dropped, with a :class:`CandleDataWarning` that says how
    many and where; the zero-volume candle itself is kept (its change, -100%,
    is defined), and the rolling windows still see it.

    Parameters
    ----------
    candles : pandas.DataFrame
        Columns ``timestamp, open, high, low, close, volume`` in time order,
        e.g. from :func:`load_candles` or :func:`generate_candles`.

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

    features = features.iloc[WINDOW:]
    values = features[list(FEATURE_COLUMNS)].to_numpy(dtype=float)
    undefined = ~np.isfinite(values).all(axis=1)
    if undefined.any():
        where = features["timestamp"].iloc[np.flatnonzero(undefined)[:3]].astype(str).tolist()
        warnings.warn(
            f"dropped {int(undefined.sum())} row(s) whose features are undefined because the "
            f"previous candle (or a whole {WINDOW}-hour window) had zero volume (at {where})",
            CandleDataWarning,
            stacklevel=2,
        )
        features = features.loc[~undefined]
    return features.reset_index(drop=True)


def load_market_data(path=None):
    """Return the feature table the Spark notebooks start from.

    The candle file is ``path`` if given, else ``$DATA_PATH`` if set, else
    the bundled data set (see :func:`resolve_data_path`); it is read with
    :func:`load_candles` and turned into features with :func:`build_features`.

    Returns
    -------
    features : pandas.DataFrame
        See :func:`build_features`. ``features.attrs["source"]`` names the file.
    """
    source = resolve_data_path(path)
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
