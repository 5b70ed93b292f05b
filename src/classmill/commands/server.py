"""`classmill server`: the platform server (accounts and REST API), plus `migrate`, `create-admin`, `backup`, `restore`.

The server's own modules are imported inside the commands so `classmill --help` stays instant.
"""

from __future__ import annotations

from pathlib import Path

import typer

server_app = typer.Typer(
    no_args_is_help=False,
    help="The classmill platform server: start it, migrate its database, create an admin, back it up and restore it.",
)

SHUTDOWN_GRACE_S = 10
_WORKSPACE_HELP = "Folder the server keeps its database and files in (env CLASSMILL_WORKSPACE)."


def register(app: typer.Typer) -> None:
    app.add_typer(server_app, name="server")


def _settings(**overrides):
    from classmill.server.settings import load_settings

    return load_settings(**overrides)


@server_app.callback(invoke_without_command=True)
def start(
    ctx: typer.Context,
    host: str = typer.Option(None, "--host", help="Interface to listen on (default 127.0.0.1); 0.0.0.0 exposes it to the network."),
    port: int = typer.Option(None, "--port", help="Port (default 8000; env CLASSMILL_PORT)."),
    workspace: Path = typer.Option(None, "--workspace", help=_WORKSPACE_HELP),
) -> None:
    """Start the server (migrating its database first) and print where to log in. Ctrl-C stops it."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from classmill.server.app import create_app

    settings = _settings(host=host, port=port, workspace=workspace)
    needs_setup = _migrate(settings)
    url = _url(settings.host, settings.port)
    typer.echo(f"classmill server at {url}  (workspace {settings.workspace}, API docs {url}/docs)")
    if needs_setup:
        typer.echo("first run: create the admin with `classmill server create-admin`, "
                   f"or in a browser at {url}/setup.")
    else:
        typer.echo(f"log in: open {url} in a browser; scripts send 'Authorization: Bearer <token>' "
                   "(tokens are made on the account page).")
    if settings.host in ("0.0.0.0", "::", ""):
        typer.echo("note: listening on every interface over plain HTTP; put an https proxy in front so "
                   "passwords, cookies and tokens are not sent in clear.")
    # One process: the login limiter counts in memory (see classmill.server.login_limits).
    # A stop waits at most SHUTDOWN_GRACE_S for open requests: a job's event stream (SSE) only ends with
    # its job, and would otherwise hold the server up; its client reconnects (Last-Event-ID) and misses nothing.
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, workers=1, log_level="info",
                timeout_graceful_shutdown=SHUTDOWN_GRACE_S)


@server_app.command("migrate")
def migrate(workspace: Path = typer.Option(None, "--workspace", help=_WORKSPACE_HELP)) -> None:
    """Upgrade the database schema to this version of classmill (the server also does it at start)."""
    from classmill.server.db.migrate import current_revision
    from classmill.server.db.session import make_engine

    settings = _settings(workspace=workspace)
    _migrate(settings)
    engine = make_engine(settings.resolved_database_url)
    typer.echo(f"database at revision {current_revision(engine)}: {_shown_url(settings)}")
    engine.dispose()


@server_app.command("create-admin")
def create_admin(
    username: str = typer.Option(..., "--username", prompt=True, help="The new admin's username."),
    password: str = typer.Option(..., "--password", prompt=True, hide_input=True, confirmation_prompt=True,
                                 help="Asked for when not given; prefer the prompt (the flag shows in `ps`)."),
    workspace: Path = typer.Option(None, "--workspace", help=_WORKSPACE_HELP),
) -> None:
    """Create an admin account: the first one, or another when nobody can log in as admin any more."""
    from classmill.server.app import build_state
    from classmill.server.db.models import Role
    from classmill.server.services import users

    settings = _settings(workspace=workspace)
    _migrate(settings)
    state = build_state(settings)
    with state.sessions() as session:
        user = users.create_user(session, state.passwords, username, password, Role.admin)
    state.engine.dispose()
    typer.echo(f"admin {user.username!r} created; log in at {_url(settings.host, settings.port)}")


@server_app.command("backup")
def backup(
    out: Path = typer.Argument(..., help="The backup file to write: a new .tar, outside the workspace (another disk is best)."),
    workspace: Path = typer.Option(None, "--workspace", help=_WORKSPACE_HELP),
) -> None:
    """Back up the whole server (database, images, runs, the session secret) into one tar; safe while it runs."""
    from classmill.commands.progress_display import PhaseBars
    from classmill.server.services.backup import create_backup

    settings = _settings(workspace=workspace)
    with PhaseBars() as bars:
        summary = create_backup(settings, out, bars)
    typer.echo(f"backup written to {summary.path}: {sum(summary.rows.values())} rows in {len(summary.rows)} "
               f"tables (schema {summary.revision}), {summary.files} files ({summary.bytes / 1024**2:.1f} MiB).")
    if summary.missing_count:
        typer.secho(f"warning: {summary.missing_count} file(s) were not there to copy, e.g. "
                    f"{', '.join(summary.missing[:3])}. The store had lost them before the backup; the restored "
                    "server will miss them too.", fg="yellow", err=True)


@server_app.command("restore")
def restore(
    backup_file: Path = typer.Argument(..., metavar="BACKUP", help="A file `classmill server backup` wrote."),
    workspace: Path = typer.Option(None, "--workspace", help="The new workspace to restore into (env CLASSMILL_WORKSPACE); "
                                   "it and the database (CLASSMILL_DATABASE_URL) must hold no data."),
) -> None:
    """Restore a backup into a new workspace and an empty database, SQLite or PostgreSQL; it never overwrites data."""
    from classmill.commands.progress_display import PhaseBars
    from classmill.server.services.backup import restore_backup

    settings = _settings(workspace=workspace)
    with PhaseBars() as bars:
        summary = restore_backup(settings, backup_file, bars)
    typer.echo(f"restored {sum(summary.rows.values())} rows and {summary.files} files "
               f"({summary.bytes / 1024**2:.1f} MiB) into {settings.workspace} ({_shown_url(settings)}).")
    typer.echo(f"start it with `classmill server --workspace {settings.workspace}`; the backup's accounts, "
               "passwords and API tokens work as before.")


def _migrate(settings) -> bool:
    """Create the workspace, upgrade the schema; True when no user exists yet (first run)."""
    from classmill.server.db.migrate import upgrade_database
    from classmill.server.db.session import make_engine
    from classmill.server.services.users import any_user_exists
    from classmill.server.workspace import prepare_workspace
    from sqlalchemy.orm import Session

    prepare_workspace(settings.workspace)
    engine = make_engine(settings.resolved_database_url)
    try:
        upgrade_database(engine)
        with Session(engine) as session:
            return not any_user_exists(session)
    finally:
        engine.dispose()


def _url(host: str, port: int) -> str:
    from classmill.commands.serve import service_url

    return service_url(host, port, path="")


def _shown_url(settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)
