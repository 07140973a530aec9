"""trigc.quantizers: QONNX Quant semantics shared by the frontends and the passes."""

from __future__ import annotations

import numpy as np
import pytest

from trigc.errors import UnsupportedOpError
from trigc.quantizers import MAX_BIT_WIDTH, check_bit_width, format_values, int_range, quant


@pytest.mark.parametrize("signed, narrow, bits, expected", [
    (True, False, 4, (-8, 7)), (True, True, 4, (-7, 7)),
    (False, False, 4, (0, 15)), (False, True, 4, (0, 14)), (True, False, 1, (-1, 0))])
def test_int_range(signed, narrow, bits, expected):
    assert int_range(signed, narrow, bits) == expected


def test_quant_rounds_clips_and_rescales():
    x = np.array([-3.0, -0.3, 0.25, 0.75, 1.3, 9.0])
    got = quant(x, 0.5, 0.0, 4, True, False, "ROUND")  # grid 0.5, range [-4, 3.5]
    np.testing.assert_array_equal(got, [-3.0, -0.5, 0.0, 1.0, 1.5, 3.5])
    np.testing.assert_array_equal(quant(x, 0.5, 0.0, 4, True, False, "FLOOR")[:3],
                                  [-3.0, -0.5, 0.0])
    np.testing.assert_array_equal(quant(x, 2.0, 0.0, 1, True, False, "ROUND"),
                                  [-2, -2, 2, 2, 2, 2])  # 1-bit signed: a sign


def test_check_bit_width():
    assert check_bit_width(np.array(8.0), "bit width", "node 'q'") == 8
    assert check_bit_width(np.array([MAX_BIT_WIDTH]), "bit width", "n") == MAX_BIT_WIDTH
    for bad, match in [([4, 8], "has 2 values \\[4., 8.\\]"), (np.nan, "is nan"),
                       (3.5, "3.5 is not an integer"), (0, "0 is out of range")]:
        with pytest.raises(UnsupportedOpError, match=match):
            check_bit_width(np.asarray(bad, dtype=float), "bit width", "node 'q'")


def test_format_values():
    assert format_values(np.array([0.5])) == "0.5"
    assert format_values(np.arange(6.0)) == "[0., 1., 2., 3., ...]"
