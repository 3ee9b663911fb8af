// The absolute form of a request target ("GET http://api.example.com/p", RFC 9112 §3.2.2), which a server and
// a proxy must accept: one reading of it for the routing (its authority wins over Host) and the forwarding
// (its path is what goes upstream).

const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)(.*)$/is;

/** The authority and path of an absolute-form target (an empty path is "/"); null for any other target. */
export function splitAbsoluteForm(target: string): { readonly authority: string; readonly path: string } | null {
  const m = ABSOLUTE_FORM.exec(target);
  if (m === null) return null;
  const rest = m[2]!;
  return { authority: m[1]!, path: rest.charCodeAt(0) === 47 /* / */ ? rest : `/${rest}` };
}
