"""Operator commands: seed-demo (idempotent), create-user, create-token."""
from sqlalchemy import func, select

from lms.auth.models import User
from lms.orgs.models import Enterprise
from lms.people.models import TraineeProfile


def test_seed_demo_is_idempotent(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    counts = [db.scalar(select(func.count()).select_from(m)) for m in (User, Enterprise, TraineeProfile)]
    assert counts[2] == 30 and counts[1] == 10
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert [db.scalar(select(func.count()).select_from(m)) for m in (User, Enterprise, TraineeProfile)] == counts


def test_create_user_and_token(app, db, world):
    runner = app.test_cli_runner()
    res = runner.invoke(args=["create-user", "--username", "rg_clerk", "--display-name", "如皋局", "--role",
                              "regulator_admin", "--region-code", "320682", "--password", "Clerk2026ok"])
    assert res.exit_code == 0, res.output
    assert db.scalar(select(User).where(User.username == "rg_clerk")).region_id == world.rugao.id
    bad = runner.invoke(args=["create-user", "--username", "rg_clerk", "--display-name", "x", "--role", "trainee",
                              "--password", "short"])
    assert bad.exit_code != 0 and "username" in bad.output and "password" in bad.output
    res = runner.invoke(args=["create-token", "rg_clerk"])
    token = res.output.strip()
    assert res.exit_code == 0 and token.startswith("cqo_")
    client = app.test_client()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()["username"] == "rg_clerk"
    assert runner.invoke(args=["create-token", "nobody"]).exit_code != 0
