// Case-insensitive comparison of header names and tokens without making a lowercase copy: the request path
// compares names per request, and a copy per comparison is garbage per request.

/** Whether `raw` equals `lower` (already lowercase) ignoring ASCII case. */
export function equalsLower(raw: string, lower: string): boolean {
  if (raw.length !== lower.length) return false;
  for (let i = 0; i < raw.length; i++) {
    let c = raw.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}
