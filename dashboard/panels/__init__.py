"""Panels: one module each, exporting ``PANEL``; the registry assembles them."""
