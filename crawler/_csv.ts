// CSV cells (RFC 4180), neutralised against formula injection as OWASP
// recommends: a spreadsheet runs a cell that starts with =, +, -, @, tab or
// carriage return as a formula, and a page's title or a server's header is
// attacker-controlled. Such a cell gets a leading ', which spreadsheets show
// as text.

/** Characters that start a formula in Excel, LibreOffice and Google Sheets. */
const FORMULA_START = /^[=+\-@\t\r\n]/;

/**
 * One CSV cell: numbers as they are; text (arrays joined by spaces) with a
 * leading ' if it could run as a formula, quoted when it holds a quote, comma
 * or line break; null and undefined empty.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return String(value);
  let text = Array.isArray(value) ? value.join(" ") : String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
