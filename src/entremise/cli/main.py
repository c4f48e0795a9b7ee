"""`entremise` command: serve, worker, tick, db, platform, user."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from entremise.cli.claims import claims_app
from entremise.cli.payments import payments_app
from entremise.cli.payouts import kyc_app, payouts_app
from entremise.db import migrate
from entremise.runtime import build_runtime

app = typer.Typer(help="entremise: an engine for intermediation platforms.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
platform_app = typer.Typer(help="Platforms hosted by this deployment.", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
ledger_app = typer.Typer(help="The money ledger.", no_args_is_help=True)
billing_app = typer.Typer(help="Invoices and credit notes.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(platform_app, name="platform")
app.add_typer(user_app, name="user")
app.add_typer(ledger_app, name="ledger")
privacy_app = typer.Typer(help="Personal data: the retention purge.", no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")
app.add_typer(claims_app, name="claims")
app.add_typer(billing_app, name="billing")
app.add_typer(payments_app, name="payments")
pack_app = typer.Typer(help="Reference platforms (packs).", no_args_is_help=True)
app.add_typer(pack_app, name="pack")
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
app.add_typer(kyc_app, name="kyc")
app.add_typer(payouts_app, name="payouts")


@app.callback()
def _setup() -> None:
    """Configure logging once, before any command runs."""
    from entremise.config import get_settings
    from entremise.logging import configure_logging

    settings = get_settings()
    configure_logging(production=settings.production, level=settings.log_level)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="port to listen on"),
    upgrade: bool = typer.Option(True, help="migrate the database first"),
    with_worker: bool = typer.Option(False, "--with-worker", help="also run the worker in a child process"),
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs)."""
    import uvicorn

    from entremise.api.app import create_app

    runtime = build_runtime()
    if upgrade:
        migrate.upgrade(runtime.engine)
    child = None
    if with_worker:
        import subprocess
        import sys

        child = subprocess.Popen([sys.executable, "-m", "entremise.cli.main", "worker"])
    try:
        # our middleware logs every request; uvicorn's own records go through our handler
        uvicorn.run(create_app(runtime), host=host, port=port, log_config=None, access_log=False)
    finally:
        if child is not None:
            child.terminate()
            child.wait(timeout=10)


@app.command()
def worker() -> None:
    """Run the background jobs (due timers, ...) until SIGTERM or Ctrl-C; several may run on PostgreSQL."""
    import logging
    import threading

    from entremise.worker.runner import run_forever

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_forever(build_runtime(), threading.Event())


@app.command()
def tick() -> None:
    """Run every background job once (due timers, ...) and print how many items each processed."""
    from entremise.worker.runner import run_once

    runtime = build_runtime()
    for name, count in run_once(runtime).items():
        typer.echo(f"{name}: {count}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    runtime = build_runtime()
    migrate.upgrade(runtime.engine)
    typer.echo("database at " + ", ".join(sorted(migrate.current_heads(runtime.engine))))


@db_app.command("current")
def db_current() -> None:
    """Show the applied revisions; exit 1 when migrations are pending."""
    runtime = build_runtime()
    current, pending = migrate.current_heads(runtime.engine), migrate.pending(runtime.engine)
    typer.echo("applied: " + (", ".join(sorted(current)) or "(none)"))
    if pending:
        typer.echo("pending: " + ", ".join(sorted(pending)))
        raise typer.Exit(1)
    typer.echo("up to date")


@platform_app.command("list")
def platform_list() -> None:
    """List the platforms."""
    from entremise.platforms import service

    runtime = build_runtime()
    with runtime.sessions() as db, db.begin():
        rows = service.list_platforms(db)
    for p in rows:
        typer.echo(f"{p.slug}\t{p.name}")
    if not rows:
        typer.echo("no platform yet: entremise platform create SLUG NAME")


@platform_app.command("create")
def platform_create(
    slug: str,
    name: str,
    settings: Path | None = typer.Option(None, help="a JSON file of platform settings"),
    pack: str | None = typer.Option(
        None, help="a pack to apply (entremise pack list): its figures, terms, claims"
    ),
) -> None:
    """Create a platform (with --pack: its settings, its terms published, its claims presets)."""
    from entremise.kernel.errors import AppError, InvalidInput
    from entremise.packs import service as packs
    from entremise.platforms import service

    runtime = build_runtime()
    try:
        raw = json.loads(settings.read_text(encoding="utf-8")) if settings else None
        with runtime.sessions() as db, db.begin():
            now = runtime.clock.now()
            if pack is not None:
                p = packs.create_platform(
                    db,
                    slug=slug,
                    name=name,
                    pack=pack,
                    now=now,
                    settings=raw,
                    base_url=runtime.settings.base_url,
                )
            else:
                p = service.create_platform(db, slug=slug, name=name, now=now, settings=raw)
    except (OSError, ValueError) as exc:
        typer.echo(f"refused: cannot read the settings file: {exc}", err=True)
        raise typer.Exit(1) from exc
    except AppError as exc:
        fields = (
            "; ".join(f"{e.field}: {e.reason}" for e in exc.errors) if isinstance(exc, InvalidInput) else ""
        )
        typer.echo(f"refused: {fields or exc.detail}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"created {p.slug} ({p.id})")


@user_app.command("create-staff")
def user_create_staff(
    platform: str = typer.Option(..., "--platform", help="the platform's slug"),
    email: str = typer.Option(..., "--email", help="the staff member's e-mail (their login)"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from stdin"),
) -> None:
    """Create a staff account. The password comes from stdin (--password-stdin), else from
    ENTREMISE_STAFF_PASSWORD, else it is asked for (twice, not echoed)."""
    import os
    import sys

    from entremise.accounts import service as accounts
    from entremise.audit.service import Actor
    from entremise.kernel.errors import AppError
    from entremise.platforms import service as platforms

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif os.environ.get("ENTREMISE_STAFF_PASSWORD"):
        password = os.environ["ENTREMISE_STAFF_PASSWORD"]
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    runtime = build_runtime()
    try:
        with runtime.sessions() as db, db.begin():
            p = platforms.get_by_slug(db, platform)
            user = accounts.register(
                db,
                platform=p,
                role="staff",
                email=email,
                password=password,
                fields={},
                meta=accounts.RequestMeta(ip="cli"),
                now=runtime.clock.now(),
                created_by=Actor.system(),
                must_change_password=False,
            )
    except AppError as exc:
        typer.echo(f"refused: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"created staff {user.email} ({user.id}) on {platform}")


@ledger_app.command("verify")
def ledger_verify(
    platform: str | None = typer.Option(None, help="the slug of one platform (default: every platform)"),
) -> None:
    """Check every ledger invariant against the entries; print each discrepancy and exit 1 if any."""
    from entremise.kernel.errors import NotFound
    from entremise.ledger import service as ledger
    from entremise.platforms import service as platforms

    runtime = build_runtime()
    with runtime.sessions() as db, db.begin():
        try:
            platform_id = platforms.get_by_slug(db, platform).id if platform else None
        except NotFound as exc:
            typer.echo(exc.detail, err=True)
            raise typer.Exit(2) from None
        found = ledger.verify(db, platform_id=platform_id)
    for discrepancy in found:
        typer.echo(str(discrepancy))
    if found:
        typer.echo(f"ledger verify: {len(found)} discrepancies", err=True)
        raise typer.Exit(1)
    typer.echo("ledger verify: every balance matches its entries and every invariant holds")


@privacy_app.command("purge")
def privacy_purge(
    platform: str | None = typer.Option(None, help="the slug of one platform (default: every platform)"),
) -> None:
    """Purge now what is past its retention period (COMMON-PRIVACY-3) and print what went, per purger.
    The worker runs the same purge once per `privacy.purge_interval_hours`; this runs it at once."""
    from entremise.kernel.errors import NotFound
    from entremise.platforms import service as platforms
    from entremise.privacy.retention import purge_platform

    runtime = build_runtime()
    with runtime.sessions() as db, db.begin():
        try:
            chosen = [platforms.get_by_slug(db, platform)] if platform else platforms.list_platforms(db)
        except NotFound as exc:
            typer.echo(exc.detail, err=True)
            raise typer.Exit(2) from None
    for p in chosen:
        with runtime.sessions() as db, db.begin():
            report = purge_platform(db, platform=p, now=runtime.clock.now(), worker="cli", force=True)
        if not report.ran:
            typer.echo(f"{p.slug}: skipped, another purge of this platform is running")
            continue
        for item in report.items:
            note = f" ({item.note})" if item.note else ""
            typer.echo(f"{p.slug}\t{item.purger}\t{item.count}{note}")
        typer.echo(f"{p.slug}: {report.total} record(s) purged")


@ledger_app.command("crash-test")
def ledger_crash_test(
    processes: int = typer.Option(4, help="worker processes"),
    seconds: int = typer.Option(60, help="how long to kill and restart them"),
    seed: int = typer.Option(1, help="seed of the operation streams and of the kills"),
    database_url: str | None = typer.Option(
        None, help="a scratch database to run in (default: a fresh PostgreSQL database, dropped after)"
    ),
    plugin: list[str] = typer.Option([], "--plugin", help="a module registering more operation kinds"),
    journals: Path | None = typer.Option(
        None, help="where to keep the workers' journals (default: temporary)"
    ),
) -> None:
    """Random money operations from several processes, SIGKILLed and restarted, then proved against a model."""
    import tempfile

    from entremise.db.scratch import PostgresUnreachable, scratch_database
    from entremise.ledger.crashtest import harness

    def go(url: str) -> harness.Report:
        with tempfile.TemporaryDirectory(prefix="entremise-crash-") as tmp:
            return harness.run(
                url,
                processes=processes,
                seconds=seconds,
                seed=seed,
                workdir=journals or Path(tmp),
                plugins=plugin,
            )

    if database_url:
        report = go(database_url)
    else:
        try:
            with scratch_database("entremise_crash") as url:
                report = go(url)
        except PostgresUnreachable as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
    typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(1)


@billing_app.command("run")
def billing_run(
    month: str = typer.Option(..., "--month", help="the month to invoice, YYYY-MM (it must be over)"),
    platform: str | None = typer.Option(
        None, help="the slug of one platform (default: every platform whose billing.monthly_run is on)"
    ),
) -> None:
    """Issue and e-mail one invoice per customer for the month's open billable items (KIDRIDE-INVOICE-1).

    Safe to repeat: items already invoiced are never invoiced again. Exits 1 when some customer
    could not be invoiced (each is printed with the reason), 2 for an unknown platform or month."""
    from entremise.billing import run
    from entremise.kernel.errors import InvalidInput, NotFound
    from entremise.platforms import service as platforms

    runtime = build_runtime()
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        try:
            chosen = (
                [platforms.get_by_slug(db, platform)]
                if platform
                else [p for p in platforms.list_platforms(db) if p.settings.billing.monthly_run]
            )
        except NotFound as exc:
            typer.echo(exc.detail, err=True)
            raise typer.Exit(2) from None
    failed = False
    for p in chosen:
        try:
            result = run.run_month(runtime.sessions, platform=p, month=month, now=now)
        except InvalidInput as exc:
            typer.echo(f"refused: {exc.detail}", err=True)
            raise typer.Exit(2) from None
        typer.echo(
            f"{p.slug} {month}: {len(result.issued)} invoices issued"
            + (f" ({', '.join(result.issued)})" if result.issued else "")
        )
        for customer_id, why in result.refused:
            typer.echo(f"{p.slug} {month}: customer {customer_id} not invoiced: {why}", err=True)
        for number, why in result.documents_failed:
            typer.echo(
                f"{p.slug} {month}: {number} issued, its PDF failed (retried by the worker): {why}", err=True
            )
        failed = failed or bool(result.refused)
    if not chosen:
        typer.echo("no platform has billing.monthly_run on; name one with --platform")
    if failed:
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()


@pack_app.command("list")
def pack_list() -> None:
    """List the packs this engine ships, with the rules each makes executable."""
    from entremise.packs import registry

    for p in registry.all_packs():
        typer.echo(f"{p.name}\t{p.label}\t{len(p.rules)} rules: {', '.join(p.rules)}")


@demo_app.command("load")
def demo_load(
    pack: str,
    platform: str | None = typer.Option(None, help="the platform's slug (default: the pack's name)"),
) -> None:
    """Load a pack's demo data (providers, clients, availability, offers, credit), creating the
    platform with the pack when it does not exist. Loading twice creates nothing new."""
    from entremise.kernel.errors import AppError, NotFound
    from entremise.packs import demo
    from entremise.packs import service as packs
    from entremise.platforms import service

    runtime = build_runtime()
    slug = platform or pack
    created_platform = False
    try:
        the_pack = packs.get_pack(pack)
        with runtime.sessions() as db, db.begin():
            now = runtime.clock.now()
            try:
                p = service.get_by_slug(db, slug)
            except NotFound:
                p = packs.create_platform(
                    db, slug=slug, name=the_pack.label, pack=pack, now=now, base_url=runtime.settings.base_url
                )
                created_platform = True
            if p.settings.pack != pack:
                typer.echo(f"refused: the platform {slug} does not run the pack {pack}", err=True)
                raise typer.Exit(1)
            assert the_pack.demo is not None
            result = the_pack.demo(db, p, now)
    except AppError as exc:
        typer.echo(f"refused: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    if created_platform:
        typer.echo(f"created platform {slug} with the pack {pack}")
    for email in result.created:
        typer.echo(f"created {email}")
    for email in result.existing:
        typer.echo(f"exists  {email}")
    typer.echo(f"demo password: {demo.DEMO_PASSWORD}")
