"""The panel contract and the list of panels the shell draws.

Built-in panels are loaded exactly like third-party ones: each is a module exporting ``PANEL``.
Outside packages add theirs through the entry-point group ``amc.panels`` (the entry point
names an object that is a ``Panel``).
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Callable

import pandas as pd

from analysis.result import RunResult

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "amc.panels"
BUILTIN_PANEL_MODULES: tuple[str, ...] = (
    "dashboard.panels.elbow",
    "dashboard.panels.silhouette",
    "dashboard.panels.pca",
    "dashboard.panels.heatmap",
    "dashboard.panels.naming",
    "dashboard.panels.artists",
    "dashboard.panels.playlist",
)

# Parts of a run a panel may need; the shell shows a placeholder when the current run lacks one.
RUN_PARTS = frozenset({"sweep", "models", "pca", "breakdown", "dataset"})


@dataclass(frozen=True)
class RunView:
    """What a panel's layout reads: one stored run seen at one k, with the team's names."""

    result: RunResult
    k: int
    names: dict[int, str]  # cluster -> display name (saved by the team, else suggested)
    frame: pd.DataFrame | None = None  # Dataset.frame, for hovers and per-song views
    names_version: int = 0


@dataclass(frozen=True)
class Panel:
    name: str  # slug, used in component ids: {"panel": name, "part": ...}
    title: str
    needs: frozenset[str]
    layout: Callable[[RunView], Any]  # pure: RunView -> Dash component
    register: Callable[[Any, Any], None] | None = None  # (app, store) -> None, called once at start-up
    order: int = field(default=100)

    def __post_init__(self) -> None:
        unknown = set(self.needs) - RUN_PARTS
        if unknown:
            raise ValueError(f"panel {self.name!r} needs unknown part(s) {sorted(unknown)}; known: {sorted(RUN_PARTS)}")

    def part_id(self, part: str) -> dict[str, str]:
        return {"panel": self.name, "part": part}


def builtin_panels() -> list[Panel]:
    return [importlib.import_module(module).PANEL for module in BUILTIN_PANEL_MODULES]


def plugin_panels() -> list[Panel]:
    found = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            panel = entry.load()
        except Exception:  # a broken plugin must not take the dashboard down
            log.exception("panel plug-in %s could not be loaded", entry.name)
            continue
        if isinstance(panel, Panel):
            found.append(panel)
        else:
            log.error("panel plug-in %s is a %s, not a Panel", entry.name, type(panel).__name__)
    return found


def load_panels(extra: list[Panel] | tuple[Panel, ...] = ()) -> list[Panel]:
    """Built-ins, then plug-ins, then ``extra``; a later panel with a taken name is refused."""
    panels: dict[str, Panel] = {}
    for panel in [*builtin_panels(), *plugin_panels(), *extra]:
        if panel.name in panels:
            log.error("panel name %r is taken; the later one is ignored", panel.name)
            continue
        panels[panel.name] = panel
    return list(panels.values())
