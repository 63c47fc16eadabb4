"""Plain data: what a check sends out of the kernel, and all the grader will decode."""

import json

import numpy as np
import pandas as pd
import pytest

from course_helpers.checks.plain import PlainDataError, Unsupported, from_plain, to_plain


def wire(value):
    return from_plain(json.loads(json.dumps(to_plain(value), allow_nan=False)))


def test_round_trip_keeps_values_bit_for_bit():
    array = np.array([[0.1, np.nan], [np.inf, -0.0]])
    back = wire({"a": array, 3: [1, 2.5], "f": float("nan"), "s": "text", "n": None})
    np.testing.assert_array_equal(back["a"], array)
    assert np.signbit(back["a"][1, 1])
    np.testing.assert_array_equal(back[3], [1.0, 2.5])
    assert np.isnan(back["f"]) and back["s"] == "text" and back["n"] is None


def test_student_shapes_become_arrays():
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]})
    np.testing.assert_array_equal(wire(frame), [[1.0, 3.0], [2.0, 4.0]])
    assert wire(np.float32(1.5)) == 1.5 and wire(np.int64(7)) == 7
    assert wire(np.arange(3, dtype=np.float32)).dtype == np.float32
    ragged = wire([[1, 2], [3]])
    assert [list(part) for part in ragged] == [[1, 2], [3]]


def test_objects_become_unsupported_markers():
    class Weird:
        def __array__(self, *args, **kwargs):
            raise RuntimeError("no")

    for value in (Weird(), print, {1, 2}):
        assert isinstance(wire(value), Unsupported)


@pytest.mark.parametrize(
    "data",
    [
        [1, 2],
        {"__pickle__": "gASV"},
        {"__array__": {"dtype": "object", "shape": [1], "data": ""}},
        {"__array__": {"dtype": "float64", "shape": [2], "data": "AAAA"}},
        {"__array__": {"dtype": "float64", "shape": [10**9], "data": ""}},
        {"__float__": "1e999"},
        {"a": 1, "b": 2},
    ],
)
def test_decoding_refuses_anything_else(data):
    with pytest.raises(PlainDataError):
        from_plain(data)


def test_a_zero_dimensional_array_keeps_its_shape():
    back = wire(np.asarray(2.5))
    assert back.shape == () and back == 2.5
