/** XML helpers for the MPD writer: attribute escaping and a minimal well-formedness reader. */

/** Escapes text for an XML attribute value; drops characters XML 1.0 cannot carry. */
export function xmlEscape(s: string): string {
  let out = '';
  for (const ch of String(s)) {
    const c = ch.codePointAt(0) ?? 0;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0xfffe || c === 0xffff) continue;
    if (c >= 0xd800 && c <= 0xdfff) continue; // lone surrogate
    if (ch === '&') out += '&amp;';
    else if (ch === '<') out += '&lt;';
    else if (ch === '>') out += '&gt;';
    else if (ch === '"') out += '&quot;';
    else if (ch === "'") out += '&apos;';
    else if (c === 0x09 || c === 0x0a || c === 0x0d) out += `&#x${c.toString(16).toUpperCase()};`;
    else out += ch;
  }
  return out;
}

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * A tiny, regex-free, strict reader for the XML this module writes: balanced tags, double-quoted attributes, the
 * predefined entities and character references only, one root, no text content. Throws on anything else.
 * Used to check rendered MPDs for well-formedness.
 */
export function parseXml(xml: string): XmlElement {
  let i = 0;
  const fail = (msg: string): never => {
    throw new Error(`${msg} at ${i}`);
  };
  const isName = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === ':' || c === '_';
  const name = () => {
    const start = i;
    while (i < xml.length && (isName(xml[i]) || (xml[i] >= '0' && xml[i] <= '9') || xml[i] === '-')) i++;
    if (i === start) fail('name expected');
    return xml.slice(start, i);
  };
  const skipWs = () => {
    while (xml[i] === ' ' || xml[i] === '\n' || xml[i] === '\t' || xml[i] === '\r') i++;
  };
  const text = (end: string) => {
    let out = '';
    while (i < xml.length && xml[i] !== end) {
      if (xml[i] === '<') fail('raw < in value');
      if (xml[i] === '&') {
        const semi = xml.indexOf(';', i);
        if (semi < 0) fail('unterminated entity');
        const ref = xml.slice(i + 1, semi);
        if (ref.startsWith('#x')) out += String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
        else if (ref.startsWith('#')) out += String.fromCodePoint(Number(ref.slice(1)));
        else if (ref in ENTITIES) out += ENTITIES[ref];
        else fail(`unknown entity ${ref}`);
        i = semi + 1;
      } else out += xml[i++];
    }
    return out;
  };
  if (xml.startsWith('<?xml ')) i = xml.indexOf('?>') + 2;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  for (;;) {
    const before = text('<');
    if (before.trim() !== '') fail('unexpected text');
    if (i >= xml.length) break;
    i++; // '<'
    if (xml[i] === '/') {
      i++;
      const n = name();
      if (stack.pop()?.name !== n) fail(`unbalanced </${n}>`);
      skipWs();
      if (xml[i++] !== '>') fail('> expected');
      continue;
    }
    const el: XmlElement = { name: name(), attrs: {}, children: [] };
    if (stack.length) stack[stack.length - 1].children.push(el);
    else if (root) fail('second root');
    else root = el;
    for (;;) {
      skipWs();
      if (xml[i] === '/' && xml[i + 1] === '>') {
        i += 2;
        break;
      }
      if (xml[i] === '>') {
        i++;
        stack.push(el);
        break;
      }
      const a = name();
      if (a in el.attrs) fail(`duplicate attribute ${a}`);
      if (xml[i++] !== '=' || xml[i++] !== '"') fail('="value" expected');
      el.attrs[a] = text('"');
      i++;
    }
  }
  if (stack.length || !root) fail('unclosed elements');
  return root as XmlElement;
}
