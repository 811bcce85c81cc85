import { randomUUID } from 'node:crypto';

/** The session events the control plane hears about. `record-done` fires when a recording file is closed. */
export const WEBHOOK_EVENT_NAMES = [
  'connect',
  'publish',
  'unpublish',
  'play',
  'stop',
  'record-done',
] as const;

export type WebhookEventName = (typeof WEBHOOK_EVENT_NAMES)[number];

/** The gating events: their webhook answers allow/deny (and may rename the stream) before the session goes on. */
export type WebhookDecisionEventName = Extract<WebhookEventName, 'publish' | 'play'>;

/**
 * The JSON body of every webhook POST. `id` is unique per event and is repeated on every retry of the same
 * event (and sent as `X-Tidecast-Delivery`), so receivers can drop duplicates.
 */
export interface WebhookEvent {
  event: WebhookEventName;
  /** unique event id (a UUID) */
  id: string;
  /** when the event happened, ISO 8601 */
  time: string;
  /** the connection / session the event belongs to */
  sessionId: string;
  app: string;
  /** the stream name (for `connect`: empty) */
  name: string;
  /** 'rtmp', 'http-flv', 'ws-flv', 'hls', 'dash', ... */
  protocol: string;
  /** the peer's address */
  ip: string;
  /** the query string of the publish/play URL (e.g. a token) */
  query?: Record<string, string>;
  /** event-specific details (e.g. `record-done`: file path, bytes, duration) */
  extra?: Record<string, unknown>;
}

export type WebhookEventInit = Omit<WebhookEvent, 'id' | 'time'> & Partial<Pick<WebhookEvent, 'id' | 'time'>>;

/** Fills in a fresh `id` and the current `time` unless given. */
export function createWebhookEvent(init: WebhookEventInit, now: Date = new Date()): WebhookEvent {
  return { ...init, id: init.id ?? randomUUID(), time: init.time ?? now.toISOString() };
}
