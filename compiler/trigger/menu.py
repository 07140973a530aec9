"""Trigger menus: named bits with conditions on the model outputs, prescales, and the
L1 accept that combines them. Read from TOML or YAML (or a dict)::

    name = "jet_menu"
    round_thresholds = "exact"          # or nearest / down / up, for every bit

    [outputs]                           # aliases for the model outputs (default: out)
    prob = { tensor = "quant_79", elements = ["g", "q", "W", "Z", "t"] }

    [inputs]                            # model input -> column(s) of the event file
    x = "features"                      # one (N, 16) column, or a list of 16 columns

    [labels]                            # optional: efficiencies per class
    column = "label"
    names = ["g", "q", "W", "Z", "t"]   # label value i is names[i]
    background = ["g", "q"]             # rates use only these events (default: all)

    [rates]                             # bunch crossings (defaults shown)
    bx_frequency_mhz = 40.079
    filled_bunches = 2808
    total_bunches = 3564

    [define]                            # named sub-expressions
    w_score = 'prob["W"]'

    [bits]
    W_tag = 'argmax(prob) == 2 and w_score > 0.5'
    t_tag = { condition = 'prob[4] >= 0.625', prescale = 10 }
    wide  = { condition = '0.25 < prob[0] <= 0.8', round = "down" }

    [l1]
    accept = "W_tag or t_tag or wide"   # default: the OR of every bit

A prescale N keeps every Nth time a bit fires (the Nth, 2Nth, ... firing, counted
over the whole sample in event order); 0 disables the bit in the L1 accept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from trigc.trigger.conditions import FUNCTIONS, OutputInfo, compile_condition
from trigc.trigger.errors import MenuError

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED = {"and", "or", "not", "L1A", *FUNCTIONS}
_TOP_KEYS = {"name", "round_thresholds", "outputs", "inputs", "labels", "rates", "define",
             "bits", "l1"}
LHC_BX_MHZ = 40.079  # the LHC bunch-crossing frequency ("40 MHz"): 3564 slots per 11.2455 kHz
MAX_MENU_BYTES = 16 << 20  # a menu file larger than this is not a menu
MAX_NESTING = 32  # YAML mappings/lists inside each other
MAX_PRESCALE = 2**62  # prescale counters are int64
MAX_BUNCHES = 10**6


@dataclass(frozen=True)
class Bunches:
    """Bunch-crossing frequency and filling: the effective collision rate is
    ``bx_frequency_mhz * filled / total`` (31.58 MHz by default)."""

    bx_frequency_mhz: float = LHC_BX_MHZ
    filled_bunches: int = 2808
    total_bunches: int = 3564

    @property
    def effective_hz(self) -> float:
        return self.bx_frequency_mhz * 1e6 * self.filled_bunches / self.total_bunches


@dataclass(frozen=True)
class Labels:
    column: str | None = None
    names: tuple | None = None
    background: tuple | None = None  # label values whose events define the rates

    def name(self, value: int) -> str:
        if self.names is not None and 0 <= value < len(self.names):
            return str(self.names[value])
        return str(value)


@dataclass(frozen=True)
class TriggerBit:
    name: str
    text: str  # as written
    condition: object  # a typed node (trigc.trigger.conditions)
    prescale: int = 1

    @property
    def resolved(self) -> str:
        """The condition with every threshold as the exact value the firmware compares."""
        return self.condition.text


@dataclass(frozen=True)
class Menu:
    outputs: tuple  # OutputInfo, in graph order
    bits: tuple = ()
    accept: object = None
    accept_text: str = ""
    inputs: dict = field(default_factory=dict)
    labels: Labels = field(default_factory=Labels)
    bunches: Bunches = field(default_factory=Bunches)
    name: str = "menu"
    source: str = "<menu>"

    @property
    def bit_names(self) -> tuple:
        return tuple(b.name for b in self.bits)

    def env(self, raw_outputs) -> dict:
        """Raw outputs (one array per graph output) as the conditions' environment."""
        return {o.alias: np.asarray(r).reshape(len(r), -1).astype(np.int64, copy=False)
                for o, r in zip(self.outputs, raw_outputs)}

    def evaluate(self, raw_outputs) -> np.ndarray:
        """Unprescaled decision of every bit: bool (N, n_bits)."""
        env = self.env(raw_outputs)
        n = len(raw_outputs[0])
        out = np.zeros((n, len(self.bits)), dtype=bool)
        for i, bit in enumerate(self.bits):
            out[:, i] = bit.condition.evaluate(env)
        return out

    def l1_accept(self, bits: np.ndarray) -> np.ndarray:
        if not self.bits:
            return np.zeros(len(bits), dtype=bool)
        env = {"bit:" + name: bits[:, i] for i, name in enumerate(self.bit_names)}
        return np.asarray(self.accept.evaluate(env), dtype=bool)

    def with_overrides(self, *, bunches: dict | None = None, labels: dict | None = None,
                       inputs: dict | None = None) -> Menu:
        """A copy with rate/label/input settings replaced (e.g. from the command line)."""
        menu = self
        if bunches:
            menu = replace(menu, bunches=_bunches({**_asdict(menu.bunches), **bunches},
                                                  menu.source))
        if labels:
            merged = {"column": menu.labels.column, "names": menu.labels.names,
                      "background": menu.labels.background, **labels}
            menu = replace(menu, labels=_labels(merged, menu.source))
        if inputs:
            menu = replace(menu, inputs={**menu.inputs, **_inputs(inputs, menu.source)})
        return menu


class Prescaler:
    """Counter-based prescales, sequential over the sample (so chunking, workers and
    Dask cannot change which events pass): a bit with prescale N passes on its Nth,
    2Nth, ... firing; N = 0 never passes."""

    def __init__(self, prescales) -> None:
        self.prescales = np.asarray(prescales, dtype=np.int64)
        self.fired = np.zeros(len(self.prescales), dtype=np.int64)

    def apply(self, bits: np.ndarray) -> np.ndarray:
        """The prescaled bits of one chunk (events in order); counts carry over."""
        bits = np.asarray(bits, dtype=bool)
        out = np.zeros(bits.shape, dtype=bool)
        for j, n in enumerate(self.prescales.tolist()):
            column = bits[:, j]
            if n == 1:
                out[:, j] = column
                self.fired[j] += np.count_nonzero(column)
                continue
            fires = np.flatnonzero(column)  # the Nth, 2Nth, ... of these pass
            if n > 0:
                count = self.fired[j] + np.arange(1, len(fires) + 1, dtype=np.int64)
                out[fires[count % n == 0], j] = True
            self.fired[j] += len(fires)
        return out


# ---- loading ------------------------------------------------------------------------

def _menu_text(path: Path) -> str:
    """The menu file as text: refused when unreadable, larger than MAX_MENU_BYTES or not
    UTF-8."""
    try:
        size = path.stat().st_size
        if size > MAX_MENU_BYTES:
            raise MenuError(f"Menu {str(path)!r} has {size:,} bytes, more than the "
                            f"{MAX_MENU_BYTES:,} a menu may have; is it the right file?")
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise MenuError(f"Cannot read menu {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise MenuError(f"Menu {str(path)!r} is not UTF-8 text (byte {exc.object[exc.start]:#04x}"
                        f" at offset {exc.start}); save it as UTF-8") from None


def read_menu_file(path) -> dict:
    """A menu file as a dict. YAML aliases are refused (an alias bomb of a few lines
    expands to gigabytes) and nesting is bounded; TOML has neither feature."""
    path = Path(path)
    if path.suffix.lower() not in (".toml", ".yaml", ".yml"):
        raise MenuError(f"Menu {str(path)!r} must be a .toml, .yaml or .yml file")
    text = _menu_text(path)
    try:
        data = _load_toml(text, path) if path.suffix.lower() == ".toml" else \
            _load_yaml(text, path)
    except RecursionError:
        raise MenuError(f"{path}: the menu nests tables or lists too deeply; a menu has "
                        "sections of bits, not deep structures") from None
    if not isinstance(data, dict):
        raise MenuError(f"{path}: a menu is a mapping with a 'bits' section, not a "
                        f"{type(data).__name__}")
    return data


def _load_toml(text: str, path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MenuError(f"{path}: invalid TOML: {exc}") from None


def _load_yaml(text: str, path: Path):
    import yaml

    class MenuLoader(yaml.SafeLoader):
        """SafeLoader without aliases and with bounded nesting (checked as each node is
        composed, before anything is expanded)."""

        depth = 0

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise MenuError(f"{path}:{event.start_mark.line + 1}: YAML aliases "
                                f"(*{event.anchor}) are not allowed in menus; write the "
                                "value out in full")
            self.depth += 1
            if self.depth > MAX_NESTING:
                mark = self.peek_event().start_mark
                raise MenuError(f"{path}:{mark.line + 1}: the menu nests more than "
                                f"{MAX_NESTING} levels deep; a menu is a few flat sections")
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    try:
        return yaml.load(text, Loader=MenuLoader)
    except yaml.YAMLError as exc:
        raise MenuError(f"{path}: invalid YAML: {exc}") from None


def default_outputs(graph) -> tuple:
    """Output aliases when a menu names none: ``out`` for one output, else tensor names."""
    single = len(graph.outputs) == 1
    return tuple(OutputInfo("out" if single else t.name, t.name, i, tuple(t.shape), t.type)
                 for i, t in enumerate(graph.outputs))


def load_menu(menu, graph) -> Menu:
    """A Menu from a TOML/YAML path or a dict, checked against the compiled ``graph``
    (a Project's ``.graph``): outputs, thresholds, prescales."""
    if isinstance(menu, Menu):
        return menu
    source = "<menu>"
    if isinstance(menu, (str, Path)):
        source, menu = str(menu), read_menu_file(menu)
    if not isinstance(menu, dict):
        raise MenuError(f"A menu is a TOML/YAML file or a dict, not {type(menu).__name__}")
    unknown = sorted(set(menu) - _TOP_KEYS)
    if unknown:
        raise MenuError(f"{source}: unknown menu key(s) {unknown}; the keys are "
                        f"{sorted(_TOP_KEYS)}")
    outputs = _outputs(menu.get("outputs"), graph, source)
    by_alias = {o.alias: o for o in outputs}
    rounding = menu.get("round_thresholds", "exact")
    defines = _defines(menu.get("define", {}), by_alias, rounding, source)
    bits = _bits(menu.get("bits"), by_alias, defines, rounding, source)
    accept_text = _section(menu.get("l1", {}), source, "l1", {"accept"}).get(
        "accept", " or ".join(b.name for b in bits))
    accept = compile_condition(accept_text, outputs=by_alias, bits=tuple(b.name for b in bits),
                               where=f"{source}: l1.accept")
    return Menu(outputs, bits, accept, accept.text, _inputs(menu.get("inputs", {}), source),
                _labels(menu.get("labels", {}), source),
                _bunches(menu.get("rates", {}), source), str(menu.get("name", "menu")), source)


def _section(value, source: str, name: str, keys: set | None = None) -> dict:
    if not isinstance(value, dict):
        raise MenuError(f"{source}: [{name}] must be a table/mapping, not {value!r}")
    if keys is not None and set(value) - keys:
        raise MenuError(f"{source}: unknown key(s) {sorted(set(value) - keys)} in [{name}]; "
                        f"the keys are {sorted(keys)}")
    return value


def _check_name(name, source: str, what: str) -> str:
    if not isinstance(name, str) or not _IDENT.fullmatch(name) or name in _RESERVED:
        raise MenuError(f"{source}: {what} name {name!r} must be an identifier (letters, "
                        f"digits, _) and not one of {sorted(_RESERVED)}")
    return name


def _outputs(section, graph, source: str) -> tuple:
    if section is None:
        return default_outputs(graph)
    section = _section(section, source, "outputs")
    tensors = {t.name: i for i, t in enumerate(graph.outputs)}
    listing = ", ".join(f"{t.name} (index {i}, shape {tuple(t.shape)}, {t.type})"
                        for i, t in enumerate(graph.outputs))
    infos = []
    for alias, spec in section.items():
        _check_name(alias, source, "output alias")
        spec = spec if isinstance(spec, dict) else {"tensor": spec}
        _section(spec, source, f"outputs.{alias}", {"tensor", "elements"})
        ref = spec.get("tensor")
        if isinstance(ref, int) and not isinstance(ref, bool) and 0 <= ref < len(graph.outputs):
            index = ref
        elif isinstance(ref, str) and ref in tensors:
            index = tensors[ref]
        else:
            raise MenuError(f"{source}: outputs.{alias} = {ref!r} is not an output of model "
                            f"{graph.name!r}; its outputs are {listing}")
        t = graph.outputs[index]
        elements = _name_list(spec.get("elements"), source, f"outputs.{alias}.elements")
        info = OutputInfo(alias, t.name, index, tuple(t.shape), t.type,
                          tuple(str(e) for e in elements) if elements is not None else None)
        if elements is not None and len(elements) != info.size:
            raise MenuError(f"{source}: outputs.{alias}.elements has {len(elements)} names "
                            f"but {t.name} has {info.size} elements")
        infos.append(info)
    return tuple(infos)


def _defines(section, outputs: dict, rounding, source: str) -> dict:
    defines: dict = {}
    for name, text in _section(section, source, "define").items():
        _check_name(name, source, "define")
        if name in outputs:
            raise MenuError(f"{source}: define {name!r} hides the output alias of that name")
        defines[name] = compile_condition(text, outputs=outputs, defines=defines,
                                          rounding=rounding, boolean=False,
                                          where=f"{source}: define {name!r}")
    return defines


def _bits(section, outputs: dict, defines: dict, rounding, source: str) -> tuple:
    if not section:
        raise MenuError(f"{source}: the menu has no [bits]; add one, e.g. "
                        f"bits.high_score = \"{next(iter(outputs))}[0] > 0.5\"")
    bits = []
    for name, spec in _section(section, source, "bits").items():
        _check_name(name, source, "bit")
        if name in outputs or name in defines:
            raise MenuError(f"{source}: bit {name!r} has the name of an output or define")
        spec = spec if isinstance(spec, dict) else {"condition": spec}
        _section(spec, source, f"bits.{name}", {"condition", "prescale", "round"})
        if "condition" not in spec:
            raise MenuError(f"{source}: bit {name!r} has no condition")
        prescale = spec.get("prescale", 1)
        if isinstance(prescale, bool) or not isinstance(prescale, int) or \
                not 0 <= prescale <= MAX_PRESCALE:
            raise MenuError(f"{source}: bit {name!r}: prescale must be a whole number >= 0 "
                            f"and <= 2**62 (1 keeps every event, 0 disables the bit), not "
                            f"{prescale!r:.40}")
        condition = compile_condition(spec["condition"], outputs=outputs, defines=defines,
                                      rounding=spec.get("round", rounding),
                                      where=f"{source}: bit {name!r}")
        bits.append(TriggerBit(name, spec["condition"], condition, prescale))
    return tuple(bits)


def _inputs(section, source: str) -> dict:
    out = {}
    for name, cols in _section(section, source, "inputs").items():
        if isinstance(cols, str):
            out[name] = cols
        elif isinstance(cols, (list, tuple)) and cols and all(isinstance(c, str) for c in cols):
            out[name] = tuple(cols)
        else:
            raise MenuError(f"{source}: inputs.{name} must be a column name or a list of "
                            f"column names, not {cols!r}")
    return out


def _labels(section, source: str) -> Labels:
    section = _section(section, source, "labels", {"column", "names", "background"})
    column = section.get("column")
    if column is not None and not isinstance(column, str):
        raise MenuError(f"{source}: labels.column must be a column name, not {column!r:.40}")
    names = _name_list(section.get("names"), source, "labels.names")
    names = tuple(str(n) for n in names) if names is not None else None
    background = section.get("background")
    if background is not None:
        if isinstance(background, (str, int)):
            background = [background]
        background = _name_list(background, source, "labels.background")
        values = []
        for b in background:
            if isinstance(b, int) and not isinstance(b, bool):
                values.append(b)
            elif names is not None and str(b) in names:
                values.append(names.index(str(b)))
            else:
                raise MenuError(f"{source}: labels.background {b!r} is neither a label value "
                                f"nor one of labels.names {list(names or [])}")
        background = tuple(values)
    return Labels(column, names, background)


def _name_list(value, source: str, key: str):
    """``value`` if it is None or a list, else a MenuError naming ``key``."""
    if value is None or isinstance(value, (list, tuple)):
        return value
    raise MenuError(f"{source}: {key} must be a list, e.g. [\"g\", \"q\", \"W\"], not "
                    f"{value!r:.40}")


def _bunches(section, source: str) -> Bunches:
    section = _section(section, source, "rates",
                       {"bx_frequency_mhz", "filled_bunches", "total_bunches"})
    try:
        bunches = Bunches(float(section.get("bx_frequency_mhz", LHC_BX_MHZ)),
                          int(section.get("filled_bunches", 2808)),
                          int(section.get("total_bunches", 3564)))
    except (TypeError, ValueError, OverflowError) as exc:
        raise MenuError(f"{source}: [rates] values must be numbers: {exc}") from None
    if not (0 < bunches.bx_frequency_mhz < 1e6 and 0 < bunches.filled_bunches
            <= bunches.total_bunches <= MAX_BUNCHES):
        raise MenuError(f"{source}: [rates] needs 0 < bx_frequency_mhz < 1e6 and 0 < "
                        f"filled_bunches <= total_bunches <= {MAX_BUNCHES:,}, got {bunches}")
    return bunches


def _asdict(bunches: Bunches) -> dict:
    return {"bx_frequency_mhz": bunches.bx_frequency_mhz,
            "filled_bunches": bunches.filled_bunches, "total_bunches": bunches.total_bunches}


__all__ = ["LHC_BX_MHZ", "Bunches", "Labels", "Menu", "Prescaler", "TriggerBit",
           "default_outputs", "load_menu", "read_menu_file"]
