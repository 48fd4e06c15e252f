"""The ``erp`` command: run the local gateway, migrate the database, create the first admin, import and
check data, back the database up and restore it."""
from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import secrets
import signal
import sys
import time
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from erp_common.config import ConfigError, load_settings

if TYPE_CHECKING:
    from .stack import Stack

ROOT = Path(__file__).resolve().parents[3]
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
MAX_BODY = 32 * 1024 * 1024  # bytes of a request body (a function's container allows more: the template's MAX_BODY)

BANNER = """
************************************************************************
*  LOCAL USE ONLY: created the administrator '{user}' with password
*  '{password}'. Anyone who can reach this gateway can sign in with it.
*  Change it (user-update) before you put any real data in, and never
*  run like this in production (ERP_ENV=production refuses to).
************************************************************************
"""


def _settings(bootstraps_admin: bool = False):
    settings = load_settings()
    settings.check_production(bootstraps_admin=bootstraps_admin)
    return settings


def cmd_migrate(args: argparse.Namespace) -> int:
    from erp_common import migrate

    _settings()
    migrate.upgrade(args.revision)
    print(f"database at revision {migrate.current_revision()}")
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    from erp_common.identity.api import ensure_admin

    settings = _settings(bootstraps_admin=True)
    created = ensure_admin(settings.admin_username, settings.admin_password)
    print("administrator created" if created else "users exist already: nothing to do")
    return 0


def cmd_makemigration(args: argparse.Namespace) -> int:
    from alembic import command

    from erp_common import migrate
    from erp_common.db import get_engine

    config = migrate.alembic_config()
    with get_engine().begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=args.message, autogenerate=True)
    return 0


def cmd_import_items(args: argparse.Namespace) -> int:
    """Import a CSV file of items and SKUs through the item-import service, batch by batch."""
    from tqdm import tqdm

    from erp_common.catalog.csv_io import import_in_batches
    from erp_common.context import Principal
    from erp_common.errors import ErpError

    _settings()
    text = Path(args.file).read_text(encoding="utf-8-sig")
    principal = Principal(user_id=0, username=args.user, roles=frozenset({"admin"}))
    started = time.monotonic()
    with tqdm(total=max(0, text.count("\n") - 1), unit="row", desc=Path(args.file).name) as bar:
        try:
            report = import_in_batches(text, principal, dry_run=args.dry_run, progress=bar.update)
        except ErpError as exc:
            print(f"erp: {exc.message}", file=sys.stderr)
            return 2
        bar.total = report.rows
        bar.refresh()
    dry = " (dry run: nothing changed)" if args.dry_run else ""
    print(f"{report.rows} rows in {time.monotonic() - started:.1f}s{dry}: "
          f"{report.created_items} items and {report.created_skus} SKUs created, {report.updated_items} items and "
          f"{report.updated_skus} SKUs updated, {len(report.rejected)} rows rejected")
    for rejected in report.rejected:
        print(f"  line {rejected.row}: {rejected.field or 'row'}: {rejected.reason}")
    return 1 if report.rejected else 0


def cmd_check_stock(args: argparse.Namespace) -> int:
    from erp_common import domains, uow
    from erp_common.inventory.api import check_stock

    _settings()
    domains.load(["inventory"])
    result = uow.run(lambda ctx: check_stock(ctx.session), uow.system_caller("check-stock"), readonly=True)
    for row in result.mismatches:
        print(f"MISMATCH stock row {row.stock_level_id} (sku {row.sku_id}, warehouse {row.warehouse_id}): "
              f"on hand {row.on_hand} / reserved {row.reserved}, ledger sums {row.ledger_on_hand} / "
              f"{row.ledger_reserved}")
    print(f"checked {result.checked} stock rows against the ledger: {len(result.mismatches)} mismatches")
    return 1 if result.mismatches else 0


def cmd_backup(args: argparse.Namespace) -> int:
    """A consistent snapshot and its manifest; with --keep-days, the older snapshots pruned."""
    from . import backup

    settings = _settings()
    folder = Path(args.to)
    try:
        snap = backup.backup(settings.database_url, folder)
    except backup.BackupError as exc:
        print(f"erp: {exc}", file=sys.stderr)
        return 2
    backup.describe(sys.stdout, snap.manifest)
    print(f"manifest: {snap.manifest_path}")
    if args.keep_days is not None:
        removed = backup.prune(folder, args.keep_days)
        print(f"kept {args.keep_days} days: {len(removed) // 2} older snapshot(s) removed")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from . import backup

    settings = _settings()
    try:
        report = backup.restore(settings.database_url, Path(args.file), force=args.force, migrate=args.migrate)
    except backup.BackupError as exc:
        print(f"erp: {exc}", file=sys.stderr)
        return 2
    migrated = f", then migrated to {report['migrated_to']}" if report["migrated_to"] else ""
    print(f"restored {report['snapshot']} (taken {report['created_at']}): {report['rows']} rows in "
          f"{report['tables']} tables in {report['seconds']:.1f} s{migrated}")
    return 0


def cmd_stack(args: argparse.Namespace) -> int:
    from .stackgen import write_all

    changed = write_all(ROOT, check=args.check)
    for path in changed:
        print(f"{'differs' if args.check else 'wrote'}: {path}")
    if args.check and changed:
        print("erp: the deployment files differ from the declarations: run `make stack` and commit", file=sys.stderr)
        return 1
    print(f"{len(changed)} file(s) {'differ' if args.check else 'written'}; everything else is up to date")
    return 0


def build_gateway(stack: str, *, schedules: bool = True):
    from .gateway import LOOPBACK, Gateway

    hosts = frozenset(h.strip() for h in os.environ.get("ERP_CALLBACK_HOSTS", "").split(",") if h.strip())
    return Gateway(Path(stack), templates_dir=ROOT / "templates", schedules=schedules,
                   system_password=os.environ.get("ERP_GATEWAY_PASSWORD") or None,
                   callback_hosts=hosts or LOOPBACK)


def guard_system_api(host: str) -> None:
    """Listening beyond loopback, the system API needs basic auth, as OpenFaaS's does: with the
    password in ERP_GATEWAY_PASSWORD, or one made now and printed once (before any worker forks)."""
    from .gateway import LOOPBACK

    if host in LOOPBACK or os.environ.get("ERP_GATEWAY_PASSWORD"):
        return
    os.environ["ERP_GATEWAY_PASSWORD"] = secrets.token_urlsafe(18)
    print(f"erp: {host} is beyond loopback: /system/* needs basic auth as admin with the password "
          f"{os.environ['ERP_GATEWAY_PASSWORD']} (set ERP_GATEWAY_PASSWORD to choose it)", file=sys.stderr)


def check_workers(workers: int, redis_url: str) -> None:
    """``--workers N`` (N > 1) needs Redis: the in-process cache (the users' state, rate limits,
    idempotency keys) cannot be shared between processes, so each would see a cache of its own."""
    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    if workers > 1 and not redis_url:
        raise ConfigError(
            f"--workers {workers} needs REDIS_URL: the in-process cache cannot be shared between processes "
            "(a revoked token or a used idempotency key would be seen by one worker only). Set REDIS_URL "
            "or run one worker.")


def reset_after_fork() -> None:
    """Drop what a process must not share with its parent: database connections, the cache client,
    the event publisher (its thread did not survive the fork)."""
    from erp_common.cache import reset_cache
    from erp_common.db import dispose_engine
    from erp_common.events import reset_publisher

    dispose_engine()
    reset_cache()
    reset_publisher()


@cache
def server_module() -> ModuleType:
    """The template adapter, whose ``GracefulServer`` serves each function in its container: ``erp run``
    serves the gateway with it too, so both stop the same way."""
    path = ROOT / "templates" / "python3-http-erp" / "index.py"
    spec = importlib.util.spec_from_file_location("erp_template_server", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def drain_timeout(stack: Stack) -> float:
    """How long requests in flight may run on after SIGTERM: the longest ``write_timeout`` the stack's
    functions get (their ``environment``, then their ``environment_file``s), 30 s by default."""
    import yaml

    seconds = server_module().duration_seconds
    found = []
    for spec in (stack.raw.get("functions") or {}).values():
        spec = spec or {}
        environment = {}
        for name in spec.get("environment_file") or ():
            path = stack.path.parent / name
            if path.exists():
                environment.update((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("environment") or {})
        environment.update(spec.get("environment") or {})
        if "write_timeout" in environment:
            found.append(seconds(str(environment["write_timeout"]), 30.0))
    return max(found, default=30.0)


def _serve(args: argparse.Namespace, settings, *, sock=None, worker: int = 0, workers: int = 1,
           started: float | None = None) -> int:
    """Serve the gateway in this process until SIGTERM/SIGINT, then stop gracefully: no new connection,
    requests in flight finished, the last events published, connections closed. Worker 0 alone runs
    the schedules."""
    from erp_common import cache as erp_cache
    from erp_common import db, events

    server = None
    asked = []

    def stop(signum, frame):
        asked.append(signum)
        if server is not None:
            server.stop(signum)

    # Also when started in the background, where SIGINT is ignored; with --workers, Ctrl-C reaches every
    # worker and the parent passes SIGTERM on as well: the second signal changes nothing.
    for signum in STOP_SIGNALS:
        signal.signal(signum, stop)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # blocked by the parent while it forked
    gateway = build_gateway(args.stack, schedules=worker == 0)
    timeout = args.drain_timeout if args.drain_timeout is not None else drain_timeout(gateway.stack)
    server = server_module().GracefulServer(gateway, host=args.host, port=args.port, sock=sock, threads=args.threads,
                                            timeout=timeout, max_body=MAX_BODY)
    if asked:
        server.stop(asked[0])
    if worker == 0:
        mode = "embedded" if settings.is_sqlite else "services"
        from erp_common.db import mysql_driver

        database = "sqlite" if settings.is_sqlite else f"mysql through {mysql_driver(settings.db_driver)}"
        print(
            f"ERP gateway on http://{args.host}:{server.port} ({len(gateway.functions)} functions, "
            f"{mode}: db={database}, "
            f"cache={'redis' if settings.redis_url else 'in-process'}, "
            f"events={'nats' if settings.nats_url else 'in-process'}"
            f"{f', {workers} worker processes' if workers > 1 else ''}) "
            f"ready in {time.monotonic() - (started or time.monotonic()):.1f}s; docs at /docs; Ctrl-C stops it",
            flush=True,
        )
    server.run()
    if worker == 0:
        print("stopping: publishing the last events, finishing background work, closing connections", flush=True)
    # Events of the last requests first, so the in-process bus can still hand them to their consumers;
    # then the background work (async calls, deliveries, schedules), and what that published.
    events.background.wait(5)
    gateway.close()
    events.background.wait(5)
    events.reset_publisher()
    db.dispose_engine()
    erp_cache.reset_cache()
    return 0


def _run_workers(args: argparse.Namespace, settings, started: float) -> int:
    """Pre-fork ``args.workers`` processes serving one port; the parent only waits, and passes
    SIGTERM/SIGINT on."""
    import os
    import socket

    # One listening socket per worker on the shared port (SO_REUSEPORT), where the system has it:
    # the kernel then hands each worker its share of the connections. One socket accepted on by
    # every worker gives them to whichever wakes first: 16 keep-alive clients connecting at once
    # were seen to land 16/0 or 12/4 on two workers, and the busier one set the pace.
    per_worker = hasattr(socket, "SO_REUSEPORT")
    listening_socket = server_module().listening_socket
    sock = listening_socket(args.host, args.port, reuse_port=per_worker, listen=not per_worker)
    port = sock.getsockname()[1]  # with --port 0, the port the kernel chose; the parent holds it
    reset_after_fork()  # nothing opened by the migration or the admin check is inherited
    sys.stdout.flush()
    sys.stderr.flush()
    children: dict[int, int] = {}
    # A stop signal waits until the parent can pass it on, and each worker until it can drain.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    for worker in range(args.workers):
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                if per_worker:
                    sock.close()
                    sock = listening_socket(args.host, port, reuse_port=True)
                code = _serve(args, settings, sock=sock, worker=worker, workers=args.workers, started=started)
            except BaseException:
                logging.getLogger("erp.gateway").exception("worker %d failed", worker)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children[pid] = worker
    sock.close()

    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    code = 0
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        worker = children.pop(pid, None)
        if worker is None:
            continue
        exit_code = os.waitstatus_to_exitcode(status)
        if exit_code != 0:  # a worker that died on its own, or did not stop cleanly: report it
            print(f"erp: worker {worker} exited ({exit_code}){'' if stopping else '; stopping'}", file=sys.stderr,
                  flush=True)
            code = 1
        if not stopping:  # a worker ended on its own: stop the others
            stop(signal.SIGTERM, None)
    return code


def database_problem(exc: BaseException) -> str | None:
    """One line for a database that cannot be used (unreachable, unknown, refusing the login, a URL
    SQLAlchemy cannot read), naming the URL without its password; None for anything else."""
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

    from erp_common.config import get_settings

    if not isinstance(exc, (DBAPIError, ArgumentError, NoSuchModuleError)):
        return None
    try:
        from sqlalchemy import make_url

        where = make_url(get_settings().database_url).render_as_string(hide_password=True)
    except Exception:
        where = "DATABASE_URL"
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
    return f"cannot use the database at {where}: {reason} (check DATABASE_URL and that the server is up)"


def cmd_run(args: argparse.Namespace) -> int:
    from erp_common import logs, migrate
    from erp_common.cache import check_reachable
    from erp_common.identity.api import ensure_admin

    # Redeliveries from job-relay-events go through this gateway unless GATEWAY_URL says otherwise.
    os.environ.setdefault("GATEWAY_URL", f"http://127.0.0.1:{args.port}")
    guard_system_api(args.host)
    logs.configure()  # JSON lines, as the functions log on OpenFaaS
    started = time.monotonic()
    settings = _settings(bootstraps_admin=True)
    check_workers(args.workers, settings.redis_url)
    check_reachable(settings.redis_url)  # a wrong REDIS_URL is one line and exit 2 here, not 500s later
    if not args.no_migrate:
        migrate.upgrade()
    if ensure_admin(settings.admin_username, settings.admin_password) and not settings.production:
        print(BANNER.format(user=settings.admin_username, password=settings.admin_password), file=sys.stderr)
    if args.workers > 1:
        return _run_workers(args, settings, started)
    return _serve(args, settings, started=started)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="erp", description="The ERP's local tools.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="serve every function of a stack file on the local gateway")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8080)
    run.add_argument("--stack", default=str(ROOT / "stack.yml"), help="stack.yml (default) or stack.ce.yml")
    run.add_argument("--threads", type=int, default=16, help="request threads per process (default 16)")
    run.add_argument("--workers", type=int, default=1,
                     help="processes sharing the port (default 1); more than 1 needs REDIS_URL, "
                          "and only the first runs the schedules")
    run.add_argument("--no-migrate", action="store_true", help="do not apply migrations at start-up")
    run.add_argument("--drain-timeout", type=float, default=None, metavar="SECONDS",
                     help="on SIGTERM/SIGINT, how long requests in flight may still run (default: the "
                          "functions' write_timeout in the stack's env.yml, else 30)")
    run.set_defaults(func=cmd_run)

    mig = sub.add_parser("migrate", help="apply the database migrations")
    mig.add_argument("revision", nargs="?", default="head")
    mig.set_defaults(func=cmd_migrate)

    admin = sub.add_parser("create-admin", help="create the first administrator if there are no users")
    admin.set_defaults(func=cmd_create_admin)

    make = sub.add_parser("makemigration", help="generate a migration from the models (then edit it)")
    make.add_argument("message")
    make.set_defaults(func=cmd_makemigration)

    imports = sub.add_parser("import", help="import data from files")
    what = imports.add_subparsers(dest="what", required=True)
    items = what.add_parser("items", help="items and SKUs from a CSV file (the item-import columns, see README)")
    items.add_argument("file", help="a UTF-8 CSV file with a header row")
    items.add_argument("--dry-run", action="store_true", help="check every row and report, change nothing")
    items.add_argument("--user", default="erp-cli", help="who the price history records (default erp-cli)")
    items.set_defaults(func=cmd_import_items)

    check = sub.add_parser("check", help="check the data's invariants")
    checks = check.add_subparsers(dest="what", required=True)
    stock = checks.add_parser("stock", help="every stock balance equals the sum of its ledger (exit 1 if not)")
    stock.set_defaults(func=cmd_check_stock)

    snap = sub.add_parser("backup", help="write a consistent snapshot of the database and its manifest")
    snap.add_argument("--to", default=os.environ.get("ERP_BACKUP_DIR", "backups"), metavar="DIR",
                      help="the folder for snapshots (default: $ERP_BACKUP_DIR, else ./backups)")
    snap.add_argument("--keep-days", type=int, default=None, metavar="N",
                      help="then delete the snapshots older than N days in that folder (never the newest)")
    snap.set_defaults(func=cmd_backup)
    rest = sub.add_parser("restore", help="load a snapshot (its manifest or data file) into the database")
    rest.add_argument("file")
    rest.add_argument("--force", action="store_true", help="replace a database that holds data")
    rest.add_argument("--migrate", action="store_true",
                      help="a snapshot of an older schema revision: restore it, then migrate it to this version's")
    rest.set_defaults(func=cmd_restore)

    stack_cmd = sub.add_parser("stack", help="write stack.yml, stack.ce.yml, the handler folders, the packs and "
                                             "docs/functions.md from the declarations")
    stack_cmd.add_argument("--check", action="store_true",
                           help="write nothing; list what differs from the declarations (exit 1 if anything)")
    stack_cmd.set_defaults(func=cmd_stack)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"erp: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        message = database_problem(exc)
        if message is None:
            raise
        print(f"erp: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C before the gateway serves (migrating, say): no traceback
        print("erp: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
