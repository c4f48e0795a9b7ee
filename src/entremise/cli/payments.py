"""`entremise payments ...`: send the sandbox's due webhooks now, read the webhook log."""

from __future__ import annotations

import typer

from entremise.runtime import build_runtime

payments_app = typer.Typer(help="Payments: the sandbox's webhooks, the webhook log.", no_args_is_help=True)


@payments_app.command("deliver-webhooks")
def deliver_webhooks() -> None:
    """Deliver the sandbox provider's due webhooks now (what the worker job `psp-sandbox-webhooks` does)."""
    from entremise.payments import sandbox

    runtime = build_runtime()
    count = sandbox.deliver_due(runtime, runtime.clock.now())
    typer.echo(f"{count} webhook(s) delivered")


@payments_app.command("webhook-log")
def webhook_log(
    provider: str = typer.Option("sandbox", help="the provider's adapter name"),
    rejected: bool = typer.Option(False, help="only the rejected deliveries (forged, stale, replayed)"),
    limit: int = typer.Option(50, min=1, max=1000),
) -> None:
    """The latest webhooks received from a provider, newest first."""
    from entremise.payments import webhooks

    runtime = build_runtime()
    with runtime.sessions() as db, db.begin():
        rows = webhooks.log_of(db, provider=provider, limit=limit)
        lines = [
            f"{w.received_at.isoformat()}\t{w.status}\t{w.type or '-'}\t{w.event_id or '-'}\t{w.detail}"
            for w in rows
            if not rejected or w.status == "rejected"
        ]
    for line in lines:
        typer.echo(line)
    typer.echo(f"{len(lines)} webhook(s)")
