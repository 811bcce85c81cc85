/**
 * A TLS secure context that follows its PEM files: loaded once at start (bad files refuse start-up with a
 * TlsConfigError), re-read on reload() or, with `watch`, when the files change. A failed reload keeps the
 * current certificate.
 *
 * How a server uses it (RTMPS, HTTPS, WSS):
 *
 *   const tlsCtx = new ReloadableTlsContext(files, { watch: true, onLog, contextOptions: { minVersion } });
 *   tlsCtx.start(); // throws TlsConfigError: refuse to start
 *   const server = tls.createServer({ ...tlsCtx.serverOptions(), ALPNProtocols, requestCert }, onSocket);
 *   const detach = tlsCtx.attach(server); // https.createServer(...) works the same way
 *   // on shutdown: detach(); tlsCtx.close();
 *
 * `attach()` is the part that matters: on every successful reload it calls `server.setSecureContext()`, which
 * replaces the server's default context. Clients that send no SNI (anyone connecting by IP address, e.g.
 * `rtmps://203.0.113.7/live`; Node and ffmpeg never send SNI for an IP) only ever see that default context,
 * so a server that relied on `SNICallback` alone would serve the start-up certificate forever. The
 * `SNICallback` in `serverOptions()` hands SNI clients the same current context; it is optional.
 *
 * Neither drops anyone: a TLS socket keeps the context it shook hands with for its whole life, so existing
 * sessions (RTMP publishers, long HTTP-FLV/WebSocket players) continue untouched; only new handshakes get the
 * new certificate. Session tickets issued before a reload may not resume after it (a full handshake follows).
 *
 * `setSecureContext()` rebuilds the default context from the options it is given alone (ciphers, minVersion,
 * ecdhCurve, ... not given are reset to Node's defaults), so put every context-level option in
 * `contextOptions` here rather than in `createServer()`; socket-level options (requestCert, ALPNProtocols,
 * SNICallback, handshakeTimeout, ...) stay in `createServer()`.
 *
 * Watching: `fs.watch` on each file, debounced. An editor or a deploy tool that replaces a file by rename (or
 * a Kubernetes secret volume swapping its symlinked directory) leaves the watch on the old inode, so after
 * every event the watch is re-armed on any path whose inode changed, and a file that disappeared is polled
 * for until it is back. A symlink repointed at a new file while the old target stays in place (certbot's
 * `live/` links) raises no event: call reload() from a deploy hook or SIGHUP for that.
 */
import { type FSWatcher, statSync, watch } from 'node:fs';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { loadTlsMaterial, TlsConfigError, type TlsFiles, type TlsMaterial } from './tls-material.js';

export type TlsLogLevel = 'debug' | 'info' | 'warn' | 'error';
/** pino-shaped: `(level, obj, msg) => log[level](obj, msg)` */
export type TlsLogFn = (level: TlsLogLevel, obj: Record<string, unknown>, msg: string) => void;

/** Context-level options other than the material itself (cert, key and ca come from the files). */
export type TlsContextOptions = Omit<SecureContextOptions, 'cert' | 'key' | 'ca' | 'pfx' | 'passphrase'>;

export interface ReloadableTlsOptions {
  onLog?: TlsLogFn;
  /** re-read the files when they change (default false) */
  watch?: boolean;
  /** quiet time after the last file event before reloading, ms (default 250) */
  debounceMs?: number;
  /** ciphers, minVersion, ecdhCurve, sessionTimeout, ...: applied to every context built, and by attach() */
  contextOptions?: TlsContextOptions;
}

/** The part of tls.Server / https.Server that attach() needs. */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

export type SecureContextOptionsWithMaterial = TlsContextOptions & { cert: Buffer; key: Buffer; ca?: Buffer };

export type SniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;

/** Certificate facts for logs and status endpoints (no key material). */
export type TlsCertInfo = Omit<TlsMaterial, 'cert' | 'key' | 'ca'> & { loadedAt: Date };

interface Watched {
  watcher?: FSWatcher;
  /** inode the watcher was armed on */
  ino?: number;
  /** the watcher reported a rename or an error: re-arm even if the inode looks the same */
  stale: boolean;
}

export class ReloadableTlsContext {
  private readonly files: TlsFiles;
  private readonly log: TlsLogFn;
  private readonly watchFiles: boolean;
  private readonly debounceMs: number;
  private readonly contextOptions: TlsContextOptions;
  private material?: TlsMaterial;
  private context?: SecureContext;
  private loadedAt = new Date(0);
  private readonly listeners = new Set<(material: TlsMaterial) => void>();
  private readonly watched = new Map<string, Watched>();
  private debounceTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(files: TlsFiles, opts: ReloadableTlsOptions = {}) {
    this.files = { ...files };
    this.log = opts.onLog ?? (() => {});
    this.watchFiles = opts.watch ?? false;
    this.debounceMs = opts.debounceMs ?? 250;
    this.contextOptions = { ...opts.contextOptions };
  }

  /** Loads the files once (throws TlsConfigError: start-up must refuse bad files), then starts watching. */
  start(): TlsCertInfo {
    if (this.material) throw new Error('ReloadableTlsContext already started');
    const material = loadTlsMaterial(this.files);
    this.install(material, this.build(material));
    this.log('info', this.logFields(), 'tls certificate loaded');
    this.warnIfExpired(material);
    if (this.watchFiles) {
      for (const file of this.paths()) this.watched.set(file, { stale: true });
      this.rearm();
    }
    return this.info();
  }

  /** The context for new handshakes. */
  current(): SecureContext {
    if (!this.context) throw new Error('ReloadableTlsContext not started');
    return this.context;
  }

  /** The current certificate's subject, validity and fingerprint. */
  info(): TlsCertInfo {
    const m = this.loaded();
    return {
      notBefore: m.notBefore,
      notAfter: m.notAfter,
      subject: m.subject,
      fingerprint256: m.fingerprint256,
      expired: m.expired,
      loadedAt: this.loadedAt,
    };
  }

  /** For `tls.createServer()` / `server.setSecureContext()`: the current material plus contextOptions. */
  secureContextOptions(): SecureContextOptionsWithMaterial {
    const m = this.loaded();
    const opts: SecureContextOptionsWithMaterial = { ...this.contextOptions, cert: m.cert, key: m.key };
    if (m.ca) opts.ca = m.ca;
    return opts;
  }

  /** secureContextOptions() plus an SNICallback answering with current(); pass to `tls.createServer()`. */
  serverOptions(): SecureContextOptionsWithMaterial & { SNICallback: SniCallback } {
    return { ...this.secureContextOptions(), SNICallback: this.sniCallback };
  }

  /** For `tls.createServer({ SNICallback })`: every SNI handshake gets the current context. */
  readonly sniCallback: SniCallback = (_servername, cb) => {
    cb(null, this.current());
  };

  /**
   * Keeps `server`'s default context (the one clients without SNI get) current: `server.setSecureContext()`
   * on every successful reload. Returns the function that stops it.
   */
  attach(server: SecureContextTarget): () => void {
    return this.onReload(() => {
      try {
        server.setSecureContext(this.secureContextOptions());
      } catch (err) {
        this.log('error', { err: (err as Error).message }, 'tls: server.setSecureContext failed');
      }
    });
  }

  /** Calls `listener` after each reload that changed the material. Returns the function that removes it. */
  onReload(listener: (material: TlsMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Re-reads the files. New material is installed (and attached servers updated) only if it is all valid;
   * otherwise the current certificate stays and the problem is logged. Returns false on failure.
   */
  reload(): boolean {
    const previous = this.loaded();
    let material: TlsMaterial;
    let context: SecureContext;
    try {
      material = loadTlsMaterial(this.files);
      if (sameMaterial(previous, material)) {
        this.log('debug', { fingerprint256: material.fingerprint256 }, 'tls files unchanged');
        return true;
      }
      context = this.build(material);
    } catch (err) {
      const fields: Record<string, unknown> = {
        err: (err as Error).message,
        current: previous.fingerprint256,
      };
      if (err instanceof TlsConfigError) Object.assign(fields, { code: err.code, file: err.file });
      this.log('error', fields, 'tls reload failed; keeping the current certificate');
      return false;
    }
    this.install(material, context);
    this.log('info', { ...this.logFields(), previous: previous.fingerprint256 }, 'tls certificate reloaded');
    this.warnIfExpired(material);
    for (const listener of this.listeners) {
      try {
        listener(material);
      } catch (err) {
        this.log('error', { err: (err as Error).message }, 'tls reload listener failed');
      }
    }
    return true;
  }

  /** Stops watching. current() keeps answering (open sockets are not affected). */
  close(): void {
    this.closed = true;
    clearTimeout(this.debounceTimer);
    clearTimeout(this.retryTimer);
    this.debounceTimer = undefined;
    this.retryTimer = undefined;
    for (const w of this.watched.values()) w.watcher?.close();
    this.watched.clear();
    this.listeners.clear();
  }

  private loaded(): TlsMaterial {
    if (!this.material) throw new Error('ReloadableTlsContext not started');
    return this.material;
  }

  private build(material: TlsMaterial): SecureContext {
    try {
      return createSecureContext({
        ...this.contextOptions,
        cert: material.cert,
        key: material.key,
        ca: material.ca,
      });
    } catch (err) {
      // the material parsed, so this is OpenSSL refusing it (e.g. "ee key too small") or a bad contextOptions
      throw new TlsConfigError(
        'TLS_BAD_CERT',
        this.files.certFile,
        `certFile ${this.files.certFile} with keyFile ${this.files.keyFile} was rejected by OpenSSL ` +
          `(${(err as Error).message})`,
      );
    }
  }

  private install(material: TlsMaterial, context: SecureContext): void {
    this.material = material;
    this.context = context;
    this.loadedAt = new Date();
  }

  private logFields(): Record<string, unknown> {
    const m = this.loaded();
    return {
      certFile: this.files.certFile,
      subject: m.subject.replace(/\n/g, ', '),
      notAfter: m.notAfter.toISOString(),
      fingerprint256: m.fingerprint256,
    };
  }

  private warnIfExpired(m: TlsMaterial): void {
    if (!m.expired) return;
    const notYet = Date.now() < m.notBefore.getTime();
    this.log(
      'warn',
      {
        certFile: this.files.certFile,
        notBefore: m.notBefore.toISOString(),
        notAfter: m.notAfter.toISOString(),
      },
      notYet ? 'tls certificate is not valid yet' : 'tls certificate has expired',
    );
  }

  private paths(): string[] {
    const all = [this.files.certFile, this.files.keyFile];
    if (this.files.caFile !== undefined) all.push(this.files.caFile);
    return [...new Set(all)];
  }

  /** A watched file changed: reload once things are quiet. */
  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      if (this.closed) return;
      this.rearm();
      this.reload();
    }, this.debounceMs);
    this.debounceTimer.unref();
  }

  /** (Re-)arms the watch on each path whose watcher is gone or stale, or whose inode changed. */
  private rearm(): void {
    let missing = false;
    for (const [file, w] of this.watched) {
      let ino: number;
      try {
        ino = statSync(file).ino;
      } catch {
        missing = true;
        if (w.watcher) {
          w.watcher.close();
          w.watcher = undefined;
          this.log('warn', { file }, 'tls file disappeared; watching for it to come back');
        }
        continue;
      }
      if (w.watcher && !w.stale && w.ino === ino) continue;
      w.watcher?.close();
      w.watcher = undefined;
      try {
        w.watcher = this.arm(file, w);
        w.ino = ino;
        w.stale = false;
      } catch (err) {
        missing = true;
        this.log('warn', { file, err: (err as Error).message }, 'tls: cannot watch file; retrying');
      }
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (missing && !this.closed) {
      // a file being replaced (or not there yet): look again, and reload once it is back
      this.retryTimer = setTimeout(
        () => {
          this.retryTimer = undefined;
          if (this.closed) return;
          const before = [...this.watched.values()].filter((w) => w.watcher).length;
          this.rearm();
          const after = [...this.watched.values()].filter((w) => w.watcher).length;
          if (after > before) this.schedule();
        },
        Math.max(this.debounceMs, 500),
      );
      this.retryTimer.unref();
    }
  }

  private arm(file: string, w: Watched): FSWatcher {
    const watcher = watch(file, { persistent: false });
    watcher.on('change', (event) => {
      if (event === 'rename') w.stale = true;
      this.schedule();
    });
    watcher.on('error', (err) => {
      this.log('debug', { file, err: err.message }, 'tls file watcher error; re-arming');
      w.stale = true;
      this.schedule();
    });
    return watcher;
  }
}

function sameMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  const caSame = a.ca === undefined ? b.ca === undefined : b.ca !== undefined && a.ca.equals(b.ca);
  return caSame && a.cert.equals(b.cert) && a.key.equals(b.key);
}
