import {
  appParam,
  badRequest,
  COMPONENTS,
  error,
  idParam,
  json,
  keyParam,
  nameParam,
  pushIdParam,
  ref,
  unauthorized,
} from './openapi-parts.js';
import { VERSION } from './views.js';

/**
 * The OpenAPI 3.1 description of every route in API_ROUTES (src/api/routes.ts), served at
 * `/api/v1/openapi.json`. test/integration/api.test.ts checks that the two list the same paths and methods and
 * that every status and body the tests see is described here.
 */
export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'Tidecast API',
    version: VERSION,
    description:
      'Control plane of the Tidecast media server: server state, streams, sessions, kicks, key bans, ' +
      'server-sent events and Prometheus metrics. Every `/api/v1` route needs `Authorization: Bearer <token>`. ' +
      'Errors are JSON `{ "error": { "code", "message" } }` with a stable code; a path served with other ' +
      'methods answers 405 `API_METHOD_NOT_ALLOWED` with `Allow`, an unknown path 404 `API_NOT_FOUND`.',
  },
  security: [{ bearer: [] }],
  tags: [
    { name: 'server' },
    { name: 'streams' },
    { name: 'sessions' },
    { name: 'keys' },
    { name: 'events' },
    { name: 'metrics' },
    { name: 'relays' },
  ],
  paths: {
    '/api/v1/server': {
      get: {
        operationId: 'getServer',
        tags: ['server'],
        summary: 'Version, uptime, process, connections, sessions, streams and ports.',
        responses: { '200': json(ref('ServerInfo'), 'The server.'), ...unauthorized },
      },
    },
    '/api/v1/streams': {
      get: {
        operationId: 'listStreams',
        tags: ['streams'],
        summary: 'Every stream path: live ones and ones with players waiting for a publisher.',
        responses: {
          '200': json(
            {
              type: 'object',
              required: ['streams'],
              properties: { streams: { type: 'array', items: ref('Stream') } },
            },
            'The streams.',
          ),
          ...unauthorized,
        },
      },
    },
    '/api/v1/streams/{app}/{name}': {
      parameters: [appParam, nameParam],
      get: {
        operationId: 'getStream',
        tags: ['streams'],
        summary: 'One stream.',
        responses: {
          '200': json(ref('Stream'), 'The stream.'),
          ...badRequest,
          ...unauthorized,
          '404': error('`API_STREAM_NOT_FOUND`: no such stream.'),
        },
      },
      delete: {
        operationId: 'kickPublisher',
        tags: ['streams'],
        summary: "Kick the stream's publisher (a `kick` event, then `unpublish`).",
        responses: {
          '204': { description: 'The publisher was disconnected.' },
          ...badRequest,
          ...unauthorized,
          '404': error('`API_STREAM_NOT_FOUND`: no such stream, or it has no publisher.'),
        },
      },
    },
    '/api/v1/sessions': {
      get: {
        operationId: 'listSessions',
        tags: ['sessions'],
        summary: 'Every client session (RTMP/RTMPS connections, HTTP-FLV and WS-FLV players), oldest first.',
        responses: {
          '200': json(
            {
              type: 'object',
              required: ['sessions'],
              properties: { sessions: { type: 'array', items: ref('Session') } },
            },
            'The sessions.',
          ),
          ...unauthorized,
        },
      },
    },
    '/api/v1/sessions/{id}': {
      parameters: [idParam],
      get: {
        operationId: 'getSession',
        tags: ['sessions'],
        summary: 'One session.',
        responses: {
          '200': json(ref('Session'), 'The session.'),
          ...badRequest,
          ...unauthorized,
          '404': error('`API_SESSION_NOT_FOUND`.'),
        },
      },
      delete: {
        operationId: 'kickSession',
        tags: ['sessions'],
        summary: 'Kick a session: a `kick` event, then the connection ends.',
        responses: {
          '204': { description: 'The session was ended.' },
          ...badRequest,
          ...unauthorized,
          '404': error('`API_SESSION_NOT_FOUND`.'),
        },
      },
    },
    '/api/v1/keys/{key}/ban': {
      parameters: [keyParam],
      post: {
        operationId: 'banKey',
        tags: ['keys'],
        summary:
          'Ban a stream key (until unbanned or restart; kept across key reloads) and kick the publisher of ' +
          'each stream the key granted.',
        responses: { '204': { description: 'Banned.' }, ...badRequest, ...unauthorized },
      },
      delete: {
        operationId: 'unbanKey',
        tags: ['keys'],
        summary: 'Lift a ban.',
        responses: {
          '204': { description: 'The ban was lifted.' },
          ...badRequest,
          ...unauthorized,
          '404': error('`API_KEY_NOT_BANNED`: the key was not banned.'),
        },
      },
    },
    '/api/v1/config': {
      get: {
        operationId: 'getConfig',
        tags: ['server'],
        summary:
          'The configuration in force, with secrets (`access.secrets`, `access.keys[].key`, `webhooks.secret`, ' +
          '`api.token`, URL credentials) replaced by `***`.',
        responses: {
          '200': json(
            { type: 'object', description: 'The validated configuration (docs/configuration.md).' },
            'The configuration.',
          ),
          ...unauthorized,
        },
      },
    },
    '/api/v1/transcodes': {
      get: {
        operationId: 'listTranscodes',
        tags: ['transcoding'],
        summary:
          'Every transcoding child (ABR ladder or exec hook): state, pid, restarts, last exit, ffmpeg progress ' +
          '(fps, speed, out_time), recent stderr lines, input drops and renditions.',
        responses: {
          '200': json(
            { type: 'object', description: 'The ffmpeg in use and the jobs (docs/transcoding.md).' },
            'Transcoding.',
          ),
          ...unauthorized,
        },
      },
    },
    '/api/v1/relays': {
      get: {
        operationId: 'listRelays',
        tags: ['relays'],
        summary:
          'Pushes (each with one session per live stream it forwards: state, retries, bytes), pulls (static and ' +
          'edge, with state, retries, bytes, players) and edge apps. Stream keys and query values in URLs are `***`.',
        responses: { '200': json(ref('Relays'), 'The relays.'), ...unauthorized },
      },
    },
    '/api/v1/relays/pushes': {
      post: {
        operationId: 'addPush',
        tags: ['relays'],
        summary:
          'Add a push (until restart): every live stream of `app` (or only `stream`) is forwarded to `url` at once, ' +
          'and each stream that goes live later.',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: ref('PushInput') } },
        },
        responses: {
          '201': json(ref('Push'), 'The push was added.'),
          ...badRequest,
          ...unauthorized,
          '409': error('`API_BAD_REQUEST`: a push with this id exists.'),
        },
      },
    },
    '/api/v1/relays/pushes/{id}': {
      parameters: [pushIdParam],
      delete: {
        operationId: 'removePush',
        tags: ['relays'],
        summary: 'Remove a push (configured or added); its connections close.',
        responses: {
          '204': { description: 'Removed.' },
          ...badRequest,
          ...unauthorized,
          '404': error('`API_NOT_FOUND`: no push with this id.'),
        },
      },
    },
    '/api/v1/events': {
      get: {
        operationId: 'streamEvents',
        tags: ['events'],
        summary:
          'Server-sent events: `event: <type>` and `data: <ServerEvent JSON>` per event, a `: ping` comment ' +
          'every 15 s.',
        parameters: [
          {
            name: 'types',
            in: 'query',
            required: false,
            description: 'Comma-separated event types to receive (default: all).',
            schema: { type: 'string', examples: ['publish,unpublish'] },
          },
        ],
        responses: {
          '200': {
            description: 'An endless `text/event-stream`; each `data:` line is a ServerEvent.',
            content: {
              'text/event-stream': { schema: { type: 'string' }, 'x-event-data': ref('ServerEvent') },
            },
          },
          ...badRequest,
          ...unauthorized,
        },
      },
    },
    '/api/v1/openapi.json': {
      get: {
        operationId: 'getOpenApi',
        tags: ['server'],
        summary: 'This document.',
        responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1 document.'), ...unauthorized },
      },
    },
    '/metrics': {
      get: {
        operationId: 'getMetrics',
        tags: ['metrics'],
        summary:
          'Prometheus text exposition (when `metrics.enabled`). Needs the bearer token only with ' +
          '`metrics.requireToken`.',
        security: [{}, { bearer: [] }],
        responses: {
          '200': {
            description: 'Metrics, text format 0.0.4.',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          ...unauthorized,
        },
      },
    },
  },
  components: COMPONENTS,
} as const;
