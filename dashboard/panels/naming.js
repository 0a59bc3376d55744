// Unsaved names: a field whose text differs from the name it was given. The page asks before a k switch
// or leaving it would drop them.
(function () {
    window.addEventListener("beforeunload", function (event) {
        if (window.amcUnsavedNames) {
            event.preventDefault();
            event.returnValue = "";
        }
    });

    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        amc_naming: {
            countUnsaved: function (values, drawn) {
                const names = (drawn && drawn.names) || [];
                const unsaved = (values || []).filter((value, cluster) => value !== names[cluster]).length;
                window.amcUnsavedNames = unsaved;
                return unsaved;
            },
        },
    });
})();
