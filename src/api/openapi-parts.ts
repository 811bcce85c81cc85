/** Building blocks of the OpenAPI document (src/api/openapi.ts): shared fragments and the component schemas. */
import { SERVER_EVENT_TYPES } from '../core/events.js';

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (schema: unknown, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
export const error = (description: string) => json(ref('Error'), description);
export const int = { type: 'integer' };
export const num = { type: 'number' };
export const str = { type: 'string' };
export const counts = { type: 'object', additionalProperties: int };

export const unauthorized = { '401': { $ref: '#/components/responses/Unauthorized' } };
export const badRequest = { '400': { $ref: '#/components/responses/BadRequest' } };

export const appParam = {
  name: 'app',
  in: 'path',
  required: true,
  description: 'Application (the first path segment of the stream URL).',
  schema: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
};
export const nameParam = {
  name: 'name',
  in: 'path',
  required: true,
  description: 'Stream name.',
  schema: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.\\-~]{0,127}$' },
};
export const idParam = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'Session id, as listed by `GET /api/v1/sessions` (e.g. `rtmp-3`, `http-flv-7`).',
  schema: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$' },
};
export const pushIdParam = {
  name: 'id',
  in: 'path',
  required: true,
  description:
    'Push id, as listed by `GET /api/v1/relays` (`push-1`, `api-2`, `edge:<app>`, or the id given).',
  schema: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$' },
};
export const nullableStr = { type: ['string', 'null'] };
export const nullableInt = { type: ['integer', 'null'] };
export const keyParam = {
  name: 'key',
  in: 'path',
  required: true,
  description: 'The stream key, percent-encoded.',
  schema: { type: 'string', minLength: 1, maxLength: 256 },
};

export const COMPONENTS = {
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
} as const;
