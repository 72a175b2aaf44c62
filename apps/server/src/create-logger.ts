/**
 * The reference server's pino logger: JSON lines on stdout at `LOG_LEVEL`, credentials redacted,
 * with fields of its own on every line (`worker` in a worker process, `role` in the primary).
 *
 * @module
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import type { ServerConfig } from './config.ts';

/** Where the logger writes and what every line carries. */
export interface LoggerOptions {
  /** Where lines go; stdout by default. */
  readonly destination?: DestinationStream;
  /** Added to every line, e.g. `{ worker: 2 }`. */
  readonly fields?: Readonly<Record<string, string | number>>;
}

/**
 * Creates the logger.
 *
 * @param config - `LOG_LEVEL`
 * @param options - destination and fields
 * @returns the logger
 */
export function createLogger(config: Pick<ServerConfig, 'logLevel'>, options: LoggerOptions = {}): Logger {
  const settings = {
    level: config.logLevel,
    base: { service: 'streamwell', ...options.fields },
    // Never log credentials, whatever a log call passes.
    redact: ['req.headers.authorization', 'headers.authorization', 'apiKey', 'key'],
  };
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}
