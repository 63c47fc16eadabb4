"""Notebook 01, unchanged, on a folder of raw Binance kline files for two symbols.

The instructor's path to real data: download monthly files, unzip them into one
folder, set DATA_PATH. The files here are made by the test (no download), in
Binance's format: 12 columns, no header, open times in microseconds (2025).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from course_helpers.setup.java import java_major_version

pytest.importorskip("pyspark")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]

if (java_major_version() or 0) < 17:
    pytest.skip("Spark 4 needs Java 17", allow_module_level=True)


def write_binance_klines(path, *, hours, price, seed):
    """One raw monthly kline file: a random walk with a daily volume rhythm."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-01-01", tz="UTC")
    close = price * np.exp(np.cumsum(rng.standard_t(4, hours) * 0.003))
    open_ = np.concatenate([[price], close[:-1]])
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.002, hours)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.002, hours)))
    volume = 500 * np.exp(rng.normal(0, 0.3, hours))
    lines = []
    for i in range(hours):
        t = int((start + pd.Timedelta(hours=i)).timestamp()) * 1_000_000
        lines.append(
            f"{t},{open_[i]:.2f},{high[i]:.2f},{low[i]:.2f},{close[i]:.2f},{volume[i]:.5f},"
            f"{t + 3_599_999_999},{close[i] * volume[i]:.4f},{int(volume[i] * 9)},"
            f"{volume[i] / 2:.5f},{close[i] * volume[i] / 2:.4f},0\n"
        )
    path.write_text("".join(lines))


def test_notebook_01_runs_unchanged_on_a_folder_of_two_symbols(tmp_path, monkeypatch):
    klines = tmp_path / "klines"
    klines.mkdir()
    write_binance_klines(klines / "BTCUSDT-1h-2025-01.csv", hours=400, price=94_000.0, seed=1)
    write_binance_klines(klines / "ETHUSDT-1h-2025-01.csv", hours=300, price=3_300.0, seed=2)
    monkeypatch.setenv("DATA_PATH", str(klines))
    monkeypatch.setenv("RESULTS_PATH", str(tmp_path / "results"))
    monkeypatch.setenv("SPARK_MASTER", "local[2]")
    monkeypatch.delenv("SPARK_REMOTE", raising=False)

    nb = nbformat.read(ROOT / "solutions" / "01_spark_kmeans.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError if any cell fails

    def printed(cell_id):
        cell = next(c for c in nb.cells if c.get("id") == cell_id)
        return "".join(o.get("text", "") for o in cell.outputs)

    assert "Rows: 652 (2 symbol(s): BTCUSDT, ETHUSDT)" in printed("load")
    assert "no event labels" in printed("evaluate")
    assert "✓" in printed("check-kmeans-best-seed") and "✓" in printed("check-kmeans-distance")
    written = list((tmp_path / "results" / "kmeans_results").glob("part-*.csv"))
    table = pd.concat(pd.read_csv(p) for p in written)
    assert sorted(table["symbol"].unique()) == ["BTCUSDT", "ETHUSDT"] and len(table) == 652
