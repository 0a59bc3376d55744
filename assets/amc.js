// The shell's clientside callbacks, and keeping plotly's modebar out of the keyboard's way.

// Controls that third-party widgets draw without a name a screen reader can say, or in the wrong tab
// order, get one here, whenever they appear.
function mendControls() {
    // Each chart's modebar is eight links: out of the tab order, a keyboard user reaches the page's own
    // controls instead of tabbing through 70 of them. The mouse still uses them.
    document.querySelectorAll(".modebar-btn:not([tabindex='-1'])").forEach((button) => {
        button.setAttribute("tabindex", "-1");
    });
    document.querySelectorAll(".progress-bar[role=progressbar]:not([aria-label])").forEach((bar) => {
        bar.setAttribute("aria-label", "Run progress");
    });
    // The tabs show cards of the shell's own, not Bootstrap's tab panes.
    document.querySelectorAll("#panel-tabs .nav-link").forEach((tab) => {
        const panel = [...tab.classList].find((name) => name.startsWith("amc-tab-"));
        if (panel) {
            tab.setAttribute("aria-controls", "panel-card-" + panel.slice("amc-tab-".length));
        }
    });
    document.querySelectorAll("input[type=file]:not([aria-label])").forEach((input) => {
        input.setAttribute("aria-label", input.parentElement.textContent.trim() || "Choose a file");
    });
    // A dropdown is one button to focus and open, not a hidden input behind it.
    document.querySelectorAll(".dash-dropdown-focus-target:not([tabindex='-1'])").forEach((target) => {
        target.setAttribute("tabindex", "-1");
    });
    document.querySelectorAll("button.dash-dropdown[tabindex='-1']").forEach((button) => {
        button.setAttribute("tabindex", "0");
    });
    // A slider's number boxes are named after the label just before the slider: "Release year, from".
    document.querySelectorAll("input[type=number]:not([aria-label]):not([id])").forEach((input) => {
        const label = document.evaluate("preceding::label[1]", input, null,
                                        XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
        const end = input.className.includes("max") || input.previousElementSibling ? ", to" : ", from";
        input.setAttribute("aria-label", (label ? label.textContent.trim() : "Value") + end);
    });
}

new MutationObserver(mendControls).observe(document.documentElement, {childList: true, subtree: true});

// Answers fetched ahead for a panel about to be drawn (Panel.prefetch), each taken once by fetchOnce. A link
// is fetched ahead once per page: a second time, the browser's cache has it (the links never change).
const prefetched = new Map();
const fetchedAhead = new Set();

// The answer to ``url``: the one fetched ahead when there is one, else a fetch of its own.
window.amc = Object.assign({}, window.amc, {
    fetchOnce: function (url) {
        const early = prefetched.get(url);
        prefetched.delete(url);
        return early || fetch(url, {credentials: "same-origin"});
    },
});

function linkQuery(search) {
    const query = new URLSearchParams(search || "");
    return {run: query.get("run") || "", k: query.get("k") || ""};
}

window.dash_clientside = Object.assign({}, window.dash_clientside, {
    amc: {
        // Only the links of the newest view are kept: an answer nobody took is let go.
        prefetch: function (links) {
            const wanted = new Set(links || []);
            [...prefetched.keys()].filter((url) => !wanted.has(url)).forEach((url) => prefetched.delete(url));
            wanted.forEach((url) => {
                if (!fetchedAhead.has(url)) {
                    fetchedAhead.add(url);
                    const answer = fetch(url, {credentials: "same-origin"});
                    answer.catch(() => prefetched.delete(url));  // fetchOnce then asks again, and says why
                    prefetched.set(url, answer);
                }
            });
        },
        // ?run=&k=&panel= of what the page shows, so that the address is a link to it, then the parameters
        // the panel on screen adds (panelLink: {panel: params}, see host.link_data).
        linkForState: function (state, panel, panelLink, search) {
            if (!state || !state.run_id) {
                return window.dash_clientside.no_update;
            }
            const query = new URLSearchParams({run: state.run_id, k: String(state.k)});
            if (panel) {
                query.set("panel", panel);
            }
            if (panel && panelLink && panelLink[panel]) {
                Object.entries(panelLink[panel]).forEach(([key, value]) => query.set(key, value));
            }
            const wanted = "?" + query.toString();
            return wanted === search ? window.dash_clientside.no_update : wanted;
        },
        // A link that names another run or k than the one shown goes to the server to be opened; the link
        // the page wrote itself, or a tab the user has just chosen, goes nowhere.
        linkOpened: function (search, state) {
            const link = linkQuery(search);
            if (!link.run || (state && state.run_id === link.run && String(state.k) === link.k)) {
                return window.dash_clientside.no_update;
            }
            return {search: search, at: Date.now()};
        },
        showSelection: function (selection, active) {
            const wanted = (selection && selection.show) || active;
            return wanted === active ? window.dash_clientside.no_update : wanted;
        },
        // The browser's own upload size check: a file over the limit is never sent to the server.
        // A file within the limit goes to the upload route as its own bytes; the store that triggers the
        // server's read gets the route's token, never the file (dashboard/uploads.py).
        checkUploadSize: function (contents, filename, limit) {
            const noUpdate = window.dash_clientside.no_update;
            if (!contents) {
                return [noUpdate, noUpdate];
            }
            const payload = contents.length - contents.indexOf(",") - 1;
            const bytes = Math.floor(payload * 3 / 4);
            if (bytes > limit.bytes) {
                return [noUpdate, {filename: filename, bytes: bytes, at: Date.now()}];
            }
            const refused = (error) => [noUpdate, {filename: filename, error: error, at: Date.now()}];
            return fetch(contents)
                .then((file) => file.blob())
                .then((blob) => fetch(limit.url, {method: "POST", body: blob, credentials: "same-origin",
                                                  headers: {"Content-Type": "application/octet-stream"}}))
                .then((answer) => (answer.ok
                    ? answer.json().then((sent) => [{filename: filename, upload: sent.upload}, noUpdate])
                    : answer.text().then((text) => refused(text.trim() || `the server answered ${answer.status}`))))
                .catch((error) => refused(`the upload did not reach the server (${error.message})`));
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
