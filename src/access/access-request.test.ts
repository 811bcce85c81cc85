import { describe, expect, it } from 'vitest';
import {
  type AccessContext,
  type AccessPolicy,
  type AccessRequest,
  compileAccessPolicy,
  decideLocal,
  resourcePath,
} from './access-request.js';
import { signPath } from './signed-url.js';
import { StreamKeyStore } from './stream-keys.js';

const NOW = 1_700_000_000_000;
const SECRET = 'sign-secret-0123456789abcdef';
const keys = new StreamKeyStore({
  keys: [
    { key: 'hidden-key', stream: 'cam1' },
    { key: 'plainname' },
    { key: 'studio-key', stream: 's1', app: 'studio' },
  ],
});
keys.ban('banned-key');
const ctx: AccessContext = { keys, secrets: [SECRET], bindIp: false };

function req(over: Partial<AccessRequest> = {}, query = ''): AccessRequest {
  const app = over.app ?? 'live';
  const name = over.name ?? 'cam1';
  return {
    action: 'publish',
    protocol: 'rtmp',
    app,
    name,
    query: new URLSearchParams(query),
    ip: '192.0.2.10',
    path: resourcePath(app, name),
    ...over,
  };
}

const decide = (r: AccessRequest, policy: AccessPolicy, c: AccessContext = ctx, now = NOW) =>
  decideLocal(r, policy, c, now);

describe('resourcePath', () => {
  it('is /app/name', () => {
    expect(resourcePath('live', 'cam1')).toBe('/live/cam1');
  });
});

describe('decideLocal', () => {
  it('open allows the requested name', () => {
    expect(decide(req({ name: 'x' }), { mode: 'open' })).toEqual({ kind: 'allow', name: 'x' });
  });

  it('deny denies', () => {
    expect(decide(req(), { mode: 'deny' })).toEqual({ kind: 'deny', reason: 'denied' });
  });

  it('webhook defers to the webhook', () => {
    expect(decide(req(), { mode: 'webhook' })).toEqual({ kind: 'webhook' });
  });

  it('an unknown mode fails closed', () => {
    expect(decide(req(), { mode: 'bogus' as AccessPolicy['mode'] })).toEqual({
      kind: 'deny',
      reason: 'not-configured',
    });
  });

  describe('IP rules come first', () => {
    it('deny list', () => {
      const p: AccessPolicy = { mode: 'open', ipDeny: ['192.0.2.0/24'] };
      expect(decide(req(), p)).toEqual({ kind: 'deny', reason: 'ip-denied' });
      expect(decide(req({ ip: '::ffff:192.0.2.10' }), p)).toEqual({ kind: 'deny', reason: 'ip-denied' });
      expect(decide(req({ ip: '198.51.100.1' }), p)).toEqual({ kind: 'allow', name: 'cam1' });
    });

    it('allow list', () => {
      const p: AccessPolicy = { mode: 'open', ipAllow: ['10.0.0.0/8', '2001:db8::/32'] };
      expect(decide(req(), p)).toEqual({ kind: 'deny', reason: 'ip-not-allowed' });
      expect(decide(req({ ip: '10.9.9.9' }), p)).toEqual({ kind: 'allow', name: 'cam1' });
      expect(decide(req({ ip: '2001:db8::7' }), p)).toEqual({ kind: 'allow', name: 'cam1' });
    });

    it('before the webhook and before key checks', () => {
      const p = { ipAllow: ['10.0.0.0/8'] };
      expect(decide(req(), { mode: 'webhook', ...p })).toEqual({ kind: 'deny', reason: 'ip-not-allowed' });
      expect(decide(req({ name: 'hidden-key' }), { mode: 'key', ...p })).toEqual({
        kind: 'deny',
        reason: 'ip-not-allowed',
      });
    });

    it('precompiled rules are used instead of the lists', () => {
      const p = compileAccessPolicy({ mode: 'open', ipDeny: ['192.0.2.10'] });
      expect(decide(req(), p)).toEqual({ kind: 'deny', reason: 'ip-denied' });
      expect(() => compileAccessPolicy({ mode: 'open', ipAllow: ['nope'] })).toThrow(/"nope"/);
    });
  });

  describe('key mode', () => {
    const key: AccessPolicy = { mode: 'key' };

    it('the stream name is the key; the allowed name is what the key grants', () => {
      expect(decide(req({ name: 'hidden-key' }), key)).toEqual({ kind: 'allow', name: 'cam1' });
      expect(decide(req({ name: 'plainname' }), key)).toEqual({ kind: 'allow', name: 'plainname' });
      expect(decide(req({ name: 'studio-key', app: 'studio' }), key)).toEqual({ kind: 'allow', name: 's1' });
    });

    it('?key= in the query must grant the requested name', () => {
      expect(decide(req({ name: 'cam1' }, 'key=hidden-key'), key)).toEqual({ kind: 'allow', name: 'cam1' });
      expect(decide(req({ name: 'cam2' }, 'key=hidden-key'), key)).toEqual({
        kind: 'deny',
        reason: 'key-stream-mismatch',
      });
    });

    it('unknown, empty, banned, wrong-app keys are refused', () => {
      expect(decide(req({ name: 'cam1' }), key)).toEqual({ kind: 'deny', reason: 'bad-key' });
      expect(decide(req({ name: 'cam1' }, 'key='), key)).toEqual({ kind: 'deny', reason: 'bad-key' });
      expect(decide(req({ name: 'cam1' }, 'key=wrong'), key)).toEqual({ kind: 'deny', reason: 'bad-key' });
      expect(decide(req({ name: 'banned-key' }), key)).toEqual({ kind: 'deny', reason: 'banned-key' });
      expect(decide(req({ name: 'studio-key' }), key)).toEqual({ kind: 'deny', reason: 'bad-key' });
    });

    it('without a key store nothing is allowed', () => {
      expect(decide(req({ name: 'hidden-key' }), key, { secrets: [], bindIp: false })).toEqual({
        kind: 'deny',
        reason: 'not-configured',
      });
    });
  });

  describe('signed mode', () => {
    const signed: AccessPolicy = { mode: 'signed' };
    const exp = NOW / 1000 + 60;
    const query = (path = '/live/cam1', expires = exp, ip?: string) =>
      `expires=${expires}&token=${signPath({ secret: SECRET, path, expires, ip })}`;

    it('allows a valid signature', () => {
      expect(decide(req({ action: 'play', protocol: 'hls' }, query()), signed)).toEqual({
        kind: 'allow',
        name: 'cam1',
      });
    });

    it('maps each failure to a reason', () => {
      expect(decide(req(), signed)).toEqual({ kind: 'deny', reason: 'missing-signature' });
      expect(decide(req({}, 'expires=x&token=y'), signed)).toEqual({
        kind: 'deny',
        reason: 'malformed-signature',
      });
      expect(decide(req({}, query()), signed, ctx, exp * 1000)).toEqual({
        kind: 'deny',
        reason: 'expired-signature',
      });
      expect(decide(req({}, query('/live/cam2')), signed)).toEqual({ kind: 'deny', reason: 'bad-signature' });
    });

    it('checks against req.path', () => {
      const r = req({ name: 'cam1', path: '/live/cam2' }, query('/live/cam2'));
      expect(decide(r, signed)).toEqual({ kind: 'allow', name: 'cam1' });
    });

    it('binds to the client address when asked', () => {
      const bound = { ...ctx, bindIp: true };
      expect(decide(req({}, query()), signed, bound)).toEqual({ kind: 'deny', reason: 'bad-signature' });
      const q = query('/live/cam1', exp, '192.0.2.10');
      expect(decide(req({ ip: '::ffff:192.0.2.10' }, q), signed, bound)).toEqual({
        kind: 'allow',
        name: 'cam1',
      });
      expect(decide(req({ ip: '192.0.2.11' }, q), signed, bound)).toEqual({
        kind: 'deny',
        reason: 'bad-signature',
      });
    });

    it('without secrets nothing is allowed', () => {
      expect(decide(req({}, query()), signed, { ...ctx, secrets: [] })).toEqual({
        kind: 'deny',
        reason: 'not-configured',
      });
    });
  });
});
