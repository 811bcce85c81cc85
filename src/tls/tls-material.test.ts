import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasOpenssl, makeMismatchedKey, makeTestCert, type TestCert } from '../../test/helpers/tls-cert.js';
import { loadTlsMaterial, TlsConfigError, type TlsErrorCode, type TlsFiles } from './tls-material.js';

function expectTlsError(files: TlsFiles, code: TlsErrorCode, ...fragments: string[]): TlsConfigError {
  let caught: unknown;
  try {
    loadTlsMaterial(files);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(TlsConfigError);
  const err = caught as TlsConfigError;
  expect(err.code).toBe(code);
  expect(err.message.startsWith(`${code}: `)).toBe(true);
  for (const f of fragments) expect(err.message).toContain(f);
  return err;
}

describe.skipIf(!hasOpenssl())('loadTlsMaterial', () => {
  let dir: string;
  let cert: TestCert;
  const file = (name: string, content: string | Buffer): string => {
    const f = join(dir, name);
    writeFileSync(f, content);
    return f;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tidecast-tls-'));
    cert = makeTestCert(dir, { cn: 'tidecast.test', days: 10 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads a matching certificate and key', () => {
    const m = loadTlsMaterial({ certFile: cert.certFile, keyFile: cert.keyFile });
    const x509 = new X509Certificate(cert.certPem);
    expect(m.subject).toBe('CN=tidecast.test');
    expect(m.fingerprint256).toBe(x509.fingerprint256);
    expect(m.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(m.cert.toString()).toContain('-----BEGIN CERTIFICATE-----');
    expect(m.key.toString()).toBe(cert.keyPem);
    expect(m.ca).toBeUndefined();
    expect(m.expired).toBe(false);
    const days = (m.notAfter.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(9);
    expect(days).toBeLessThan(11);
    expect(m.notBefore.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    expect(x509.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(x509.subjectAltName).toContain('DNS:localhost');
  });

  it('loads a CA bundle, a chain, and a combined cert+key file', () => {
    const other = makeTestCert(dir, { cn: 'other' });
    const m = loadTlsMaterial({ certFile: cert.certFile, keyFile: cert.keyFile, caFile: other.certFile });
    expect(m.ca?.toString()).toContain('-----BEGIN CERTIFICATE-----');

    const chain = file('chain.crt', `${cert.certPem}${other.certPem}`);
    const c = loadTlsMaterial({ certFile: chain, keyFile: cert.keyFile });
    expect(c.subject).toBe('CN=tidecast.test');
    expect(c.cert.toString().match(/BEGIN CERTIFICATE/g)).toHaveLength(2);

    const both = file('both.pem', `${cert.keyPem}${cert.certPem}`);
    const b = loadTlsMaterial({ certFile: both, keyFile: both });
    expect(b.fingerprint256).toBe(new X509Certificate(cert.certPem).fingerprint256);
    expect(b.cert.toString()).not.toContain('PRIVATE KEY');
  });

  it('flags an expired or not-yet-valid certificate without refusing it', () => {
    const m = loadTlsMaterial(cert);
    expect(loadTlsMaterial(cert, { now: new Date(m.notAfter.getTime() + 1000) }).expired).toBe(true);
    expect(loadTlsMaterial(cert, { now: new Date(m.notBefore.getTime() - 1000) }).expired).toBe(true);
    expect(loadTlsMaterial(cert, { now: new Date(m.notAfter.getTime() - 1000) }).expired).toBe(false);
  });

  it('names a missing or unreadable file', () => {
    const missing = join(dir, 'nope.crt');
    const e = expectTlsError(
      { certFile: missing, keyFile: cert.keyFile },
      'TLS_FILE_MISSING',
      'certFile',
      missing,
    );
    expect(e.file).toBe(missing);
    expect(e.message).toContain('does not exist');
    expectTlsError({ certFile: cert.certFile, keyFile: missing }, 'TLS_FILE_MISSING', 'keyFile', missing);
    expectTlsError({ ...cert, caFile: missing }, 'TLS_FILE_MISSING', 'caFile', missing);
    const sub = join(dir, 'a-dir');
    mkdirSync(sub);
    expectTlsError({ certFile: sub, keyFile: cert.keyFile }, 'TLS_FILE_MISSING', sub, 'is a directory');
  });

  it.skipIf(process.getuid?.() === 0)('names a file it may not read', () => {
    const locked = file('locked.key', cert.keyPem);
    chmodSync(locked, 0o000);
    expectTlsError(
      { certFile: cert.certFile, keyFile: locked },
      'TLS_FILE_MISSING',
      locked,
      'permission denied',
    );
  });

  it('refuses a garbage, empty, corrupt or misplaced certificate', () => {
    const garbage = file('garbage.crt', 'this is not a certificate\n');
    expectTlsError(
      { certFile: garbage, keyFile: cert.keyFile },
      'TLS_BAD_CERT',
      'certFile',
      garbage,
      'no PEM',
    );
    const empty = file('empty.crt', '');
    expectTlsError({ certFile: empty, keyFile: cert.keyFile }, 'TLS_BAD_CERT', empty, 'is empty');
    const corrupt = file(
      'corrupt.crt',
      '-----BEGIN CERTIFICATE-----\nAAAAbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n',
    );
    expectTlsError({ certFile: corrupt, keyFile: cert.keyFile }, 'TLS_BAD_CERT', corrupt, 'does not parse');
    expectTlsError({ certFile: cert.keyFile, keyFile: cert.keyFile }, 'TLS_BAD_CERT', 'swapped');
    const der = file('cert.der', new X509Certificate(cert.certPem).raw);
    expectTlsError({ certFile: der, keyFile: cert.keyFile }, 'TLS_BAD_CERT', der, 'DER');
    expectTlsError({ ...cert, caFile: garbage }, 'TLS_BAD_CERT', 'caFile', garbage);
  });

  it('refuses a garbage, encrypted or misplaced key', () => {
    const garbage = file('garbage.key', 'not a key at all\n');
    expectTlsError({ certFile: cert.certFile, keyFile: garbage }, 'TLS_BAD_KEY', 'keyFile', garbage);
    const corrupt = file('corrupt.key', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    expectTlsError({ certFile: cert.certFile, keyFile: corrupt }, 'TLS_BAD_KEY', corrupt, 'does not parse');
    expectTlsError({ certFile: cert.certFile, keyFile: cert.certFile }, 'TLS_BAD_KEY', 'swapped');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const encrypted = file(
      'encrypted.key',
      privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }),
    );
    expectTlsError({ certFile: cert.certFile, keyFile: encrypted }, 'TLS_BAD_KEY', encrypted, 'encrypted');
  });

  it('refuses a key that belongs to another certificate', () => {
    const other = makeMismatchedKey(dir);
    const e = expectTlsError(
      { certFile: cert.certFile, keyFile: other.keyFile },
      'TLS_KEY_MISMATCH',
      other.keyFile,
      cert.certFile,
      'CN=tidecast.test',
    );
    expect(e.file).toBe(other.keyFile);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const rsaKey = file('rsa.key', rsa.export({ type: 'pkcs1', format: 'pem' }));
    expectTlsError({ certFile: cert.certFile, keyFile: rsaKey }, 'TLS_KEY_MISMATCH', 'rsa 2048 bits');
  });
});
