import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: string;
  format: 'auto' | 'json' | 'pretty';
  /** where JSON lines go; defaults to stdout */
  destination?: NodeJS.WritableStream;
}

/** Structured JSON logs; human-readable when stdout is a terminal (or format: pretty). */
export function createLogger(opts: LoggerOptions): Logger {
  const pretty = opts.format === 'pretty' || (opts.format === 'auto' && process.stdout.isTTY === true);
  if (pretty && !opts.destination) {
    return pino({
      level: opts.level,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino({ level: opts.level, base: { name: 'tidecast' } }, opts.destination ?? pino.destination(1));
}
