"""Trigger emulation: menus of trigger bits over a compiled model's outputs, per-event
decisions, rates, efficiencies, overlaps and golden comparison, over large event files.

    from trigc.trigger import emulate_events
    result = emulate_events("prj", "events.npz", "menu.toml", out="decisions.parquet")
    summary = format_summary(result.stats)  # counts, rates, efficiencies, overlaps

The command line is ``trigc emulate`` (:mod:`trigc.cli.trigger`).
"""

from trigc.trigger.errors import EventDataError, MenuError
from trigc.trigger.menu import Bunches, Labels, Menu, TriggerBit, load_menu
from trigc.trigger.readers import open_events
from trigc.trigger.run import RunResult, emulate_events
from trigc.trigger.stats import format_summary

__all__ = ["Bunches", "EventDataError", "Labels", "Menu", "MenuError", "RunResult",
           "TriggerBit", "emulate_events", "format_summary", "load_menu", "open_events"]
