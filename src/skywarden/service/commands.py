"""`skywarden serve` and `skywarden token create|list|revoke`: the live service from the command line (heavy
imports stay inside)."""

from __future__ import annotations

import datetime as dt
import gc
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from skywarden.store.sqlite import Store

out = Console(soft_wrap=True)  # addresses and paths on one line each, whatever the width
err = Console(stderr=True, soft_wrap=True)
DEFAULT_DATA = Path("out/serve")

DataOption = Annotated[Path, typer.Option("--data", help="Folder of the service's store (skywarden.db) and ledgers.")]


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    return typer.Exit(2)


def serve(
    scenario: Annotated[str, typer.Option(help="The simulated feed: a built-in scenario or a scenario .toml file.")]
    = "kremlin-2023-05-03",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    speed: Annotated[float, typer.Option(min=0.0, help="Feed speed: 1 = real time, 10 = ten times faster, "
                                                      "0 = as fast as tracking goes.")] = 1.0,
    seed: Annotated[int | None, typer.Option(min=0, help="Random seed of the simulated feed.")] = None,
    data: DataOption = DEFAULT_DATA,
    key: Annotated[Path | None, typer.Option("--key", help="The site's private signing key; default "
                                                          "$SKYWARDEN_KEY or ~/.skywarden/site-key.pem.")] = None,
    sign_every: Annotated[float, typer.Option("--sign-every", min=0.001, help="Sign a tree head every this many "
                                              "seconds of data (and always at shutdown).")] = 1.0,
) -> None:
    """Run the live service: the scenario's sensors as a live feed through the pipeline, the REST/WebSocket API
    and the operator console. Prints the console's address and, on first start, a token per role."""
    import uvicorn

    from skywarden.config import ConfigError
    from skywarden.evidence import LedgerError, SiteKey, default_key_path
    from skywarden.runtime.recorder import SITE_ITEM_KINDS, edited_site
    from skywarden.service.app import create_app
    from skywarden.service.auth import INITIAL_LIFETIME_S, Auth
    from skywarden.service.engine import EngineConfig, EngineError, EngineLink
    from skywarden.sim.scenario import load_scenario
    from skywarden.store.sqlite import Store, StoreError, make_private_dir

    try:
        loaded = load_scenario(scenario)
    except ConfigError as exc:
        raise _fail(str(exc)) from exc
    try:
        make_private_dir(data / "ledgers")  # the store, ledgers and trails: the owner's alone
        store = Store.open(data / "skywarden.db")
        key_path = key or default_key_path()
        SiteKey.load_or_create(key_path)  # created here, so that a bad key file is reported before anything runs
        site = loaded.site
        for kind in SITE_ITEM_KINDS:  # rule changes made through the API survive a restart
            for item in store.config_items(kind).values():
                site = edited_site(site, kind, item)
    except (OSError, StoreError, LedgerError, ValueError) as exc:  # LedgerError: a site key that cannot be used
        raise _fail(f"cannot start the service in {data}: {exc}") from exc
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    config = EngineConfig(scenario=loaded, site=site, seed=seed, speed=math.inf if speed == 0 else speed,
                          store_path=store.path, ledger_path=data / "ledgers" / f"{stamp}.ledger", key_path=key_path,
                          sign_every_s=sign_every)
    auth = Auth(store)
    tokens = auth.ensure_initial_tokens()
    try:
        link = EngineLink(config)  # the tracking side, in a process of its own
    except EngineError as exc:
        store.close()
        raise _fail(f"cannot start the service in {data}: {exc}") from exc
    app = create_app(link, store, auth, web_dir=web_dir())
    url = f"http://{host}:{port}/"
    out.print(f"Skywarden {loaded.name} live at [bold]{url}[/bold]  (API {url}api, docs {url}docs); Ctrl-C stops")
    out.print(f"store: {data / 'skywarden.db'}   ledger: {link.config.ledger_path}")
    for role, token in tokens.items():
        out.print(f"  {role:9s} token: {token}")
    if tokens:
        out.print(f"  (these expire in {INITIAL_LIFETIME_S / 3600:.0f} h; a start that finds no live token prints "
                  f"new ones; `skywarden token create --role ROLE` makes lasting ones)")
    else:
        out.print("  tokens: the ones printed before, or `skywarden token create --role ROLE` (`token list` shows them)")
    gc.freeze()  # the web side's long-lived objects (see the engine's note on collector thresholds)
    gc.set_threshold(100_000, 50, 100)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", ws_per_message_deflate=False)
    finally:
        link.close()
        store.close()
        out.print(f"stopped after {link.counters.scans} scans; ledger closed with a signed head: {link.config.ledger_path}")


def web_dir() -> Path:
    """The console's static files (``web/`` in the package)."""
    return Path(__file__).resolve().parent.parent / "web"


def token_create(
    role: Annotated[str, typer.Option(help="viewer, operator or commander.")],
    name: Annotated[str, typer.Option(help="Who the token is for (shown in the actions it signs); default "
                                           "<role>-<hash prefix>.")] = "",
    expires: Annotated[str, typer.Option(help="Lifetime: 30d, 12h, 90m, or never.")] = "30d",
    data: DataOption = DEFAULT_DATA,
) -> None:
    """Print a new token for ROLE (only its hash is stored); it expires after --expires (default 30 days)."""
    from skywarden.service.auth import Auth, AuthError, parse_lifetime
    from skywarden.store.sqlite import Store, StoreError

    try:
        lifetime_s = parse_lifetime(expires)
        with Store.open(data / "skywarden.db") as store:
            token = Auth(store).create_token(role, name, lifetime_s)
    except (AuthError, StoreError, OSError) as exc:
        raise _fail(getattr(exc, "detail", None) or str(exc)) from exc
    out.print(token)
    until = "never expires" if lifetime_s is None else f"expires {_utc(dt.datetime.now(dt.UTC).timestamp() + lifetime_s)}"
    err.print(f"{role} token, {until}", highlight=False)


def token_list(data: DataOption = DEFAULT_DATA) -> None:
    """List the store's tokens: name, role, created, expires, revoked, hash prefix (never the token)."""
    from rich.table import Table

    from skywarden.store.sqlite import StoreError

    try:
        with _existing_store(data) as store:
            records = store.tokens()
    except (StoreError, OSError) as exc:
        raise _fail(str(exc)) from exc
    now = dt.datetime.now(dt.UTC).timestamp()
    table = Table(title=f"tokens in {data / 'skywarden.db'}", title_justify="left")
    for column in ("name", "role", "created (UTC)", "expires (UTC)", "revoked (UTC)", "hash prefix"):
        table.add_column(column)
    for r in records:
        expires = "never" if r.expires_t is None else _utc(r.expires_t) + (" (expired)" if r.expires_t <= now else "")
        table.add_row(r.name, r.role, _utc(r.created_t), expires,
                      "" if r.revoked_t is None else _utc(r.revoked_t), r.token_hash[:12])
    out.print(table)


def token_revoke(
    which: Annotated[str, typer.Argument(metavar="NAME_OR_HASH_PREFIX",
                                         help="The token's name, or the start of its hash (see `token list`).")],
    data: DataOption = DEFAULT_DATA,
) -> None:
    """Revoke a token: it is refused from now on, by the API and by open streams."""
    from skywarden.service.auth import Auth, AuthError
    from skywarden.store.sqlite import StoreError

    try:
        with _existing_store(data) as store:
            revoked = Auth(store).revoke(which)
    except (AuthError, StoreError, OSError) as exc:
        raise _fail(getattr(exc, "detail", None) or str(exc)) from exc
    out.print(f"revoked {revoked.name} ({revoked.role}, hash {revoked.token_hash[:12]})", highlight=False)


def _existing_store(data: Path) -> Store:
    """The store in ``data``; a clear error, rather than a new empty store, when there is none."""
    from skywarden.store.sqlite import Store

    path = data / "skywarden.db"
    if not path.is_file():
        raise _fail(f"no store at {path}: `skywarden serve --data {data}` makes one (or give --data)")
    return Store.open(path)


def _utc(t: float) -> str:
    """Unix seconds as ``YYYY-MM-DD HH:MM`` UTC."""
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M")
