"""What the Spark checks share: reading columns back, and spotting a Python UDF."""

import numpy as np

#: Operators in a physical plan that ship rows to Python workers.
_PYTHON_OPERATORS = ("BatchEvalPython", "ArrowEvalPython", "PythonUDF", "FlatMapGroupsInPandas")


def missing_columns(df, columns):
    """The ``columns`` that ``df`` lacks, or None when ``df`` is not a Spark DataFrame."""
    if not (hasattr(df, "columns") and hasattr(df, "select")):
        return None
    return [c for c in columns if c not in df.columns]


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


def spark_error_class(exc):
    """The error class of a Spark exception (``INVALID_INDEX_OF_ZERO``), else its type name."""
    getter = getattr(exc, "getCondition", None) or getattr(exc, "getErrorClass", None)
    try:
        name = getter() if getter else None
    except Exception:
        name = None
    return name or type(exc).__name__
