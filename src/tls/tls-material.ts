/**
 * TLS material (certificate chain, private key, optional CA bundle) read from PEM files and validated before
 * a listener uses it: every problem becomes a TlsConfigError whose message names the file and what is wrong,
 * so a server refuses to start with a clear line instead of an OpenSSL error at the first handshake.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type TlsErrorCode = 'TLS_FILE_MISSING' | 'TLS_BAD_CERT' | 'TLS_BAD_KEY' | 'TLS_KEY_MISMATCH';

/** A TLS configuration problem. Like TidecastError, the message starts with the stable code. */
export class TlsConfigError extends Error {
  readonly code: TlsErrorCode;
  /** the file at fault */
  readonly file: string;
  constructor(code: TlsErrorCode, file: string, message: string) {
    super(`${code}: ${message}`);
    this.name = 'TlsConfigError';
    this.code = code;
    this.file = file;
  }
}

export interface TlsFiles {
  /** PEM: the server certificate first, then any intermediates (the whole chain is served) */
  certFile: string;
  /** PEM private key (PKCS#8, PKCS#1 or SEC1), unencrypted; may be the same file as certFile */
  keyFile: string;
  /** PEM CA bundle, used to verify client certificates (mutual TLS) */
  caFile?: string;
}

export interface TlsMaterial {
  /** the certificate chain as PEM (only the CERTIFICATE blocks of certFile) */
  cert: Buffer;
  /** the bytes of keyFile */
  key: Buffer;
  /** the CA bundle as PEM (only its CERTIFICATE blocks) */
  ca?: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** the leaf certificate's subject, e.g. `CN=live.example.com` (one attribute per line for multi-valued) */
  subject: string;
  /** SHA-256 of the leaf certificate, `AB:CD:...` (the format of `getPeerCertificate().fingerprint256`) */
  fingerprint256: string;
  /** the leaf is expired or not yet valid: a warning, not an error (clients decide whether to accept it) */
  expired: boolean;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * Reads and validates the PEM files: they exist and are readable, every certificate parses, the key parses
 * and is the leaf certificate's key. Throws TlsConfigError. `now` is for tests.
 */
export function loadTlsMaterial(files: TlsFiles, opts: { now?: Date } = {}): TlsMaterial {
  const certRaw = readPem('certFile', files.certFile);
  const keyRaw = files.keyFile === files.certFile ? certRaw : readPem('keyFile', files.keyFile);
  const certs = parseCerts('certFile', files.certFile, certRaw);
  const leaf = certs[0].x509;
  const key = parseKey(files.keyFile, keyRaw);

  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(key);
  } catch {
    matches = false;
  }
  if (!matches) {
    const certDesc = `${leaf.subject.replace(/\n/g, ', ')}, ${leaf.publicKey.asymmetricKeyType} key`;
    throw new TlsConfigError(
      'TLS_KEY_MISMATCH',
      files.keyFile,
      `keyFile ${files.keyFile} (${describeKey(key)}) is not the private key of the certificate ` +
        `in certFile ${files.certFile} (${certDesc})`,
    );
  }

  let ca: Buffer | undefined;
  if (files.caFile !== undefined) {
    const caRaw = readPem('caFile', files.caFile);
    ca = joinPem(parseCerts('caFile', files.caFile, caRaw).map((c) => c.pem));
  }

  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  const now = (opts.now ?? new Date()).getTime();
  const material: TlsMaterial = {
    cert: joinPem(certs.map((c) => c.pem)),
    key: keyRaw,
    notBefore,
    notAfter,
    subject: leaf.subject,
    fingerprint256: leaf.fingerprint256,
    expired: now > notAfter.getTime() || now < notBefore.getTime(),
  };
  if (ca) material.ca = ca;
  return material;
}

type Role = 'certFile' | 'keyFile' | 'caFile';

function readPem(role: Role, file: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES' || code === 'EPERM'
          ? 'is not readable (permission denied)'
          : code === 'EISDIR'
            ? 'is a directory, not a file'
            : `cannot be read (${(err as Error).message})`;
    throw new TlsConfigError('TLS_FILE_MISSING', file, `${role} ${file} ${why}`);
  }
  if (data.length === 0 || data.toString('latin1').trim() === '') {
    throw new TlsConfigError(
      role === 'keyFile' ? 'TLS_BAD_KEY' : 'TLS_BAD_CERT',
      file,
      `${role} ${file} is empty`,
    );
  }
  return data;
}

function parseCerts(
  role: 'certFile' | 'caFile',
  file: string,
  raw: Buffer,
): { pem: string; x509: X509Certificate }[] {
  const text = raw.toString('latin1');
  const blocks = text.match(PEM_CERT) ?? [];
  if (blocks.length === 0) {
    const hint = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)
      ? ': it holds a private key (certFile and keyFile swapped?)'
      : raw[0] === 0x30
        ? ' (it looks like DER; convert it with `openssl x509 -inform der -in FILE -out FILE.pem`)'
        : '';
    throw new TlsConfigError(
      'TLS_BAD_CERT',
      file,
      `${role} ${file} has no PEM "BEGIN CERTIFICATE" block${hint}`,
    );
  }
  return blocks.map((pem, i) => {
    try {
      return { pem, x509: new X509Certificate(pem) };
    } catch (err) {
      const which =
        blocks.length > 1 ? `certificate #${i + 1} of ${blocks.length} in ` : 'the certificate in ';
      throw new TlsConfigError(
        'TLS_BAD_CERT',
        file,
        `${which}${role} ${file} does not parse (${(err as Error).message})`,
      );
    }
  });
}

function parseKey(file: string, raw: Buffer): KeyObject {
  try {
    return createPrivateKey(raw);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const text = raw.toString('latin1');
    let why: string;
    if (code === 'ERR_MISSING_PASSPHRASE' || /ENCRYPTED/.test(text)) {
      why =
        'is an encrypted private key; passphrases are not supported, decrypt it with `openssl pkey -in FILE`';
    } else if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
      why = /-----BEGIN CERTIFICATE-----/.test(text)
        ? 'holds a certificate, not a private key (certFile and keyFile swapped?)'
        : 'has no PEM "BEGIN ... PRIVATE KEY" block';
    } else {
      why = `holds a private key that does not parse (${(err as Error).message})`;
    }
    throw new TlsConfigError('TLS_BAD_KEY', file, `keyFile ${file} ${why}`);
  }
}

function describeKey(key: KeyObject): string {
  const d = key.asymmetricKeyDetails;
  const size = d?.namedCurve ?? (d?.modulusLength ? `${d.modulusLength} bits` : undefined);
  return size ? `${key.asymmetricKeyType} ${size}` : `${key.asymmetricKeyType} key`;
}

function joinPem(blocks: string[]): Buffer {
  return Buffer.from(`${blocks.join('\n')}\n`, 'latin1');
}
