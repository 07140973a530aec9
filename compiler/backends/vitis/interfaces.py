"""Top-function interfaces: how the generated IP talks to the firmware around it.

=============  ==============  ===========  =====================================
interface      block protocol  data ports   use
=============  ==============  ===========  =====================================
hs             ap_ctrl_hs      ap_vld       start/done handshake (the default)
pipeline       ap_ctrl_none    ap_none      free-running trigger path, II = 1
pipeline_vld   ap_ctrl_none    ap_vld       free-running, valid strobe per port
axis           ap_ctrl_none    axis         AXI4-Stream, elements packed in words
=============  ==============  ===========  =====================================

Array ports of the ``ap_*`` interfaces are reshaped into one wide port: element ``i``
of an ``N`` x ``W``-bit tensor sits at bits ``[W*i + W-1 : W*i]``. An ``axis`` port
carries the same elements packed ``per_word`` to a word (no element straddles two
words, unused high bits are zero), ``words`` words per event; by default one word
holds the whole tensor (up to :data:`AXIS_MAX_WORD_BITS`), else words are
:data:`AXIS_LONG_WORD_BITS` wide. A top function that reads or writes ``k`` words per
event cannot start an event more often than every ``k`` cycles, so the II grows to
the largest ``words``.

``annotate_ports`` adds all of this to the port dicts the templates, the C-sim bridge,
the testbench and the IP export read.
"""

from __future__ import annotations

from dataclasses import dataclass

from trigc.target import InterfaceError, check_interface


@dataclass(frozen=True)
class Interface:
    name: str
    block: str  # block-level protocol: ap_ctrl_hs or ap_ctrl_none
    ports: str  # data-port protocol: ap_none, ap_vld or axis
    needs_ii1: bool  # free-running pipelines must accept an event every cycle
    summary: str


INTERFACES: dict[str, Interface] = {i.name: i for i in (
    Interface("hs", "ap_ctrl_hs", "ap_vld", False,
              "block-level handshake (ap_start, ap_done, ap_idle, ap_ready); data ports "
              "with valid strobes (ap_vld)"),
    Interface("pipeline", "ap_ctrl_none", "ap_none", True,
              "free-running pipeline: no control ports, a new event every clock cycle "
              "(II = 1), plain data ports (ap_none)"),
    Interface("pipeline_vld", "ap_ctrl_none", "ap_vld", True,
              "free-running pipeline (II = 1) with a valid strobe on every data port "
              "(ap_vld)"),
    Interface("axis", "ap_ctrl_none", "axis", False,
              "AXI4-Stream: one stream per tensor (TDATA, TVALID, TREADY), elements "
              "packed into words, no control ports"),
)}
AXIS_MAX_WORD_BITS = 1024
AXIS_LONG_WORD_BITS = 512


def interface_names() -> list[str]:
    return list(INTERFACES)


def get_interface(name: str) -> Interface:
    """The interface called ``name`` (:func:`trigc.target.check_interface` names the
    choices in its error)."""
    return INTERFACES[check_interface(name)]


def _round_up(bits: int, unit: int = 8) -> int:
    return -(-bits // unit) * unit


def _word_bits(port: dict, requested: int | None) -> int:
    if requested is not None:
        return requested
    total = port["size"] * port["width"]
    return _round_up(total) if total <= AXIS_MAX_WORD_BITS else AXIS_LONG_WORD_BITS


def _check_word_bits(requested: int | None) -> None:
    if requested is None:
        return
    if not isinstance(requested, int) or requested % 8 or not 8 <= requested <= \
            AXIS_MAX_WORD_BITS:
        raise InterfaceError(
            f"AXI4-Stream word width must be a multiple of 8 bits between 8 and "
            f"{AXIS_MAX_WORD_BITS}, not {requested!r}; leave it unset to fit each tensor "
            "in one word")


def _rtl_signals(port: dict, direction: str, protocol: str) -> list[dict]:
    """The RTL signals Vitis HLS (2020.1 and later) makes of one port."""
    name = port["arg"]
    if protocol == "axis":
        return [{"name": f"{name}_TDATA", "direction": direction,
                 "width": port["word_bits"], "role": "data word"},
                {"name": f"{name}_TVALID", "direction": direction, "width": 1,
                 "role": "word valid"},
                {"name": f"{name}_TREADY", "direction": "out" if direction == "in" else "in",
                 "width": 1, "role": "word accepted"}]
    signals = [{"name": name, "direction": direction, "width": port["bits"],
                "role": "data (all elements)"}]
    if protocol == "ap_vld":
        signals.append({"name": f"{name}_ap_vld", "direction": direction, "width": 1,
                        "role": "data valid"})
    return signals


def annotate_ports(inputs: list[dict], outputs: list[dict], interface: Interface,
                   word_bits: int | None) -> int:
    """Add the interface fields to every port dict; return the number of cycles the
    ports need per event (the II floor the interface sets)."""
    if interface.ports == "axis":
        _check_word_bits(word_bits)
    elif word_bits is not None:
        raise InterfaceError(
            f"An AXI4-Stream word width ({word_bits} bits) was given for the "
            f"{interface.name!r} interface; it applies only to --interface axis")
    floor = 1
    for direction, ports in (("in", inputs), ("out", outputs)):
        for p in ports:
            p["protocol"] = interface.ports
            p["bits"] = p["size"] * p["width"]
            if interface.ports == "axis":
                bits = _word_bits(p, word_bits)
                if p["width"] > bits:
                    raise InterfaceError(
                        f"Port {p['name']!r} has {p['width']}-bit elements, wider than the "
                        f"{bits}-bit AXI4-Stream word; use a word of at least "
                        f"{_round_up(p['width'])} bits")
                per_word = bits // p["width"]
                p.update(arg=f"{p['array']}_axis", word_bits=bits, per_word=per_word,
                         words=-(-p["size"] // per_word),
                         word_ctype=f"{p['ctype']}_word")
                floor = max(floor, p["words"])
            else:
                p.update(arg=p["array"])
            p["rtl"] = _rtl_signals(p, direction, interface.ports)
    return floor


def check_ii(interface: Interface, ii: int, reuse_layers: list[str]) -> None:
    """Free-running pipelines take a new event every cycle: refuse a design that
    cannot."""
    if interface.needs_ii1 and ii != 1:
        raise InterfaceError(
            f"The {interface.name!r} interface is a free-running pipeline that needs "
            f"II = 1, but this design has II = {ii} (reuse factors on "
            f"{', '.join(reuse_layers) or 'its layers'}); use reuse factor 1, or the "
            "'hs' or 'axis' interface")


def control_signals(interface: Interface, has_axi: bool) -> list[dict]:
    """Clock, reset and block-level control signals of the top function."""
    reset = ({"name": "ap_rst_n", "direction": "in", "width": 1,
              "role": "reset, active low"} if has_axi else
             {"name": "ap_rst", "direction": "in", "width": 1, "role": "reset, active high"})
    signals = [{"name": "ap_clk", "direction": "in", "width": 1, "role": "clock"}, reset]
    if interface.block == "ap_ctrl_hs":
        signals += [
            {"name": "ap_start", "direction": "in", "width": 1, "role": "start an event"},
            {"name": "ap_done", "direction": "out", "width": 1, "role": "event done"},
            {"name": "ap_idle", "direction": "out", "width": 1, "role": "block idle"},
            {"name": "ap_ready", "direction": "out", "width": 1,
             "role": "ready for the next start"}]
    return signals
