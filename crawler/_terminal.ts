// Text from files, servers and arguments, made safe to print on a terminal:
// control characters (ESC sequences can move the cursor, recolour or retitle
// the terminal), bidirectional overrides and other invisible format
// characters are shown as escapes, and very long text is cut.

const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|\p{Cs}/gu;

/**
 * `text` with non-printable characters as `\xNN` / `\uNNNN`, cut at `max` characters.
 *
 * @example `shown("a\x1b[2Jb")` is `a\x1b[2Jb` with the ESC written as the four characters `\x1b`.
 */
export function shown(text: string, max = 200): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  const escaped = cut.replace(UNSAFE, (char) => {
    const code = char.charCodeAt(0);
    return code < 0x100
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
  return text.length > max ? `${escaped}... (${text.length - max} more characters)` : escaped;
}
