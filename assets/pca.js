// The PCA scatter arrives by its own route (dashboard/panels/pca.py): fetched once per run and k,
// kept by the browser's cache, and given the cluster names the page shows now.
(function () {
    function unavailable(message) {
        // Plotly reads annotation text as HTML: the server's message is shown as text.
        const text = message.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
        return {
            data: [],
            layout: {
                height: 560,
                template: "plotly_white",
                xaxis: {visible: false},
                yaxis: {visible: false},
                annotations: [{text: "The songs could not be drawn: " + text, showarrow: false,
                               xref: "paper", yref: "paper"}],
            },
        };
    }

    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        amc_pca: {
            draw: async function (source) {
                if (!source || !source.url) {
                    return window.dash_clientside.no_update;
                }
                const answer = await fetch(source.url, {credentials: "same-origin"});
                if (!answer.ok) {
                    return unavailable((await answer.text()).trim());
                }
                const figure = await answer.json();
                figure.data.forEach((trace, cluster) => {
                    trace.name = source.names[cluster];
                });
                return figure;
            },
        },
    });
})();
