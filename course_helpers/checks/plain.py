"""Plain data: how a check's answer travels from a student's kernel to the grader.

A check cell turns the student's objects into plain data (numbers, strings,
lists, dicts and NumPy arrays) with :func:`to_plain`, and, when the grader runs
the notebook, shows it as one output of the MIME type :data:`ANSWER_MIME`. The
grader reads that output from outside the kernel and decodes it with
:func:`from_plain`, which accepts nothing but these plain types: no pickle, no
object the student's code could have shaped, a bounded size and depth.

Arrays travel as their raw little-endian bytes (base64), so a float arrives
bit for bit, NaN and infinities included.
"""

import base64
import math

import numpy as np

ANSWER_MIME = "application/vnd.course-helpers.answer+json"

#: The array types an answer may hold (anything else is refused when decoding).
ARRAY_DTYPES = ("float64", "float32", "int64", "int32", "int16", "int8", "uint8", "bool")
#: Limits on what :func:`from_plain` accepts.
MAX_ELEMENTS = 5_000_000
MAX_DEPTH = 8
MAX_TEXT = 2_000
MAX_ITEMS = 100_000


class PlainDataError(ValueError):
    """Data that is not plain data as this module writes it."""


def to_plain(value, *, _depth=0):
    """Return ``value`` as JSON-ready plain data (never raises).

    Numbers, strings, booleans and None stay as they are (non-finite floats are
    tagged). NumPy arrays and scalars, lists of numbers, pandas objects and
    anything else :func:`numpy.asarray` turns into a numeric array become an
    array record. Dicts keep their keys (ints included). Anything else becomes
    ``{"__unsupported__": "<type name>"}``, which a judge can name in a hint.
    """
    try:
        return _to_plain(value, _depth)
    except Exception:  # a student's object may misbehave in any way
        return {"__unsupported__": _type_name(value)}


def _type_name(value):
    try:
        return type(value).__name__[:100]
    except Exception:
        return "object"


def _to_plain(value, depth):
    if depth > MAX_DEPTH:
        return {"__unsupported__": "nested too deeply"}
    if value is None or isinstance(value, (bool, str)):
        return value[:MAX_TEXT] if isinstance(value, str) else value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, dict):
        return {
            "__dict__": [
                [_to_plain(k, depth + 1), _to_plain(v, depth + 1)]
                for k, v in list(value.items())[:MAX_ITEMS]
            ]
        }
    if (
        isinstance(value, np.ndarray)
        or hasattr(value, "__array__")
        or isinstance(value, (list, tuple))
    ):
        try:
            array = np.asarray(value)
        except Exception:
            array = None
        if array is not None and array.dtype.name in ARRAY_DTYPES:
            return _array_record(array, _type_name(value))
        if array is not None and array.dtype.kind in "iuf":
            return _array_record(array.astype(np.float64), _type_name(value))
        if isinstance(value, (list, tuple)):
            return {"__list__": [_to_plain(v, depth + 1) for v in list(value)[:MAX_ITEMS]]}
    return {"__unsupported__": _type_name(value)}


def _array_record(array, type_name):
    # (not ascontiguousarray: it would make a 0-d array 1-d; tobytes is C order anyway)
    array = np.asarray(array, dtype=array.dtype.newbyteorder("<"))
    if array.size > MAX_ELEMENTS:
        return {"__unsupported__": f"{type_name} of {array.size} elements (too large)"}
    return {
        "__array__": {
            "dtype": array.dtype.name,
            "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes()).decode("ascii"),
            "type": type_name,
        }
    }


def from_plain(data, *, _depth=0):
    """Decode what :func:`to_plain` wrote; refuse anything else.

    Returns plain Python and NumPy values: None, bool, int, float, str, list,
    dict and :class:`numpy.ndarray`. An unsupported value comes back as an
    :class:`Unsupported` marker.

    Raises
    ------
    PlainDataError
        When ``data`` holds anything :func:`to_plain` would not write.
    """
    if _depth > MAX_DEPTH + 2:
        raise PlainDataError("nested too deeply")
    if data is None or isinstance(data, bool):
        return data
    if isinstance(data, int):
        return data
    if isinstance(data, float):
        return data
    if isinstance(data, str):
        if len(data) > MAX_TEXT:
            raise PlainDataError(f"a text of {len(data)} characters is too long")
        return data
    if isinstance(data, list):
        raise PlainDataError("a bare list (lists are written as __list__)")
    if not isinstance(data, dict) or len(data) != 1:
        raise PlainDataError(f"unexpected {type(data).__name__}")
    ((tag, body),) = data.items()
    if tag == "__float__":
        if body not in ("nan", "inf", "-inf"):
            raise PlainDataError(f"bad float {body!r}")
        return float(body)
    if tag == "__unsupported__":
        return Unsupported(str(body)[:MAX_TEXT])
    if tag == "__list__":
        _check_items(body)
        return [from_plain(item, _depth=_depth + 1) for item in body]
    if tag == "__dict__":
        _check_items(body)
        out = {}
        for pair in body:
            if not isinstance(pair, list) or len(pair) != 2:
                raise PlainDataError("a dict entry is not a [key, value] pair")
            key = from_plain(pair[0], _depth=_depth + 1)
            if not isinstance(key, (str, int, float, bool, type(None))):
                raise PlainDataError(f"a dict key of type {type(key).__name__}")
            out[key] = from_plain(pair[1], _depth=_depth + 1)
        return out
    if tag == "__array__":
        return _decode_array(body)
    raise PlainDataError(f"unknown tag {tag!r}")


def _check_items(body):
    if not isinstance(body, list) or len(body) > MAX_ITEMS:
        raise PlainDataError("a list that is not a list, or too long")


def _decode_array(body):
    if not isinstance(body, dict):
        raise PlainDataError("an array record that is not a dict")
    dtype, shape = body.get("dtype"), body.get("shape")
    if dtype not in ARRAY_DTYPES:
        raise PlainDataError(f"array dtype {dtype!r} is not allowed")
    if (
        not isinstance(shape, list)
        or len(shape) > 4
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise PlainDataError(f"bad array shape {shape!r}")
    size = math.prod(shape)
    if size > MAX_ELEMENTS:
        raise PlainDataError(f"an array of {size} elements is too large")
    try:
        raw = base64.b64decode(str(body.get("data", "")), validate=True)
    except ValueError as exc:
        raise PlainDataError(f"array data is not base64: {exc}") from None
    dtype = np.dtype(dtype).newbyteorder("<")
    if len(raw) != size * dtype.itemsize:
        raise PlainDataError("array data does not fit its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


class Unsupported(str):
    """An answer the check could not turn into plain data; its text is the type's name."""
