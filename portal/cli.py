"""`factlab portal`: manage portal accounts and start the portal (run by the key custodian)."""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path

import click

DATA_ENV = "FACTLAB_PORTAL_DATA"
DEFAULT_DATA = Path("portal-data")

_data_option = click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=None,
    help=f"Map met accounts en ontvangstbewijzen (standaard ${DATA_ENV} of ./{DEFAULT_DATA}).",
)


def _data_dir(given: Path | None) -> Path:
    return given or Path(os.environ.get(DATA_ENV) or DEFAULT_DATA)


def _fail(message: str) -> None:
    click.echo(f"fout: {message}", err=True)
    sys.exit(2)


def _store(data_dir: Path | None):
    from portal.store import PortalStore

    return PortalStore(_data_dir(data_dir))


def _read_password(confirm: bool = True) -> str:
    """From a prompt when someone is typing, else the first line of standard input; never from argv."""
    if sys.stdin.isatty():
        return click.prompt("Wachtwoord", hide_input=True, confirmation_prompt=confirm)
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@click.group("portal")
def portal() -> None:
    """Portal waar partners in de browser aanleveren (voor de sleutelbeheerder)."""


@portal.group("gebruiker")
def gebruiker() -> None:
    """Accounts van partners en analisten beheren."""


@gebruiker.command("toevoegen")
@click.argument("naam")
@click.option("--rol", type=click.Choice(["partner", "analist"]), required=True)
@click.option("--weergavenaam", default="", help="Naam van de organisatie zoals die op het scherm staat.")
@_data_option
def add_user(naam: str, rol: str, weergavenaam: str, data_dir: Path | None) -> None:
    """Maak een account; het wachtwoord wordt gevraagd (of van standaardinvoer gelezen)."""
    from portal.store import StoreError, check_name

    try:
        check_name(naam)
        store = _store(data_dir)
        if store.get_user(naam) is not None:
            raise StoreError(f"account '{naam}' bestaat al")
        user = store.add_user(naam, rol, _read_password(), weergavenaam)
    except StoreError as exc:
        _fail(str(exc))
    click.echo(f"account {user.naam} ({user.rol}) aangemaakt in {store.path}")
    if rol == "partner":
        click.echo(f"leveringen van dit account komen in <inbox>/<periode>/leveringen/{user.naam}.parquet")


@gebruiker.command("wachtwoord")
@click.argument("naam")
@_data_option
def set_password(naam: str, data_dir: Path | None) -> None:
    """Geef een account een nieuw wachtwoord."""
    from portal.store import StoreError

    store = _store(data_dir)
    try:
        if store.get_user(naam) is None:
            raise StoreError(f"account '{naam}' bestaat niet")
        store.set_password(naam, _read_password())
    except StoreError as exc:
        _fail(str(exc))
    click.echo(
        f"wachtwoord van {naam} gewijzigd; wie al ingelogd is, blijft dat tot de sessie verloopt "
        "of de portal herstart"
    )


@gebruiker.command("verwijderen")
@click.argument("naam")
@_data_option
def remove_user(naam: str, data_dir: Path | None) -> None:
    """Verwijder een account; zijn ontvangstbewijzen blijven bewaard."""
    from portal.store import StoreError

    try:
        _store(data_dir).remove_user(naam)
    except StoreError as exc:
        _fail(str(exc))
    click.echo(f"account {naam} verwijderd")


@gebruiker.command("lijst")
@_data_option
def list_users(data_dir: Path | None) -> None:
    """Toon alle accounts (nooit wachtwoorden)."""
    users = _store(data_dir).users()
    if not users:
        click.echo(
            "nog geen accounts; maak er een met: factlab portal gebruiker toevoegen NAAM --rol partner"
        )
    for user in users:
        click.echo(f"{user.naam:<40} {user.rol:<8} {user.weergavenaam}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _proxies(addresses: tuple[str, ...]) -> frozenset[str]:
    proxies = set()
    for address in addresses:
        try:
            proxies.add(str(ipaddress.ip_address(address.strip())))
        except ValueError:
            _fail(f"--vertrouwde-proxy {address!r} is geen IP-adres (bijvoorbeeld 127.0.0.1 of ::1)")
    return frozenset(proxies)


@portal.command("start")
@click.option(
    "--sleutel",
    "keyfile",
    required=True,
    type=click.Path(path_type=Path),
    help="Sleutelbestand van de sleutelbeheerder (rechten 0600).",
)
@click.option(
    "--inbox",
    required=True,
    type=click.Path(path_type=Path),
    help="Inbox-map; leveringen komen in INBOX/PERIODE/leveringen/.",
)
@click.option("--periode", required=True, help="Periode waarvoor partners aanleveren, bijv. 2026H1.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8800, show_default=True, type=int)
@click.option("--gemeente", default="", help="Naam van de gemeente in de kop van de pagina's.")
@click.option(
    "--max-mb",
    default=50,
    show_default=True,
    type=click.IntRange(1, 1024),
    help="Grootste toegestane upload in MB.",
)
@click.option(
    "--veilige-cookies/--geen-veilige-cookies",
    "secure_cookies",
    default=None,
    help="Cookies alleen over HTTPS (standaard aan zodra --host niet lokaal is).",
)
@click.option(
    "--codelijst",
    type=click.Path(path_type=Path),
    default=None,
    help="Gemeentelijke aanvulling op de codelijst (code;naam;domein).",
)
@click.option(
    "--vertrouwde-proxy",
    "trusted_proxies",
    multiple=True,
    metavar="IP",
    help="Adres van de reverse proxy voor de portal; alleen van dat adres telt X-Forwarded-For als adres "
    "van de gebruiker (voor het afremmen van inlogpogingen). Mag vaker.",
)
@click.option(
    "--controles-tegelijk",
    "parallel_checks",
    default=1,
    show_default=True,
    type=click.IntRange(1, 8),
    help="Zoveel uploads worden tegelijk gecontroleerd (elk tot ongeveer 0,5 GB geheugen bij 50 MB).",
)
@_data_option
def start(
    keyfile: Path,
    inbox: Path,
    periode: str,
    host: str,
    port: int,
    gemeente: str,
    max_mb: int,
    secure_cookies: bool | None,
    codelijst: Path | None,
    trusted_proxies: tuple[str, ...],
    parallel_checks: int,
    data_dir: Path | None,
) -> None:
    """Start de portal (standaard alleen op deze computer: http://127.0.0.1:8800)."""
    import uvicorn

    from linkage.keys import KeyFileError, load_key
    from pipelines.inbox import resolve_period
    from portal.app import PortalSettings, create_app
    from schemas.codelist import CodeListError, load_code_list
    from schemas.periods import PeriodError

    try:
        key = load_key(keyfile)
        label = resolve_period(periode)
        codes = load_code_list(codelijst)
    except (KeyFileError, PeriodError, CodeListError) as exc:
        _fail(str(exc))
    proxies = _proxies(trusted_proxies)
    loopback = _is_loopback(host)
    if secure_cookies is None:
        secure_cookies = not loopback
    if not loopback:
        click.echo(
            "let op: de portal luistert niet alleen lokaal; zet hem achter HTTPS (een reverse proxy met "
            "TLS), anders gaan wachtwoorden en bestanden onversleuteld over het netwerk",
            err=True,
        )
    store = _store(data_dir)
    if not any(u.rol == "partner" for u in store.users()):
        click.echo(
            "let op: er zijn nog geen partneraccounts; maak ze met: "
            "factlab portal gebruiker toevoegen NAAM --rol partner",
            err=True,
        )
    settings = PortalSettings(
        key=key,
        inbox=inbox,
        periode=label,
        data_dir=_data_dir(data_dir),
        codes=codes,
        gemeente=gemeente,
        max_upload_bytes=max_mb * 1024 * 1024,
        secure_cookies=secure_cookies,
        parallel_checks=parallel_checks,
        trusted_proxies=proxies,
    )
    app = create_app(settings, store=store)
    from portal.intake import warm_up

    warm_up(codes)
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"portal voor periode {label} (sleutel {key.key_id}) op http://{shown}:{port}/ ; stoppen met Ctrl+C"
    )
    click.echo(f"leveringen komen in {inbox / label / 'leveringen'}")
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False, proxy_headers=False)
