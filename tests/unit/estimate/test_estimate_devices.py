"""Device database: totals, aliases, other packages, unknown parts."""

import pytest

from tests.unit.estimate.models import dense_4x2
from trigc.errors import ConfigError
from trigc.estimate import DEVICES, UnknownPartError, estimate, lookup

REQUIRED = ["xcvu9p-flga2104-2L-e", "xcvu13p-flga2577-2-e", "xcku115-flvb2104-2-e",
            "xczu9eg-ffvb1156-2-e", "xcu250-figd2104-2L-e", "xcu55c-fsvh2892-2L-e"]


@pytest.mark.parametrize("part", REQUIRED)
def test_required_parts_are_known(part):
    device = lookup(part)
    assert device.part == part
    assert device.dsp > 0 and device.lut > 0 and device.ff == 2 * device.lut
    assert device.bram % 2 == 0  # BRAM_18K = 2 x BRAM36


def test_vu9p_totals_match_the_data_sheet():
    vu9p = lookup("xcvu9p-flga2104-2L-e")
    assert (vu9p.dsp, vu9p.lut, vu9p.ff, vu9p.bram) == (6840, 1_182_240, 2_364_480, 4320)
    assert lookup("xcku115-flvb2104-2-e").dsp == 5520


def test_aliases_and_other_packages():
    assert lookup("VU9P") is DEVICES["xcvu9p-flga2104-2L-e"]
    assert lookup("xcvu9p-flgb2104-2-i").name == "VU9P"  # another package and grade
    assert lookup("u250").name == "U250"


def test_unknown_part_lists_the_known_ones():
    with pytest.raises(UnknownPartError, match="Unknown FPGA part 'xc7a35t-cpg236-1'.*"
                                               "xcvu9p-flga2104-2L-e"):
        lookup("xc7a35t-cpg236-1")
    assert issubclass(UnknownPartError, ConfigError)
    # the estimator's settings are checked as compile's are (trigc.target.check_part)
    with pytest.raises(UnknownPartError, match="Unknown FPGA part 'xc7z020-clg400-1'; "
                                               "known dies: xcvu9p"):
        estimate(dense_4x2(), {"part": "xc7z020-clg400-1"})


def test_utilization_uses_the_device():
    est = estimate(dense_4x2(), {"part": "xczu9eg-ffvb1156-2-e"})
    assert est.utilization("dsp") == pytest.approx(100 * 2 / 2520)
