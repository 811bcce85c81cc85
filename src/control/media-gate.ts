import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { EXPIRES_PARAM } from '../access/signed-url.js';
import type { AccessService } from './access-service.js';

/** The query parameter carrying the media token on segment, part and init URIs. */
export const MEDIA_TOKEN_PARAM = 'hs';

/** Parameters a player adds to playlist reloads (8216bis §6.2.5): not part of the credentials. */
const RELOAD_PARAMS = new Set(['_HLS_msn', '_HLS_part', '_HLS_skip', MEDIA_TOKEN_PARAM]);

export type GateAnswer = { ok: true; token?: string } | { ok: false; reason: string };

/**
 * Access for HLS and DASH, where a player makes many requests per second and only the playlist/MPD URL carries
 * the credentials (signed URL, key, or whatever a webhook checks). The playlist request is checked by the access
 * service (answers cached for `decisionTtlMs`, so a webhook is not asked on every reload); an allowed playlist
 * carries a media token on every segment URI, and segment requests need that token. Tokens are HMACs over
 * app/name and an expiry with a per-process secret, shared by all viewers within one time bucket (so rendered
 * playlists stay cacheable): a token copied out of a playlist works for at most two `tokenTtlSeconds`.
 */
export class MediaGate {
  private readonly secret = randomBytes(32);
  private readonly decisions = new Map<string, { answer: GateAnswer; until: number }>();

  constructor(
    private readonly access: AccessService,
    private readonly tokenTtlSeconds = 60,
    private readonly decisionTtlMs = 10_000,
  ) {}

  /** false when anyone may play this app (the default): no checks, no tokens */
  required(app: string): boolean {
    return !this.access.isOpen(app, 'play');
  }

  async playlist(
    protocol: 'hls' | 'dash',
    ip: string,
    app: string,
    name: string,
    query: URLSearchParams,
  ): Promise<GateAnswer> {
    const creds = new URLSearchParams();
    for (const [k, v] of query) if (!RELOAD_PARAMS.has(k)) creds.append(k, v);
    const key = `${protocol}|${ip}|${app}/${name}|${creds}`;
    const now = Date.now();
    const hit = this.decisions.get(key);
    if (hit && hit.until > now) return this.withToken(hit.answer, app, name);
    const a = await this.access.check({
      action: 'play',
      protocol,
      sessionId: `${protocol}-${ip}`,
      app,
      name,
      query: creds.toString(),
      ip,
    });
    const answer: GateAnswer = !a.ok
      ? a
      : a.name !== name
        ? { ok: false, reason: 'rename-unsupported' } // a key/webhook rename is for RTMP and FLV players
        : { ok: true };
    if (this.decisions.size > 10_000) this.decisions.clear();
    // a signed URL's answer must not outlive its signature: at expiry the next request is checked afresh
    const expires = Number(creds.get(EXPIRES_PARAM) ?? Number.NaN) * 1000;
    const until = Math.min(now + this.decisionTtlMs, Number.isSafeInteger(expires) ? expires : Infinity);
    this.decisions.set(key, { answer, until });
    return this.withToken(answer, app, name);
  }

  private withToken(answer: GateAnswer, app: string, name: string): GateAnswer {
    return answer.ok ? { ok: true, token: this.issue(app, name) } : answer;
  }

  /** `<expiry>.<mac>`: the expiry is the end of the next time bucket */
  issue(app: string, name: string, now = Date.now()): string {
    const ttl = this.tokenTtlSeconds;
    const expires = (Math.floor(now / 1000 / ttl) + 2) * ttl;
    return `${expires}.${this.mac(app, name, expires)}`;
  }

  verify(app: string, name: string, token: string | null, now = Date.now()): boolean {
    if (!token) return false;
    const dot = token.indexOf('.');
    const expires = Number(token.slice(0, dot));
    if (dot <= 0 || !Number.isSafeInteger(expires) || expires * 1000 < now) return false;
    const want = Buffer.from(this.mac(app, name, expires));
    const got = Buffer.from(token.slice(dot + 1));
    return got.length === want.length && timingSafeEqual(got, want);
  }

  private mac(app: string, name: string, expires: number): string {
    return createHmac('sha256', this.secret)
      .update(`${app}/${name}\n${expires}`)
      .digest('base64url')
      .slice(0, 32);
  }
}
