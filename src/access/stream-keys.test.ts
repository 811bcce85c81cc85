import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseKeyFile, StreamKeyStore } from './stream-keys.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tidecast-keys-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('parseKeyFile', () => {
  it('reads lines with comments and blank lines', () => {
    const text = '# keys\n\nabc123\n  s3cret cam1   # studio\r\nk#not-a-comment cam2\n';
    expect(parseKeyFile(text, 'keys.txt')).toEqual([
      { key: 'abc123', stream: undefined },
      { key: 's3cret', stream: 'cam1' },
      { key: 'k#not-a-comment', stream: 'cam2' },
    ]);
  });

  it('reads a JSON array of objects or strings', () => {
    const text = ' [ "abc", { "key": "k1", "stream": "cam1", "app": "live" } ]';
    expect(parseKeyFile(text, 'k.json')).toEqual([
      { key: 'abc' },
      { key: 'k1', stream: 'cam1', app: 'live' },
    ]);
  });

  it('names the line or entry at fault', () => {
    expect(() => parseKeyFile('ok\na b c\n', 'k.txt')).toThrow(
      /k\.txt:2: expected "key" or "key stream-name"/,
    );
    expect(() => parseKeyFile('ok bad/name\n', 'k.txt')).toThrow(/k\.txt:1: stream "bad\/name"/);
    expect(() => parseKeyFile('a/b\n', 'k.txt')).toThrow(/k\.txt:1: key is not a valid stream name/);
    expect(() => parseKeyFile(`${'x'.repeat(300)} cam\n`, 'k.txt')).toThrow(/longer than 256/);
    expect(() => parseKeyFile('[1]', 'k.json')).toThrow(/k\.json: entry 0: expected a string or an object/);
    expect(() => parseKeyFile('[{"key":"a","x":1}]', 'k.json')).toThrow(/unknown field "x"/);
    expect(() => parseKeyFile('[{"key":"a","stream":5}]', 'k.json')).toThrow(/stream must be a string/);
    expect(() => parseKeyFile('[{"key":"a","app":"a/b"}]', 'k.json')).toThrow(/entry 0: app "a\/b"/);
    expect(() => parseKeyFile('[{"stream":"a"}]', 'k.json')).toThrow(/entry 0: key is empty/);
    expect(() => parseKeyFile('[', 'k.json')).toThrow(/k\.json: invalid JSON/);
    expect(() => parseKeyFile('{"key":"a"}', 'k.json')).toThrow(/k\.json:1/);
  });
});

describe('StreamKeyStore', () => {
  it('maps a key to its stream, or to itself', () => {
    const s = new StreamKeyStore({ keys: [{ key: 'hidden-1', stream: 'cam1' }, { key: 'openname' }] });
    expect(s.size).toBe(2);
    expect(s.lookup('live', 'hidden-1')).toEqual({ ok: true, stream: 'cam1' });
    expect(s.lookup('live', 'openname')).toEqual({ ok: true, stream: 'openname' });
    expect(s.lookup('live', 'cam1')).toEqual({ ok: false, reason: 'bad-key' });
    expect(s.lookup('live', '')).toEqual({ ok: false, reason: 'bad-key' });
    expect(s.lookup('live', 'x'.repeat(10_000))).toEqual({ ok: false, reason: 'bad-key' });
  });

  it('scopes entries to an app, preferring the app-specific one', () => {
    const s = new StreamKeyStore({
      keys: [
        { key: 'k', stream: 'everywhere' },
        { key: 'k', stream: 'studio', app: 'studio' },
        { key: 'only-live', stream: 'x', app: 'live' },
      ],
    });
    expect(s.lookup('studio', 'k')).toEqual({ ok: true, stream: 'studio' });
    expect(s.lookup('live', 'k')).toEqual({ ok: true, stream: 'everywhere' });
    expect(s.lookup('live', 'only-live')).toEqual({ ok: true, stream: 'x' });
    expect(s.lookup('other', 'only-live')).toEqual({ ok: false, reason: 'bad-key' });
  });

  it('rejects bad or duplicate config entries', () => {
    expect(() => new StreamKeyStore({ keys: [{ key: 'a b' }] })).toThrow(/stream key 0: .*whitespace/);
    expect(() => new StreamKeyStore({ keys: [{ key: 'a' }, { key: 'a', stream: 'b' }] })).toThrow(
      /duplicate/,
    );
  });

  it('bans keys, across reloads, until unbanned', () => {
    const p = file('keys.txt', 'k1 cam1\n');
    const s = new StreamKeyStore({ file: p });
    s.ban('k1');
    s.ban('never-existed');
    expect(s.isBanned('k1')).toBe(true);
    expect(s.isBanned('k2')).toBe(false);
    expect(s.lookup('live', 'k1')).toEqual({ ok: false, reason: 'banned-key' });
    expect(s.reload()).toBe(1);
    expect(s.lookup('live', 'k1')).toEqual({ ok: false, reason: 'banned-key' });
    expect(s.unban('k1')).toBe(true);
    expect(s.unban('k1')).toBe(false);
    expect(s.lookup('live', 'k1')).toEqual({ ok: true, stream: 'cam1' });
  });

  it('loads a file together with config keys and reloads changes', () => {
    const p = file('keys.txt', '# studio\nk1 cam1\nk2\n');
    const s = new StreamKeyStore({ keys: [{ key: 'cfg', stream: 'main' }], file: p });
    expect(s.size).toBe(3);
    expect(s.lookup('live', 'k1')).toEqual({ ok: true, stream: 'cam1' });
    expect(s.lookup('live', 'cfg')).toEqual({ ok: true, stream: 'main' });

    writeFileSync(p, 'k1 cam9\nk3 cam3\n');
    expect(s.reload()).toBe(3);
    expect(s.lookup('live', 'k1')).toEqual({ ok: true, stream: 'cam9' });
    expect(s.lookup('live', 'k2')).toEqual({ ok: false, reason: 'bad-key' });
    expect(s.lookup('live', 'k3')).toEqual({ ok: true, stream: 'cam3' });
    expect(s.lookup('live', 'cfg')).toEqual({ ok: true, stream: 'main' });
  });

  it('loads a JSON file', () => {
    const p = file('keys.json', JSON.stringify([{ key: 'j1', stream: 'cam1', app: 'live' }, 'j2']));
    const s = new StreamKeyStore({ file: p });
    expect(s.size).toBe(2);
    expect(s.lookup('live', 'j1')).toEqual({ ok: true, stream: 'cam1' });
    expect(s.lookup('live', 'j2')).toEqual({ ok: true, stream: 'j2' });
  });

  it('keeps the old set when the new file is bad or missing', () => {
    const p = file('keys.txt', 'k1 cam1\n');
    const s = new StreamKeyStore({ file: p });
    writeFileSync(p, 'k2 cam2\nk3 bad/name\n');
    expect(() => s.reload()).toThrow(/keys\.txt:2: stream "bad\/name"/);
    writeFileSync(p, 'dup a\ndup b\n');
    expect(() => s.reload()).toThrow(/duplicate stream key for all apps/);
    rmSync(p);
    expect(() => s.reload()).toThrow(/cannot read keys file .*keys\.txt/);
    expect(s.size).toBe(1);
    expect(s.lookup('live', 'k1')).toEqual({ ok: true, stream: 'cam1' });
    expect(s.lookup('live', 'k2')).toEqual({ ok: false, reason: 'bad-key' });
  });

  it('throws from the constructor when the file is bad', () => {
    expect(() => new StreamKeyStore({ file: join(dir, 'missing.txt') })).toThrow(/cannot read keys file/);
  });

  it('a store without keys rejects everything', () => {
    const s = new StreamKeyStore();
    expect(s.size).toBe(0);
    expect(s.reload()).toBe(0);
    expect(s.lookup('live', 'anything')).toEqual({ ok: false, reason: 'bad-key' });
  });
});
