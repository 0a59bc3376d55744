"""The plotly figure builders on a small real run: traces, names, markers and escaping of data text."""
from __future__ import annotations

import html
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from analysis import figures
from synthetic_run import HOSTILE_ARTIST, HOSTILE_SONG, frame, pipeline_run, run  # noqa: F401 (fixtures)

HOSTILE_NAME = "<img src=x onerror=alert(1)>"
NAMES = {0: HOSTILE_NAME, 1: "Calm & quiet", 2: "Loud"}
ESCAPED_NAMES = ["&lt;img src=x onerror=alert(1)&gt;", "Calm &amp; quiet", "Loud"]
SHOWN_NAMES = ["&lt;img src=x onerror=aler…", "Calm &amp; quiet", "Loud"]
TWINS = {0: "Slow acoustic ballads from the fifties", 1: "Slow acoustic ballads from the sixties", 2: "Loud"}


def plotly_figure(figure: dict) -> go.Figure:
    """The builder's plotly JSON as plotly's own figure: validated (it raises on any unknown field or bad
    value, which the builders' plain dicts never meet otherwise) and read by attribute."""
    return go.Figure(figure)


def raw_markup_in(figure) -> bool:
    """True when any text of the figure could render the hostile name as HTML."""
    return "<img" in json.dumps(figure.to_plotly_json(), default=str)


def test_elbow_marks_knee_recommended_and_active_k(run):
    figure = plotly_figure(figures.elbow_figure(run, active_k=4))
    by_name = {trace.name: trace for trace in figure.data}
    assert list(by_name["inertia"].x) == [2, 3, 4]
    assert list(by_name["knee (k=3)"].x) == [3]
    assert list(by_name["recommended (k=3)"].x) == [3]
    assert list(by_name["active (k=4)"].x) == [4]
    assert by_name["active (k=4)"].y[0] == run.sweep.at(4).inertia


def test_elbow_without_a_knee_draws_no_knee_marker(run):
    from dataclasses import replace

    kneeless = replace(run, sweep=replace(run.sweep, knee_k=None))
    names = [trace.name for trace in plotly_figure(figures.elbow_figure(kneeless, 2)).data]
    assert not any(name.startswith("knee") for name in names)


def test_silhouette_figure_has_noise_stability_dbi_ch_and_the_active_k(run):
    figure = plotly_figure(figures.silhouette_figure(run, active_k=3))
    by_name = {trace.name: trace for trace in figure.data}
    assert list(by_name["silhouette"].error_y.array) == [m.silhouette_noise for m in run.sweep.metrics]
    assert list(by_name["stability"].y) == [m.stability for m in run.sweep.metrics]
    assert list(by_name["stability"].error_y.array) == [m.stability_spread for m in run.sweep.metrics]
    assert list(by_name["stable from 0.7"].y) == [0.7, 0.7]
    assert list(by_name["recommended (k=3)"].x) == [3]
    assert list(by_name["Davies–Bouldin"].y) == [m.davies_bouldin for m in run.sweep.metrics]
    assert list(by_name["Calinski–Harabasz"].y) == [m.calinski_harabasz for m in run.sweep.metrics]
    assert [shape.x0 for shape in figure.layout.shapes] == [3, 3, 3, 3]
    assert "± over 4 refits on" in figure.layout.title.subtitle.text


def test_silhouette_distribution_has_one_violin_per_cluster_with_every_sampled_song(run):
    figure = plotly_figure(figures.silhouette_distribution_figure(run, 3, NAMES))
    assert [trace.name for trace in figure.data] == ESCAPED_NAMES
    assert [trace.y0 for trace in figure.data] == [0, 1, 2]
    assert list(figure.layout.yaxis.ticktext) == SHOWN_NAMES
    assert sum(len(trace.x) for trace in figure.data) == run.models[3].silhouette_values.size


def test_pca_has_one_webgl_trace_per_cluster_holding_every_song(run, frame):
    figure = plotly_figure(figures.pca_data(run, frame, 4, NAMES))
    assert [trace.type for trace in figure.data] == ["scattergl"] * 4
    assert [trace.name for trace in figure.data] == [*SHOWN_NAMES, "Cluster 3"]
    assert [trace.meta for trace in figure.data] == [*ESCAPED_NAMES, "Cluster 3"]
    assert sum(len(trace.x) for trace in figure.data) == len(frame)
    assert figure.layout.legend.itemclick == "toggleothers"
    assert list(map(len, (t.x for t in figure.data))) == list(run.models[4].sizes)
    ratio = run.pca.explained_variance_ratio
    assert figure.layout.xaxis.title.text == f"PC1 ({ratio[0]:.1%} of variance)"
    assert figure.layout.yaxis.title.text == f"PC2 ({ratio[1]:.1%} of variance)"


def test_pca_hover_names_song_artist_genre_and_key_features(run, frame):
    frame = frame.copy()
    first = frame.index[0]
    frame.loc[first, ["danceability", "energy", "valence", "acousticness", "tempo"]] = [0.734, 0.5, 0.015, 1.0, 121.6]
    figure = plotly_figure(figures.pca_data(run, frame, 2, NAMES))
    cluster = run.models[2].labels[0]
    trace = figure.data[cluster]
    assert trace.text[0] == "&lt;img src=x onerror=alert(1)&gt;"
    assert trace.hovertext[0] == "Abba · no genre"
    assert trace.customdata.dtype == np.uint8
    assert list(trace.customdata[0]) == [73, 50, 2, 100, 122]
    assert "dance %{customdata[0]}%" in trace.hovertemplate and "%{customdata[4]} BPM" in trace.hovertemplate
    assert trace.x.dtype == trace.y.dtype == np.float32
    assert not raw_markup_in(figure)


def test_hostile_artist_is_escaped_in_pca_hover(run, frame):
    figure = plotly_figure(figures.pca_data(run, frame, 3, NAMES))
    hovers = [text for trace in figure.data for text in trace.hovertext]
    assert "Tom &amp; &lt;b&gt;Jerry&lt;/b&gt; · no genre" in hovers
    assert not any(HOSTILE_ARTIST in text for text in hovers)


def test_song_hover_text_is_cut_before_escaping(frame):
    long = frame.head(1).copy()
    long["name_song"] = ["&" * 100]
    songs, _ = figures.song_hover_text(long)
    assert songs[0] == "&amp;" * figures.HOVER_TEXT_WIDTH


def test_song_hover_text_follows_a_frame_with_dropped_rows(frame):
    kept = frame.iloc[[3, 5, 8]]  # the loader's index: positions in the raw file, with gaps
    songs, artists = figures.song_hover_text(kept)
    assert list(songs) == list(kept["name_song"])
    assert artists[0] == f"{figures.escape(kept['name_artists'].iloc[0])} · {kept['genre_list'].iloc[0][0]}"


def test_song_hover_text_is_built_once_per_frame_and_follows_a_new_frame(frame):
    assert figures.song_hover_text(frame) is figures.song_hover_text(frame)
    renamed = frame.assign(name_song="other")
    assert figures.song_hover_text(renamed)[0][0] == "other"


def test_a_sample_of_the_songs_shows_the_same_hovers_whether_or_not_every_songs_hover_is_built(run, frame):
    fresh = frame.copy()  # no hover text built yet: only the sample's is
    sampled = figures.compact_json(figures.pca_data(run, fresh, 3, NAMES, limit=50, for_compact_json=True))
    sampled_text = figures.pca_data(run, fresh, 3, NAMES, limit=50)
    figures.song_hover_json(fresh)  # every song's, as the dashboard builds it
    assert figures.compact_json(figures.pca_data(run, fresh, 3, NAMES, limit=50, for_compact_json=True)) == sampled
    again = figures.pca_data(run, fresh, 3, NAMES, limit=50)
    for trace, before in zip(again["data"], sampled_text["data"], strict=True):
        assert list(trace["text"]) == list(before["text"]) and list(trace["hovertext"]) == list(before["hovertext"])
        assert len(trace["text"]) == len(trace["x"])


def test_loadings_show_both_components_for_every_feature(run):
    figure = plotly_figure(figures.loadings_figure(run))
    assert [trace.name for trace in figure.data] == ["PC1", "PC2"]
    for trace in figure.data:
        assert list(trace.y) == list(run.pca.loadings.index)
        assert np.allclose(trace.x, run.pca.loadings[trace.name])


def test_heatmap_colours_zscores_around_zero_with_raw_means_on_hover(run):
    figure = plotly_figure(figures.heatmap_figure(run, 3, NAMES))
    heat = figure.data[0]
    assert heat.zmid == 0
    assert np.allclose(np.asarray(heat.z), run.models[3].zscores.to_numpy())
    assert list(heat.y) == [0, 1, 2]
    assert list(figure.layout.yaxis.ticktext) == SHOWN_NAMES
    assert [row[0] for row in heat.hovertext] == ESCAPED_NAMES
    assert all(len(row) == len(heat.x) for row in heat.hovertext)
    assert heat.hovertemplate.startswith("%{hovertext}<br>")
    energy = list(heat.x).index("energy")
    assert heat.customdata[1][energy] == figures._short_number(run.models[3].means_raw.loc[1, "energy"])
    assert "mean %{customdata}" in heat.hovertemplate
    assert not raw_markup_in(figure)


def test_distribution_shows_raw_values_of_the_sampled_songs_per_cluster(run, frame):
    figure = plotly_figure(figures.distribution_figure(run, frame, 3, "tempo", NAMES))
    assert len(figure.data) == 3
    model = run.models[3]
    in_cluster_two = model.labels[model.silhouette_rows] == 2
    assert np.allclose(figure.data[2].y, frame["tempo"].to_numpy()[model.silhouette_rows][in_cluster_two])


def test_sizes_add_up_to_every_song(run, frame):
    figure = plotly_figure(figures.sizes_figure(run, 4, NAMES))
    assert sum(figure.data[0].x) == len(frame)
    assert list(figure.data[0].y) == [0, 1, 2, 3]
    assert list(figure.layout.yaxis.ticktext) == [*SHOWN_NAMES, "Cluster 3"]
    assert list(figure.data[0].hovertext) == [*ESCAPED_NAMES, "Cluster 3"]


def test_every_figure_serialises_without_raw_markup_from_data(run, frame):
    built = [
        plotly_figure(figures.elbow_figure(run, 2)),
        plotly_figure(figures.silhouette_figure(run, 2)),
        plotly_figure(figures.silhouette_distribution_figure(run, 2, NAMES)),
        plotly_figure(figures.pca_data(run, frame, 2, NAMES)),
        plotly_figure(figures.loadings_figure(run)),
        plotly_figure(figures.heatmap_figure(run, 2, NAMES)),
        plotly_figure(figures.distribution_figure(run, frame, 2, "energy", NAMES)),
        plotly_figure(figures.sizes_figure(run, 2, NAMES)),
    ]
    for figure in built:
        assert not raw_markup_in(figure)
        assert HOSTILE_SONG not in pio.to_json(figure, engine="json").replace("\\u003c", "<").replace("\\u003e", ">")


def every_figure(result, frame, k, names):
    return {
        "elbow": plotly_figure(figures.elbow_figure(result, k)),
        "silhouette": plotly_figure(figures.silhouette_figure(result, k)),
        "silhouette per cluster": plotly_figure(figures.silhouette_distribution_figure(result, k, names)),
        "pca": plotly_figure(figures.pca_data(result, frame, k, names)),
        "loadings": plotly_figure(figures.loadings_figure(result)),
        "heatmap": plotly_figure(figures.heatmap_figure(result, k, names)),
        "distribution": plotly_figure(figures.distribution_figure(result, frame, k, "energy", names)),
        "sizes": plotly_figure(figures.sizes_figure(result, k, names)),
    }


@pytest.mark.parametrize("k", [2, 4])
def test_every_figure_draws_the_pipelines_own_run(pipeline_run, k):
    result, dataset = pipeline_run
    names = {cluster: suggestion.name for cluster, suggestion in enumerate(result.models[k].suggested_names)}
    for name, figure in every_figure(result, dataset.frame, k, names).items():
        assert figure.data, name
        assert not raw_markup_in(figure), name
    pca = plotly_figure(figures.pca_data(result, dataset.frame, k, names))
    assert sum(len(trace.x) for trace in pca.data) == len(dataset.frame)
    assert "&lt;img src=x onerror=alert(1)&gt;" in {text for trace in pca.data for text in trace.text}


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Loud", "Loud"),
        ("Calm & quiet", "Calm &amp; quiet"),
        ("x" * figures.LABEL_CHARS, "x" * figures.LABEL_CHARS),
        ("x" * (figures.LABEL_CHARS + 1), "x" * (figures.LABEL_CHARS - 1) + "…"),
        ("&" * 40, "&amp;" * (figures.LABEL_CHARS - 1) + "…"),  # cut before escaping: no half "&am"
        ("Slow acoustic ballads, fifties", "Slow acoustic ballads,…"),  # no space before the "…"
        ("中文名字" * 10, "中文名字" * 5 + "中文名…"),
    ],
)
def test_shown_label_cuts_long_names_then_escapes(name, shown):
    assert figures.shown_label(name) == shown
    assert len(html.unescape(figures.shown_label(name))) <= figures.LABEL_CHARS


def test_pca_hover_shows_the_full_name_from_the_traces_meta_without_per_song_payload(run, frame):
    figure = plotly_figure(figures.pca_data(run, frame, 3, TWINS))
    assert [trace.name for trace in figure.data] == [figures.shown_label(name) for name in TWINS.values()]
    assert [trace.meta for trace in figure.data] == list(TWINS.values())
    for trace in figure.data:
        assert trace.hovertemplate.endswith("<extra>%{meta}</extra>")
        assert trace.hoverlabel.namelength == -1  # plotly would cut the <extra> name at 15 characters
        per_song = {key for key, value in trace.to_plotly_json().items() if np.ndim(value) == 1 and len(value) > 1}
        assert per_song == {"x", "y", "text", "hovertext"}
        assert trace.customdata.shape == (len(trace.x), len(figures.HOVER_FEATURES))


def cluster_axis_figures(run, frame, names):
    """figure name -> (figure, its cluster axis, full names as its hover shows them, one per cluster)."""
    heatmap = plotly_figure(figures.heatmap_figure(run, 3, names))
    sizes = plotly_figure(figures.sizes_figure(run, 3, names))
    spread = plotly_figure(figures.artist_spread_figure(np.array([5, 0, 1200]), names, "abba"))
    silhouettes = plotly_figure(figures.silhouette_distribution_figure(run, 3, names))
    distribution = plotly_figure(figures.distribution_figure(run, frame, 3, "energy", names))
    return {
        "heatmap": (heatmap, heatmap.layout.yaxis, [row[0] for row in heatmap.data[0].hovertext]),
        "sizes": (sizes, sizes.layout.yaxis, list(sizes.data[0].hovertext)),
        "artist spread": (spread, spread.layout.xaxis, list(spread.data[0].hovertext)),
        "silhouettes": (silhouettes, silhouettes.layout.yaxis, [trace.name for trace in silhouettes.data]),
        "distribution": (distribution, distribution.layout.xaxis, [trace.name for trace in distribution.data]),
    }


def test_cluster_axes_show_cut_names_and_hovers_the_full_ones(run, frame):
    names = {**TWINS, 2: HOSTILE_NAME}
    for kind, (_, axis, hover_names) in cluster_axis_figures(run, frame, names).items():
        assert list(axis.tickvals) == [0, 1, 2], kind
        assert list(axis.ticktext) == [figures.shown_label(name) for name in names.values()], kind
        assert hover_names == [figures.escape(name) for name in names.values()], kind


def test_two_names_cut_to_one_label_stay_two_clusters(run, frame):
    assert figures.shown_label(TWINS[0]) == figures.shown_label(TWINS[1])
    figures_by_kind = cluster_axis_figures(run, frame, TWINS)
    heatmap, sizes, spread = (figures_by_kind[kind][0].data[0] for kind in ("heatmap", "sizes", "artist spread"))
    assert list(heatmap.y) == list(sizes.y) == list(spread.x) == [0, 1, 2]
    for kind in ("silhouettes", "distribution"):
        violins = figures_by_kind[kind][0].data
        assert sorted({trace.y0 if trace.orientation == "h" else trace.x0 for trace in violins}) == [0, 1, 2], kind


def test_violins_stay_inside_each_features_range(run, frame):
    for figure in (plotly_figure(figures.silhouette_distribution_figure(run, 3, NAMES)),
                   plotly_figure(figures.distribution_figure(run, frame, 3, "energy", NAMES))):
        assert [trace.spanmode for trace in figure.data] == ["hard"] * 3


def test_counts_and_large_values_are_grouped_by_thousands(run, frame):
    elbow = plotly_figure(figures.elbow_figure(run, 3))
    quality = plotly_figure(figures.silhouette_figure(run, 3))
    sizes = plotly_figure(figures.sizes_figure(run, 3, NAMES))
    spread = plotly_figure(figures.artist_spread_figure(np.array([5, 0, 1200]), NAMES, "abba"))
    distribution = plotly_figure(figures.distribution_figure(run, frame, 3, "energy", NAMES))
    assert elbow.layout.yaxis.tickformat == quality.layout.yaxis4.tickformat == ","
    assert sizes.layout.xaxis.tickformat == spread.layout.yaxis.tickformat == distribution.layout.yaxis.tickformat == ","
    assert distribution.layout.yaxis.hoverformat == figures.RAW_VALUE_FORMAT
    assert "%{x:,} songs" in sizes.data[0].hovertemplate and "%{y:,} songs" in spread.data[0].hovertemplate
    assert "inertia %{y:,.0f}" in elbow.data[0].hovertemplate
    assert "CH %{y:,.0f}" in next(t for t in quality.data if t.name == "Calinski–Harabasz").hovertemplate


@pytest.mark.parametrize(("value", "text"), [(0.734, "0.734"), (-5.883, "-5.88"), (999.4, "999"), (999.7, "1,000"),
                                             (215_000.0, "215,000"), (1_234_567.0, "1,234,567")])
def test_heatmap_means_never_show_an_exponent(value, text):
    assert figures._short_number(value) == text


def test_every_title_starts_below_the_modebar(run, frame):
    for kind, figure in every_figure(run, frame, 3, NAMES).items():
        title, margin = figure.layout.title, figure.layout.margin
        assert (title.xanchor, title.yanchor, title.y, title.yref) == ("left", "top", 1, "container"), kind
        assert title.pad.t >= figures.MODEBAR_HEIGHT and margin.t >= 70, kind
        assert "<br>" not in title.text, kind  # plotly lifts a second line's top into the modebar's row
    quality = plotly_figure(figures.silhouette_figure(run, 3))
    assert quality.layout.title.subtitle.text.startswith(f"{run.sweep.silhouette_sample_size:,} sampled songs")
    assert quality.layout.margin.t >= 90


def test_every_figure_is_plotly_json_in_our_template_that_plotly_accepts(run, frame):
    """The builders write plain dicts (for speed), unchecked: a wrong field would pass silently there."""
    table = np.array([[5, 0, 3], [1, 9, 0]])
    built = {
        **every_figure(run, frame, 3, NAMES),
        "artist spread": figures.artist_spread_figure(np.array([5, 0, 1200]), NAMES, "abba"),
        "pca waiting": figures.pca_waiting_figure(run),
        "flow": figures.flow_figure(table, NAMES, NAMES, "flow"),
        "contingency": figures.contingency_figure(table, table / table.sum(axis=1, keepdims=True), NAMES, NAMES,
                                                  "table", "A", "B"),
    }
    template = pio.templates[figures.TEMPLATE].to_plotly_json()
    for kind, figure in built.items():
        assert plotly_figure(figure).layout.template.to_plotly_json() == template, kind  # validated on the way


def test_the_colours_are_plotlys():
    from plotly.colors import diverging, qualitative, sequential

    assert figures.CLUSTER_COLOURS == tuple(qualitative.Plotly + qualitative.Dark24 + qualitative.Light24)
    assert figures.diverging.RdBu_r == diverging.RdBu_r and figures.sequential.Blues == sequential.Blues


def test_the_template_and_plotly_js_are_read_as_plotly_reads_them():
    from plotly.offline import get_plotlyjs

    assert figures._template_json() == pio.templates[figures.TEMPLATE].to_plotly_json()
    assert figures.plotly_package_data("plotly.min.js").decode() == get_plotlyjs()


def test_songs_text_written_once_per_file_gives_the_same_json_as_writing_it_per_figure(run, frame):
    # The hostile artist's '<', quotes and the frame's other scripts go through both ways.
    for k in (2, 3):
        per_figure = figures.compact_json(figures.pca_data(run, frame, k, {0: "</script>"}))
        assert figures.pca_json(run, frame, k, {0: "</script>"}) == per_figure
        assert "<" not in per_figure
        hovers = [text for trace in json.loads(per_figure)["data"] for text in trace["hovertext"]]
        assert "Tom &amp; &lt;b&gt;Jerry&lt;/b&gt; · no genre" in hovers
