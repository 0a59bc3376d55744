"""Call a Dash app's callbacks over HTTP, the way the browser's renderer does, without a browser."""
from __future__ import annotations

import json

from dash._utils import clean_property_name, split_callback_id


class CallbackSkipped(Exception):
    """The callback answered 204: it changed nothing (PreventUpdate)."""


def find_callback(app, output: str, trigger: str) -> str:
    """The callback_map key of the callback writing ``output`` ("id.prop") when ``trigger`` ("id.prop") changes."""
    for key, info in app.callback_map.items():
        if info.get("no_output"):
            continue  # writes nothing: a panel warming its cache
        outputs = split_callback_id(key)
        targets = outputs if isinstance(outputs, list) else [outputs]
        written = {f"{t['id']}.{clean_property_name(t['property'])}" for t in targets}
        inputs = {f"{i['id']}.{i['property']}" for i in info["inputs"]}
        if output in written and trigger in inputs:
            return key
    raise LookupError(f"no callback writes {output} on {trigger}")


def dash_call(app, output: str, trigger: str, values: dict[str, object], client=None) -> dict[str, dict]:
    """Fire the callback; ``values`` maps "id.prop" of its inputs and states to their values.

    ``client`` is one browser (its session cookie kept between calls); by default a fresh one.
    Returns {component id: {prop: new value}} as the server answered, set_props updates included.
    """
    key = find_callback(app, output, trigger)
    info = app.callback_map[key]
    parsed = split_callback_id(key)
    targets = parsed if isinstance(parsed, list) else [parsed]
    outputs = [{"id": _component_id(t["id"]), "property": clean_property_name(t["property"])} for t in targets]
    body = {
        "output": key,
        "outputs": outputs if isinstance(parsed, list) else outputs[0],
        "inputs": [_with_value(dep, values) for dep in info["inputs"]],
        "state": [_with_value(dep, values) for dep in info["state"]],
        "changedPropIds": [trigger],
    }
    if client is None:
        client = app.server.test_client()
        client.get("/")  # the first request sets the app up
    answer = client.post("/_dash-update-component", json=body)
    if answer.status_code == 204:
        raise CallbackSkipped(key)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    data = json.loads(answer.get_data(as_text=True))
    return {**data["response"], **data.get("sideUpdate", {})}


def _with_value(dep: dict, values: dict[str, object]) -> dict:
    return {"id": _component_id(dep["id"]), "property": dep["property"],
            "value": values.get(f"{dep['id']}.{dep['property']}")}


def _component_id(text: str):
    """A dict id travels as an object, as the renderer sends it; the callback map holds it as JSON."""
    return json.loads(text) if text.startswith("{") else text


def sent_upload(client, filename: str, data: bytes) -> dict:
    """What the page's upload check (``amc.checkUploadSize``) puts in an upload's store once the file is sent
    to the upload route by ``client`` (a Flask test client)."""
    answer = client.post("/_amc/upload", data=data, content_type="application/octet-stream")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return {"filename": filename, "upload": answer.get_json()["upload"]}
