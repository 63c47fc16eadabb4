"""The market data path: generator, bundled file, feature builder and candle loader.

Reference values are computed here independently (plain loops, the statistics
module, hand-made files), never copied from course_helpers.market_data.
"""

import importlib.util
import math
import statistics
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from course_helpers.market_data import (
    FEATURE_COLUMNS,
    CandleDataError,
    CandleDataWarning,
    build_features,
    bundled_data_path,
    generate_candles,
    load_candles,
    load_market_data,
    resolve_data_path,
)

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "btcusdt_1h_synthetic.csv"


def hourly_candles(n, *, start="2024-03-01 00:00:00", seed=0):
    """A small, plain candle table (no events) built without the generator."""
    rng = np.random.default_rng(seed)
    close = 60_000 * np.exp(np.cumsum(rng.normal(scale=0.004, size=n)))
    open_ = np.concatenate([[60_000.0], close[:-1]])
    return pd.DataFrame(
        {
            "timestamp": pd.date_range(start, periods=n, freq="h"),
            "open": open_,
            "high": np.maximum(open_, close) * 1.002,
            "low": np.minimum(open_, close) * 0.997,
            "close": close,
            "volume": rng.uniform(100, 900, size=n),
        }
    )


def write_plain(candles, path):
    candles.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
    return path


# --- the bundled data set ------------------------------------------------------------


def test_bundled_file_is_what_the_seeded_generator_makes():
    on_disk = pd.read_csv(BUNDLED, parse_dates=["timestamp"])
    regenerated = generate_candles(1000, seed=39)
    assert list(on_disk.columns) == list(regenerated.columns)
    assert (on_disk["timestamp"] == regenerated["timestamp"]).all()
    # Prices are cents and volumes 5 decimals in the file: compare at that precision.
    for column, tolerance in [("open", 0.006), ("high", 0.006), ("low", 0.006), ("close", 0.006)]:
        np.testing.assert_allclose(on_disk[column], regenerated[column], rtol=0, atol=tolerance)
    np.testing.assert_allclose(on_disk["volume"], regenerated["volume"], rtol=0, atol=6e-6)
    assert (on_disk["event"] == regenerated["event"]).all()


def test_bundled_path_points_at_the_repository_file():
    assert bundled_data_path().resolve() == BUNDLED.resolve()


def test_bundled_data_gives_976_feature_rows_and_19_event_rows(monkeypatch):
    monkeypatch.delenv("DATA_PATH", raising=False)
    features = load_market_data()
    assert len(features) == 976  # 1,000 candles minus the 24-hour window
    assert features["timestamp"].iloc[0] == pd.Timestamp("2025-12-11 00:00:00")
    assert int(features["is_event"].sum()) == 19
    assert set(features["event"]) == {
        "none",
        "volume_burst",
        "pump",
        "volatility_regime",
        "flash_crash",
        "wick",
    }
    assert np.isfinite(features[list(FEATURE_COLUMNS)].to_numpy()).all()


def test_events_are_where_the_data_readme_says():
    candles = generate_candles(1000, seed=39)
    event_rows = candles.index[candles["event"] != "none"].tolist()
    assert event_rows == [200, 350, 351, *range(500, 512), 620, 621, 800, 900]
    crash = candles.loc[620]
    assert crash["close"] / crash["open"] - 1 == pytest.approx(-0.055, abs=1e-6)
    assert candles.loc[620, "volume"] > 5 * candles["volume"].median()
    # The volume burst leaves the price alone.
    burst = candles.loc[200]
    assert abs(burst["close"] / burst["open"] - 1) < 0.01
    assert burst["volume"] > 5 * candles["volume"].median()


def test_generated_candles_look_like_a_market():
    candles = generate_candles(5000, seed=7, with_events=False)
    returns = np.diff(np.log(candles["close"].to_numpy()))
    # Heavy tails: excess kurtosis well above a normal distribution's 0.
    standardised = (returns - returns.mean()) / returns.std()
    assert (standardised**4).mean() - 3 > 1.0

    # Volatility clustering: big moves follow big moves, the sign does not persist.
    def lag1(x):
        return np.corrcoef(x[:-1], x[1:])[0, 1]

    assert lag1(np.abs(returns)) > 0.1
    assert abs(lag1(returns)) < 0.1
    # A daily volume rhythm: afternoons (UTC) trade more than nights.
    by_hour = candles.groupby(candles["timestamp"].dt.hour)["volume"].median()
    assert by_hour.loc[13:17].mean() > 1.3 * by_hour.loc[1:5].mean()
    # Valid candles: high and low enclose open and close.
    assert (candles["high"] >= candles[["open", "close"]].max(axis=1)).all()
    assert (candles["low"] <= candles[["open", "close"]].min(axis=1)).all()
    assert (candles["volume"] > 0).all()


def test_generator_has_no_date_limit():
    # 3M hourly candles from 2025 run past pandas' nanosecond limit (2262).
    candles = generate_candles(3_000_000, seed=1, with_events=False)
    last = np.datetime64("2025-12-10T00", "h") + np.timedelta64(3_000_000 - 1, "h")
    assert candles["timestamp"].to_numpy()[-1] == last  # in the year 2368
    assert candles["timestamp"].is_monotonic_increasing


def test_streamed_parquet_holds_the_generated_series(tmp_path):
    from course_helpers.market_generator import write_candles_parquet

    folder = write_candles_parquet(tmp_path / "gen", 400, symbols=["AAA", "BBB"], seed=5)
    table = pd.read_parquet(folder).sort_values(["symbol", "timestamp"], ignore_index=True)
    assert sorted(p.name for p in folder.iterdir()) == [
        "AAA-1h-part00000.parquet",
        "BBB-1h-part00000.parquet",
    ]
    first = table[table["symbol"] == "AAA"].drop(columns="symbol").reset_index(drop=True)
    pd.testing.assert_frame_equal(first, generate_candles(400, seed=5))
    second = table[table["symbol"] == "BBB"].drop(columns="symbol").reset_index(drop=True)
    pd.testing.assert_frame_equal(second, generate_candles(400, seed=6))


def test_streamed_chunks_continue_one_series(tmp_path):
    from course_helpers.market_generator import write_candles_parquet

    folder = write_candles_parquet(tmp_path / "gen", 1000, chunk_size=300, seed=2)
    table = pd.read_parquet(folder)
    assert len(table) == 1000 and len(list(folder.iterdir())) == 4
    # Chunks join up: one hour apart, each opening at the previous close, events labelled.
    assert (table["timestamp"].diff().iloc[1:] == pd.Timedelta(hours=1)).all()
    np.testing.assert_array_equal(table["open"].iloc[1:], table["close"].iloc[:-1])
    assert table.index[table["event"] != "none"].tolist() == [
        200,
        350,
        351,
        *range(500, 512),
        620,
        621,
        800,
        900,
    ]
    crash = table.iloc[620]
    assert crash["close"] / crash["open"] - 1 == pytest.approx(-0.055, abs=1e-4)


def test_generator_is_seeded():
    a, b = generate_candles(300, seed=3), generate_candles(300, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not generate_candles(300, seed=4)["close"].equals(a["close"])


@pytest.mark.parametrize("bad", [0, 10, 2.5, "100"])
def test_generator_rejects_a_bad_length(bad):
    with pytest.raises(ValueError, match="n_candles"):
        generate_candles(bad)


# --- the feature builder -------------------------------------------------------------


def reference_features(candles):
    """The six features with plain loops and the statistics module."""
    close, volume = candles["close"].tolist(), candles["volume"].tolist()
    high, low = candles["high"].tolist(), candles["low"].tolist()
    log_returns = [math.nan] + [
        math.log(close[i] / close[i - 1]) * 100 for i in range(1, len(close))
    ]
    rows = []
    for i in range(24, len(close)):
        rows.append(
            {
                "return": (close[i] / close[i - 1] - 1) * 100,
                "log_return": log_returns[i],
                "volatility_24h": statistics.stdev(log_returns[i - 23 : i + 1]),
                "volume_change": (volume[i] / volume[i - 1] - 1) * 100,
                "volume_ratio": volume[i] / (sum(volume[i - 23 : i + 1]) / 24),
                "price_range": (high[i] - low[i]) / close[i] * 100,
            }
        )
    return pd.DataFrame(rows)


def test_features_follow_the_definitions():
    candles = hourly_candles(80)
    features = build_features(candles)
    expected = reference_features(candles)
    assert len(features) == 80 - 24
    for column in FEATURE_COLUMNS:
        np.testing.assert_allclose(features[column], expected[column], rtol=1e-9, err_msg=column)
    assert (features["timestamp"] == candles["timestamp"].iloc[24:].reset_index(drop=True)).all()


def test_features_name_missing_columns():
    with pytest.raises(ValueError, match=r"\['volume'\]"):
        build_features(hourly_candles(40).drop(columns="volume"))


def test_zero_volume_drops_the_row_whose_change_is_undefined():
    candles = hourly_candles(60)
    candles.loc[40, "volume"] = 0.0
    with pytest.warns(CandleDataWarning, match="zero volume"):
        features = build_features(candles)
    # Row 41's volume_change divides by zero: it goes; row 40 (change -100%) stays.
    assert len(features) == 60 - 24 - 1
    kept = set(features["timestamp"])
    assert candles.loc[40, "timestamp"] in kept
    assert candles.loc[41, "timestamp"] not in kept
    zero_row = features.loc[features["timestamp"] == candles.loc[40, "timestamp"]].iloc[0]
    assert zero_row["volume_change"] == pytest.approx(-100.0)
    assert np.isfinite(features[list(FEATURE_COLUMNS)].to_numpy()).all()


# --- the loader ----------------------------------------------------------------------


def test_plain_csv_round_trip(tmp_path):
    candles = hourly_candles(50)
    loaded = load_candles(write_plain(candles, tmp_path / "plain.csv"))
    assert list(loaded.columns) == ["timestamp", "open", "high", "low", "close", "volume"]
    assert (loaded["timestamp"] == candles["timestamp"]).all()
    np.testing.assert_allclose(loaded["close"], candles["close"], rtol=1e-12)
    assert loaded.attrs["gaps"] == [] and loaded.attrs["duplicates"] == 0


def test_plain_csv_columns_in_any_order_and_case(tmp_path):
    candles = hourly_candles(30)
    shuffled = candles[["volume", "close", "timestamp", "low", "high", "open"]]
    shuffled.columns = [c.upper() for c in shuffled.columns]
    loaded = load_candles(write_plain(shuffled, tmp_path / "shuffled.csv"))
    np.testing.assert_allclose(loaded["open"], candles["open"], rtol=1e-12)


def test_missing_columns_are_named(tmp_path):
    path = write_plain(hourly_candles(30).drop(columns=["high", "volume"]), tmp_path / "bad.csv")
    with pytest.raises(ValueError, match=r"\['high', 'volume'\]") as info:
        load_candles(path)
    assert "bad.csv" in str(info.value)


def binance_line(open_time, price, volume):
    """One row of a Binance kline CSV: 12 fields, no header."""
    return (
        f"{open_time},{price},{price + 10},{price - 10},{price + 1},{volume},"
        f"{open_time + 1},{price * volume},42,{volume / 2},{price * volume / 2},0\n"
    )


def test_binance_kline_csv_in_milliseconds_and_microseconds(tmp_path):
    # 2024-12-31 22:00 and 23:00 UTC in ms, then 2025-01-01 00:00 and 01:00 UTC in µs,
    # as Binance spot files switched units on 2025-01-01.
    ms_2024 = int(pd.Timestamp("2024-12-31 22:00", tz="UTC").timestamp() * 1000)
    us_2025 = int(pd.Timestamp("2025-01-01 00:00", tz="UTC").timestamp() * 1_000_000)
    lines = [
        binance_line(ms_2024, 93000.0, 12.5),
        binance_line(ms_2024 + 3_600_000, 93100.0, 13.5),
        binance_line(us_2025, 93200.0, 14.5),
        binance_line(us_2025 + 3_600_000_000, 93300.0, 15.5),
    ]
    path = tmp_path / "BTCUSDT-1h-mixed.csv"
    path.write_text("".join(lines))
    loaded = load_candles(path)
    assert loaded["timestamp"].tolist() == list(
        pd.date_range("2024-12-31 22:00", periods=4, freq="h")
    )
    assert loaded["close"].tolist() == [93001.0, 93101.0, 93201.0, 93301.0]
    assert loaded["volume"].tolist() == [12.5, 13.5, 14.5, 15.5]
    assert loaded.attrs["gaps"] == []


def test_headerless_file_with_the_wrong_width_is_explained(tmp_path):
    path = tmp_path / "six.csv"
    path.write_text("1704067200000,1,2,0.5,1.5,10\n")
    with pytest.raises(ValueError, match="12"):
        load_candles(path)


def test_clean_file_gives_no_warning(tmp_path):
    path = write_plain(hourly_candles(40), tmp_path / "clean.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_candles(path)


def test_non_numeric_value_is_located(tmp_path):
    candles = hourly_candles(30).astype({"close": object})
    candles.loc[7, "close"] = "n/a"
    with pytest.raises(CandleDataError, match=r"'close'.*row 8"):
        load_candles(write_plain(candles, tmp_path / "text.csv"))


# --- DATA_PATH -----------------------------------------------------------------------


def test_missing_data_path_names_the_file_and_the_bundled_default(monkeypatch, tmp_path):
    missing = tmp_path / "nowhere" / "BTCUSDT-1h.csv"
    monkeypatch.setenv("DATA_PATH", str(missing))
    with pytest.raises(FileNotFoundError) as info:
        load_market_data()
    message = str(info.value)
    assert str(missing) in message
    assert "DATA_PATH" in message
    assert "btcusdt_1h_synthetic.csv" in message


def test_data_path_from_the_environment_is_used(monkeypatch, tmp_path):
    path = write_plain(hourly_candles(50), tmp_path / "mine.csv")
    monkeypatch.setenv("DATA_PATH", str(path))
    assert resolve_data_path() == path
    features = load_market_data()
    assert len(features) == 50 - 24
    assert "is_event" not in features.columns  # real files have no labels
    assert features.attrs["source"] == str(path)


def test_empty_data_path_means_the_bundled_file(monkeypatch):
    monkeypatch.setenv("DATA_PATH", "")
    assert resolve_data_path().name == "btcusdt_1h_synthetic.csv"


# --- packaging -----------------------------------------------------------------------


@pytest.mark.skipif(importlib.util.find_spec("build") is None, reason="needs the build package")
def test_wheel_ships_the_bundled_data_and_finds_it(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "course_helpers/data/btcusdt_1h_synthetic.csv" in archive.namelist()
        archive.extractall(tmp_path / "site")
    # Import the unpacked wheel from an unrelated folder: the repository is not there.
    script = (
        "import course_helpers.market_data as m; p = m.bundled_data_path(); "
        "print(p); print(len(m.load_market_data(p)))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, 'site'); {script}"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    path, rows = result.stdout.split()
    assert Path(path).is_relative_to(tmp_path / "site")
    assert rows == "976"
