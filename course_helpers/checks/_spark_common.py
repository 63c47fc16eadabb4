"""What the Spark checks share: reading columns back, and spotting a Python UDF."""

import numpy as np

from . import fail_unless

#: Operators in a physical plan that ship rows to Python workers.
_PYTHON_OPERATORS = ("BatchEvalPython", "ArrowEvalPython", "PythonUDF", "FlatMapGroupsInPandas")


def require_columns(df, columns, *, name, hint):
    """Fail unless ``df`` is a Spark DataFrame with all of ``columns``."""
    fail_unless(
        hasattr(df, "columns") and hasattr(df, "select"),
        f"{name} should be a Spark DataFrame, got {type(df).__name__}",
    )
    missing = [c for c in columns if c not in df.columns]
    fail_unless(not missing, f"{name} has no column {missing[0]!r} yet: {hint}" if missing else "")


def uses_python_udf(df, column):
    """Return True when computing ``column`` of ``df`` runs Python code per row.

    Reads the physical plan on a classic session; over Spark Connect (no
    ``_jdf``) the plan is not inspected and False is returned.
    """
    jdf = getattr(df.select(column), "_jdf", None)
    if jdf is None:
        return False
    plan = jdf.queryExecution().executedPlan().toString()
    return any(operator in plan for operator in _PYTHON_OPERATORS)


def collect_arrays(df, columns):
    """Collect ``columns`` of ``df`` into numpy arrays (vectors become 2-D arrays)."""
    rows = df.select(*columns).collect()
    out = {}
    for column in columns:
        values = [row[column] for row in rows]
        if values and hasattr(values[0], "toArray"):
            out[column] = np.array([v.toArray() for v in values], dtype=float)
        else:
            out[column] = np.array(values, dtype=float)
    return out
