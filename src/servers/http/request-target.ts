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

export function parseRequestTarget(raw: string | undefined): RequestTarget | undefined {
  const target = raw ?? '/';
  if (target.charCodeAt(0) !== 47 /* '/' */) return undefined; // absolute-form and '*' are not served here
  const q = target.indexOf('?');
  if (q < 0) return { pathname: target, searchParams: NO_QUERY };
  return { pathname: target.slice(0, q), searchParams: new URLSearchParams(target.slice(q + 1)) };
}
