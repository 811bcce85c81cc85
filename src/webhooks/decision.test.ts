import { describe, expect, it } from 'vitest';
import { decide, isValidRedirectName } from './decision.js';

const ok = (body: string, status = 200) =>
  decide({ kind: 'response', status, body: Buffer.from(body) }, 'deny');

describe('webhook decision rules', () => {
  it('allows a 2xx with an empty body or {"allow": true}', () => {
    expect(ok('')).toEqual({ kind: 'allow' });
    expect(ok('  \n', 204)).toEqual({ kind: 'allow' });
    expect(ok('{"allow":true}')).toEqual({ kind: 'allow' });
    expect(ok('{"allow":true,"name":null}')).toEqual({ kind: 'allow' });
  });

  it('denies {"allow": false} with its reason, cleaned and bounded', () => {
    expect(ok('{"allow":false,"reason":"bad token"}')).toEqual({
      kind: 'deny',
      reason: 'bad token',
      status: 200,
    });
    expect(ok('{"allow":false}')).toEqual({ kind: 'deny', reason: 'webhook-denied', status: 200 });
    const long = ok(JSON.stringify({ allow: false, reason: `a\r\nb${'x'.repeat(500)}` }));
    expect(long.kind === 'deny' && long.reason.startsWith('a b') && long.reason.length === 200).toBe(true);
  });

  it('denies any non-2xx status, whatever the body says', () => {
    for (const status of [301, 401, 403, 404, 500]) {
      expect(ok('{"allow":true}', status)).toEqual({ kind: 'deny', reason: 'webhook-status', status });
    }
  });

  it('fails closed on a body it does not understand', () => {
    for (const body of ['OK', '[]', 'null', '{}', '{"allow":"yes"}', '{"allow":1}']) {
      expect(ok(body)).toMatchObject({ kind: 'deny', reason: 'webhook-bad-response' });
    }
  });

  it('validates a redirect name', () => {
    expect(ok('{"allow":true,"name":"cam-2.hd_1"}')).toEqual({ kind: 'allow', name: 'cam-2.hd_1' });
    for (const name of ['', 'a/b', '../x', 'x'.repeat(129), 'sp ace', 'ünï', 42, '.hidden']) {
      expect(ok(JSON.stringify({ allow: true, name }))).toMatchObject({ reason: 'webhook-bad-redirect' });
    }
    expect(isValidRedirectName('x'.repeat(128))).toBe(true);
  });

  it('maps transport failures', () => {
    expect(decide({ kind: 'timeout' }, 'deny')).toEqual({ kind: 'deny', reason: 'webhook-timeout' });
    expect(decide({ kind: 'timeout' }, 'allow')).toEqual({ kind: 'allow' });
    expect(decide({ kind: 'network', error: 'ECONNREFUSED' }, 'allow')).toEqual({
      kind: 'deny',
      reason: 'webhook-unreachable',
    });
    expect(decide({ kind: 'too-large', status: 200 }, 'deny')).toMatchObject({
      reason: 'webhook-body-too-large',
    });
    expect(decide({ kind: 'closed' }, 'allow')).toMatchObject({ reason: 'webhook-closed' });
  });
});
