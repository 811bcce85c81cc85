import type { EgressPolicy } from '../core/egress.js';
import type { StreamRegistry } from '../core/registry.js';
import type { Counters } from '../observability/counters.js';
import type { Logger } from '../observability/logger.js';
import type { BackoffOptions } from './backoff.js';

/** What pushes and pulls need; the RelayService builds it once from the config. */
export interface RelayDeps {
  registry: StreamRegistry;
  counters: Counters;
  log: Logger;
  /** queue bounds and slow-consumer policy for pushes (the players' policy) */
  policy: EgressPolicy;
  backoff: BackoffOptions;
  connectTimeoutMs: number;
  firstMediaTimeoutMs: number;
  mediaTimeoutMs: number;
  idleGraceMs: number;
  tls: { rejectUnauthorized: boolean; ca?: Buffer };
}
