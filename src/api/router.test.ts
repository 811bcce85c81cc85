import { describe, expect, it } from 'vitest';
import { ApiError, matchRoute, route } from './router.js';

const noop = () => undefined;
const routes = [
  route('GET', '/api/v1/streams', noop),
  route('GET', '/api/v1/streams/{app}/{name}', noop),
  route('DELETE', '/api/v1/streams/{app}/{name}', noop),
  route('POST', '/api/v1/keys/{key}/ban', noop),
  route('GET', '/api/v1/openapi.json', noop),
];

describe('router', () => {
  it('compiles path templates to anchored patterns with one segment per parameter', () => {
    const r = routes[1];
    expect(r.params).toEqual(['app', 'name']);
    expect(r.pattern.test('/api/v1/streams/live/x')).toBe(true);
    expect(r.pattern.test('/api/v1/streams/live/x/y')).toBe(false);
    expect(r.pattern.test('/api/v1/streams/live/')).toBe(false);
    expect(r.pattern.test('/x/api/v1/streams/live/x')).toBe(false);
    // literal dots are literal
    expect(routes[4].pattern.test('/api/v1/openapiXjson')).toBe(false);
  });

  it('matches method and path, decoding parameters', () => {
    const m = matchRoute(routes, 'POST', '/api/v1/keys/a%20b%2Fc/ban');
    expect(m).toMatchObject({ kind: 'route', params: { key: 'a b/c' } });
    expect(matchRoute(routes, 'DELETE', '/api/v1/streams/live/x')).toMatchObject({
      kind: 'route',
      route: routes[2],
      params: { app: 'live', name: 'x' },
    });
  });

  it('tells 405 (with the allowed methods) from 404', () => {
    expect(matchRoute(routes, 'PUT', '/api/v1/streams/live/x')).toEqual({
      kind: 'method',
      allow: ['GET', 'DELETE'],
    });
    expect(matchRoute(routes, 'GET', '/api/v1/nothing')).toEqual({ kind: 'none' });
  });

  it('a parameter that does not decode is a 400', () => {
    try {
      matchRoute(routes, 'GET', '/api/v1/streams/live/%E0%A4%A');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as ApiError).code).toBe('API_BAD_REQUEST');
    }
  });
});
