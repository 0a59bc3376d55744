// A k switch redraws the panels that depend on k: names typed but not saved would be lost, so ask first.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    amc_elbow: {
        chooseK: function (chosen, click, state) {
            const noUpdate = window.dash_clientside.no_update;
            const triggered = (window.dash_clientside.callback_context.triggered || [])[0] || {};
            const fromGraph = triggered.prop_id && triggered.prop_id.endsWith(".clickData");
            const points = (click && click.points) || [];
            const k = fromGraph ? (points.length ? Number(points[0].x) : null) : Number(chosen);
            if (k === null || !state || k === state.k) {
                return [noUpdate, noUpdate];
            }
            const unsaved = window.amcUnsavedNames || 0;
            if (unsaved && !window.confirm(unsaved + " cluster name(s) you typed are not saved and will be lost at "
                                           + "k = " + k + ". Switch anyway?")) {
                return [noUpdate, String(state.k)];
            }
            return [k, noUpdate];
        },
    },
});
