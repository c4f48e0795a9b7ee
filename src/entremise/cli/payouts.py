"""`entremise kyc overdue` and `entremise payouts run`: KYC reviews past their deadline, and the
end-of-period payout run on demand."""

from __future__ import annotations

import typer

from entremise.runtime import build_runtime

kyc_app = typer.Typer(help="KYC: reviews past their 48-hour deadline.", no_args_is_help=True)
payouts_app = typer.Typer(help="Payouts: the scheduled run.", no_args_is_help=True)


@kyc_app.command("overdue")
def overdue(platform: str = typer.Option(..., help="the platform's slug")) -> None:
    """List the KYC documents waiting for review past their deadline (EXPERT-WALLET-1)."""
    from entremise.kernel.errors import NotFound
    from entremise.kyc import service
    from entremise.platforms import service as platforms

    runtime = build_runtime()
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        try:
            view = platforms.get_by_slug(db, platform)
        except NotFound as exc:
            typer.echo(exc.detail, err=True)
            raise typer.Exit(2) from None
        rows = service.review_queue(db, platform_id=view.id, now=now, overdue_only=True, limit=10_000)
    for d in rows:
        late = now - d.review_due_at
        hours = int(late.total_seconds() // 3600)
        typer.echo(
            f"{d.id}\t{d.type}\tprovider {d.user_id}\tdue {d.review_due_at.isoformat()}\t{hours} h late"
        )
    typer.echo(f"{len(rows)} overdue KYC review(s) on {platform}")


@payouts_app.command("run")
def run() -> None:
    """Run the scheduled payouts now (platforms with `payouts.schedule: monthly`; CARPOOL-PAY-1)."""
    from entremise.payouts.jobs import scheduled_payouts

    runtime = build_runtime()
    count = scheduled_payouts(runtime, runtime.clock.now())
    typer.echo(f"{count} payout(s) ordered")
