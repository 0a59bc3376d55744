// The browser's own upload size check: a file over the limit is never sent to the server.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    amc: {
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
    },
});
