"""Panels through the contract: one registered by the test, one plugged in from a distribution's entry point."""
from __future__ import annotations

import dataclasses
import json
import logging

import pytest
from dash import html
from dash_client import dash_call
from synthetic_run import synthetic_frame, synthetic_run

from analysis.dataset import load_csv
from dashboard import ids
from dashboard.app import create_app
from dashboard.config import Config
from dashboard.panels.registry import BUILTIN_PANEL_MODULES, Panel, RunView, load_panels
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


def draw(app, run, k=3) -> str:
    state = {"dataset_id": run.dataset_id, "run_id": run.run_id, "k": k, "names_version": 0}
    response = dash_call(app, f"{ids.PANEL_AREA}.children", f"{ids.RUN_STATE}.data", {f"{ids.RUN_STATE}.data": state})
    return json.dumps(response[ids.PANEL_AREA]["children"], ensure_ascii=False)


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
                  register=lambda app, store: wired.append((app, store)))
    panels = load_panels(extra=[probe])
    assert [p.name for p in panels][-1] == "probe"
    assert len(panels) == len(BUILTIN_PANEL_MODULES) + 1

    app = create_app(config, panels=[probe])

    assert len(wired) == 1 and wired[0][0] is app and isinstance(wired[0][1], ResultsStore)
    drawn = draw(app, run_on_demo, k=2)
    assert "panel-card-probe" in drawn
    assert "probe sees k=2, 2 names and 5000 songs" in drawn


def test_a_panel_whose_needs_the_run_lacks_gets_a_placeholder(config, run_on_demo):
    probe = Panel(name="probe", title="Probe", needs=frozenset({"dataset"}), layout=probe_layout)
    orphan = dataclasses.replace(run_on_demo, run_id="orphan-run", dataset_id="dataset-not-in-store")
    ResultsStore.open(config.store_dir).put_run(orphan)

    drawn = draw(create_app(config, panels=[probe]), orphan)

    assert "Probe needs the run's dataset" in drawn and "probe sees" not in drawn


def test_a_panel_that_fails_to_draw_is_shown_as_failed_and_the_others_still_draw(config, run_on_demo):
    def broken(view):
        raise ValueError("no luck")

    panels = [Panel(name="broken", title="Broken", needs=frozenset(), layout=broken, order=1),
              Panel(name="probe", title="Probe", needs=frozenset(), layout=probe_layout, order=2)]

    drawn = draw(create_app(config, panels=panels), run_on_demo)

    assert "Broken could not be drawn: no luck" in drawn and "probe sees k=3" in drawn


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
    assert "wrong is a int, not a Panel" in caplog.text and "missing could not be loaded" in caplog.text
    drawn = draw(create_app(config), run_on_demo)
    assert "panel-card-plugged" in drawn and "plugged in at k=3" in drawn
    for module in BUILTIN_PANEL_MODULES:
        assert f"panel-card-{module.rsplit('.', 1)[1]}" in drawn
