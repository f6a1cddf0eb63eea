"""The web layer: blueprints, htmx helpers, CSRF, sessions. Views parse, call one service, render."""
