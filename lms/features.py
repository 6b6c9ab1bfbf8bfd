"""The feature packages beside ``lms``, in the order they depend on each other, and how the platform wires them.

A feature is a top-level package (``courses``, ``exams``, …) with ``models.py``, ``services``, ``queries.py``,
``views``, ``api.py``, ``jobs.py``, ``templates/<feature>/`` and one ``wiring.py`` whose ``init_app(app)``
registers everything the feature adds to the platform: its blueprint and API routes, navigation, home panels,
class gates, completion rules, demo seed hooks and signal receivers. The platform imports features only here,
by name, so that ``lms`` itself never imports a feature (``tests/unit/test_architecture.py`` checks it).

The order is the dependency order: a feature may import those before it, never those after it; a lower feature
reacts to a higher one through the signals the higher one declares (``docs/development.md`` lists them).
"""
from __future__ import annotations

import importlib
from types import ModuleType

from flask import Flask

FEATURES: list[str] = ["courses", "exams", "certificates", "credits", "talent", "reports"]

PLATFORM_MODELS = ["lms.auth.models", "lms.orgs.models", "lms.people.models", "lms.jobs.models", "lms.uploads",
                   "lms.notifications.models", "lms.published", "lms.settingbasis"]


def _import(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        # Absent module of a feature (a feature without jobs, say): skip. A missing import *inside* it raises.
        if exc.name == module or module.startswith(f"{exc.name}."):
            return None
        raise


def import_models() -> None:
    """Import every model module, so that the metadata (migrations, ``create_all``) knows every table."""
    for module in PLATFORM_MODELS + [f"{pkg}.models" for pkg in FEATURES]:
        _import(module)


def import_jobs() -> None:
    """Import every feature's ``jobs`` module, which registers its scheduled jobs."""
    for pkg in FEATURES:
        _import(f"{pkg}.jobs")


def import_setup() -> None:
    """Setup steps the features add to ``python -m lms.secrets init`` (e.g. certificate signing keys)."""
    for pkg in FEATURES:
        _import(f"{pkg}.setup")


def init_app(app: Flask) -> None:
    """Call each feature's ``wiring.init_app(app)``, in dependency order."""
    for pkg in FEATURES:
        wiring = _import(f"{pkg}.wiring")
        if wiring is None:
            raise RuntimeError(f"feature {pkg} has no wiring.py")
        wiring.init_app(app)
