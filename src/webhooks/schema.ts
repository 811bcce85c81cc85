import { z } from 'zod';
import type { WebhookEventName } from './events.js';

const ms = z.number().int().min(0);
const hookUrl = z.url({ protocol: /^https?$/ }).describe('An http:// or https:// URL.');

/**
 * The `webhooks` config section. Every event goes to its `events.<name>` URL if set, else to `url`;
 * an event with neither is not sent (and a publish/play with no URL is not gated).
 */
export const webhooksSchema = z
  .strictObject({
    url: hookUrl
      .optional()
      .describe('Webhook URL for every event without its own URL below (unset: no webhooks by default).'),
    events: z
      .strictObject({
        connect: hookUrl.optional().describe('URL for `connect` (a client connected to an app).'),
        publish: hookUrl
          .optional()
          .describe(
            'URL for `publish`; its answer allows, denies or renames the stream before Publish.Start.',
          ),
        unpublish: hookUrl.optional().describe('URL for `unpublish` (a publisher stopped or disconnected).'),
        play: hookUrl
          .optional()
          .describe('URL for `play`; its answer allows, denies or redirects the player before Play.Start.'),
        stop: hookUrl.optional().describe('URL for `stop` (a player stopped or disconnected).'),
        recordDone: hookUrl.optional().describe('URL for `record-done` (a recording file was closed).'),
      })
      .prefault({})
      .describe('Per-event URL overrides.'),
    secret: z
      .string()
      .min(16)
      .optional()
      .describe(
        'Shared secret: each POST carries `X-Tidecast-Signature: t=<unix s>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.',
      ),
    timeoutMs: ms
      .min(1)
      .default(3_000)
      .describe('Each webhook POST must complete within this (publish/play wait for it).'),
    retries: z
      .number()
      .int()
      .min(0)
      .max(10)
      .default(3)
      .describe(
        'Extra attempts for notifications on network error, timeout or 5xx (never for 4xx, never for publish/play).',
      ),
    retryBaseMs: ms.default(500).describe('First retry delay; doubles per retry, with jitter.'),
    onTimeout: z
      .enum(['deny', 'allow'])
      .default('deny')
      .describe('What a publish/play webhook that does not answer in time means.'),
  })
  .prefault({})
  .describe('HTTP webhooks to a control plane (JSON POSTs on session events).');

export type WebhooksConfig = z.output<typeof webhooksSchema>;

const EVENT_KEYS: Record<WebhookEventName, keyof WebhooksConfig['events']> = {
  connect: 'connect',
  publish: 'publish',
  unpublish: 'unpublish',
  play: 'play',
  stop: 'stop',
  'record-done': 'recordDone',
};

/** The URL `event` goes to, or undefined when it is not sent. */
export function webhookUrlFor(config: WebhooksConfig, event: WebhookEventName): string | undefined {
  return config.events[EVENT_KEYS[event]] ?? config.url;
}
