/**
 * Quoting of untrusted text (keys, tensor names, dtypes read from files) for error messages:
 * JSON-escaped, so control characters stay visible, and cut to a readable length.
 */
export function quote(s: string, max = 80): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}

/** Escapes control characters in a message fragment from elsewhere (e.g. JSON.parse errors). */
export function escapeControls(s: string, max = 200): string {
  const cut = s.length > max ? `${s.slice(0, max)}…` : s;
  return cut.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
