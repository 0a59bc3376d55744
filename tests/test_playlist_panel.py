"""The playlist panel without a browser: its layout from a real run, and the query its widgets describe."""
from __future__ import annotations

import pytest

from analysis.dataset import load_csv
from analysis.pipeline import run_analysis
from analysis.playlist import PlaylistError, PlaylistQuery
from analysis.result import RunParams
from dashboard.panels.playlist import PANEL, query_from_controls
from dashboard.host import RunView

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def view(sample_csv):
    dataset = load_csv(sample_csv)
    run = run_analysis(dataset, RunParams(k_min=2, k_max=3, silhouette_sample=200, silhouette_repeats=1))
    names = {0: HOSTILE, 1: "=HYPERLINK(\"x\")", 2: "Calm"}
    return RunView(result=run, k=3, names=names, dataset=dataset)


def find(component, part: str):
    """The component of the layout whose id names ``part``."""
    if getattr(component, "id", None) == PANEL.part_id(part):
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str):
            found = find(child, part)
            if found is not None:
                return found
    return None


def test_the_layout_offers_each_cluster_by_its_name_as_plain_text(view):
    layout = PANEL.layout(view)
    options = find(layout, "clusters").options
    assert [option["label"] for option in options] == [f"0 · {HOSTILE}", "1 · =HYPERLINK(\"x\")", "2 · Calm"]
    years = find(layout, "years")
    assert (years.min, years.max) == (view.frame["release_year"].min(), view.frame["release_year"].max())
    assert find(layout, "grid").rowData == []  # rows come from the callback, read from the store


def controls(**changed) -> dict:
    values = {
        "clusters": None, "genres": None, "artists": None,
        "years": [1920, 2021], "years_bounds": (1920, 2021),
        "popularity": [0, 80], "popularity_bounds": (0, 80),
        "feature": None, "feature_range": [0, 1], "feature_bounds": {"energy": [0.0, 1.0, 0.01]},
        "order": "centre", "descending": False, "dedupe": True, "limit": 50,
        "like_row": None, "within_cluster": False,
    }
    return {**values, **changed}


def test_sliders_at_their_full_extent_filter_nothing():
    assert query_from_controls(controls()) == PlaylistQuery(limit=50)


def test_narrowed_sliders_and_choices_become_the_query():
    query = query_from_controls(controls(
        clusters=[2], genres=["latin"], years=[1990, 2021], popularity=[10, 80],
        feature="energy", feature_range=[0.2, 1.0], order="energy", descending=True, dedupe=False, limit=7,
        like_row=3, within_cluster=True,
    ))
    assert query == PlaylistQuery(
        clusters=(2,), genres=("latin",), years=(1990.0, 2021.0), popularity=(10.0, 80.0),
        feature_ranges={"energy": (0.2, 1.0)}, order_by="energy", descending=True, dedupe=False, limit=7,
        like_row=3, within_like_cluster=True,
    )


def test_an_empty_size_limit_is_a_message_not_a_crash():
    with pytest.raises(PlaylistError, match="enter a size limit"):
        query_from_controls(controls(limit=None))
