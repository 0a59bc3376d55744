"""Panels through the contract: one registered by the test, one plugged in from a distribution's entry point,
and plug-ins that fail becoming failed panels while the dashboard starts."""
from __future__ import annotations

import dataclasses
import json
import logging

import pytest
from dash import html
from panel_calls import drawn_text, shown_at
from synthetic_run import synthetic_frame, synthetic_run

from analysis.dataset import load_csv
from dashboard.app import create_app
from dashboard.config import Config
from dashboard.host import Panel, PanelHost, RunView
from dashboard.panels.registry import BUILTIN_PANEL_MODULES, load_panels
from dashboard.store import ResultsStore


def probe_layout(view: RunView):
    return html.Div(f"probe sees k={view.k}, {len(view.names)} names and {len(view.frame)} songs")


@pytest.fixture
def config(tmp_path):
    return Config.from_env({}, cache_dir=tmp_path / "cache")


@pytest.fixture
def run_on_demo(config, demo_csv):
    """A stored run whose dataset (the demo) is in the store."""
    run = dataclasses.replace(synthetic_run(synthetic_frame(rows=90)), dataset_id=load_csv(demo_csv).fingerprint)
    ResultsStore.open(config.store_dir).put_run(run)
    return run


def draw(app, run, panel_name: str, k=3) -> str:
    return drawn_text(app, panel_name, shown_at(run, k))


def write_plugin(directory, module: str, entry_points: str) -> None:
    """A minimal installed distribution: a module and a dist-info whose entry points name panels."""
    (directory / f"{module}.py").write_text(
        "from dash import html\n"
        "from dashboard.panels.registry import Panel\n"
        "PANEL = Panel(name='plugged', title='Plugged in', needs=frozenset({'sweep'}),\n"
        "              layout=lambda view: html.Div(f'plugged in at k={view.k}'))\n"
        "NOT_A_PANEL = 42\n"
    )
    info = directory / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[amc.panels]\n{entry_points}\n")


def test_a_panel_registered_through_the_contract_is_drawn_and_wired(config, run_on_demo):
    wired = []
    probe = Panel(name="probe", title="Probe", needs=frozenset({"models", "dataset"}), layout=probe_layout,
                  register=wired.append)
    panels = load_panels(extra=[probe])
    assert [p.name for p in panels][-1] == "probe"
    assert len(panels) == len(BUILTIN_PANEL_MODULES) + 1

    app = create_app(config, panels=[probe])

    [host] = wired
    assert isinstance(host, PanelHost) and host.app is app and isinstance(host.store, ResultsStore)
    assert "panel-card-probe" in json.dumps(app.layout().to_plotly_json(), default=str)
    assert "probe sees k=2, 2 names and 5000 songs" in draw(app, run_on_demo, "probe", k=2)


def test_a_panel_whose_needs_the_run_lacks_gets_a_placeholder(config, run_on_demo):
    probe = Panel(name="probe", title="Probe", needs=frozenset({"dataset"}), layout=probe_layout)
    orphan = dataclasses.replace(run_on_demo, run_id="orphan-run", dataset_id="dataset-not-in-store")
    ResultsStore.open(config.store_dir).put_run(orphan)

    drawn = draw(create_app(config, panels=[probe]), orphan, "probe")

    assert "the songs of" in drawn and "are no longer stored" in drawn and "probe sees" not in drawn


def test_a_panel_that_fails_to_draw_is_shown_as_failed_and_the_others_still_draw(config, run_on_demo):
    def broken(view):
        raise ValueError("no luck")

    panels = [Panel(name="broken", title="Broken", needs=frozenset(), layout=broken, order=1),
              Panel(name="probe", title="Probe", needs=frozenset(), layout=probe_layout, order=2)]

    app = create_app(config, panels=panels)

    assert "Broken could not be drawn: no luck" in draw(app, run_on_demo, "broken")
    assert "probe sees k=3" in draw(app, run_on_demo, "probe")


def test_an_entry_point_panel_from_an_installed_distribution_is_loaded(tmp_path, monkeypatch, config, run_on_demo,
                                                                         caplog):
    plugins = tmp_path / "site"
    plugins.mkdir()
    write_plugin(plugins, "amc_probe_plugin",
                 "plugged = amc_probe_plugin:PANEL\nwrong = amc_probe_plugin:NOT_A_PANEL\nmissing = amc_no_such:PANEL")
    monkeypatch.syspath_prepend(str(plugins))

    with caplog.at_level(logging.ERROR):
        panels = load_panels()

    assert [p.name for p in panels].count("plugged") == 1
    assert "wrong (amc_probe_plugin:NOT_A_PANEL) is a int, not a Panel" in caplog.text
    assert "missing (amc_no_such:PANEL) could not be loaded" in caplog.text
    app = create_app(config)
    page = json.dumps(app.layout().to_plotly_json(), default=str)
    assert "plugged in at k=3" in draw(app, run_on_demo, "plugged")
    for module in BUILTIN_PANEL_MODULES:
        assert f"panel-card-{module.rsplit('.', 1)[1]}" in page
    # The two broken entry points are cards that say what failed, after the working panels.
    assert "The panel plug-in missing (amc_no_such:PANEL) failed: ModuleNotFoundError" in draw(
        app, run_on_demo, "failed-missing-amc-no-such-panel")
    assert "it is a int, not a Panel" in draw(app, run_on_demo, "failed-wrong-amc-probe-plugin-not-a-panel")


def test_a_panel_whose_register_raises_becomes_a_failed_card_and_the_rest_works(config, run_on_demo):
    def broken_register(host):
        raise RuntimeError("cannot wire")

    panels = [Panel(name="fragile", title="Fragile", needs=frozenset(), layout=probe_layout, register=broken_register),
              Panel(name="probe", title="Probe", needs=frozenset({"dataset"}), layout=probe_layout)]
    app = create_app(config, panels=panels)

    assert "The panel plug-in Fragile (fragile) failed: RuntimeError: cannot wire" in draw(app, run_on_demo, "fragile")
    assert "probe sees k=3" in draw(app, run_on_demo, "probe")


def test_a_panel_shipping_a_missing_script_is_refused_with_its_name(tmp_path):
    with pytest.raises(ValueError, match="panel 'scripted' ships .*nowhere.js, which does not exist"):
        Panel(name="scripted", title="S", needs=frozenset(), layout=probe_layout, scripts=(tmp_path / "nowhere.js",))
