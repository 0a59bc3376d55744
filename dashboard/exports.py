"""Files the dashboard hands to the browser: one download response, and the shell's full-dataset export.

Every file goes through ``analysis.export``'s one writer (raw values, formulas neutralised) and is
streamed as it is written.
"""
from __future__ import annotations

import unicodedata
from urllib.parse import quote

from flask import Response, request, stream_with_context

from analysis.export import clustered_frame, csv_chunks, safe_filename
from dashboard.host import PanelHost, RunView

DATASET_ROUTE = "dataset.csv"


def attachment(body, filename: str, mimetype: str) -> Response:
    """A download response; ``body`` is bytes, text or an iterator of chunks (streamed as it is produced)."""
    if not isinstance(body, str | bytes):
        body = stream_with_context(body)
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def content_disposition(filename: str) -> str:
    """``filename`` for every browser, plus RFC 6266 ``filename*`` for names outside ASCII."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    suffix = filename.rpartition(".")[2]
    fallback = safe_filename(ascii_name.rpartition(".")[0], suffix)
    value = f'attachment; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


def dataset_csv(view: RunView) -> Response:
    """Every input row and column as given, then ``cluster`` and ``cluster_name`` at the view's k."""
    stem = view.result.dataset_name.rsplit(".", 1)[0]
    filename = safe_filename(f"{stem}-k{view.k}-clusters", "csv")
    frame = clustered_frame(view.dataset, view.model.labels, view.names)
    return attachment(csv_chunks(frame, excel=for_excel()), filename, "text/csv")


def for_excel() -> bool:
    """``?excel=1``: the file starts with a byte-order mark, so Excel reads non-Latin names as UTF-8."""
    return request.args.get("excel") == "1"


def register_dataset_export(host: PanelHost) -> None:
    host.route(DATASET_ROUTE, lambda: dataset_csv(host.requested_view(songs=True)))
