"""CI under 15 minutes (the house standard): the suite hashes passwords at Argon2id's cheapest cost through the app's
configuration; production keeps the library's defaults (RFC 9106 low-memory profile), and a hash at that cost is
what a production app makes and checks."""
from __future__ import annotations

from lms import config as config_module
from lms.auth import services as auth_services
from lms.auth.models import User


def test_ci_production_argon2_cost_is_unchanged():
    d = config_module.DEFAULTS
    assert (d["ARGON2_TIME_COST"], d["ARGON2_MEMORY_COST"], d["ARGON2_PARALLELISM"]) == (3, 65536, 4)


def test_ci_production_cost_hashes_and_verifies_at_that_cost(app):
    d = config_module.DEFAULTS
    try:
        auth_services.configure_hasher(d["ARGON2_TIME_COST"], d["ARGON2_MEMORY_COST"], d["ARGON2_PARALLELISM"])
        h = auth_services.hash_password("Passw0rd!cqo")
        assert h.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), h
        assert auth_services.check_password(User(password_hash=h), "Passw0rd!cqo")
        assert not auth_services.check_password(User(password_hash=h), "Passw0rd!cqx")
    finally:  # back to the suite's cost, as the session's app configured it
        c = app.config
        auth_services.configure_hasher(c["ARGON2_TIME_COST"], c["ARGON2_MEMORY_COST"], c["ARGON2_PARALLELISM"])


def test_ci_the_suite_hashes_cheaply(app, db, world):
    assert (app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_COST"], app.config["ARGON2_PARALLELISM"]) == (1, 8, 1)
    assert world.city_admin.password_hash.startswith("$argon2id$v=19$m=8,t=1,p=1$")
