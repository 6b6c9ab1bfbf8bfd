"""The CQO training platform: the layer below every feature (see docs/development.md, "Layers").

The application factory is ``lms.app.create_app``. This package module imports nothing, so that importing any
platform module (``lms.audit``, ``lms.db``, …) does not pull in the factory and, through it, every feature.
"""
