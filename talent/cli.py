"""``flask --app wsgi talent-standings``: the demo's pool standings (in office, warned, lapsed, disqualified) with
each holder's verify link, for the README's "Standings in the demo" (added to the CLI by ``talent.wiring``)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from lms.db import db
from talent import demo


@click.command("talent-standings")
@with_appcontext
def talent_standings():
    """Print the demo's standings and the verify link of each holder."""
    base = current_app.config["PUBLIC_BASE_URL"] or "http://127.0.0.1:5000"
    for username, name, status, link in demo.standing_links(db.session, base):
        click.echo(f"{username}\t{name}\t{status}\t{link}")
