"""`skywarden serve` and `skywarden token`: the live service from the command line (heavy imports stay inside)."""

from __future__ import annotations

import datetime as dt
import gc
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

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
    from skywarden.runtime.recorder import edited_site
    from skywarden.service.app import create_app
    from skywarden.service.auth import Auth
    from skywarden.service.engine import EngineConfig, EngineError, EngineLink
    from skywarden.sim.scenario import load_scenario
    from skywarden.store.sqlite import Store, StoreError

    try:
        loaded = load_scenario(scenario)
    except ConfigError as exc:
        raise _fail(str(exc)) from exc
    try:
        data.mkdir(parents=True, exist_ok=True)
        (data / "ledgers").mkdir(exist_ok=True)
        store = Store.open(data / "skywarden.db")
        key_path = key or default_key_path()
        SiteKey.load_or_create(key_path)  # created here, so that a bad key file is reported before anything runs
        site = loaded.site
        for kind in ("zones", "assets", "permits"):  # edits made through the API survive a restart
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
    if not tokens:
        out.print("  tokens: the ones printed on first start (or `skywarden token create --role ROLE`)")
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
    name: Annotated[str, typer.Option(help="Who the token is for (shown in the actions it signs).")] = "",
    data: DataOption = DEFAULT_DATA,
) -> None:
    """Print a new token for ROLE (only its hash is stored)."""
    from skywarden.service.auth import Auth, AuthError
    from skywarden.store.sqlite import Store, StoreError

    try:
        data.mkdir(parents=True, exist_ok=True)
        with Store.open(data / "skywarden.db") as store:
            token = Auth(store).create_token(role, name or f"{role}-token")
    except (AuthError, StoreError, OSError) as exc:
        raise _fail(getattr(exc, "detail", None) or str(exc)) from exc
    out.print(token)
