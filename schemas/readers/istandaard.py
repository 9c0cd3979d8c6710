"""iJw/iWmo 301 messages (toewijzing, release 3.2) as input (docs/contract.md §4, docs/istandaarden.md).

A message is checked against its XSD (shipped in `schemas/readers/xsd/`) before anything is read from it;
a message of another release (2.x, 3.0, 3.1) is a file fault that names the release.
It yields one row per ToegewezenProduct: voorziening = Product/Categorie, begindatum = Ingangsdatum,
einddatum = Einddatum. The address is the client's first Contact of Soort 01 (BRP) with an Adres,
failing that the first of Soort 03 (verblijf); relatives' contacts are never used. An address with an
AanduidingWoonadres (AB, BY, TO, WW: a place near or opposite the address, not the dwelling's own
address) is passed over for the next such contact without one; when there is none, the row carries the
aanduiding in `adres_aanduiding` and the 301 suite rejects it. The rows carry `landcode` and
`adres_gevonden` too, so the suite rejects foreign and missing addresses with a reason.
Line numbers are those of the ToegewezenProduct element in the message.

A delivery (one message, a folder of them, or an upload of several) keeps one version per toewijzing
(JW301/WMO301, Afzender, ToewijzingNummer): the one of the latest message, by the header's Dagtekening and
then its Identificatie. Earlier versions are `superseded`; a toewijzing whose latest version has
RedenWijziging 13 (verwijderd) is `withdrawn` with all its versions. Both are counted on the read info,
and neither is an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
from lxml import etree

from schemas.messages import RowError
from schemas.readers import csv_reader
from schemas.readers.csv_reader import FileFault

XSD_DIR = Path(__file__).resolve().parent / "xsd"
MAX_FAULTS_LISTED = 10
MAX_MESSAGE_BYTES = 20 * 1024 * 1024
ROW_COLUMNS = ("regel", "postcode", "huisnummer", "huisletter", "huisnummertoevoeging", "voorziening",
               "begindatum", "einddatum", "landcode", "adres_gevonden", "adres_aanduiding", "bedrag")
VERSION_COLUMNS = ("toewijzing", "reden_wijziging")
"""Columns of `message_rows` that only serve to pick the latest version of a toewijzing."""
ADDRESS_SOORTEN = ("01", "03")
WITHDRAWN = "13"
"""RedenWijziging 13 (Verwijderd): the toewijzing counts as never sent (iJw/iWmo OP033x1, JZ002/WMO002)."""
# Release 3.x: .../ijw/3_1/jw301/schema; release 2.x adds the release again: .../iwmo/2_1/wmo301/schema/2_1.
_NAMESPACE = re.compile(r"^https?://www\.istandaarden\.nl/(?P<std>i[a-z]+)/(?P<release>[0-9]+(?:_[0-9]+)*)/"
                        r"(?P<msg>[a-z]+[0-9]+)/schema(?:/[0-9_]+)?/?$", re.IGNORECASE)
_MISPLACED = "een verplicht element ontbreekt, of een element staat op een plek waar het niet hoort"
_XSD_REASONS = {
    "SCHEMAV_ELEMENT_CONTENT": _MISPLACED,
    "SCHEMAV_CVC_COMPLEX_TYPE_2_4": _MISPLACED,
    "SCHEMAV_CVC_PATTERN_VALID": "de waarde past niet in het voorgeschreven patroon",
    "SCHEMAV_CVC_ENUMERATION_VALID": "de waarde staat niet in de lijst van toegestane codes",
    "SCHEMAV_CVC_MAXLENGTH_VALID": "de waarde is te lang",
    "SCHEMAV_CVC_MINLENGTH_VALID": "de waarde is te kort of leeg",
    "SCHEMAV_CVC_LENGTH_VALID": "de waarde heeft niet de voorgeschreven lengte",
    "SCHEMAV_CVC_MININCLUSIVE_VALID": "de waarde is kleiner dan toegestaan",
    "SCHEMAV_CVC_MAXINCLUSIVE_VALID": "de waarde is groter dan toegestaan",
    "SCHEMAV_CVC_TOTALDIGITS_VALID": "de waarde heeft te veel cijfers",
    "SCHEMAV_CVC_DATATYPE_VALID_1_2_1": "de waarde heeft niet het juiste type (bijv. een datum of een getal)",
    "SCHEMAV_CVC_ELT_1": "het hoofdelement is onbekend",
}


@dataclass(frozen=True)
class MessageKind:
    name: str
    namespace: str
    basis: str
    xsd: str


JW301 = MessageKind("JW301", "http://www.istandaarden.nl/ijw/3_2/jw301/schema",
                    "http://www.istandaarden.nl/ijw/3_2/basisschema/schema", "ijw/JW301.xsd")
WMO301 = MessageKind("WMO301", "http://www.istandaarden.nl/iwmo/3_2/wmo301/schema",
                     "http://www.istandaarden.nl/iwmo/3_2/basisschema/schema", "iwmo/WMO301.xsd")
KINDS = {kind.namespace: kind for kind in (JW301, WMO301)}


def looks_like_message(path: Path) -> bool:
    """An `.xml` file, or any file whose content starts with `<` (after a BOM and whitespace)."""
    if path.suffix.lower() == ".xml":
        return True
    try:
        with path.open("rb") as handle:
            head = handle.read(512)
    except OSError:
        return False
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


@cache
def _schema(xsd: str) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(XSD_DIR / xsd), parser))


def _parser() -> etree.XMLParser:
    # No DTDs, no entities, no network: a message is data, never instructions to the parser.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_comments=True, remove_pis=True)


def _kind_of(root: etree._Element, name: str) -> MessageKind:
    qname = etree.QName(root)
    kind = KINDS.get(qname.namespace or "")
    if kind is not None and qname.localname == "Bericht":
        return kind
    match = _NAMESPACE.match(qname.namespace or "")
    if match and match["msg"].lower() not in ("jw301", "wmo301"):
        raise FileFault(f"{name}: dit is een {match['msg'].upper()}-bericht; alleen 301-berichten "
                        "(toewijzing) bevatten het adres van de cliënt. Lever de JW301- of WMO301-berichten "
                        "aan")
    if match:
        raise _release_fault(name, match["msg"].upper(), match["release"].replace("_", "."))
    raise FileFault(f"{name}: dit is geen JW301- of WMO301-bericht (iJw/iWmo 3.2); het hoofdelement is "
                    f"'{qname.localname[:40]}'. Lever een CSV-bestand of 301-berichten aan")


def _release_fault(name: str, message: str, release: str) -> FileFault:
    # Another release has other elements (2.x: Clienten/Client/Beschikking; 3.0: no RedenWijziging 13):
    # read as if it were 3.2 its meaning would be guessed, so the message is refused as a whole.
    standard = "iWmo" if message.startswith("WMO") else "iJw"
    return FileFault(f"{name}: dit is een {message}-bericht van release {release} ({standard} {release}); "
                     f"Factlab leest release 3.2. Vraag uw leverancier om berichten van release 3.2 "
                     f"({standard} 3.2) en lever die aan")


def _xsd_fault(name: str, kind: MessageKind, log: etree._ListErrorLog) -> FileFault:
    # lxml's own messages quote the offending value (a name, a postcode): give only place and reason.
    lines = []
    for error in list(log)[:5]:
        element = re.sub(r"[A-Za-z0-9]+:", "", error.path or "").lstrip("/") or "?"
        reason = _XSD_REASONS.get(error.type_name, f"voldoet niet aan het XSD ({error.type_name})")
        lines.append(f"regel {error.line}, element {element}: {reason}")
    more = len(log) - len(lines)
    tail = f" (en nog {more} fout(en))" if more > 0 else ""
    return FileFault(f"{name}: het bericht voldoet niet aan het XSD van {kind.name} release 3.2 en is niet "
                     f"verwerkt: {'; '.join(lines)}{tail}. Maak het bericht opnieuw aan in het bronsysteem")


def parse_message(path: Path) -> tuple[MessageKind, etree._Element]:
    """Parse and check one message; raises FileFault (Dutch, without any value from the message)."""
    name = path.name
    try:
        if not path.is_file():
            raise FileFault(f"{path}: bestand niet gevonden")
        size = path.stat().st_size
        if size == 0:
            raise FileFault(f"{name}: het bestand is leeg")
        if size > MAX_MESSAGE_BYTES:
            raise FileFault(f"{name}: het bestand is groter dan {MAX_MESSAGE_BYTES // (1024 * 1024)} MB; een "
                            "301-bericht bevat één cliënt. Lever losse berichten aan")
        data = path.read_bytes()
    except OSError as exc:
        raise FileFault(f"{name}: het bestand kan niet gelezen worden ({exc.strerror or 'leesfout'})"
                        ) from None
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line, column = (exc.position if exc.position else (0, 0))
        raise FileFault(f"{name} regel {line}, kolom {column}: dit is geen geldige XML (het bestand is "
                        "beschadigd of onvolledig). Maak het bericht opnieuw aan in het bronsysteem"
                        ) from None
    if root is None:
        raise FileFault(f"{name}: dit is geen geldige XML. Maak het bericht opnieuw aan in het bronsysteem")
    if root.getroottree().docinfo.doctype:
        raise FileFault(f"{name}: het bericht bevat een DOCTYPE-declaratie; 301-berichten hebben die niet. "
                        "Lever het bericht aan zoals het bronsysteem het maakte")
    kind = _kind_of(root, name)
    schema = _schema(kind.xsd)
    if not schema.validate(root):
        raise _xsd_fault(name, kind, schema.error_log)
    return kind, root


def _text(element: etree._Element | None, path: str, namespaces: dict[str, str]) -> str:
    if element is None:
        return ""
    found = element.find(path, namespaces)
    return (found.text or "").strip() if found is not None else ""


def _address_contact(client: etree._Element, ns: dict[str, str]) -> tuple[etree._Element | None, str]:
    """The client's contact whose address is used, and its AanduidingWoonadres ("" when it has none).

    The contacts of Soort 01, then 03, that have an Adres are the candidates; the first without an
    AanduidingWoonadres wins. Without such a one, the first candidate is returned with its aanduiding
    (the row is then rejected), so the partner sees which address was passed over and why.
    """
    contacts = client.findall("m:Contactgegevens/m:Contact", ns)
    candidates = [contact for soort in ADDRESS_SOORTEN for contact in contacts
                  if _text(contact, "m:Soort", ns) == soort and contact.find("m:Adres", ns) is not None]
    for contact in candidates:
        if not _text(contact, "m:Adres/b:Huis/b:AanduidingWoonadres", ns):
            return contact, ""
    if candidates:
        return candidates[0], _text(candidates[0], "m:Adres/b:Huis/b:AanduidingWoonadres", ns).upper()
    return None, ""


@dataclass(frozen=True)
class MessageVersion:
    """Where a message stands among the versions of a toewijzing: its header's Dagtekening, Identificatie."""

    dagtekening: str
    identificatie: str

    def order(self) -> tuple[str, int, str]:
        # xs:date sorts as text; an Identificatie of digits only sorts as a number (9 before 10).
        ident = self.identificatie
        return (self.dagtekening, 0 if ident.isdigit() else 1, ident.zfill(20) if ident.isdigit() else ident)


def message_version(kind: MessageKind, root: etree._Element) -> MessageVersion:
    ns = {"m": kind.namespace, "b": kind.basis}
    header = root.find("m:Header/m:BerichtIdentificatie", ns)
    return MessageVersion(_text(header, "b:Dagtekening", ns), _text(header, "b:Identificatie", ns))


def _client_address(client: etree._Element, ns: dict[str, str]) -> dict[str, object]:
    contact, aanduiding = _address_contact(client, ns)
    adres = contact.find("m:Adres", ns) if contact is not None else None
    return {
        "postcode": _text(adres, "b:Postcode", ns),
        "huisnummer": _text(adres, "b:Huis/b:Huisnummer", ns),
        "huisletter": _text(adres, "b:Huis/b:Huisletter", ns),
        "huisnummertoevoeging": _text(adres, "b:Huis/b:HuisnummerToevoeging", ns),
        "landcode": _text(adres, "b:LandCode", ns).upper() or None,
        "adres_gevonden": adres is not None,
        "adres_aanduiding": aanduiding or None,
    }


def message_records(kind: MessageKind, root: etree._Element) -> list[dict[str, object]]:
    """One record per ToegewezenProduct (ROW_COLUMNS and VERSION_COLUMNS; see the module docstring)."""
    ns = {"m": kind.namespace, "b": kind.basis}
    afzender = _text(root, "m:Header/m:Afzender", ns)
    records: list[dict[str, object]] = []
    for client in root.findall("m:Client", ns):
        address = _client_address(client, ns)
        for product in client.findall("m:ToegewezenProducten/m:ToegewezenProduct", ns):
            records.append({
                "regel": int(product.sourceline or 0),
                **address,
                "voorziening": _text(product, "m:Product/b:Categorie", ns),
                "begindatum": _text(product, "m:Ingangsdatum", ns),
                "einddatum": _text(product, "m:Einddatum", ns),
                "bedrag": _budget_euros(_text(product, "m:Budget", ns)),
                "toewijzing": f"{kind.name}|{afzender}|{_text(product, 'm:ToewijzingNummer', ns)}",
                "reden_wijziging": _text(product, "m:RedenWijziging", ns),
            })
    return records


def _budget_euros(budget: str) -> str:
    """The Budget (eurocent, LDT_Budget: 0..99999999, the whole toewijzing) as euros `1234.56`; "" if none.

    It is pro-rated to the days of the toewijzing in the period when linking (docs/contract.md §12).
    """
    if not budget.isdigit():
        return ""
    cents = int(budget)
    return f"{cents // 100}.{cents % 100:02d}"


def _frame(records: list[dict[str, object]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=columns)
    frame["regel"] = frame["regel"].astype("int64")
    return frame


def message_rows(kind: MessageKind, root: etree._Element) -> pd.DataFrame:
    """One row per ToegewezenProduct with the client's address (strings; see the module docstring)."""
    return _frame(message_records(kind, root), [*ROW_COLUMNS, *VERSION_COLUMNS])


def read_message(path: Path) -> tuple[MessageKind, pd.DataFrame]:
    """Parse, check against the XSD and turn one message into rows (every version, nothing resolved)."""
    kind, root = parse_message(path)
    return kind, message_rows(kind, root)


@dataclass
class Versions:
    """The outcome of `latest_versions`: the rows kept and how many ToegewezenProducten were dropped."""

    kept: pd.DataFrame
    superseded: int = 0
    """ToegewezenProducten replaced by a later version of their toewijzing."""
    withdrawn: int = 0
    """ToegewezenProducten of toewijzingen whose latest version is RedenWijziging 13 (all versions)."""


def latest_versions(rows: pd.DataFrame, rank: pd.Series) -> Versions:
    """Keep per toewijzing the rows of its latest version (`rank`: the version's place, higher is later).

    Rows of equal rank are one version (the same message delivered twice, say): all are kept, and the
    duplicate check sees them. A toewijzing whose latest version has RedenWijziging 13 keeps no row.
    """
    latest = rank.groupby(rows["toewijzing"]).transform("max")
    is_latest = rank.eq(latest)
    withdrawing = is_latest & rows["reden_wijziging"].eq(WITHDRAWN)
    withdrawn = rows["toewijzing"].isin(set(rows.loc[withdrawing, "toewijzing"]))
    kept = rows.loc[is_latest & ~withdrawn].reset_index(drop=True)
    return Versions(kept, int((~is_latest & ~withdrawn).sum()), int(withdrawn.sum()))


def _gather(sources: list[Path], info, named: bool) -> tuple[list[dict[str, object]], list[MessageVersion]]:
    """All records of all messages (with `bron`), and each message's version; FileFault as `read_chunks`."""
    faults: list[str] = []
    records: list[dict[str, object]] = []
    versions: list[MessageVersion] = []
    for index, path in enumerate(sources):
        try:
            kind, root = parse_message(path)
        except FileFault as fault:
            if not named:
                raise
            faults.append(str(fault))
            versions.append(MessageVersion("", ""))
            continue
        info.messages[kind.name] += 1
        versions.append(message_version(kind, root))
        records.extend({"bron": index, **record} for record in message_records(kind, root))
    if faults:
        listed = "\n  ".join(faults[:MAX_FAULTS_LISTED])
        hidden = len(faults) - MAX_FAULTS_LISTED
        more = f"\n  (en nog {hidden} bericht(en))" if hidden > 0 else ""
        raise FileFault(
            f"{len(faults)} van de {len(sources)} berichten zijn niet te lezen; er is niets "
            f"geschreven. Haal ze uit de map of maak ze opnieuw aan:\n  {listed}{more}"
        )
    return records, versions


def read_chunks(
    sources: list[Path], info, named: bool = False
) -> Iterator[tuple[pd.DataFrame, list[RowError]]]:
    """The registry's entry: the latest version of every toewijzing of a delivery, in chunks.

    Every message is read first (they are small), then each toewijzing keeps its latest version
    (`latest_versions`, counted on `info.superseded` and `info.withdrawn`), then the rows go out in
    chunks of `csv_reader.CHUNK_ROWS` (one suite run per chunk), in message and line order. Rows carry
    `bron`, the index of their message in `sources`. With `named` (a folder of messages) an unreadable
    message does not stop the others from being read, but all such messages are named together in one
    FileFault before any row is given, so nothing is written.
    """
    records, versions = _gather(sources, info, named)
    rows = _frame(records, ["bron", *ROW_COLUMNS, *VERSION_COLUMNS])
    places = {order: place for place, order in enumerate(sorted({v.order() for v in versions}))}
    rank = rows["bron"].map({bron: places[version.order()] for bron, version in enumerate(versions)})
    outcome = latest_versions(rows, rank)
    info.superseded += outcome.superseded
    info.withdrawn += outcome.withdrawn
    kept = outcome.kept.drop(columns=list(VERSION_COLUMNS))
    size = csv_reader.CHUNK_ROWS  # read at call time: one setting for both readers
    for start in range(0, len(kept), size):
        yield kept.iloc[start:start + size].reset_index(drop=True), []
