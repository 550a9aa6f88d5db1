// CSV cells (RFC 4180), neutralised against formula injection as OWASP
// recommends: a spreadsheet runs a cell that starts with =, +, -, @, tab or
// carriage return as a formula, and a page's title or a server's header is
// attacker-controlled. Such a cell gets a leading ', which spreadsheets show
// as text. Control characters (ESC, ...) are written as \xNN escapes.

/** Characters that start a formula in Excel, LibreOffice and Google Sheets. */
const FORMULA_START = /^[=+\-@\t\r\n]/;

/**
 * Control characters other than tab, CR and LF (C0, DEL and C1): a cell is
 * text for a spreadsheet or a terminal, where ESC and the like do harm.
 */
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/g;

/**
 * One CSV cell: numbers as they are; text (arrays joined by spaces) with
 * control characters other than tab, CR and LF written as `\xNN`, a leading '
 * if it could run as a formula, quoted when it holds a quote, comma or line
 * break; null and undefined empty.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return String(value);
  let text = (Array.isArray(value) ? value.join(" ") : String(value))
    .replace(CONTROL, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
