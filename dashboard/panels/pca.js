// The PCA scatter arrives by its own route (dashboard/panels/pca.py): fetched once per run and k, kept
// by the browser's cache. Names travel apart from it: a rename patches the traces' names in place, the
// legend's cut one (name) and the hover's whole one (meta).
(function () {
    function unavailable(message) {
        // Plotly reads annotation text as HTML: the server's message is shown as text.
        return {
            data: [],
            layout: {
                height: 560,
                xaxis: {visible: false},
                yaxis: {visible: false},
                annotations: [{text: "The songs could not be drawn: " + escaped(message), showarrow: false,
                               xref: "paper", yref: "paper"}],
            },
        };
    }

    function escaped(text) {
        return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    }

    // analysis.figures.shown_label: the legend shows a long name cut, in characters, not UTF-16 units.
    function shownLabel(name, limit) {
        const chars = Array.from(String(name));
        return escaped(chars.length > limit ? chars.slice(0, limit - 1).join("").trimEnd() + "…" : name);
    }

    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        amc_pca: {
            draw: async function (source, names) {
                if (!source || !source.url) {
                    return window.dash_clientside.no_update;
                }
                const answer = await window.amc.fetchOnce(source.url);
                if (!answer.ok) {
                    return unavailable((await answer.text()).trim());
                }
                const figure = await answer.json();
                // A rename made while the songs travelled is already in the names store.
                const current = names && names.run_id === source.run_id && names.k === source.k
                    ? names.names : source.names;
                figure.data.forEach((trace, cluster) => {
                    trace.name = shownLabel(current[cluster], source.label_chars);
                    trace.meta = escaped(current[cluster]);
                });
                return figure;
            },
            // Only the shape goes to the server, with the clusters whose songs it caught (a cluster hidden
            // by the legend catches none): the points themselves are megabytes at 96k songs.
            shape: function (selected) {
                if (!selected || !(selected.lassoPoints || selected.range)) {
                    return window.dash_clientside.no_update;
                }
                const clusters = new Set((selected.points || []).map((point) => point.curveNumber));
                const shape = selected.lassoPoints ? {lassoPoints: selected.lassoPoints} : {range: selected.range};
                return {selected: shape, clusters: [...clusters].sort((a, b) => a - b), at: Date.now()};
            },
            rename: function (names, source, figure) {
                // Only names of the run and k this scatter shows, once its songs are drawn.
                if (!names || !source || !figure || names.run_id !== source.run_id || names.k !== source.k
                    || (figure.data || []).length !== names.names.length) {
                    return window.dash_clientside.no_update;
                }
                const patch = new window.dash_clientside.Patch();
                names.names.forEach((name, cluster) => {
                    patch.assign(["data", cluster, "name"], shownLabel(name, source.label_chars));
                    patch.assign(["data", cluster, "meta"], escaped(name));
                });
                return patch.build();
            },
        },
    });
})();
