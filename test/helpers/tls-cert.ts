/**
 * Self-signed test certificates made at test time with the openssl CLI (EC P-256, for 127.0.0.1 and
 * localhost). Tests that need them skip when openssl is missing: `describe.skipIf(!hasOpenssl())`, which
 * warns loudly.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasTool } from './tools.js';

export interface TestCert {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

export interface TestCertOptions {
  /** subject CN (default `localhost`) */
  cn?: string;
  /** validity in days from now (default 30) */
  days?: number;
  /** subjectAltName entries (default `['IP:127.0.0.1', 'DNS:localhost']`) */
  altNames?: string[];
  /** file name stem in `dir`: `<name>.crt` and `<name>.key` (default: a new `cert-N` each call) */
  name?: string;
}

/** True when the openssl CLI is on PATH; when it is not, warns loudly (tests that need it skip). */
export function hasOpenssl(): boolean {
  return hasTool('openssl');
}

let seq = 0;

/** A fresh self-signed certificate and its key, written to `dir`. */
export function makeTestCert(dir: string, opts: TestCertOptions = {}): TestCert {
  if (!hasOpenssl())
    throw new Error('makeTestCert: the openssl CLI is not installed (skip with hasOpenssl())');
  const name = opts.name ?? `cert-${++seq}`;
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const altNames = opts.altNames ?? ['IP:127.0.0.1', 'DNS:localhost'];
  const args = [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    `/CN=${opts.cn ?? 'localhost'}`,
    '-days',
    String(opts.days ?? 30),
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ];
  if (altNames.length > 0) args.push('-addext', `subjectAltName=${altNames.join(',')}`);
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`makeTestCert: openssl ${args.join(' ')} failed: ${stderr || (err as Error).message}`);
  }
  return {
    certFile,
    keyFile,
    certPem: readFileSync(certFile, 'utf8'),
    keyPem: readFileSync(keyFile, 'utf8'),
  };
}

/** Another P-256 private key (matching no certificate), written to `dir`; needs no openssl. */
export function makeMismatchedKey(dir: string, name = `other-${++seq}`): { keyFile: string; keyPem: string } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const keyFile = join(dir, `${name}.key`);
  writeFileSync(keyFile, keyPem);
  return { keyFile, keyPem };
}
