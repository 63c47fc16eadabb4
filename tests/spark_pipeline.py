"""Run the notebooks' Spark path as a script, for subprocesses on other masters.

The Spark tests compare its result across masters: ``local[1]``, ``local[2]``, a
standalone cluster and Spark Connect. Run as a script it starts its own session
(``get_spark`` reads ``SPARK_MASTER`` / ``SPARK_REMOTE`` like the notebooks), runs
:func:`course_helpers.spark_lesson.run_pipeline` on ``DATA_PATH`` (or the bundled
candles) and prints one JSON line::

    SPARK_MASTER=local[1] DATA_PATH=/tmp/candles python tests/spark_pipeline.py
"""

import json
import sys

#: JVM options that make a test session start faster. Tests only: they slow down
#: long computations (no optimising JIT).
FAST_JVM = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"
TEST_CONFIG = {
    "spark.driver.extraJavaOptions": FAST_JVM,
    "spark.executor.extraJavaOptions": FAST_JVM,
    "spark.executor.memory": "512m",
    "spark.sql.shuffle.partitions": "4",
}


def main():
    import os

    from course_helpers.spark import get_spark
    from course_helpers.spark_lesson import run_pipeline

    # PIPELINE_PARTITIONS splits even the bundled candles into several partitions, so that
    # the comparison between masters is not trivially one partition against one.
    partitions = (
        int(os.environ["PIPELINE_PARTITIONS"]) if "PIPELINE_PARTITIONS" in os.environ else None
    )
    # PIPELINE_DEFAULTS=1: the session a student gets (default memory, optimising JIT).
    config = None if os.environ.get("PIPELINE_DEFAULTS") == "1" else TEST_CONFIG
    spark = get_spark("course-test-pipeline", config=config)
    try:
        result = run_pipeline(
            spark, partitions=partitions, output=os.environ.get("PIPELINE_OUTPUT")
        )
    finally:
        spark.stop()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
