"use strict";
// Factlab in-browser pseudonymiser. Reads the partner's CSV and the key file with FileReader,
// checks the addresses by canonical address v1 (docs/contract.md §3) and computes the pseudonyms with
// WebCrypto HMAC-SHA256. Nothing leaves this page except the pseudonymised file the user saves
// or delivers. The rules (regular expressions, column names, messages) are injected by the
// portal from the Python sources, so both implementations share them.
(function () {
  const CONFIG = JSON.parse(document.getElementById("factlab-config").textContent);

  // Python's str.isspace() set (sent by the portal), so strip() and \s behave as in the Python canonicaliser.
  const PY_WS = CONFIG.whitespace.map((c) => "\\u" + c.toString(16).padStart(4, "0")).join("");
  const WS_RUN = new RegExp("[" + PY_WS + "]+", "g");
  const WS_EDGES = new RegExp("^[" + PY_WS + "]+|[" + PY_WS + "]+$", "g");
  const pyStrip = (s) => s.replace(WS_EDGES, "");
  // Upper case per character, as the canonicaliser's Arrow kernel does: a character whose upper case
  // is more than one character (ß → SS) stays as it is.
  const upper = (s) => Array.from(s, (c) => {
    const u = c.toUpperCase();
    return u.length === c.length ? u : c;
  }).join("");

  // Python's \s → the same set in JavaScript; inside a character class without extra brackets.
  function fromPython(pattern, flags) {
    let out = "";
    let inClass = false;
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i];
      if (c === "\\") {
        const next = pattern[i + 1];
        if (next === "s") out += inClass ? PY_WS : "[" + PY_WS + "]";
        else out += c + next;
        i++;
        continue;
      }
      if (c === "[" && !inClass) inClass = true;
      else if (c === "]" && inClass) inClass = false;
      out += c;
    }
    return new RegExp(out, flags || "");
  }

  const POSTCODE = fromPython(CONFIG.postcode_pattern);
  const SPLIT = fromPython(CONFIG.house_number_split);
  const SEP_LINE = fromPython(CONFIG.excel_sep_line, "i");
  const DIGITS = /^[0-9]+$/;
  const LETTER = /^[A-Z]?$/;

  /** Canonical address v1: {canoniek, pand} or null values with the failing rule per column. */
  function canonicalise(postcodeRaw, huisnummerRaw, huisletterRaw, toevoegingRaw) {
    const pc = upper((postcodeRaw || "").replace(WS_RUN, ""));
    let pcError = null;
    if (!POSTCODE.test(pc)) pcError = "postcode_ongeldig";
    else if (CONFIG.forbidden_postcode_letters.includes(pc.slice(4))) pcError = "postcode_verboden_letters";
    if (pc === "") pcError = "postcode_ontbreekt";

    const nr = upper(pyStrip(huisnummerRaw || ""));
    let letter = upper(pyStrip(huisletterRaw || ""));
    let toev = upper(toevoegingRaw || "").replace(/[^0-9A-Z]/g, "");

    const allDigits = DIGITS.test(nr);
    const needsSplit = !allDigits && letter === "" && toev === "" && nr !== "";
    const parts = needsSplit ? SPLIT.exec(nr) : null;
    const splitOk = parts !== null;
    let numberText = allDigits ? nr : (splitOk ? parts.groups.nr : "");
    if (splitOk) {
      letter = parts.groups.letter || "";
      toev = parts.groups.toev || "";
    }
    const hasNumber = DIGITS.test(numberText);
    const stripped = numberText.replace(/^0+/, "");
    const inRange = hasNumber && stripped.length <= CONFIG.max_house_number_digits && stripped !== "";
    let nrError = null;
    if (!hasNumber) nrError = "huisnummer_ongeldig";
    else if (!inRange) nrError = "huisnummer_bereik";
    if (nr === "") nrError = "huisnummer_ontbreekt";
    const letterError = LETTER.test(letter) ? null : "huisletter_ongeldig";
    const toevError = toev.length > 4 ? "toevoeging_ongeldig" : null;

    const fouten = { postcode: pcError, huisnummer: nrError, huisletter: letterError,
      huisnummertoevoeging: toevError };
    const valid = !pcError && !nrError && !letterError && !toevError;
    const pand = valid ? pc + "|" + stripped : null;
    return { canoniek: valid ? pand + "|" + letter + "|" + toev : null, pand, fouten };
  }

  // ---- key file (docs/contract.md §2) ----

  const encoder = new TextEncoder();

  function hex(buffer) {
    return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function importKey(secret) {
    return crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  }

  async function hmacHex(cryptoKey, text) {
    return hex(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(text)));
  }

  /** Parse and check a key file; returns {cryptoKey, keyId} or throws a Dutch Error. */
  async function loadKey(text) {
    let doc;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new Error("dit is geen Factlab-sleutelbestand (geen JSON); kies het bestand dat u van de gemeente kreeg");
    }
    if (!doc || doc.format !== "factlab-key" || doc.version !== 1 || typeof doc.key !== "string") {
      throw new Error("dit is geen Factlab-sleutelbestand versie 1");
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(doc.key)) throw new Error("het veld 'key' is geen geldige base64-sleutel");
    const secret = Uint8Array.from(atob(doc.key), (c) => c.charCodeAt(0));
    if (secret.length !== 32) throw new Error("de sleutel moet 32 bytes lang zijn");
    const cryptoKey = await importKey(secret);
    secret.fill(0);
    const keyId = (await hmacHex(cryptoKey, "factlab:key-id:v1")).slice(0, 16);
    if (doc.key_id !== keyId) throw new Error("key_id klopt niet met de sleutel; het bestand is beschadigd of aangepast");
    return { cryptoKey, keyId };
  }

  async function pseudonyms(cryptoKey, canoniek, pand) {
    return [await hmacHex(cryptoKey, CONFIG.address_prefix + canoniek),
      await hmacHex(cryptoKey, CONFIG.building_prefix + pand)];
  }

  // ---- reading the CSV (docs/contract.md §4), as Python's reader does ----

  class FileFault extends Error {}

  function decode(bytes, name) {
    if (bytes.length === 0) throw new FileFault(name + ": het bestand is leeg");
    if (bytes.subarray(0, 4096).includes(0)) {
      throw new FileFault(name + ": dit is geen tekstbestand (CSV); lever een CSV-bestand aan");
    }
    try {
      return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes), encoding: "utf-8" };
    } catch (e) {
      // Windows-1252 leaves five bytes undefined; Python refuses them, so do we.
      if ([0x81, 0x8d, 0x8f, 0x90, 0x9d].some((b) => bytes.includes(b))) {
        throw new FileFault(name + ": de tekens zijn niet te lezen als UTF-8 of Windows-1252; sla het bestand op "
          + "als 'CSV UTF-8' of 'CSV (puntkomma gescheiden)'");
      }
      return { text: new TextDecoder("windows-1252").decode(bytes), encoding: "windows-1252" };
    }
  }

  /** Records of Python's csv.reader (excel dialect) with the line each record starts on. */
  function* csvRecords(text, delimiter) {
    const lineRe = /[^\r\n]*(?:\r\n|\r|\n|$)/g;
    let lineNum = 0;
    let record = [];
    let field = "";
    let state = "start_record";
    let start = 1;
    let match;
    while ((match = lineRe.exec(text)) !== null) {
      const line = match[0];
      if (line === "") break;
      lineNum++;
      if (state === "start_record") start = lineNum;
      for (const c of line) {
        const newline = c === "\r" || c === "\n";
        switch (state) {
          case "start_record":
            if (newline) { state = "eat_crnl"; break; }
            state = "start_field";
          // falls through
          case "start_field":
            if (newline) { record.push(field); field = ""; state = "eat_crnl"; }
            else if (c === '"') state = "in_quoted";
            else if (c === delimiter) { record.push(field); field = ""; }
            else { field += c; state = "in_field"; }
            break;
          case "in_field":
            if (newline) { record.push(field); field = ""; state = "eat_crnl"; }
            else if (c === delimiter) { record.push(field); field = ""; state = "start_field"; }
            else field += c;
            break;
          case "in_quoted":
            if (c === '"') state = "quote_in_quoted";
            else field += c;
            break;
          case "quote_in_quoted":
            if (c === '"') { field += c; state = "in_quoted"; }
            else if (c === delimiter) { record.push(field); field = ""; state = "start_field"; }
            else if (newline) { record.push(field); field = ""; state = "eat_crnl"; }
            else { field += c; state = "in_field"; }
            break;
          case "eat_crnl":
            break;
        }
      }
      if (state === "eat_crnl" || state === "start_record") {
        yield { record, start, end: lineNum };
        record = [];
        state = "start_record";
      } else if (state !== "in_quoted" && state !== "quote_in_quoted") {
        // A last line without a line break ends the record too.
        if (lineRe.lastIndex >= text.length) {
          record.push(field); field = "";
          yield { record, start, end: lineNum };
          record = [];
          state = "start_record";
        }
      }
    }
    if (state !== "start_record" && state !== "eat_crnl") {
      record.push(field);
      yield { record, start, end: lineNum };
    }
  }

  function normaliseHeader(name) {
    const key = name.replace(/\ufeff/g, "").replace(new RegExp("[" + PY_WS + "_\\-]+", "g"), "").toLowerCase();
    return CONFIG.column_aliases[key] || key;
  }

  function pickDelimiter(headerLine) {
    let best = ";";
    let bestHits = -1;
    for (const delimiter of [";", ","]) {
      const first = csvRecords(headerLine, delimiter).next();
      const names = (first.done ? [] : first.value.record).map(normaliseHeader);
      const hits = CONFIG.required_columns.filter((r) => names.includes(r)).length;
      if (hits > bestHits) { best = delimiter; bestHits = hits; }
    }
    return best;
  }

  function message(code, waarde, verwacht) {
    return CONFIG.messages[code].replace("{waarde}", waarde).replace("{verwacht}", verwacht || "");
  }

  const ADDRESS_COLUMNS = ["postcode", "huisnummer", "huisletter", "huisnummertoevoeging"];

  /**
   * Read, check and pseudonymise an extract. Returns the upload document and the errors (which
   * stay on this computer). Throws FileFault for a file-level fault.
   */
  async function processExtract(bytes, name, key, onProgress) {
    const { text, encoding } = decode(bytes, name);
    // As schemas.extract_reader: the first non-blank line is the header, unless it is Excel's `sep=;` line.
    let forced = null;
    let preamble = 0;
    let headerLine;
    for (const line of text.split(/\r\n|\r|\n/, 10000)) {
      if (pyStrip(pyStrip(line).replace(/^[;,]+|[;,]+$/g, "")) === "") continue;
      const sep = forced === null && preamble === 0 ? SEP_LINE.exec(line) : null;
      if (sep) { forced = sep.groups.sep; preamble = 1; continue; }
      headerLine = line;
      break;
    }
    if (headerLine === undefined) throw new FileFault(name + ": het bestand bevat geen kopregel");
    const delimiter = forced || pickDelimiter(headerLine);
    // The column names come from the header line itself; records up to and including it are skipped.
    const first = csvRecords(headerLine, delimiter).next();
    const names = (first.done ? [] : first.value.record).map(normaliseHeader);
    const positions = {};
    names.forEach((n, i) => {
      if (CONFIG.known_columns.includes(n)) {
        if (n in positions) {
          throw new FileFault(name + ": kolom '" + n + "' staat twee keer in de kopregel; laat er één staan");
        }
        positions[n] = i;
      }
    });
    const missing = CONFIG.required_columns.filter((r) => !(r in positions));
    if (missing.length) {
      throw new FileFault(name + " regel " + (1 + preamble) + ": verplichte kolom(men) " + missing.join(", ")
        + " ontbreken in de kopregel; gebruik de kolomnamen uit de aanleverspecificatie");
    }
    const width = names.length;
    let toSkip = preamble + 1;
    const errors = [];
    const rows = [];
    let read = 0;
    const rejected = new Set();
    const pending = [];
    for (const { record, start } of csvRecords(text, delimiter)) {
      if (!record.some((cell) => pyStrip(cell) !== "")) continue;
      if (toSkip > 0) { toSkip--; continue; }
      read++;
      if (record.length > width && record.slice(width).some((c) => pyStrip(c) !== "")) {
        errors.push({ regel: start, kolom: "(regel)", waarde: String(record.length), code: "velden_aantal",
          melding: message("velden_aantal", String(record.length), String(width)) });
        rejected.add(start);
        continue;
      }
      const value = (col) => (col in positions && positions[col] < record.length ? record[positions[col]] : "");
      const address = canonicalise(value("postcode"), value("huisnummer"), value("huisletter"),
        value("huisnummertoevoeging"));
      let bad = false;
      for (const col of ADDRESS_COLUMNS) {
        const code = address.fouten[col];
        if (code) {
          bad = true;
          errors.push({ regel: start, kolom: col, waarde: value(col), code, melding: message(code, value(col)) });
        }
      }
      if (bad) { rejected.add(start); continue; }
      pending.push([start, address.canoniek, address.pand, value("voorziening"), value("begindatum"),
        value("einddatum")]);
    }
    for (let i = 0; i < pending.length; i += 1000) {
      const batch = pending.slice(i, i + 1000);
      const hashed = await Promise.all(batch.map((p) => pseudonyms(key.cryptoKey, p[1], p[2])));
      batch.forEach((p, j) => rows.push([p[0], hashed[j][0], hashed[j][1], p[3], p[4], p[5]]));
      if (onProgress) onProgress(Math.min(i + 1000, pending.length), pending.length);
    }
    const upload = {
      formaat: CONFIG.format,
      versie: CONFIG.format_version,
      key_id: key.keyId,
      canonical_version: CONFIG.canonical_version,
      regels_gelezen: read,
      regels_afgekeurd: rejected.size,
      kolommen: CONFIG.columns,
      rijen: rows,
    };
    return { upload, errors, encoding, delimiter };
  }

  // ---- the page ----

  const $ = (id) => document.getElementById(id);
  const state = { key: null, result: null, name: "" };

  function show(id, visible) { $(id).hidden = !visible; }

  function setStatus(id, text, kind) {
    const el = $(id);
    el.textContent = text;
    el.className = "melding " + (kind || "");
    el.hidden = !text;
  }

  function readFile(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(new Uint8Array(reader.result));
      reader.onerror = () => reject(new Error("het bestand kon niet worden gelezen"));
      reader.readAsArrayBuffer(file);
    });
  }

  async function onKeyChosen() {
    state.key = null;
    const file = $("sleutel").files[0];
    if (!file) return;
    try {
      const key = await loadKey(new TextDecoder().decode(await readFile(file)));
      if (CONFIG.key_id && key.keyId !== CONFIG.key_id) {
        throw new Error("dit sleutelbestand (sleutel " + key.keyId + ") hoort niet bij deze aanlevering; de gemeente "
          + "gebruikt sleutel " + CONFIG.key_id + ". Kies het sleutelbestand dat u voor deze periode kreeg.");
      }
      state.key = key;
      setStatus("sleutel-status", "Sleutel " + key.keyId + " is geladen.", "goed");
    } catch (e) {
      setStatus("sleutel-status", e.message, "fout");
    }
    await maybeProcess();
  }

  async function onExtractChosen() {
    await maybeProcess();
  }

  function fillErrors(errors) {
    const body = $("fouten-regels");
    body.replaceChildren();
    for (const e of errors.slice(0, 500)) {
      const tr = document.createElement("tr");
      for (const v of [e.regel, e.kolom, e.waarde, e.melding]) {
        const td = document.createElement("td");
        td.textContent = String(v);
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    show("fouten", errors.length > 0);
  }

  function fillPreview(rows) {
    const body = $("voorbeeld-regels");
    body.replaceChildren();
    for (const r of rows.slice(0, 3)) {
      const tr = document.createElement("tr");
      for (const v of [r[0], r[1].slice(0, 16) + "…", r[3], r[4], r[5]]) {
        const td = document.createElement("td");
        td.textContent = String(v);
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
  }

  async function maybeProcess() {
    state.result = null;
    show("resultaat", false);
    $("klaar").dataset.klaar = "nee";
    const file = $("bestand").files[0];
    if (!file) return;
    if (!state.key) {
      setStatus("bestand-status", "Kies eerst het sleutelbestand (stap 1).", "fout");
      return;
    }
    setStatus("bestand-status", "Bezig met controleren en pseudonimiseren…", "");
    try {
      const bytes = await readFile(file);
      state.name = file.name;
      const result = await processExtract(bytes, file.name, state.key, (done, total) => {
        setStatus("bestand-status", "Bezig: " + done + " van " + total + " regels…", "");
      });
      state.result = result;
      const doc = result.upload;
      $("aantal-gelezen").textContent = String(doc.regels_gelezen);
      $("aantal-afgekeurd").textContent = String(doc.regels_afgekeurd);
      $("aantal-goed").textContent = String(doc.rijen.length);
      fillErrors(result.errors);
      fillPreview(doc.rijen);
      setStatus("bestand-status", doc.regels_afgekeurd
        ? "Klaar. " + doc.regels_afgekeurd + " regel(s) hebben een adres dat niet klopt; zie de lijst hieronder. "
          + "U kunt ze eerst verbeteren en het bestand opnieuw kiezen, of de goede regels nu aanleveren."
        : "Klaar. Alle adressen zijn in orde.", doc.regels_afgekeurd ? "waarschuwing" : "goed");
      show("resultaat", true);
      $("aanleveren").disabled = doc.rijen.length === 0;
      $("bewaren").disabled = doc.rijen.length === 0;
      $("klaar").dataset.klaar = "ja";
    } catch (e) {
      setStatus("bestand-status", e.message, "fout");
      $("klaar").dataset.klaar = "fout";
    }
  }

  function pseudonymisedFile() {
    const json = JSON.stringify(state.result.upload);
    const base = state.name.replace(/\.[^.]*$/, "").replace(/[^0-9A-Za-z_-]+/g, "-").slice(0, 60) || "levering";
    return new File([json], base + "-gepseudonimiseerd.json", { type: "application/json" });
  }

  function save() {
    const file = pseudonymisedFile();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(file);
    link.download = file.name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  function deliver() {
    // A normal form post of the pseudonymised file only: the page itself may not connect anywhere.
    const form = document.createElement("form");
    form.method = "post";
    form.action = CONFIG.upload_url;
    form.enctype = "multipart/form-data";
    const csrf = document.createElement("input");
    csrf.type = "hidden";
    csrf.name = "csrf";
    csrf.value = CONFIG.csrf;
    const input = document.createElement("input");
    input.type = "file";
    input.name = "bestand";
    const transfer = new DataTransfer();
    transfer.items.add(pseudonymisedFile());
    input.files = transfer.files;
    form.append(csrf, input);
    form.hidden = true;
    document.body.appendChild(form);
    form.submit();
  }

  window.factlab = { canonicalise, loadKey, pseudonyms, processExtract, csvRecords, FileFault };

  document.addEventListener("DOMContentLoaded", () => {
    $("sleutel").addEventListener("change", onKeyChosen);
    $("bestand").addEventListener("change", onExtractChosen);
    $("bewaren").addEventListener("click", save);
    if (CONFIG.upload_url) $("aanleveren").addEventListener("click", deliver);
    else $("aanleveren").hidden = true;
    if (!window.isSecureContext || !window.crypto || !crypto.subtle) {
      setStatus("sleutel-status", "Deze browser kan hier niet veilig rekenen (geen WebCrypto). Open de pagina "
        + "als bestand vanaf uw computer of via de portal.", "fout");
    }
  });
})();
