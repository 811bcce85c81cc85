/**
 * The path and query of a request, without WHATWG URL parsing (a measurable share of per-request CPU at thousands
 * of HLS requests per second). No dot-segment normalisation: routes match exact shapes and validate names, so
 * `..` never resolves to another path.
 */
export interface RequestTarget {
  pathname: string;
  searchParams: URLSearchParams;
}

const NO_QUERY = new URLSearchParams();

const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*/i;

export function parseRequestTarget(raw: string | undefined): RequestTarget | undefined {
  let target = raw ?? '/';
  if (target.charCodeAt(0) !== 47 /* '/' */) {
    // absolute-form (RFC 9112 §3.2.2: a server MUST accept it): the path and query after the authority
    const m = ABSOLUTE_FORM.exec(target);
    if (!m) return undefined; // '*' (OPTIONS) and anything else
    target = target.slice(m[0].length) || '/';
    if (target.charCodeAt(0) !== 47) target = `/${target}`;
  }
  const q = target.indexOf('?');
  if (q < 0) return { pathname: target, searchParams: NO_QUERY };
  return { pathname: target.slice(0, q), searchParams: new URLSearchParams(target.slice(q + 1)) };
}
