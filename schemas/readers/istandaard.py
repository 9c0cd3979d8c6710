"""iJw/iWmo 301 messages (toewijzing, release 3.2) as partner input (docs/contract.md §4).

A message is checked against its XSD (shipped in `schemas/readers/xsd/`) before anything is read from it.
It yields one row per ToegewezenProduct: voorziening = Product/Categorie, begindatum = Ingangsdatum,
einddatum = Einddatum. The address is the client's first Contact of Soort 01 (BRP) with an Adres,
failing that the first of Soort 03 (verblijf); relatives' contacts are never used. The rows carry
`landcode` and `adres_gevonden`, so the 301 suite rejects foreign and missing addresses with a reason.
Line numbers are those of the ToegewezenProduct element in the message.
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
from schemas.readers.csv_reader import CHUNK_ROWS, FileFault

XSD_DIR = Path(__file__).resolve().parent / "xsd"
MAX_FAULTS_LISTED = 10
MAX_MESSAGE_BYTES = 20 * 1024 * 1024
ROW_COLUMNS = ("regel", "postcode", "huisnummer", "huisletter", "huisnummertoevoeging", "voorziening",
               "begindatum", "einddatum", "landcode", "adres_gevonden")
ADDRESS_SOORTEN = ("01", "03")
_NAMESPACE = re.compile(r"^http://www\.istandaarden\.nl/(?P<std>i[a-z]+)/(?P<release>[0-9_]+)/(?P<msg>[a-z0-9]+)/schema$")
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
    if match and match["msg"] not in ("jw301", "wmo301"):
        raise FileFault(f"{name}: dit is een {match['msg'].upper()}-bericht; alleen 301-berichten "
                        "(toewijzing) bevatten het adres van de cliënt. Lever de JW301- of WMO301-berichten "
                        "aan")
    if match:
        release = match["release"].replace("_", ".")
        raise FileFault(f"{name}: dit is een {match['msg'].upper()}-bericht van release {release}; Factlab "
                        "leest release 3.2. Lever berichten van release 3.2 aan")
    raise FileFault(f"{name}: dit is geen JW301- of WMO301-bericht (iJw/iWmo 3.2); het hoofdelement is "
                    f"'{qname.localname[:40]}'. Lever een CSV-bestand of 301-berichten aan")


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


def _address_contact(client: etree._Element, ns: dict[str, str]) -> etree._Element | None:
    contacts = client.findall("m:Contactgegevens/m:Contact", ns)
    for soort in ADDRESS_SOORTEN:
        for contact in contacts:
            if _text(contact, "m:Soort", ns) == soort and contact.find("m:Adres", ns) is not None:
                return contact
    return None


def message_rows(kind: MessageKind, root: etree._Element) -> pd.DataFrame:
    """One row per ToegewezenProduct with the client's address (strings; see the module docstring)."""
    ns = {"m": kind.namespace, "b": kind.basis}
    records: list[dict[str, object]] = []
    for client in root.findall("m:Client", ns):
        contact = _address_contact(client, ns)
        adres = contact.find("m:Adres", ns) if contact is not None else None
        landcode = _text(adres, "b:LandCode", ns).upper() or None
        address = {
            "postcode": _text(adres, "b:Postcode", ns),
            "huisnummer": _text(adres, "b:Huis/b:Huisnummer", ns),
            "huisletter": _text(adres, "b:Huis/b:Huisletter", ns),
            "huisnummertoevoeging": _text(adres, "b:Huis/b:HuisnummerToevoeging", ns),
            "landcode": landcode,
            "adres_gevonden": adres is not None,
        }
        for product in client.findall("m:ToegewezenProducten/m:ToegewezenProduct", ns):
            records.append({
                "regel": int(product.sourceline or 0),
                **address,
                "voorziening": _text(product, "m:Product/b:Categorie", ns),
                "begindatum": _text(product, "m:Ingangsdatum", ns),
                "einddatum": _text(product, "m:Einddatum", ns),
            })
    frame = pd.DataFrame.from_records(records, columns=list(ROW_COLUMNS))
    frame["regel"] = frame["regel"].astype("int64")
    return frame


def read_message(path: Path) -> tuple[MessageKind, pd.DataFrame]:
    """Parse, check against the XSD and turn one message into rows."""
    kind, root = parse_message(path)
    return kind, message_rows(kind, root)


def iter_rows(path: Path) -> Iterator[tuple[pd.DataFrame, list[RowError]]]:
    """The rows of one message, in the form of `schemas.readers.csv_reader.iter_rows` (one chunk)."""
    _, rows = read_message(path)
    yield rows, []


def read_chunks(
    sources: list[Path], info, named: bool = False
) -> Iterator[tuple[pd.DataFrame, list[RowError]]]:
    """The registry's entry: rows of many small messages, gathered into chunks (one suite run per chunk).

    Rows carry `bron`, the index of their message in `sources`. With `named` (a folder of messages) an
    unreadable message does not stop the others from being read, but all such messages are named
    together in one FileFault at the end, so nothing is written.
    """
    faults: list[str] = []
    pending: list[pd.DataFrame] = []
    pending_rows = 0
    for index, path in enumerate(sources):
        try:
            kind, rows = read_message(path)
        except FileFault as fault:
            if not named:
                raise
            faults.append(str(fault))
            continue
        info.messages[kind.name] += 1
        rows.insert(0, "bron", index)
        pending.append(rows)
        pending_rows += len(rows)
        if pending_rows >= CHUNK_ROWS:
            yield pd.concat(pending, ignore_index=True), []
            pending.clear()
            pending_rows = 0
    if faults:
        listed = "\n  ".join(faults[:MAX_FAULTS_LISTED])
        hidden = len(faults) - MAX_FAULTS_LISTED
        more = f"\n  (en nog {hidden} bericht(en))" if hidden > 0 else ""
        raise FileFault(
            f"{len(faults)} van de {len(sources)} berichten zijn niet te lezen; er is niets "
            f"geschreven. Haal ze uit de map of maak ze opnieuw aan:\n  {listed}{more}"
        )
    if pending:
        yield pd.concat(pending, ignore_index=True), []
