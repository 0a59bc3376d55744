"""Drawing a panel through the shell's own callback, over HTTP, the way the browser asks when the panel is shown."""
from __future__ import annotations

import json

from dash_client import dash_call

from dashboard import ids


def dash_id(component_id: dict) -> str:
    """A dict id as Dash writes it in its callback map: JSON with sorted keys."""
    return json.dumps(component_id, sort_keys=True, separators=(",", ":"))


def shown_at(run, k: int) -> dict:
    """What the host's view store holds for a panel shown at ``k``."""
    return {"dataset_id": run.dataset_id, "run_id": run.run_id, "k": k}


def draw_panel(app, panel_name: str, shown: dict | None, names: dict | None = None) -> dict:
    """The shell's answer when ``panel_name`` is shown at ``shown``: body, drawn key and status."""
    body = dash_id({"host": "body", "panel": panel_name})
    view = dash_id({"host": "view", "panel": panel_name})
    values = {f"{view}.data": shown, f"{ids.NAMES}.data": names}
    return dash_call(app, f"{body}.children", f"{view}.data", values)


def drawn_text(app, panel_name: str, shown: dict | None) -> str:
    answer = draw_panel(app, panel_name, shown)
    return json.dumps(answer, ensure_ascii=False)
