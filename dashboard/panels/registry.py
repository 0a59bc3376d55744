"""The list of panels the shell draws.

Built-in panels are loaded exactly like third-party ones: each is a module exporting ``PANEL`` (a
``dashboard.host.Panel``). Outside packages add theirs through the entry-point group ``amc.panels``
(the entry point names the ``Panel`` object). A plug-in that cannot be loaded becomes a failed
panel: a card naming the plug-in and its error, while the rest of the dashboard works.
"""
from __future__ import annotations

import importlib
import logging
import re
from importlib.metadata import entry_points

import dash_bootstrap_components as dbc

from dashboard.host import Panel

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
    "dashboard.panels.new_songs",
    "dashboard.panels.compare",
)
FAILED_ORDER = 1_000  # failed plug-ins come last


def failed_panel(source: str, error: BaseException | str, name: str | None = None) -> Panel:
    """A panel that only says ``source`` failed and why; it is drawn like any other panel."""
    reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    message = f"The panel plug-in {source} failed: {reason}"

    def layout(_view):
        return dbc.Alert(message, color="danger", class_name="amc-alert mb-0")

    slug = name or "failed-" + re.sub(r"[^a-z0-9]+", "-", source.lower()).strip("-")
    return Panel(name=slug, title=f"{source} (failed)", needs=frozenset(), layout=layout, order=FAILED_ORDER)


def builtin_panels() -> list[Panel]:
    return [importlib.import_module(module).PANEL for module in BUILTIN_PANEL_MODULES]


def plugin_panels() -> list[Panel]:
    found = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        source = f"{entry.name} ({entry.value})"
        try:
            panel = entry.load()
        except Exception as error:  # a broken plug-in must not take the dashboard down
            log.exception("panel plug-in %s could not be loaded", source)
            found.append(failed_panel(source, error))
            continue
        if isinstance(panel, Panel):
            found.append(panel)
        else:
            log.error("panel plug-in %s is a %s, not a Panel", source, type(panel).__name__)
            found.append(failed_panel(source, f"it is a {type(panel).__name__}, not a Panel"))
    return found


def load_panels(extra: list[Panel] | tuple[Panel, ...] = ()) -> list[Panel]:
    """Built-ins, then plug-ins, then ``extra``, in their ``order``; a later panel with a taken name is refused."""
    panels: dict[str, Panel] = {}
    for panel in [*builtin_panels(), *plugin_panels(), *extra]:
        if panel.name in panels:
            log.error("panel name %r is taken; the later one is ignored", panel.name)
            continue
        panels[panel.name] = panel
    return sorted(panels.values(), key=lambda panel: panel.order)
