"""``flask files``: move the stored files between backends and check them (issue 21, ``lms.storage``)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from lms import storage


@click.group("files")
def files_cmd():
    """The stored files (uploads, lesson media, evidence): move them between backends, verify their checksums."""


@files_cmd.command("move")
@click.option("--to", "target", type=click.Choice(storage.BACKENDS), required=True,
              help="the backend to copy every file into (set FILE_STORAGE to it as well)")
@with_appcontext
def files_move(target: str):
    """Copy every stored file into TARGET, checking each one read back; run it again after an interruption."""
    counts = storage.move(current_app.extensions["lms_db"].sessionmaker, current_app.config["UPLOAD_DIR"], target,
                          say=click.echo)
    click.echo(f"{counts['moved']} moved, {counts['already']} already in {target}, {counts['failed']} failed")
    if current_app.config["FILE_STORAGE"] != target:
        click.echo(f"FILE_STORAGE is {current_app.config['FILE_STORAGE']}: set FILE_STORAGE={target} so new files go there too")
    if counts["failed"]:
        raise SystemExit(1)


@files_cmd.command("verify")
@with_appcontext
def files_verify():
    """Read every recorded file through its checksums; exit 1 listing those that fail."""
    problems = storage.verify(current_app.extensions["lms_db"].sessionmaker, current_app.config["UPLOAD_DIR"])
    for line in problems:
        click.echo(f"FAILED {line}")
    click.echo(f"{len(problems)} problem(s)")
    if problems:
        raise SystemExit(1)
