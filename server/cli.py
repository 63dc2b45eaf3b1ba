"""The ``flask --app server`` commands for the data and the models: export-labels, models, promote, rollback.

Promote and rollback write the active pointer and announce it (``server/versions/switch.py``), so
running servers switch without a restart; they refuse, and change nothing, for a
version that does not exist, failed its gate or cannot be loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask

from model.runtime.versions import VersionError
from server.serving.service import RecognitionService
from server.storage.label_export import export_labels, format_report
from server.storage.store import StoreUnavailable
from server.versions.switch import describe


def register(app: Flask, digits: RecognitionService) -> None:
    @app.cli.command("export-labels")
    @click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="the .npz to write")
    def export_labels_command(out: Path) -> None:
        """Write the labelled attempts (28x28 inputs, labels, predictions, versions) and a JSON summary."""
        try:
            report = export_labels(digits.store, out)
        except StoreUnavailable as error:
            raise click.ClickException(f"The store is unreachable, nothing exported: {error}") from error
        click.echo(format_report(report))
        click.echo(f"wrote {out} and {out.with_suffix('.json')}")

    @app.cli.command("models")
    @click.option("--json", "as_json", is_flag=True, help="the full cards as JSON")
    def models_command(as_json: bool) -> None:
        """List the model versions, their cards, and which one is active."""
        listing = describe(digits.models.versions)
        if as_json:
            click.echo(json.dumps(listing, indent=2))
            return
        for entry in listing["versions"]:
            card = entry["card"] or {}
            mark = "*" if entry["active"] else " "
            gate = card.get("gate", {"accepted": True})
            holdout = card.get("holdout_accuracy")
            click.echo(
                f"{mark} {entry['version']:<36} MNIST {card.get('test_accuracy', float('nan')):.2%}"
                + ("" if holdout is None else f"  held-out {holdout:.2%}")
                + ("  built-in" if entry["builtin"] else "")
                + ("" if gate.get("accepted") else "  REJECTED by its gate")
                + ("" if entry["error"] is None else f"  BROKEN: {entry['error']}")
            )

    @app.cli.command("promote")
    @click.argument("version")
    def promote_command(version: str) -> None:
        """Serve VERSION in every running process, without a restart."""
        try:
            files = digits.models.promote(version)
        except VersionError as error:
            raise click.ClickException(f"{error} Nothing was changed.") from error
        click.echo(f"active model version: {files.version}")

    @app.cli.command("rollback")
    def rollback_command() -> None:
        """Return every running process to the version active before this one."""
        try:
            files = digits.models.rollback()
        except VersionError as error:
            raise click.ClickException(f"{error} Nothing was changed.") from error
        click.echo(f"active model version: {files.version}")
