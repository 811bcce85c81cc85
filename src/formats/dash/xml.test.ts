import { describe, expect, it } from 'vitest';
import { parseXml, xmlEscape } from './xml.js';

describe('parseXml (well-formedness reader)', () => {
  it('reads nested elements and attributes', () => {
    expect(parseXml('<?xml version="1.0"?>\n<a x="1&amp;2"><b/><c y="&#x9;"></c></a>\n')).toEqual({
      name: 'a',
      attrs: { x: '1&2' },
      children: [
        { name: 'b', attrs: {}, children: [] },
        { name: 'c', attrs: { y: '\t' }, children: [] },
      ],
    });
  });

  it.each([
    ['unbalanced', '<a><b></a>'],
    ['unclosed', '<a>'],
    ['two roots', '<a/><b/>'],
    ['text content', '<a>hi</a>'],
    ['duplicate attribute', '<a x="1" x="2"/>'],
    ['unquoted attribute', '<a x=1/>'],
    ['raw < in a value', '<a x="<"/>'],
    ['unknown entity', '<a x="&nbsp;"/>'],
    ['unterminated entity', '<a x="&amp"/>'],
  ])('rejects %s', (_, xml) => expect(() => parseXml(xml)).toThrow());

  it('round-trips escaped values', () => {
    const s = `<&>"' \t\n x`;
    expect(parseXml(`<a v="${xmlEscape(s)}"/>`).attrs.v).toBe(s);
    expect(xmlEscape('a\u0000\u0008b\uFFFE')).toBe('ab');
  });
});
