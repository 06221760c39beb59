// A request head as it is written upstream: one latin1 string, written in one go. Field names and values come from
// Node's HTTP parsers (which refuse CR, LF and NUL in them) or from cutover itself, so they are written as they are.

/** The request line and `fields` (flat [name, value, ...]), each line ended by CRLF; the head's final CRLF is the caller's. */
export function requestLines(method: string, path: string, fields: readonly string[]): string {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (let i = 0; i < fields.length; i += 2) head += `${fields[i]!}: ${fields[i + 1]!}\r\n`;
  return head;
}

/** Whether flat `fields` have one named `lower` (a lower-case name), in any case. */
export function hasField(fields: readonly string[], lower: string): boolean {
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i]!.length === lower.length && fields[i]!.toLowerCase() === lower) return true;
  }
  return false;
}
