import { SERVER_EVENT_TYPES } from '../core/events.js';
import { VERSION } from './views.js';

/**
 * The OpenAPI 3.1 description of every route in API_ROUTES (src/api/routes.ts), served at
 * `/api/v1/openapi.json`. test/integration/api.test.ts checks that the two list the same paths and methods and
 * that every status and body the tests see is described here.
 */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const error = (description: string) => json(ref('Error'), description);
const int = { type: 'integer' };
const num = { type: 'number' };
const str = { type: 'string' };
const counts = { type: 'object', additionalProperties: int };

const unauthorized = { '401': { $ref: '#/components/responses/Unauthorized' } };
const badRequest = { '400': { $ref: '#/components/responses/BadRequest' } };

const appParam = {
  name: 'app',
  in: 'path',
  required: true,
  description: 'Application (the first path segment of the stream URL).',
  schema: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
};
const nameParam = {
  name: 'name',
  in: 'path',
  required: true,
  description: 'Stream name.',
  schema: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.\\-~]{0,127}$' },
};
const idParam = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'Session id, as listed by `GET /api/v1/sessions` (e.g. `rtmp-3`, `http-flv-7`).',
  schema: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$' },
};
const pushIdParam = {
  name: 'id',
  in: 'path',
  required: true,
  description:
    'Push id, as listed by `GET /api/v1/relays` (`push-1`, `api-2`, `edge:<app>`, or the id given).',
  schema: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$' },
};
const nullableStr = { type: ['string', 'null'] };
const nullableInt = { type: ['integer', 'null'] };
const keyParam = {
  name: 'key',
  in: 'path',
  required: true,
  description: 'The stream key, percent-encoded.',
  schema: { type: 'string', minLength: 1, maxLength: 256 },
};

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
  components: {
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        description: '`api.token`, or the token generated into `api.tokenFile` at first start.',
      },
    },
    responses: {
      Unauthorized: error(
        '`API_UNAUTHORIZED`: missing or wrong bearer token (with `WWW-Authenticate: Bearer`).',
      ),
      BadRequest: error('`API_BAD_REQUEST`: an invalid path parameter or query.'),
    },
    schemas: {
      Error: {
        type: 'object',
        required: ['error'],
        properties: {
          error: {
            type: 'object',
            required: ['code', 'message'],
            properties: {
              code: {
                type: 'string',
                enum: [
                  'API_BAD_REQUEST',
                  'API_UNAUTHORIZED',
                  'API_NOT_FOUND',
                  'API_METHOD_NOT_ALLOWED',
                  'API_STREAM_NOT_FOUND',
                  'API_SESSION_NOT_FOUND',
                  'API_KEY_NOT_BANNED',
                  'API_INTERNAL',
                ],
              },
              message: str,
            },
          },
        },
      },
      ServerInfo: {
        type: 'object',
        required: [
          'name',
          'version',
          'pid',
          'node',
          'startedAt',
          'uptimeSeconds',
          'cpu',
          'memory',
          'connections',
          'sessions',
          'streams',
          'ports',
        ],
        properties: {
          name: { const: 'tidecast' },
          version: str,
          pid: int,
          node: { type: 'string', description: 'Node.js version' },
          platform: str,
          arch: str,
          startedAt: { type: 'string', format: 'date-time' },
          uptimeSeconds: int,
          processUptimeSeconds: int,
          cpu: {
            type: 'object',
            required: ['userMicros', 'systemMicros', 'percent'],
            properties: {
              userMicros: int,
              systemMicros: int,
              percent: { type: 'number', description: 'Share of one core over the last second.' },
            },
          },
          memory: {
            type: 'object',
            description: 'process.memoryUsage(), bytes.',
            required: ['rss', 'heapTotal', 'heapUsed', 'external'],
            properties: { rss: int, heapTotal: int, heapUsed: int, external: int, arrayBuffers: int },
          },
          connections: { ...counts, description: 'Open RTMP/RTMPS connections by listener.' },
          sessions: {
            type: 'object',
            required: ['total', 'byProtocol', 'byRole'],
            properties: { total: int, byProtocol: counts, byRole: counts },
          },
          streams: {
            type: 'object',
            required: ['total', 'live', 'players'],
            properties: { total: int, live: int, players: int },
          },
          eventStreams: { type: 'integer', description: 'Open `/api/v1/events` streams.' },
          ports: {
            type: 'object',
            description: 'Listening ports by listener.',
            properties: { rtmp: int, rtmps: int, http: int, https: int },
          },
        },
      },
      Stream: {
        type: 'object',
        required: [
          'app',
          'name',
          'live',
          'publisher',
          'publishedAt',
          'uptimeMs',
          'video',
          'audio',
          'bitrateIn',
          'bitrateOut',
          'bytesIn',
          'bytesOut',
          'framesIn',
          'players',
          'gop',
          'droppedFrames',
        ],
        properties: {
          app: str,
          name: str,
          live: { type: 'boolean', description: 'Has a publisher (else players are waiting for one).' },
          publisher: {
            type: ['object', 'null'],
            required: ['id', 'protocol', 'ip'],
            properties: {
              id: { type: 'string', description: 'Its session id.' },
              protocol: str,
              ip: str,
            },
          },
          publishedAt: { type: ['string', 'null'], format: 'date-time' },
          uptimeMs: int,
          video: {
            type: ['object', 'null'],
            required: ['codec'],
            properties: {
              codec: { type: 'string', description: 'FourCC: avc1, hvc1, av01, vp09.' },
              width: int,
              height: int,
              frameRate: { type: 'number', description: 'From the SPS, else measured over the cached GOP.' },
              profile: str,
            },
          },
          audio: {
            type: ['object', 'null'],
            required: ['codec'],
            properties: { codec: str, sampleRate: int, channels: int, profile: str },
          },
          bitrateIn: { type: 'integer', description: 'Ingest bits/s over the last ~5 s.' },
          bitrateOut: { type: 'integer', description: 'Bits/s sent to all its players over the last ~5 s.' },
          bytesIn: int,
          bytesOut: { type: 'integer', description: 'Bytes sent to its players since publish.' },
          framesIn: int,
          players: {
            type: 'object',
            required: ['total', 'byProtocol'],
            properties: { total: int, byProtocol: counts },
          },
          gop: {
            type: 'object',
            description: 'The cached GOP new players start from.',
            required: ['frames', 'bytes', 'durationMs'],
            properties: { frames: int, bytes: int, durationMs: num },
          },
          droppedFrames: {
            type: 'integer',
            description: 'Frames dropped for the players attached now (slow consumers).',
          },
          source: {
            type: ['string', 'null'],
            enum: ['primary', 'backup', null],
            description: 'Backup ingest apps: which publisher feeds the stream now (null elsewhere).',
          },
        },
      },
      Session: {
        type: 'object',
        required: ['id', 'protocol', 'ip', 'role', 'startedAt', 'durationMs', 'bytesIn', 'bytesOut'],
        properties: {
          id: str,
          protocol: { type: 'string', enum: ['rtmp', 'rtmps', 'http-flv', 'ws-flv'] },
          ip: str,
          role: { type: 'string', enum: ['connected', 'publisher', 'player'] },
          app: str,
          name: str,
          startedAt: { type: 'string', format: 'date-time' },
          durationMs: int,
          bytesIn: int,
          bytesOut: int,
        },
      },
      PushInput: {
        type: 'object',
        required: ['app', 'url'],
        additionalProperties: false,
        properties: {
          id: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'Default `api-<n>`.' },
          app: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
          stream: { type: 'string', description: 'Only this stream (default: every stream of the app).' },
          url: {
            type: 'string',
            description: '`rtmp://` or `rtmps://` destination; `{name}` and `{app}` are replaced.',
            examples: ['rtmp://a.rtmp.youtube.com/live2/KEY', 'rtmp://other-host/live/{name}?token=abc'],
          },
        },
      },
      Push: {
        type: 'object',
        required: ['id', 'app', 'stream', 'url', 'source', 'sessions'],
        properties: {
          id: str,
          app: str,
          stream: nullableStr,
          url: str,
          source: { type: 'string', enum: ['config', 'api', 'edge'] },
          sessions: { type: 'array', items: ref('PushSession') },
        },
      },
      PushSession: {
        type: 'object',
        required: [
          'id',
          'app',
          'name',
          'url',
          'state',
          'retries',
          'failures',
          'bytes',
          'droppedFrames',
          'publishingSince',
          'lastError',
          'nextRetryInMs',
        ],
        properties: {
          id: str,
          app: str,
          name: str,
          url: str,
          state: { type: 'string', enum: ['idle', 'connecting', 'publishing', 'backoff', 'stopped'] },
          retries: { type: 'integer', description: 'Reconnects since the stream went live.' },
          failures: {
            type: 'integer',
            description: 'Failures in a row (reset by a connection that stays up).',
          },
          bytes: { type: 'integer', description: 'Bytes sent to the destination.' },
          droppedFrames: int,
          publishingSince: { type: ['string', 'null'], format: 'date-time' },
          lastError: nullableStr,
          nextRetryInMs: nullableInt,
        },
      },
      Pull: {
        type: 'object',
        required: [
          'id',
          'app',
          'name',
          'kind',
          'mode',
          'state',
          'url',
          'urls',
          'retries',
          'failures',
          'bytes',
          'players',
          'liveSince',
          'lastError',
          'nextRetryInMs',
        ],
        properties: {
          id: str,
          app: str,
          name: str,
          kind: { type: 'string', enum: ['static', 'edge'] },
          mode: { type: 'string', enum: ['always', 'on-demand'] },
          state: { type: 'string', enum: ['idle', 'connecting', 'live', 'backoff', 'stopped'] },
          url: { type: 'string', description: 'The source being pulled or tried.' },
          urls: { type: 'integer', description: 'Source URLs (origins) in failover order.' },
          retries: int,
          failures: int,
          bytes: { type: 'integer', description: 'Bytes received from sources.' },
          players: int,
          liveSince: { type: ['string', 'null'], format: 'date-time' },
          lastError: nullableStr,
          nextRetryInMs: nullableInt,
        },
      },
      Relays: {
        type: 'object',
        required: ['pushes', 'pulls', 'edges'],
        properties: {
          pushes: { type: 'array', items: ref('Push') },
          pulls: { type: 'array', items: ref('Pull') },
          edges: {
            type: 'array',
            items: {
              type: 'object',
              required: ['app', 'origins', 'forwardPublish'],
              properties: {
                app: str,
                origins: { type: 'array', items: str },
                forwardPublish: { type: 'boolean' },
              },
            },
          },
        },
      },
      ServerEvent: {
        type: 'object',
        required: ['type', 'time', 'sessionId', 'protocol', 'ip'],
        properties: {
          type: {
            type: 'string',
            enum: [...SERVER_EVENT_TYPES],
          },
          time: { type: 'string', format: 'date-time' },
          sessionId: str,
          protocol: str,
          ip: str,
          app: str,
          name: str,
          reason: str,
          extra: { type: 'object' },
        },
      },
    },
  },
} as const;
