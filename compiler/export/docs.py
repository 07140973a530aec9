"""What the firmware engineer reads: the port map (JSON) and the README of an exported
IP core. Both are built from the backend's render context (ports, interface) and
trigc's latency/resource estimate, which is labelled as an estimate everywhere."""

from __future__ import annotations

import json
from dataclasses import dataclass

from trigc.estimate.datapath import RESOURCE_NAMES

ESTIMATE_LABEL = "trigc static estimate (not a synthesis result)"


@dataclass(frozen=True)
class VLNV:
    """An IP core's Vendor:Library:Name:Version identity, with its description."""

    vendor: str
    library: str
    name: str
    version: str
    description: str

    def __str__(self) -> str:
        return f"{self.vendor}:{self.library}:{self.name}:{self.version}"

    def to_json(self) -> dict:
        return {"vendor": self.vendor, "library": self.library, "name": self.name,
                "version": self.version, "vlnv": str(self), "description": self.description}


def _number(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


def element_format(p: dict) -> dict:
    """The fixed-point format of one element of a port, spelled out."""
    width, ibits, frac, signed = p["width"], p["integer_bits"], p["frac_bits"], p["signed"]
    lsb = 2.0 ** -frac
    if signed:
        lo, hi = -(2.0 ** (ibits - 1)), 2.0 ** (ibits - 1) - lsb
    else:
        lo, hi = 0.0, 2.0 ** ibits - lsb
    kind = "signed (two's complement)" if signed else "unsigned"
    return {"cpp": p["cpp"], "trigc": p["type"], "signed": signed, "width": width,
            "integer_bits": ibits, "frac_bits": frac, "lsb": lsb, "min": lo, "max": hi,
            "text": (f"{p['cpp']}: {kind}, {width} bits, {ibits} integer bits"
                     f"{' (sign included)' if signed else ''}, {frac} fraction bits; "
                     f"value = raw x 2^{-frac}, range [{_number(lo)}, {_number(hi)}]")}


def _layout(p: dict) -> str:
    w = p["width"]
    if p.get("pixels") is not None:  # --io stream: one pixel per word
        order = ("; the tensor is channels-first and its words carry it channels-last "
                 "(pixel by pixel, each pixel's channels in order)" if p.get("order") else "")
        return (f"one pixel per {p['word_bits']}-bit TDATA word: {p['per_word']} channel "
                f"element(s), channel k at bits [{w}*k + {w - 1} : {w}*k], unused high "
                f"bits zero; {p['words']} word(s) per event, pixels in row-major order"
                + order)
    if p["protocol"] == "axis":
        return (f"{p['per_word']} elements per {p['word_bits']}-bit TDATA word, "
                f"{p['words']} word(s) per event; element i is in word i / {p['per_word']}"
                f" at bits [{w}*(i % {p['per_word']}) + {w - 1} : {w}*(i % "
                f"{p['per_word']})]; unused high bits are zero")
    return (f"element i at bits [{w}*i + {w - 1} : {w}*i] (element 0 in the least "
            f"significant bits), {p['bits']} bits in all")


def port_entries(ctx: dict) -> list[dict]:
    entries = []
    for direction, ports in (("in", ctx["inputs"]), ("out", ctx["outputs"])):
        for p in ports:
            entries.append({
                "tensor": p["name"], "direction": direction, "c_argument": p["arg"],
                "protocol": p["protocol"], "shape": p["shape"], "elements": p["size"],
                "element": element_format(p), "bits": p["bits"], "layout": _layout(p),
                "axis": ({k: p[k] for k in ("word_bits", "per_word", "words")}
                         if p["protocol"] == "axis" else None),
                "signals": p["rtl"]})
    return entries


def estimate_summary(est, ii: int) -> dict:
    """The estimate as the export documents it. ``ii`` is the top function's II
    (the interface can raise it above the estimate's)."""
    return {"kind": ESTIMATE_LABEL, "latency_cycles": est.latency_cycles,
            "latency_ns": round(est.latency_ns, 4), "ii_cycles": est.ii,
            "interface_ii_cycles": ii, "device": est.device.name,
            "resources": est.total.to_json(),
            "utilization_pct": {r: round(est.utilization(r), 3) for r in RESOURCE_NAMES}}


def port_map(ctx: dict, est, vlnv: VLNV, board) -> dict:
    """The port map JSON of an exported IP core."""
    clock_ns = ctx["clock_ns"]
    return {
        "trigc_version": ctx["version"], "top": ctx["name"], "ip": vlnv.to_json(),
        "board": board.to_json() if board is not None else None,
        "part": ctx["part"],
        "clock": {"port": "ap_clk", "period_ns": clock_ns,
                  "mhz": round(1000.0 / clock_ns, 3)},
        "interface": {"name": ctx["interface"]["name"],
                      "block_protocol": ctx["interface"]["block"],
                      "port_protocol": ctx["interface"]["ports"],
                      "summary": ctx["interface"]["summary"]},
        "ii_cycles": ctx["ii"],
        "estimate": estimate_summary(est, ctx["ii"]),
        "control": ctx["control"],
        "ports": port_entries(ctx),
        "rtl_names_note": "RTL signal names as Vitis HLS 2020.1 and later generates them; "
                          "the exported IP's component.xml is authoritative",
    }


def port_map_json(ctx: dict, est, vlnv: VLNV, board) -> str:
    return json.dumps(port_map(ctx, est, vlnv, board), indent=1, sort_keys=True) + "\n"


def readme_context(ctx: dict, est, vlnv: VLNV, board) -> dict:
    pm = port_map(ctx, est, vlnv, board)
    return {**pm, "name": ctx["name"], "layers": len(ctx["layers"]),
            "est": pm["estimate"], "label": ESTIMATE_LABEL,
            "zip_name": f"{vlnv.name}_{vlnv.version}.zip",
            "speed_grade": "-" + ctx["part"].split("-")[2] if ctx["part"].count("-") >= 3
            else "(see the part number)"}
