"""`entremise claims ...`: the overdue claims of a platform, and the presets packs pick from."""

from __future__ import annotations

import typer

from entremise.runtime import build_runtime

claims_app = typer.Typer(help="Claims: overdue answers, presets.", no_args_is_help=True)


@claims_app.command("overdue")
def overdue(platform: str = typer.Option(..., help="the platform's slug")) -> None:
    """List the claims awaiting an answer past their deadline (oldest deadline first)."""
    from entremise.claims import service
    from entremise.kernel.errors import NotFound
    from entremise.platforms import service as platforms

    runtime = build_runtime()
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        try:
            view = platforms.get_by_slug(db, platform)
        except NotFound as exc:
            typer.echo(exc.detail, err=True)
            raise typer.Exit(2) from None
        rows = service.overdue_claims(db, platform=view, now=now)
    for c in rows:
        late = now - c.answer_due.at
        who = c.respondent if c.respondent_id is None else f"provider {c.respondent_id}"
        typer.echo(
            f"{c.reference}\t{c.kind}\t{c.state}\tdue {c.answer_due.local().isoformat()}\t"
            f"{late.days} days late\t{who}\t{','.join(c.rules)}"
        )
    typer.echo(f"{len(rows)} overdue claim(s) on {platform}")


@claims_app.command("presets")
def presets() -> None:
    """Show the presets of claim kinds, their rule IDs and figures."""
    from entremise.claims.presets import PRESETS
    from entremise.claims.settings import ClaimKind

    for name in sorted(PRESETS):
        kind = ClaimKind(preset=name)
        window = kind.filing_window.period().describe() if kind.filing_window else "no window"
        typer.echo(
            f"{name}\t{','.join(kind.rules)}\tfile within: {window}\t"
            f"answer within: {kind.answer_within.period().describe()}\tby: {kind.respondent}\t"
            f"required: {','.join(kind.required_fields) or '-'}"
        )
