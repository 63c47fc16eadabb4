"""The data rules, applied by pandas (market_data) and by Spark (spark_data): same tests, same verdicts.

Each test writes a small candle file and reads it with both. Expected values are
computed here from the hand-made candles (see test_market_data.reference_features).
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from test_market_data import binance_line, hourly_candles, reference_features, write_plain

from course_helpers.market_data import (
    FEATURE_COLUMNS,
    CandleDataError,
    CandleDataWarning,
    build_features,
    load_candles,
)

BACKENDS = ["pandas", "spark"]


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    from spark_pipeline import TEST_CONFIG

    from course_helpers.setup.java import java_major_version
    from course_helpers.spark import get_spark

    if (java_major_version() or 0) < 17:
        pytest.skip("Spark 4 needs Java 17")
    session = get_spark("course-rules", master="local[2]", config=TEST_CONFIG)
    yield session
    session.stop()


@pytest.fixture(params=BACKENDS)
def features_of(request):
    """A function: candle file -> feature table (pandas), by the backend under test."""
    if request.param == "pandas":
        return lambda path: build_features(load_candles(path))
    spark = request.getfixturevalue("spark")
    from course_helpers.spark_data import load_features

    def read(path):
        df, _ = load_features(spark, path)
        table = df.orderBy("symbol", "timestamp").toPandas()
        df.unpersist()
        return table.drop(columns="symbol")

    return read


def test_features_follow_the_definitions(features_of, tmp_path):
    candles = hourly_candles(80)
    features = features_of(write_plain(candles, tmp_path / "BTCUSDT.csv"))
    expected = reference_features(candles)
    assert len(features) == 80 - 24
    for column in FEATURE_COLUMNS:
        np.testing.assert_allclose(features[column], expected[column], rtol=1e-9, err_msg=column)


def test_a_gap_is_never_one_return(features_of, tmp_path):
    # 48 hours missing after row 29: the rows whose 24-hour window spans the gap go.
    candles = hourly_candles(150).drop(index=range(30, 78)).reset_index(drop=True)
    path = write_plain(candles, tmp_path / "gap.csv")
    with pytest.warns(CandleDataWarning, match=r"dropped 24 row\(s\).*gap") as record:
        features = features_of(path)
    assert "2024-03-04 06:00:00" in str(record[0].message)  # the first row after the gap
    assert len(features) == (30 - 24) + (72 - 24)
    steps = features["timestamp"].diff().dropna()
    # Kept rows either follow each other or sit a whole window beyond the gap.
    assert set(steps) == {pd.Timedelta(hours=1), pd.Timedelta(hours=1 + 48 + 24)}
    # No return spans the gap: every kept return is this candle over the previous hour's.
    by_time = candles.set_index("timestamp")["close"]
    previous = by_time.reindex(features["timestamp"] - pd.Timedelta(hours=1)).to_numpy()
    np.testing.assert_allclose(
        features["return"], (features["close"] / previous - 1) * 100, rtol=1e-12
    )


def test_identical_duplicates_are_dropped_and_reported(features_of, tmp_path):
    candles = hourly_candles(40)
    doubled = pd.concat([candles.iloc[20:], candles.iloc[:20], candles.iloc[[10]]])
    with pytest.warns(CandleDataWarning, match=r"dropped 1 duplicate row"):
        features = features_of(write_plain(doubled, tmp_path / "dup.csv"))
    assert len(features) == 40 - 24
    assert features["timestamp"].is_monotonic_increasing


def test_conflicting_duplicates_are_an_error_naming_the_timestamp(features_of, tmp_path):
    candles = hourly_candles(40)
    conflicting = pd.concat([candles, candles.iloc[[10]].assign(close=1.0)])
    with pytest.raises(CandleDataError, match=r"1 timestamp\(s\).*2024-03-01 10:00:00"):
        features_of(write_plain(conflicting, tmp_path / "conflict.csv"))


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("high", 1.0, "high below low"),
        ("close", 0.0, "non-positive price"),
        ("open", -5.0, "non-positive price"),
        ("volume", -1.0, "negative volume"),
    ],
)
def test_impossible_candles_are_an_error_naming_the_timestamp(
    features_of, tmp_path, column, value, problem
):
    candles = hourly_candles(40)
    candles.loc[[12, 30], column] = value
    with pytest.raises(CandleDataError, match=problem) as info:
        features_of(write_plain(candles, tmp_path / "bad.csv"))
    message = str(info.value)
    assert "2 row(s)" in message and "2024-03-01 12:00:00" in message
    assert "zero volume" not in message


def test_zero_volume_drops_the_row_whose_change_is_undefined(features_of, tmp_path):
    candles = hourly_candles(60)
    candles.loc[40, "volume"] = 0.0
    with pytest.warns(CandleDataWarning, match=r"dropped 1 row.*zero volume.*2024-03-02 17:00"):
        features = features_of(write_plain(candles, tmp_path / "zero.csv"))
    assert len(features) == 60 - 24 - 1
    kept = set(features["timestamp"])
    assert candles.loc[40, "timestamp"] in kept and candles.loc[41, "timestamp"] not in kept


def test_a_value_that_is_not_a_number_names_the_column(features_of, tmp_path):
    candles = hourly_candles(30).astype({"close": object})
    candles.loc[7, "close"] = "n/a"
    with pytest.raises(CandleDataError, match=r"'close' has a missing or non-numeric value"):
        features_of(write_plain(candles, tmp_path / "text.csv"))


def test_binance_milliseconds_and_microseconds(features_of, tmp_path):
    # 30 hours in 2024 (ms), then 30 in 2025 (µs), as Binance spot files switched units.
    start = pd.Timestamp("2024-12-31 18:00", tz="UTC")
    lines = []
    for hour in range(60):
        stamp = start + pd.Timedelta(hours=hour)
        unit = 1_000_000 if stamp.year >= 2025 else 1000
        lines.append(binance_line(int(stamp.timestamp()) * unit, 93_000.0 + 7 * hour, 10.0 + hour))
    path = tmp_path / "BTCUSDT-1h-2025-01.csv"
    path.write_text("".join(lines))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no gap across the change of unit
        features = features_of(path)
    assert len(features) == 60 - 24
    assert features["timestamp"].iloc[0] == pd.Timestamp("2025-01-01 18:00")
    assert features["close"].iloc[0] == 93_000.0 + 7 * 24 + 1


# --- Spark only: folders of files, several symbols -------------------------------------


def write_binance_month(folder, symbol, *, hours, price, seed):
    """A raw Binance kline file for one symbol, named like data.binance.vision's."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-01-01 00:00", tz="UTC")
    lines = []
    for hour in range(hours):
        open_time = int((start + pd.Timedelta(hours=hour)).timestamp()) * 1_000_000
        lines.append(binance_line(open_time, price * (1 + rng.normal(0, 0.002)), 5 + rng.random()))
    path = folder / f"{symbol}-1h-2025-01.csv"
    path.write_text("".join(lines))
    return path


def test_spark_reads_a_folder_of_two_symbols(spark, tmp_path):
    from course_helpers.spark_data import load_features

    write_binance_month(tmp_path, "BTCUSDT", hours=50, price=93_000.0, seed=1)
    write_binance_month(tmp_path, "ETHUSDT", hours=40, price=3_300.0, seed=2)
    df, report = load_features(spark, tmp_path)
    assert report.symbols == ["BTCUSDT", "ETHUSDT"] and report.rows == (50 - 24) + (40 - 24)
    assert report.warm_up == 48 and report.gaps == 0
    table = df.orderBy("symbol", "timestamp").toPandas()
    # The windows stop at the symbol: ETH's first return is ETH over ETH, not over BTC.
    eth = table[table["symbol"] == "ETHUSDT"]
    assert eth["return"].abs().max() < 5 and (eth["close"] < 4000).all()
    for symbol, group in table.groupby("symbol"):
        path = tmp_path / f"{symbol}-1h-2025-01.csv"
        alone = build_features(load_candles(path))
        np.testing.assert_allclose(group["volume_ratio"], alone["volume_ratio"], rtol=1e-12)


def test_spark_names_a_missing_column(spark, tmp_path):
    from course_helpers.spark_data import load_features

    path = write_plain(hourly_candles(30).drop(columns=["high"]), tmp_path / "bad.csv")
    with pytest.raises(CandleDataError, match=r"\['high'\]"):
        load_features(spark, path)


def test_spark_partitioning_depends_on_the_rows_only():
    from course_helpers.spark_data import partition_count

    assert partition_count(976) == 1
    assert partition_count(300_000) == 2
    assert partition_count(10_000_000, rows_per_partition=1_000_000) == 10
    with pytest.raises(ValueError, match="-1"):
        partition_count(-1)
