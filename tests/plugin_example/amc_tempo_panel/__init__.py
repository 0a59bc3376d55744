"""An example panel plug-in: how many songs of each cluster are faster than a tempo the user types,
and a download of those songs. It reaches the dashboard only through its host."""
from dash import Input, Output, dcc, html
from flask import request

from dashboard.host import Panel, PanelHost, RouteError, RunView


def layout(view: RunView):
    return html.Div([
        dcc.Input(id=PANEL.part_id("tempo"), type="number", value=120, debounce=True),
        html.Div(id=PANEL.part_id("counts")),
        html.A("Download them", id=PANEL.part_id("download"), href=""),
    ])


def faster(view: RunView, tempo: float):
    return view.frame[view.frame["tempo"] > tempo]


def register(host: PanelHost) -> None:
    @host.callback(
        Output(PANEL.part_id("counts"), "children"),
        Output(PANEL.part_id("download"), "href"),
        Input(PANEL.part_id("tempo"), "value"),
        host.shown(),
    )
    def count(tempo, shown):
        view = host.view(shown)
        songs = faster(view, float(tempo or 0))
        labels = view.model.labels[view.frame.index.get_indexer(songs.index)]
        counts = [f"{view.names[c]}: {(labels == c).sum()}" for c in range(view.k)]
        link = host.href("faster.csv", run=view.run_id, k=view.k, tempo=tempo or 0)
        return f"{len(songs)} songs faster than {tempo} BPM · " + " · ".join(counts), link

    def faster_csv():
        view = host.requested_view()
        try:
            tempo = float(request.args.get("tempo", "0"))
        except ValueError:
            raise RouteError(400, "tempo must be a number") from None
        return faster(view, tempo)[["id_songs", "name_song", "tempo"]].to_csv(index=False)

    host.route("faster.csv", faster_csv)


PANEL = Panel(name="tempo", title="Fast songs", needs=frozenset({"models", "dataset"}), layout=layout,
              register=register, order=80)
