// A k switch redraws the panels that depend on k: names typed but not saved would be lost, so ask first.
// The elbow's own "active" marker moves at once, in the page: the server then only confirms it.

// The figure's last trace is the active-k marker; its first holds the inertia of every k.
function activeMarker(graphId, k) {
    const graph = document.getElementById(JSON.stringify(graphId));
    const plot = graph && graph.querySelector(".js-plotly-plot");
    if (!plot || !plot.data || !plot.data.length) {
        return window.dash_clientside.no_update;
    }
    const inertia = plot.data[0];
    const at = Array.from(inertia.x).indexOf(k);
    if (at < 0) {
        return window.dash_clientside.no_update;
    }
    const last = plot.data.length - 1;
    return new window.dash_clientside.Patch()
        .assign(["data", last, "x"], [k])
        .assign(["data", last, "y"], [inertia.y[at]])
        .assign(["data", last, "name"], "active (k=" + k + ")")
        .build();
}

window.dash_clientside = Object.assign({}, window.dash_clientside, {
    amc_elbow: {
        chooseK: function (chosen, click, state, graphId) {
            const noUpdate = window.dash_clientside.no_update;
            const triggered = (window.dash_clientside.callback_context.triggered || [])[0] || {};
            const fromGraph = triggered.prop_id && triggered.prop_id.endsWith(".clickData");
            const points = (click && click.points) || [];
            const k = fromGraph ? (points.length ? Number(points[0].x) : null) : Number(chosen);
            if (k === null || !state || k === state.k) {
                return [noUpdate, noUpdate, noUpdate];
            }
            const unsaved = window.amcUnsavedNames || 0;
            if (unsaved && !window.confirm(unsaved + " cluster name(s) you typed are not saved and will be lost at "
                                           + "k = " + k + ". Switch anyway?")) {
                return [noUpdate, String(state.k), noUpdate];
            }
            return [k, noUpdate, activeMarker(graphId, k)];
        },
    },
});
