"""The Spark notebooks' whole path at growing sizes: time per stage and memory.

For each size (rows of features), in a fresh process with the session a student
gets (``get_spark()`` defaults: ``SPARK_DRIVER_MEMORY`` or 2 GB):

1. generate the candles to Parquet (in another process: not timed, not counted
   in the memory), one symbol per million rows;
2. run :func:`course_helpers.spark_lesson.run_pipeline`, the notebooks' steps:
   read + features, scale, k-means with the notebooks' seeds, distances and the
   mean + 2 sigma threshold, the flags, the write, then the GMM fits and the
   log-likelihood threshold of notebook 02;
3. sample, every 0.2 s, the resident memory of this Python process (the
   driver's Python) and of its Java child (the JVM: driver, and in local mode
   the executors too), and keep the peaks.

Then, on ``--udf-rows`` rows (default 1,000,000), the native distance against
the seed's Python UDF, with ``benchmarks/bench_spark_distance.py``.

Every figure is also printed as a ratio against a baseline measured in the same
run (the smallest size, the k-means fits, the UDF), so that runs on different
machines compare. Machine load (other processes) changes the times: the load
average is printed before and after.

Usage::

    python benchmarks/bench_spark_pipeline.py 100000 1000000
    python benchmarks/bench_spark_pipeline.py 10000000 --udf-rows 0
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROWS_PER_SYMBOL = 1_000_000
WARM_UP = 24  # rows per symbol without a full window


class PeakMemory:
    """Peak RSS of this process and of its Java children, sampled in a thread."""

    def __init__(self, interval=0.2):
        import psutil

        self.process = psutil.Process()
        self.interval = interval
        self.python_peak = 0
        self.jvm_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psutil

        while not self._stop.is_set():
            try:
                self.python_peak = max(self.python_peak, self.process.memory_info().rss)
                for child in self.process.children(recursive=True):
                    if "java" in child.name():
                        self.jvm_peak = max(self.jvm_peak, child.memory_info().rss)
            except psutil.Error:
                pass
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def generate(folder, rows):
    """Candles for ``rows`` feature rows, one symbol per million, in a separate process."""
    symbols = max(1, math.ceil(rows / ROWS_PER_SYMBOL))
    per_symbol = math.ceil(rows / symbols) + WARM_UP
    names = [f"SYM{i:03d}USDT" for i in range(symbols)]
    code = (
        "import sys; from course_helpers.market_generator import write_candles_parquet; "
        f"write_candles_parquet(sys.argv[1], {per_symbol}, symbols={names!r})"
    )
    subprocess.run([sys.executable, "-c", code, str(folder)], check=True)
    return symbols, per_symbol


def run_one(rows, workdir, *, with_gmm=True):
    """One size, in this process: the JSON record printed by ``--one``."""
    from course_helpers.spark import get_spark
    from course_helpers.spark_lesson import run_pipeline

    data = Path(workdir) / "candles"
    symbols, _ = generate(data, rows)
    timings = {}
    with PeakMemory() as memory:
        start = time.perf_counter()
        spark = get_spark("bench-spark-pipeline")
        timings["session start"] = time.perf_counter() - start
        cores = spark.sparkContext.defaultParallelism
        result = run_pipeline(
            spark,
            str(data),
            output=str(Path(workdir) / "results"),
            with_gmm=with_gmm,
            timings=timings,
        )
        spark.stop()
    return {
        "rows": result["rows"],
        "symbols": symbols,
        "partitions": result["partitions"],
        "cores": cores,
        "timings": timings,
        "flagged": result["flagged"]["count"],
        "python_peak_mb": memory.python_peak / 2**20,
        "jvm_peak_mb": memory.jvm_peak / 2**20,
        "driver_memory": os.environ.get("SPARK_DRIVER_MEMORY", "default (2g)"),
    }


FITS = ("k-means fits", "GMM fits")


def print_table(records):
    stages = [k for k in records[0]["timings"] if k != "session start"]
    base = records[0]
    print()
    print(f"{'stage (s)':<24}" + "".join(f"{r['rows']:>14,}" for r in records))
    for stage in stages:
        print(f"{stage:<24}" + "".join(f"{r['timings'].get(stage, 0):>14.1f}" for r in records))
    totals = [sum(r["timings"][s] for s in stages) for r in records]
    print(f"{'total (no start-up)':<24}" + "".join(f"{t:>14.1f}" for t in totals))
    print(f"{'partitions':<24}" + "".join(f"{r['partitions']:>14}" for r in records))
    print(
        f"{'driver Python peak MB':<24}" + "".join(f"{r['python_peak_mb']:>14.0f}" for r in records)
    )
    print(f"{'JVM peak MB':<24}" + "".join(f"{r['jvm_peak_mb']:>14.0f}" for r in records))
    rate = [r["rows"] / t / r["cores"] for r, t in zip(records, totals, strict=True)]
    print(f"{'rows/s per core':<24}" + "".join(f"{x:>14,.0f}" for x in rate))
    print("\nratios (same run)")
    non_fit = [
        sum(v for k, v in r["timings"].items() if k not in FITS and k != "session start")
        for r in records
    ]
    fits = [sum(r["timings"].get(k, 0) for k in FITS) for r in records]
    print(
        f"{'non-fit / fit stages':<24}"
        + "".join(f"{a / b:>14.2f}" for a, b in zip(non_fit, fits, strict=True))
    )
    print(
        f"{'rows / smallest':<24}" + "".join(f"{r['rows'] / base['rows']:>14.1f}" for r in records)
    )
    print(f"{'time / smallest':<24}" + "".join(f"{t / totals[0]:>14.1f}" for t in totals))
    print(
        f"{'Python RSS / smallest':<24}"
        + "".join(f"{r['python_peak_mb'] / base['python_peak_mb']:>14.2f}" for r in records)
    )


def run_udf_comparison(rows):
    """bench_spark_distance.py on ``rows`` rows; its output, and its exit status."""
    result = subprocess.run(
        [
            sys.executable,
            str(HERE / "bench_spark_distance.py"),
            "--rows",
            str(rows),
            "--repeats",
            "1",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, result.stdout.strip()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[100_000, 1_000_000], help="rows")
    parser.add_argument("--udf-rows", type=int, default=1_000_000, help="0 to skip")
    parser.add_argument(
        "--no-gmm", action="store_true", help="skip notebook 02's GMM fits (the slowest stage)"
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.workdir, with_gmm=not args.no_gmm)))
        return 0
    if any(size < 1000 for size in args.sizes) or args.udf_rows < 0:
        parser.error("sizes must be at least 1000 rows, --udf-rows non-negative")
    print(f"load average before: {os.getloadavg()[0]:.1f} (cores: {os.cpu_count()})")
    records = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="bench-spark-") as workdir:
            start = time.perf_counter()
            run = subprocess.run(
                [sys.executable, __file__, "--one", str(size), "--workdir", workdir]
                + (["--no-gmm"] if args.no_gmm else []),
                capture_output=True,
                text=True,
                check=False,
            )
            if run.returncode != 0:
                print(f"{size:,} rows FAILED after {time.perf_counter() - start:.0f} s:")
                print(run.stderr[-3000:])
                break
            record = json.loads(run.stdout.strip().splitlines()[-1])
            records.append(record)
            print(
                f"{size:,} rows: done in {time.perf_counter() - start:.0f} s "
                f"(load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    if records:
        print_table(records)
    status = 0
    if args.udf_rows:
        status, output = run_udf_comparison(args.udf_rows)
        print(f"\nnative distance vs the seed's UDF, {args.udf_rows:,} rows:\n{output}")
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    return 0 if records and len(records) == len(args.sizes) and status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
