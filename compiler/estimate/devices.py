"""FPGA device database: resource totals for utilization percentages.

Totals are the device-level figures of the AMD/Xilinx product tables:

- Virtex UltraScale+ (VU9P, VU13P, and VU47P for the U55C): DS923 "Virtex
  UltraScale+ FPGA Data Sheet" / the Virtex UltraScale+ product selection guide.
- Kintex UltraScale (KU115): DS890 "UltraScale Architecture and Product Data
  Sheet: Overview", Kintex UltraScale table.
- Kintex UltraScale+ (KU5P): DS922 "Kintex UltraScale+ FPGAs Data Sheet" /
  the Kintex UltraScale+ product selection guide.
- Zynq UltraScale+ (ZU9EG): DS891 "Zynq UltraScale+ MPSoC Data Sheet: Overview".
- Alveo U250 / U55C: DS962 / DS978 (Alveo data sheets); the cards carry the
  XCU250 (VU13P-class die) and XCU55C (VU47P-class die, with HBM).

``lut`` is CLB LUTs, ``ff`` CLB flip-flops, ``dsp`` DSP48E2 slices (DSP48E2 on
all of these families), ``bram`` block RAM in **18 Kb units** (twice the 36 Kb
count of the data sheets), which is the unit Vitis HLS reports (BRAM_18K).
UltraRAM is listed for information; the estimator does not place anything in it.
The package and speed grade do not change these totals, so any package of a
known die is accepted (``xcvu9p-flgb2104-2-e`` is a VU9P).
"""

from __future__ import annotations

from dataclasses import dataclass

from trigc.target import UnknownPartError


@dataclass(frozen=True)
class Device:
    name: str  # marketing name, e.g. "VU9P"
    part: str  # the canonical part number
    family: str
    lut: int
    ff: int
    dsp: int
    bram: int  # BRAM_18K blocks
    uram: int = 0

    def capacity(self, resource: str) -> int:
        return int(getattr(self, resource))


DEVICES: dict[str, Device] = {
    d.part: d
    for d in (
        # DS923: 1,182,240 LUTs, 2,364,480 FFs, 6,840 DSP, 2,160 BRAM36, 960 URAM
        Device("VU9P", "xcvu9p-flga2104-2L-e", "Virtex UltraScale+",
               lut=1_182_240, ff=2_364_480, dsp=6_840, bram=4_320, uram=960),
        # DS923: 1,728,000 LUTs, 3,456,000 FFs, 12,288 DSP, 2,688 BRAM36, 1,280 URAM
        Device("VU13P", "xcvu13p-flga2577-2-e", "Virtex UltraScale+",
               lut=1_728_000, ff=3_456_000, dsp=12_288, bram=5_376, uram=1_280),
        # DS890: 663,360 LUTs, 1,326,720 FFs, 5,520 DSP, 2,160 BRAM36
        Device("KU115", "xcku115-flvb2104-2-e", "Kintex UltraScale",
               lut=663_360, ff=1_326_720, dsp=5_520, bram=4_320),
        # DS922 (Kintex UltraScale+ product table): KU5P 216,960 LUTs, 433,920 FFs,
        # 1,824 DSP, 480 BRAM36, 64 URAM (the KCU116 evaluation board's device)
        Device("KU5P", "xcku5p-ffvb676-2-e", "Kintex UltraScale+",
               lut=216_960, ff=433_920, dsp=1_824, bram=960, uram=64),
        # DS891: 274,080 LUTs, 548,160 FFs, 2,520 DSP, 912 BRAM36
        Device("ZU9EG", "xczu9eg-ffvb1156-2-e", "Zynq UltraScale+",
               lut=274_080, ff=548_160, dsp=2_520, bram=1_824),
        # DS962 (XCU250, VU13P-class): 1,728K LUTs, 3,456K FFs, 12,288 DSP, 2,688 BRAM36
        Device("U250", "xcu250-figd2104-2L-e", "Alveo (Virtex UltraScale+)",
               lut=1_728_000, ff=3_456_000, dsp=12_288, bram=5_376, uram=1_280),
        # DS978 (XCU55C, VU47P-class): 1,303,680 LUTs, 2,607,360 FFs, 9,024 DSP,
        # 2,016 BRAM36, 960 URAM
        Device("U55C", "xcu55c-fsvh2892-2L-e", "Alveo (Virtex UltraScale+ HBM)",
               lut=1_303_680, ff=2_607_360, dsp=9_024, bram=4_032, uram=960),
    )
}

_BY_DIE = {d.part.split("-")[0]: d for d in DEVICES.values()}
_BY_NAME = {d.name.lower(): d for d in DEVICES.values()}


def known_parts() -> list[str]:
    return sorted(DEVICES)


def lookup(part: str) -> Device:
    """The device of a part number (any package/speed grade of a known die) or a
    short name such as ``"VU9P"``; raises :class:`UnknownPartError` otherwise."""
    if not isinstance(part, str) or not part.strip():
        raise UnknownPartError(f"FPGA part must be a non-empty string, not {part!r}; "
                               f"known parts: {', '.join(known_parts())}")
    key = part.strip().lower()
    for table in (DEVICES, _BY_NAME, _BY_DIE):
        for name, device in table.items():
            if name.lower() == key or (table is _BY_DIE and key.split("-")[0] == name):
                return device
    raise UnknownPartError(
        f"Unknown FPGA part {part!r}: the estimator has no resource totals for it. "
        f"Known parts: {', '.join(known_parts())} (other packages and speed grades of "
        "these dies, and the short names "
        f"{', '.join(d.name for d in DEVICES.values())}, are accepted too)")
