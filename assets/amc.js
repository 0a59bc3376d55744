// The shell's clientside callbacks.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    amc: {
        // The browser's own upload size check: a file over the limit is never sent to the server.
        checkUploadSize: function (contents, filename, limit) {
            const noUpdate = window.dash_clientside.no_update;
            if (!contents) {
                return [noUpdate, noUpdate];
            }
            const payload = contents.length - contents.indexOf(",") - 1;
            const bytes = Math.floor(payload * 3 / 4);
            if (bytes > limit) {
                return [noUpdate, {filename: filename, bytes: bytes, at: Date.now()}];
            }
            return [{filename: filename, contents: contents}, noUpdate];
        },
        // Only the chosen panel is on screen, and only it learns of a new run or k: a panel off screen
        // is neither drawn nor updated until it is shown.
        showPanel: function (state, active, views, ids) {
            const noUpdate = window.dash_clientside.no_update;
            const wanted = state && state.run_id
                ? {dataset_id: state.dataset_id, run_id: state.run_id, k: state.k} : null;
            const same = (a, b) => (!a && !b) || (a && b && a.run_id === b.run_id && a.k === b.k
                                                  && a.dataset_id === b.dataset_id);
            const shown = ids.map((id, i) => (id.panel === active && !same(views[i], wanted) ? wanted : noUpdate));
            return [shown, ids.map((id) => id.panel !== active)];
        },
    },
});
