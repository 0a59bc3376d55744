"""Songs inside a shape drawn on the PCA scatter: a lasso (a polygon) or a box, in the plane's own units.

The browser sends only the shape, never the points it covers (50,000 selected songs are megabytes of
plotly's ``selectedData``), and the songs are found again here from the run's PCA coordinates, as the
scatter drew them (float32). A point is inside a lasso by the even-odd rule, as plotly's own lasso decides.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_LASSO_VERTICES = 20_000  # a long freehand lasso has a few thousand; more is not a drawing


class SelectionError(ValueError):
    """A shape that cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class Shape:
    """A box (``kind="box"``, ``xs``/``ys`` its two corners' ranges) or a lasso (its vertices, in order)."""

    kind: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]

    @classmethod
    def from_plotly(cls, selected: object) -> "Shape":
        """The shape of plotly's ``selectedData``: ``{"lassoPoints": {"x", "y"}}`` or ``{"range": {"x", "y"}}``."""
        if not isinstance(selected, dict):
            raise SelectionError("a selection is a lasso or a box drawn on the scatter")
        if isinstance(selected.get("lassoPoints"), dict):
            xs, ys = _coordinates(selected["lassoPoints"])
            if len(xs) < 3:
                raise SelectionError("a lasso needs at least three points")
            if len(xs) > MAX_LASSO_VERTICES:
                raise SelectionError(f"a lasso of {len(xs):,} points is more than the {MAX_LASSO_VERTICES:,} accepted")
            return cls("lasso", xs, ys)
        if isinstance(selected.get("range"), dict):
            xs, ys = _coordinates(selected["range"])
            if len(xs) != 2 or len(ys) != 2:
                raise SelectionError("a box is two x and two y bounds")
            return cls("box", tuple(sorted(xs)), tuple(sorted(ys)))
        raise SelectionError("a selection is a lasso or a box drawn on the scatter")


def _coordinates(points: dict) -> tuple[tuple[float, ...], tuple[float, ...]]:
    xs, ys = points.get("x"), points.get("y")
    if not isinstance(xs, list) or not isinstance(ys, list) or len(xs) != len(ys):
        raise SelectionError("a shape's x and y are two lists of the same length")
    try:
        values = np.asarray([xs, ys], dtype=np.float64)
    except (TypeError, ValueError):
        raise SelectionError("a shape's coordinates are numbers") from None
    if not np.isfinite(values).all():
        raise SelectionError("a shape's coordinates are finite numbers")
    return tuple(values[0].tolist()), tuple(values[1].tolist())


def songs_in_shape(coords: np.ndarray, labels: np.ndarray, clusters: tuple[int, ...] | None, shape: Shape) -> np.ndarray:
    """Row positions (ascending) of the songs whose (PC1, PC2) lies in ``shape``, among ``clusters``
    (those shown on the scatter; None for all).

    ``coords`` is the run's ``PCAResult.coords`` (n × ≥2), ``labels`` the cluster of every song.
    """
    points = np.asarray(coords[:, :2], dtype=np.float32).astype(np.float64)
    x, y = points[:, 0], points[:, 1]
    box_x = (min(shape.xs), max(shape.xs))
    box_y = (min(shape.ys), max(shape.ys))
    candidate = (x >= box_x[0]) & (x <= box_x[1]) & (y >= box_y[0]) & (y <= box_y[1])
    if clusters is not None:
        candidate &= np.isin(labels, np.asarray(clusters, dtype=np.int64))
    rows = np.flatnonzero(candidate)
    if shape.kind == "lasso":
        rows = rows[_inside_polygon(x[rows], y[rows], np.asarray(shape.xs), np.asarray(shape.ys))]
    return rows


def _inside_polygon(x: np.ndarray, y: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Even-odd rule: a point is inside when a ray to its right crosses the polygon's edges an odd number of times.

    The points are sorted by y once, so each edge looks only at the points level with it: a freehand
    lasso of a thousand edges costs a few passes over the songs, not a thousand.
    """
    order = np.argsort(y, kind="stable")
    sorted_x, sorted_y = x[order], y[order]
    inside = np.zeros(len(x), dtype=bool)
    previous_x, previous_y = xs[-1], ys[-1]
    for vertex_x, vertex_y in zip(xs, ys):
        low, high = sorted((vertex_y, previous_y))
        # The edge spans the points with low <= y < high (none when it is horizontal).
        level = slice(*np.searchsorted(sorted_y, (low, high), side="left"))
        crossing_x = vertex_x + (sorted_y[level] - vertex_y) * (previous_x - vertex_x) / (previous_y - vertex_y or 1.0)
        inside[level] ^= sorted_x[level] < crossing_x
        previous_x, previous_y = vertex_x, vertex_y
    found = np.zeros(len(x), dtype=bool)
    found[order] = inside
    return found
