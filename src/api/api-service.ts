import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../observability/logger.js';
import type { TidecastServer } from '../server.js';
import type { RequestTarget } from '../servers/http/request-target.js';

/** REST API (`/api/v1`), server-sent events and `/metrics`, mounted on every HTTP listener. */
export class ApiService {
  constructor(
    readonly server: TidecastServer,
    readonly log: Logger,
  ) {}

  start(): void {}

  close(): void {}

  /** true when the request was an API or metrics path (answered, possibly asynchronously) */
  handle(_req: IncomingMessage, _res: ServerResponse, _url: RequestTarget): boolean {
    return false;
  }
}
