/**
 * Every live client session (an RTMP/RTMPS connection, an HTTP-FLV or WS-FLV player), for the API, the limits
 * and kicks. Protocol servers add a session when it starts and remove it when it ends; nothing else holds them.
 */
export type SessionProtocol = 'rtmp' | 'rtmps' | 'http-flv' | 'ws-flv';
/** `connected`: an RTMP connection that has neither published nor played yet */
export type SessionRole = 'connected' | 'publisher' | 'player';

export interface Session {
  readonly id: string;
  readonly protocol: SessionProtocol;
  readonly ip: string;
  readonly startedAt: number;
  role: SessionRole;
  app?: string;
  name?: string;
  bytesIn(): number;
  bytesOut(): number;
  /** end the session now (API kick, banned key, takeover) */
  kick(reason: string): void;
}

export interface SessionView {
  id: string;
  protocol: SessionProtocol;
  ip: string;
  role: SessionRole;
  app?: string;
  name?: string;
  startedAt: string;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
}

export class SessionTable {
  private readonly sessions = new Map<string, Session>();

  add(s: Session): void {
    this.sessions.set(s.id, s);
  }

  remove(id: string): void {
    this.sessions.delete(id);
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  list(): Session[] {
    return [...this.sessions.values()];
  }

  get size(): number {
    return this.sessions.size;
  }

  /** sessions that publish or play app/name */
  forStream(app: string, name: string): Session[] {
    return this.list().filter((s) => s.app === app && s.name === name);
  }

  static view(s: Session, now = Date.now()): SessionView {
    return {
      id: s.id,
      protocol: s.protocol,
      ip: s.ip,
      role: s.role,
      app: s.app,
      name: s.name,
      startedAt: new Date(s.startedAt).toISOString(),
      durationMs: now - s.startedAt,
      bytesIn: s.bytesIn(),
      bytesOut: s.bytesOut(),
    };
  }
}
