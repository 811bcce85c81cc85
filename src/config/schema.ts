import { z } from 'zod';
import { accessSectionSchema, appAccessShape } from '../access/schema.js';
import { backupIngestSchema } from '../failover/schema.js';
import { relaysSchema } from '../relay/schema.js';
import { appTranscodeSchema, transcodeSectionSchema } from '../transcode/schema.js';
import { webhooksSchema } from '../webhooks/schema.js';

/**
 * The one configuration schema: types, defaults, validation and the generated docs
 * (docs/configuration.md, `npm run docs:config`) all come from here. Unknown keys are errors.
 */
const port = z.number().int().min(0).max(65535);
const ms = z.number().int().min(0);

export const appSchema = z
  .strictObject({ ...appAccessShape, backup: backupIngestSchema, transcode: appTranscodeSchema.optional() })
  .describe('Per-application settings; the app is the first path segment (`rtmp://host/<app>/<stream>`).');

const listener = (what: string, defaultPort: number) =>
  z
    .strictObject({
      enabled: z
        .boolean()
        .default(false)
        .describe(`Accept ${what} (needs \`tls.certFile\` and \`tls.keyFile\`).`),
      port: port.default(defaultPort).describe(`${what} listen port (0 = any free port).`),
    })
    .prefault({})
    .describe(`${what} listener (TLS).`);

export const configSchema = z.strictObject({
  host: z.string().min(1).default('0.0.0.0').describe('Address every listener binds to.'),
  publicHost: z
    .string()
    .min(1)
    .optional()
    .describe('Host name printed in the start-up URLs (defaults to 127.0.0.1 when `host` is a wildcard).'),
  rtmp: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Accept RTMP connections.'),
      port: port.default(1935).describe('RTMP listen port (0 = any free port).'),
      outChunkSize: z
        .number()
        .int()
        .min(128)
        .max(65536)
        .default(60_000)
        .describe(
          'Chunk size the server announces and sends with (large: fewer chunk headers; SRS uses 60000).',
        ),
      windowAckSize: z
        .number()
        .int()
        .min(1)
        .default(5_000_000)
        .describe('Window Acknowledgement Size sent to peers.'),
      handshakeTimeoutMs: ms
        .default(10_000)
        .describe('A connection must finish the handshake and connect within this.'),
      pingIntervalMs: ms
        .default(15_000)
        .describe('Send a PingRequest after this much silence from the peer (0 = never).'),
      pingTimeoutMs: ms
        .default(30_000)
        .describe('Drop a peer that has sent nothing for this long after a ping (dead-peer detection).'),
      maxMessageBytes: z
        .number()
        .int()
        .min(1024)
        .max(16 * 1024 * 1024)
        .default(16 * 1024 * 1024)
        .describe('Largest RTMP message accepted.'),
      maxConnections: z.number().int().min(1).default(10_000).describe('Most simultaneous RTMP connections.'),
    })
    .prefault({})
    .describe('RTMP listener.'),
  http: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Serve HTTP-FLV and WebSocket-FLV.'),
      port: port.default(8080).describe('HTTP listen port (0 = any free port).'),
      allowOrigin: z
        .string()
        .regex(/^[^\r\n\0]*$/, 'no line breaks')
        .default('*')
        .describe('Value of Access-Control-Allow-Origin on media responses.'),
      headersTimeoutMs: z
        .number()
        .int()
        .min(100)
        .default(10_000)
        .describe('A request head must arrive complete within this (slow-loris protection); 408 after it.'),
      keepAliveTimeoutMs: ms.default(5_000).describe('Idle keep-alive connections are closed after this.'),
      maxHeaderBytes: z
        .number()
        .int()
        .min(1024)
        .max(1024 * 1024)
        .default(16 * 1024)
        .describe('Largest request head (request line and fields); 431 past it.'),
    })
    .prefault({})
    .describe('HTTP listener (HTTP-FLV, WebSocket-FLV).'),
  apps: z
    .record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), appSchema)
    .default(() => ({ live: appSchema.parse({}) }))
    .describe('Applications by name. Only listed apps accept connections.'),
  streams: z
    .strictObject({
      duplicatePublisher: z
        .enum(['reject', 'takeover'])
        .default('reject')
        .describe(
          'A second publisher on a live name: `reject` (Publish.BadName) or `takeover` (the old one is dropped).',
        ),
      playerWaitMs: ms
        .default(10_000)
        .describe('How long a player that arrives before the publisher waits before "not found".'),
      reconnectWaitMs: ms
        .default(0)
        .describe(
          'Players stay attached this long after the publisher leaves, to resume on its return (0 = end at once).',
        ),
      audioHoldMs: ms
        .default(40)
        .describe(
          'Hold an audio-only publisher read up to this long for the next video frame, so players get one write per video frame (0 = off).',
        ),
      gopCacheMaxBytes: z
        .number()
        .int()
        .min(0)
        .default(32 * 1024 * 1024)
        .describe(
          'Cap on the cached GOP; past it the cache holds only sequence headers until the next keyframe.',
        ),
    })
    .prefault({})
    .describe('Stream hub behaviour.'),
  egress: z
    .strictObject({
      maxQueueBytes: z
        .number()
        .int()
        .min(64 * 1024)
        .default(8 * 1024 * 1024)
        .describe(
          'Per-player queue cap in bytes; past it the queue is dropped and the player resumes at the next keyframe.',
        ),
      maxQueueMs: ms.default(5_000).describe('Per-player queue cap in media time (ms).'),
      maxSkips: z
        .number()
        .int()
        .min(0)
        .default(5)
        .describe('A player that overflows more than this many times within a minute is disconnected.'),
    })
    .prefault({})
    .describe('Slow-consumer policy for players.'),
  hls: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe('Segment every live stream for HLS (and DASH, from the same fMP4 segments).'),
      segmentFormat: z
        .enum(['fmp4', 'mpegts'])
        .default('fmp4')
        .describe(
          '`fmp4` (CMAF: H.264, HEVC, AV1, AAC, Opus; Low-Latency HLS and DASH) or `mpegts` (H.264/HEVC + AAC).',
        ),
      targetDuration: z
        .number()
        .int()
        .min(1)
        .max(30)
        .default(2)
        .describe('Segment target duration, seconds (cut on keyframes).'),
      windowSegments: z
        .number()
        .int()
        .min(3)
        .max(100)
        .default(6)
        .describe('Segments listed in the live playlist.'),
      lowLatency: z
        .boolean()
        .default(true)
        .describe('Low-Latency HLS parts and blocking playlist reload (fMP4 only).'),
      partTarget: z.number().min(0.1).max(1).default(0.25).describe('LL-HLS part target duration, seconds.'),
      dash: z
        .boolean()
        .default(true)
        .describe('Also serve MPEG-DASH (`index.mpd`) from the same segmenter (fMP4 only).'),
      dashLowLatency: z
        .boolean()
        .default(false)
        .describe(
          'Low-latency DASH: the segment being written is sent with chunked transfer as its CMAF chunks (the LL-HLS parts) appear; the MPD gets availabilityTimeOffset and a latency target. Needs `lowLatency`.',
        ),
      startOn: z
        .enum(['publish', 'request'])
        .default('publish')
        .describe(
          '`publish`: segment every stream from its start; `request`: start on the first HLS/DASH request and stop after `keepAfterEndMs` without one.',
        ),
      diskDir: z
        .string()
        .min(1)
        .optional()
        .describe(
          "Also write each stream's segments and playlist under this directory (`<dir>/<app>/<stream>/`); memory serving is unaffected.",
        ),
      keepAfterEndMs: ms
        .default(30_000)
        .describe("How long an ended stream's playlist (with EXT-X-ENDLIST) stays available."),
    })
    .prefault({})
    .describe('HLS / Low-Latency HLS.'),
  log: z
    .strictObject({
      level: z
        .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
        .default('info')
        .describe('Log level.'),
      format: z
        .enum(['auto', 'json', 'pretty'])
        .default('auto')
        .describe('`json` lines, `pretty` for people, `auto` = pretty on a terminal.'),
    })
    .prefault({})
    .describe('Logging.'),
  shutdownTimeoutMs: ms.default(4_000).describe('Longest graceful shutdown before connections are cut.'),
  access: accessSectionSchema,
  webhooks: webhooksSchema,
  transcode: transcodeSectionSchema,
  tls: z
    .strictObject({
      certFile: z.string().min(1).optional().describe('PEM certificate (chain) for RTMPS and HTTPS/WSS.'),
      keyFile: z.string().min(1).optional().describe('PEM private key matching `certFile`.'),
      caFile: z.string().min(1).optional().describe('Optional PEM CA bundle sent with the certificate.'),
      watch: z
        .boolean()
        .default(true)
        .describe('Reload the certificate when the files change (SIGHUP always reloads); sessions stay up.'),
    })
    .prefault({})
    .describe('TLS material for `rtmps` and `https`.'),
  rtmps: listener('RTMPS', 1936),
  https: listener('HTTPS and WSS (every HTTP route)', 8443),
  limits: z
    .strictObject({
      maxConnections: z
        .number()
        .int()
        .min(1)
        .default(20_000)
        .describe('Most simultaneous connections over all listeners (RTMP, RTMPS, HTTP, HTTPS).'),
      maxConnectionsPerIp: z
        .number()
        .int()
        .min(1)
        .default(500)
        .describe(
          'Most simultaneous connections from one IP address, over all listeners (many viewers may share a NAT address).',
        ),
      connectionRatePerIp: z
        .number()
        .int()
        .min(1)
        .default(100)
        .describe('Most new connections per second from one IP address (token bucket, burst of the same).'),
      maxPublishers: z.number().int().min(1).default(1000).describe('Most streams published at once.'),
      maxPlayersPerStream: z
        .number()
        .int()
        .min(1)
        .default(10_000)
        .describe('Most players (RTMP, HTTP-FLV, WS-FLV) on one stream.'),
      maxIngestKbps: z
        .number()
        .int()
        .min(0)
        .default(0)
        .describe(
          'Largest ingest bitrate per stream in kbit/s, averaged over `ingestWindowMs` (0 = no limit).',
        ),
      ingestWindowMs: z
        .number()
        .int()
        .min(200)
        .default(5_000)
        .describe('Window the ingest bitrate is averaged over.'),
      ingestOverLimit: z
        .enum(['warn', 'disconnect'])
        .default('disconnect')
        .describe(
          'Over `maxIngestKbps`: log a warning (and count it), or warn and then disconnect the publisher.',
        ),
    })
    .prefault({})
    .describe('Connection and stream limits; every rejection is counted by reason.'),
  api: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe('Serve the REST API under `/api/v1` on the HTTP listeners.'),
      token: z
        .string()
        .min(16)
        .optional()
        .describe(
          'Bearer token for the API. When absent, one is generated at first start and kept in `tokenFile`.',
        ),
      tokenFile: z
        .string()
        .min(1)
        .default('.tidecast/api-token')
        .describe('Where a generated API token is kept (printed once, when it is made).'),
    })
    .prefault({})
    .describe('REST API (`/api/v1`, bearer token) and server-sent events.'),
  metrics: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe('Serve Prometheus metrics at `/metrics` on the HTTP listeners.'),
      requireToken: z
        .boolean()
        .default(false)
        .describe('`/metrics` needs the API bearer token too (for a public HTTP port).'),
    })
    .prefault({})
    .describe('Prometheus metrics.'),
  relays: relaysSchema,
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type AppConfig = z.output<typeof appSchema>;
