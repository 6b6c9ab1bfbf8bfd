"""How certificates plugs into the platform: called once per app by ``lms.features.init_app``."""
from __future__ import annotations

from flask import Flask

from certificates import keys


def init_app(app: Flask) -> None:
    """Register the blueprint and the API routes (the rest of the wiring still happens on import)."""
    from certificates import api, views  # noqa: F401  (transitional: the feature's wiring moves here)

    app.register_blueprint(views.bp)
    keys.configure(trust_demo_keys=app.config.get("LMS_ENV") != "production")
