/**
 * Server events: one typed bus that the API's event stream (SSE), webhooks and logs listen to. Emitting never
 * throws into the emitter: a failing listener is isolated.
 */
export const SERVER_EVENT_TYPES = [
  'connect',
  'publish',
  'unpublish',
  'play',
  'stop',
  'kick',
  'record-done',
  /** backup ingest: the source feeding a stream changed (`extra.active`: primary, backup or null) */
  'source-switch',
] as const;

export type ServerEventType = (typeof SERVER_EVENT_TYPES)[number];

export interface ServerEvent {
  type: ServerEventType;
  /** ISO time */
  time: string;
  sessionId: string;
  protocol: string;
  ip: string;
  app?: string;
  name?: string;
  /** why it stopped / was kicked */
  reason?: string;
  extra?: Record<string, unknown>;
}

export type ServerEventInit = Omit<ServerEvent, 'time'>;
export type ServerEventListener = (ev: ServerEvent) => void;

export class ServerEvents {
  private readonly listeners = new Set<ServerEventListener>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => {}) {}

  /** returns the function that removes the listener */
  on(listener: ServerEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(init: ServerEventInit): void {
    if (this.listeners.size === 0) return;
    const ev: ServerEvent = { ...init, time: new Date().toISOString() };
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}
