"""First run at a bureau: ``flask --app wsgi setup`` (idempotent; see the README's Production section).

It loads the GB/T 2260 division tree (county level and up) of the chosen provinces, or of all of China, from
``lms/data/gb2260.csv`` (shipped with the source; its first line says where it comes from and when), creates
each chosen province's bureau and the first system administrator, and nothing else: no demo account, no
sample data. The administrator then publishes the pledge and the other texts, and creates the bureaus below
the province, institutions and accounts in the web UI.

Division codes change every year. A later load updates names, adds new codes, moves a division that changed
parent (with everything below it) and marks codes the list no longer has as withdrawn (``withdrawn_on``):
they are never deleted, so the records that use them keep their region.
"""
from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms import audit
from lms.auth import services as auth_services
from lms.auth.models import User
from lms.db import db
from lms.domain import Role
from lms.errors import DomainError, ValidationFailed
from lms.orgs import services as org_services
from lms.orgs.models import Region, Regulator

DATASET = Path(__file__).resolve().parent / "data" / "gb2260.csv"
BUREAU_SUFFIX = "市场监督管理局"
PASSWORD_ENV = "LMS_ADMIN_PASSWORD"


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    parent: str


def read_dataset(path: Path = DATASET) -> tuple[str, list[Division]]:
    """(the dataset's source line, its divisions in code order: a parent always comes before its children)."""
    with open(path, encoding="utf-8", newline="") as fh:
        first = fh.readline()
        source = first[1:].strip() if first.startswith("#") else ""
        if not source:
            fh.seek(0)
        rows = [Division(r["code"], r["name"], r["parent"]) for r in csv.DictReader(fh)]
    return source, sorted(rows, key=lambda d: d.code)


@dataclass
class LoadReport:
    added: int = 0
    renamed: int = 0
    moved: int = 0
    withdrawn: int = 0
    reinstated: int = 0
    provinces: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"regions: {self.added} added, {self.renamed} renamed, {self.moved} moved, {self.withdrawn} withdrawn, "
                f"{self.reinstated} reinstated ({', '.join(self.provinces) or 'no province'})")


def _province_code(code: str) -> str:
    return code[:2] + "0000"


def load_divisions(session: Session, divisions: list[Division], provinces: list[str] | None,
                   today: dt.date) -> LoadReport:
    """Bring the regions of ``provinces`` (6-digit codes; None = every province in the list) in line with
    ``divisions``. Idempotent; flushes, never commits."""
    wanted = {_province_code(c) for c in provinces} if provinces is not None else None
    chosen = [d for d in divisions if wanted is None or _province_code(d.code) in wanted]
    known = {d.code for d in divisions}
    if wanted is not None:
        unknown = sorted(wanted - known)
        if unknown:
            raise ValidationFailed({"province": f"not a province code in the dataset: {', '.join(unknown)}"})
    report = LoadReport(provinces=sorted({d.name for d in chosen if d.parent == ""}))
    existing = {r.code: r for r in session.scalars(select(Region))}
    for d in chosen:
        parent = existing.get(d.parent) if d.parent else None
        region = existing.get(d.code)
        if region is None:
            region = org_services.ensure_region(session, d.code, d.name, parent)
            existing[d.code] = region
            report.added += 1
            continue
        if region.name != d.name:
            region.name = d.name
            report.renamed += 1
        if region.withdrawn_on is not None:
            region.withdrawn_on = None
            report.reinstated += 1
        if (parent.id if parent else None) != region.parent_id:
            _move(session, region, parent)
            report.moved += 1
    loaded = {_province_code(d.code) for d in chosen}
    for code, region in existing.items():
        if _province_code(code) in loaded and code not in known and region.withdrawn_on is None:
            region.withdrawn_on = today
            report.withdrawn += 1
    session.flush()
    return report


def _move(session: Session, region: Region, parent: Region | None) -> None:
    """Re-parent a region; the paths of the region and everything below it follow (scoping uses them)."""
    old = region.path
    new = (parent.path if parent else "") + region.code + "/"
    region.parent_id = parent.id if parent else None
    session.flush()
    for r in session.scalars(select(Region).where(Region.path.startswith(old))):
        r.path = new + r.path[len(old):]


def ensure_bureau(session: Session, province: Region) -> tuple[Regulator, bool]:
    bureau = session.scalar(select(Regulator).where(Regulator.region_id == province.id))
    if bureau is not None:
        return bureau, False
    bureau = Regulator(region_id=province.id, name=province.name + BUREAU_SUFFIX)
    session.add(bureau)
    session.flush()
    return bureau, True


def has_system_admin(session: Session) -> bool:
    return session.scalar(select(User.id).where(User.role == Role.system_admin).limit(1)) is not None


def create_first_admin(session: Session, username: str, display_name: str, password: str) -> User:
    user = auth_services.create_user(session, username=username, password=password, display_name=display_name,
                                     role=Role.system_admin)
    audit.record(session, None, "setup.first_admin", user)
    return user


def read_secret(file: str | None, from_env: str | None, prompt: str, confirm: bool) -> str:
    """A password or passphrase: from a file (automation: its first line; keep it 0600), from the environment
    (click reads it), or typed at the prompt (twice when ``confirm``). Never printed, never defaulted."""
    if file:
        lines = Path(file).read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    if from_env:
        return from_env
    return click.prompt(prompt, hide_input=True, confirmation_prompt=confirm)


def init_app(app: Flask) -> None:
    @app.cli.command("setup")
    @click.option("--province", "provinces", multiple=True,
                  help="GB/T 2260 code of a province to load, e.g. 320000 (repeat for several)")
    @click.option("--all-provinces", is_flag=True, help="load every province of China")
    @click.option("--admin-username", default="sysadmin", show_default=True)
    @click.option("--admin-name", default="系统管理员", show_default=True)
    @click.option("--password-file", type=click.Path(exists=True, dir_okay=False),
                  help=f"read the administrator's password from this file (else ${PASSWORD_ENV}, else typed twice)")
    @click.option("--password-from-env", envvar=PASSWORD_ENV, hidden=True, default=None)
    @click.option("--dataset", type=click.Path(exists=True, dir_okay=False), default=str(DATASET),
                  show_default=False, help="a GB/T 2260 CSV (code,name,parent) other than the shipped one")
    def setup(provinces, all_provinces, admin_username, admin_name, password_file, password_from_env, dataset):
        """First run (idempotent): load GB/T 2260 regions, create each province's bureau and the first
        system administrator. Run again after a release to apply a newer division list."""
        source, divisions = read_dataset(Path(dataset))
        with db.job_session() as session:
            if all_provinces:
                chosen = None
            elif provinces:
                chosen = list(provinces)
            else:
                chosen = sorted({r.code for r in session.scalars(select(Region).where(Region.parent_id.is_(None)))})
                if not chosen:
                    raise click.UsageError("choose the provinces to load: --province 320000 (or --all-provinces)")
            try:
                report = load_divisions(session, divisions, chosen, dt.date.today())
            except ValidationFailed as exc:
                raise click.ClickException("; ".join(exc.errors.values()))
            click.echo(f"dataset: {source}")
            click.echo(str(report))
            names = {d.code for d in divisions if d.parent == ""}
            for prov in session.scalars(select(Region).where(Region.parent_id.is_(None)).order_by(Region.code)):
                if prov.code in names and (chosen is None or prov.code in {_province_code(c) for c in chosen}):
                    bureau, created = ensure_bureau(session, prov)
                    click.echo(f"bureau: {bureau.name} ({'created' if created else 'exists'})")
            if has_system_admin(session):
                click.echo("system administrator: exists; left unchanged")
            else:
                password = read_secret(password_file, password_from_env, "Password for the system administrator",
                                       confirm=True)
                try:
                    user = create_first_admin(session, admin_username, admin_name, password)
                except ValidationFailed as exc:
                    raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.errors.items()))
                except DomainError as exc:
                    raise click.ClickException(exc.message)
                click.echo(f"system administrator: {user.username} created")
        click.echo("next: sign in as the system administrator, publish the pledge, privacy notice and user agreement "
                   "(/admin/texts), then create the bureaus' and institutions' accounts")
