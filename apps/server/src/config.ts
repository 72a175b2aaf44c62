/**
 * The reference server's configuration: the environment variables of the product brief, parsed
 * and validated once at start. A bad value stops the server with a message that names the
 * variable, what it must be and what it got; every variable has a default that works.
 *
 * docs/configuration.md documents every variable; keep the two in step.
 *
 * @module
 */
import { availableParallelism } from 'node:os';
import {
  type ApiKey,
  createHostAllowlist,
  normalizeOrigin,
  parseApiKeys,
  parseDatabaseUrl,
  parseUpstreamHeaders,
} from 'streamwell/server';
import { z } from 'zod';

/** Log levels pino accepts. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The validated configuration. */
export interface ServerConfig {
  readonly port: number;
  /**
   * `WORKERS`, resolved (`auto` is the cores this process may run on): how many worker processes
   * serve the port (node:cluster). 1 runs the server in this process, without a primary.
   */
  readonly workers: number;
  readonly host: string;
  readonly corsOrigins: readonly string[];
  /**
   * `ALLOWED_HOSTS`: `Host` names answered besides the loopback ones (DNS-rebinding defence);
   * `*` turns the check off. Empty: checked only when `host` is a loopback address.
   */
  readonly allowedHosts: readonly string[];
  readonly provider: 'agents' | 'openai' | 'sse' | 'demo' | undefined;
  readonly openaiApiKey: string | undefined;
  readonly openaiBaseUrl: string | undefined;
  readonly llmBaseUrl: string | undefined;
  readonly llmApiKey: string | undefined;
  readonly llmModel: string | undefined;
  /** `UPSTREAM_URL`: the existing SSE backend the `sse` provider fronts. */
  readonly upstreamUrl: string | undefined;
  /** `UPSTREAM_HEADERS`, parsed: sent with every upstream request (names lower-cased). */
  readonly upstreamHeaders: Readonly<Record<string, string>>;
  readonly streamTimeoutMs: number;
  readonly firstTokenTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly checkpointEvery: number;
  /** Least time between two thread-store writes of one streaming reply's checkpoints, ms. */
  readonly checkpointWriteIntervalMs: number;
  readonly streamRetentionMs: number;
  readonly disconnectGraceMs: number;
  readonly maxBodyBytes: number;
  readonly maxMessageChars: number;
  /** The server's limit: each of {@link ServerConfig.workers} workers admits its share ({@link workerShare}). */
  readonly maxConcurrentStreams: number;
  /** `MAX_STREAMS_PER_PRINCIPAL`: running streams of one API key id (0: no cap). */
  readonly maxStreamsPerPrincipal: number;
  /** `MAX_OPEN_EVENT_STREAMS`: open event-stream responses, server-wide. */
  readonly maxOpenEventStreams: number;
  /** `MAX_OPEN_WEBSOCKETS`: open WebSocket sockets, server-wide. */
  readonly maxOpenWebSockets: number;
  /** `MAX_CONNECTIONS_PER_PRINCIPAL`: open event streams and sockets of one API key id (0: no cap). */
  readonly maxConnectionsPerPrincipal: number;
  /** `MAX_TCP_CONNECTIONS`: open client TCP connections of any kind; more are closed at accept. */
  readonly maxTcpConnections: number;
  /** `HEADERS_TIMEOUT_MS`: time to receive a request's headers (also a new connection's first request). */
  readonly headersTimeoutMs: number;
  /** `REQUEST_TIMEOUT_MS`: time to receive a whole request, headers and body. */
  readonly requestTimeoutMs: number;
  /** `KEEP_ALIVE_TIMEOUT_MS`: how long an idle keep-alive connection waits for its next request. */
  readonly keepAliveTimeoutMs: number;
  /** `WS_IDLE_TIMEOUT_MS`: a WebSocket that follows no stream and sends nothing is closed after this (0: never). */
  readonly wsIdleTimeoutMs: number;
  /** `UPSTREAM_MAX_ATTEMPTS`: most upstream attempts per run (1 = no retry). */
  readonly upstreamMaxAttempts: number;
  readonly apiKeys: readonly ApiKey[];
  readonly redisUrl: string | undefined;
  readonly redisPrefix: string;
  readonly runLeaseMs: number;
  readonly databaseUrl: string | undefined;
  /** Hosted ChatKit: the Agent Builder workflow `POST /api/chatkit/session` mints sessions for. */
  readonly chatkitWorkflowId: string | undefined;
  /** Where ChatKit attachments are stored (relative to the working directory). */
  readonly chatkitAttachmentsDir: string;
  /** ChatKit dictation: the model of the OpenAI-compatible `/audio/transcriptions`; unset turns dictation off. */
  readonly transcribeModel: string | undefined;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly shutdownDeadlineMs: number;
}

/** Thrown by {@link loadConfig}; `message` lists every bad variable, one per line. */
export class ConfigError extends Error {
  /** The variables that were wrong. */
  readonly variables: readonly string[];

  constructor(problems: readonly { variable: string; message: string }[]) {
    super(
      `Invalid configuration:\n${problems.map((problem) => `  ${problem.variable}: ${problem.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.variables = problems.map((problem) => problem.variable);
  }
}

const blankToUndefined = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : typeof value === 'string' ? value.trim() : value;

/** A whole number in [min, max] from a decimal string, with a default. */
function integer(defaultValue: number, min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^\d+$/, { message: `must be a whole number between ${min} and ${max}` })
      .transform(Number)
      .pipe(
        z
          .number()
          .int()
          .min(min, { message: `must be at least ${min}` })
          .max(max, { message: `must be at most ${max}` }),
      )
      .optional()
      .default(defaultValue),
  );
}

/** Most workers `WORKERS` accepts: far above any core count the server would be given. */
export const MAX_WORKERS = 256;

/** `WORKERS`: `auto` (one per core this process may use) or a whole number. */
const workerCount = z.preprocess(
  blankToUndefined,
  z
    .string()
    .optional()
    .transform((value, context) => {
      if (value === undefined) return 1;
      if (value.toLowerCase() === 'auto') return Math.min(availableParallelism(), MAX_WORKERS);
      const count = /^\d+$/.test(value) ? Number(value) : Number.NaN;
      if (!(count >= 1 && count <= MAX_WORKERS)) {
        context.addIssue({ code: 'custom', message: `must be "auto" or a whole number between 1 and ${MAX_WORKERS}` });
        return 1;
      }
      return count;
    }),
);

const optionalText = z.preprocess(blankToUndefined, z.string().optional());

const httpUrl = (example: string) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .refine(
        (value) => {
          try {
            const url = new URL(value);
            return url.protocol === 'http:' || url.protocol === 'https:';
          } catch {
            return false;
          }
        },
        { message: `must be an http(s) URL, e.g. ${example}` },
      )
      .optional(),
  );

const originList = z.preprocess(
  blankToUndefined,
  z
    .string()
    .optional()
    .transform((value, context) => {
      const origins: string[] = [];
      for (const entry of (value ?? '').split(',').map((part) => part.trim())) {
        if (entry === '') continue;
        if (entry === '*') {
          context.addIssue({
            code: 'custom',
            message: '"*" is not allowed: list each origin (a wildcard with credentials lets any site use the API)',
          });
          continue;
        }
        try {
          origins.push(normalizeOrigin(entry));
        } catch (error) {
          context.addIssue({ code: 'custom', message: (error as Error).message });
        }
      }
      return origins;
    }),
);

/** A text variable read by the library's own parser, whose error message becomes the issue. */
function parsedBy<T>(parse: (value: string | undefined) => T, fallback: T) {
  return z.preprocess(
    blankToUndefined,
    z
      .string()
      .optional()
      .transform((value, context) => {
        try {
          return parse(value);
        } catch (error) {
          context.addIssue({ code: 'custom', message: (error as Error).message });
          return fallback;
        }
      }),
  );
}

const headerLines = parsedBy(parseUpstreamHeaders, {});

const apiKeyList = parsedBy(parseApiKeys, []);

/** `ALLOWED_HOSTS`: comma-separated host names, each checked by the library's own parser. */
function parseAllowedHosts(value: string | undefined): string[] {
  const hosts = (value ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  // Throws a TypeError naming the first entry that is not a host name.
  createHostAllowlist({ listenHost: '0.0.0.0', hosts });
  return hosts;
}

const hostList = parsedBy(parseAllowedHosts, []);

/**
 * The longest duration a `*_MS` variable may take: Node's timers fire at once past 2^31 − 1 ms, so
 * a larger "wait as long as it takes" would end every stream (or skip every drain) at once. About
 * 23 days, with room for the margins added to the shutdown deadline.
 */
const MAX_DURATION_MS = 2_000_000_000;

/** The schema, keyed by environment variable name. */
const ENV_SCHEMA = z.object({
  PORT: integer(8000, 0, 65_535),
  WORKERS: workerCount,
  // Loopback by default: a fresh `npm start` must not expose an API that spends tokens to the
  // network. Containers and hosts set HOST=0.0.0.0 (or ::) on purpose.
  HOST: z.preprocess(blankToUndefined, z.string().optional().default('127.0.0.1')),
  CORS_ORIGINS: originList,
  // DNS rebinding: on a loopback HOST, only loopback Host names (and these) are answered.
  ALLOWED_HOSTS: hostList,
  STREAMWELL_PROVIDER: z.preprocess(
    blankToUndefined,
    z.enum(['agents', 'openai', 'sse', 'demo'], { message: 'must be one of agents, openai, sse, demo' }).optional(),
  ),
  OPENAI_API_KEY: optionalText,
  OPENAI_BASE_URL: httpUrl('https://api.openai.com/v1'),
  LLM_BASE_URL: httpUrl('http://localhost:11434/v1'),
  LLM_API_KEY: optionalText,
  LLM_MODEL: optionalText,
  UPSTREAM_URL: httpUrl('http://127.0.0.1:8001/api/stream/message'),
  UPSTREAM_HEADERS: headerLines,
  STREAM_TIMEOUT_MS: integer(120_000, 0, MAX_DURATION_MS),
  FIRST_TOKEN_TIMEOUT_MS: integer(60_000, 0, MAX_DURATION_MS),
  IDLE_TIMEOUT_MS: integer(30_000, 0, MAX_DURATION_MS),
  HEARTBEAT_MS: integer(15_000, 0, MAX_DURATION_MS),
  CHECKPOINT_EVERY: integer(50, 0),
  CHECKPOINT_WRITE_INTERVAL_MS: integer(1000, 0, MAX_DURATION_MS),
  STREAM_RETENTION_MS: integer(300_000, 0, MAX_DURATION_MS),
  DISCONNECT_GRACE_MS: integer(30_000, 0, MAX_DURATION_MS),
  MAX_BODY_BYTES: integer(65_536, 64, 64 * 1024 * 1024),
  MAX_MESSAGE_CHARS: integer(8000, 1, 16 * 1024 * 1024),
  MAX_CONCURRENT_STREAMS: integer(1000, 1),
  MAX_STREAMS_PER_PRINCIPAL: integer(100, 0),
  MAX_OPEN_EVENT_STREAMS: integer(10_000, 1),
  MAX_OPEN_WEBSOCKETS: integer(2000, 1),
  MAX_CONNECTIONS_PER_PRINCIPAL: integer(1000, 0),
  MAX_TCP_CONNECTIONS: integer(12_500, 1),
  HEADERS_TIMEOUT_MS: integer(10_000, 100, 600_000),
  REQUEST_TIMEOUT_MS: integer(30_000, 100, 3_600_000),
  KEEP_ALIVE_TIMEOUT_MS: integer(72_000, 100, 600_000),
  WS_IDLE_TIMEOUT_MS: integer(60_000, 0, MAX_DURATION_MS),
  UPSTREAM_MAX_ATTEMPTS: integer(4, 1, 10),
  API_KEYS: apiKeyList,
  REDIS_URL: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^rediss?:\/\/[^\s]+$/, { message: 'must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379' })
      .optional(),
  ),
  REDIS_PREFIX: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^[^\s{}]{1,64}$/, { message: 'must be 1 to 64 characters without spaces or braces' })
      .optional()
      .default('streamwell:'),
  ),
  RUN_LEASE_MS: integer(10_000, 200, 600_000),
  DATABASE_URL: z.preprocess(
    blankToUndefined,
    z
      .string()
      .optional()
      .superRefine((value, context) => {
        if (value === undefined) return;
        try {
          parseDatabaseUrl(value);
        } catch (error) {
          // "DATABASE_URL is not ..." reads "DATABASE_URL: is not ..." in the list of problems.
          context.addIssue({ code: 'custom', message: (error as Error).message.replace(/^DATABASE_URL /, '') });
        }
      }),
  ),
  CHATKIT_WORKFLOW_ID: optionalText,
  CHATKIT_ATTACHMENTS_DIR: z.preprocess(blankToUndefined, z.string().optional().default('./data/attachments')),
  TRANSCRIBE_MODEL: optionalText,
  LOG_LEVEL: z.preprocess(
    (value) =>
      typeof blankToUndefined(value) === 'string' ? (blankToUndefined(value) as string).toLowerCase() : undefined,
    z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  ),
  SHUTDOWN_DEADLINE_MS: integer(10_000, 0, MAX_DURATION_MS),
});

/**
 * Reads and validates the configuration.
 *
 * @param env - the environment, `process.env` by default
 * @returns the configuration
 * @throws ConfigError listing every invalid variable
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): ServerConfig {
  const parsed = ENV_SCHEMA.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? 'environment');
      const got = env[variable];
      const secret =
        variable.endsWith('KEY') ||
        variable === 'API_KEYS' ||
        variable.endsWith('_URL') ||
        variable.endsWith('_HEADERS');
      const shown = secret ? '' : got;
      return { variable, message: `${issue.message}${shown ? ` (got ${JSON.stringify(shown)})` : ''}` };
    });
    throw new ConfigError(problems);
  }
  const value = parsed.data;
  const config: ServerConfig = {
    port: value.PORT,
    workers: value.WORKERS,
    host: value.HOST,
    corsOrigins: value.CORS_ORIGINS,
    allowedHosts: value.ALLOWED_HOSTS,
    provider: value.STREAMWELL_PROVIDER,
    openaiApiKey: value.OPENAI_API_KEY,
    openaiBaseUrl: value.OPENAI_BASE_URL,
    llmBaseUrl: value.LLM_BASE_URL,
    llmApiKey: value.LLM_API_KEY,
    llmModel: value.LLM_MODEL,
    upstreamUrl: value.UPSTREAM_URL,
    upstreamHeaders: value.UPSTREAM_HEADERS,
    streamTimeoutMs: value.STREAM_TIMEOUT_MS,
    firstTokenTimeoutMs: value.FIRST_TOKEN_TIMEOUT_MS,
    idleTimeoutMs: value.IDLE_TIMEOUT_MS,
    heartbeatMs: value.HEARTBEAT_MS,
    checkpointEvery: value.CHECKPOINT_EVERY,
    checkpointWriteIntervalMs: value.CHECKPOINT_WRITE_INTERVAL_MS,
    streamRetentionMs: value.STREAM_RETENTION_MS,
    disconnectGraceMs: value.DISCONNECT_GRACE_MS,
    maxBodyBytes: value.MAX_BODY_BYTES,
    maxMessageChars: value.MAX_MESSAGE_CHARS,
    maxConcurrentStreams: value.MAX_CONCURRENT_STREAMS,
    maxStreamsPerPrincipal: value.MAX_STREAMS_PER_PRINCIPAL,
    maxOpenEventStreams: value.MAX_OPEN_EVENT_STREAMS,
    maxOpenWebSockets: value.MAX_OPEN_WEBSOCKETS,
    maxConnectionsPerPrincipal: value.MAX_CONNECTIONS_PER_PRINCIPAL,
    maxTcpConnections: value.MAX_TCP_CONNECTIONS,
    headersTimeoutMs: value.HEADERS_TIMEOUT_MS,
    requestTimeoutMs: value.REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: value.KEEP_ALIVE_TIMEOUT_MS,
    wsIdleTimeoutMs: value.WS_IDLE_TIMEOUT_MS,
    upstreamMaxAttempts: value.UPSTREAM_MAX_ATTEMPTS,
    apiKeys: value.API_KEYS,
    redisUrl: value.REDIS_URL,
    redisPrefix: value.REDIS_PREFIX,
    runLeaseMs: value.RUN_LEASE_MS,
    databaseUrl: value.DATABASE_URL,
    chatkitWorkflowId: value.CHATKIT_WORKFLOW_ID,
    chatkitAttachmentsDir: value.CHATKIT_ATTACHMENTS_DIR,
    transcribeModel: value.TRANSCRIBE_MODEL,
    logLevel: value.LOG_LEVEL,
    shutdownDeadlineMs: value.SHUTDOWN_DEADLINE_MS,
  };
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    throw new ConfigError([
      {
        variable: 'HEADERS_TIMEOUT_MS',
        message: `must not be larger than REQUEST_TIMEOUT_MS (${config.requestTimeoutMs}), which covers the headers too (got ${config.headersTimeoutMs})`,
      },
    ]);
  }
  if (config.workers > 1 && config.redisUrl === undefined) {
    // Connections are spread over the workers: a resume, a cancel or a repeated Idempotency-Key
    // lands on any of them, and only the Redis store lets a worker serve another's stream.
    throw new ConfigError([
      {
        variable: 'WORKERS',
        message:
          `is ${config.workers} but REDIS_URL is not set: with several workers any worker must serve any stream ` +
          '(resume, cancel, Idempotency-Key), which needs the Redis store; set REDIS_URL or WORKERS=1',
      },
    ]);
  }
  if (config.provider === 'openai' && config.llmBaseUrl === undefined) {
    throw new ConfigError([
      {
        variable: 'STREAMWELL_PROVIDER',
        message:
          'is "openai" but LLM_BASE_URL is not set (the server URL with its version path, e.g. http://localhost:11434/v1)',
      },
    ]);
  }
  if (config.transcribeModel !== undefined && config.llmBaseUrl === undefined && config.openaiApiKey === undefined) {
    throw new ConfigError([
      {
        variable: 'TRANSCRIBE_MODEL',
        message:
          'is set but there is nowhere to send audio: set LLM_BASE_URL (an OpenAI-compatible server) or OPENAI_API_KEY',
      },
    ]);
  }
  if (config.provider === 'sse' && config.upstreamUrl === undefined) {
    throw new ConfigError([
      {
        variable: 'STREAMWELL_PROVIDER',
        message:
          'is "sse" but UPSTREAM_URL is not set (the streaming endpoint of the backend, e.g. http://127.0.0.1:8001/api/stream/message)',
      },
    ]);
  }
  if (config.provider === 'agents' && config.openaiApiKey === undefined) {
    throw new ConfigError([{ variable: 'STREAMWELL_PROVIDER', message: 'is "agents" but OPENAI_API_KEY is not set' }]);
  }
  return config;
}

/**
 * One worker's share of a server-wide limit: the limit divided by the workers, rounded up (so
 * that the workers together admit at most `workers - 1` more than the limit, never fewer).
 *
 * @param limit - the server's limit, e.g. `MAX_CONCURRENT_STREAMS`
 * @param workers - {@link ServerConfig.workers}
 * @returns what each worker admits
 */
export function workerShare(limit: number, workers: number): number {
  return Math.ceil(limit / Math.max(1, workers));
}

/**
 * The configuration with every default (no environment): what tests start from.
 *
 * @param overrides - fields to change
 * @returns a configuration
 */
export function defaultConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return { ...loadConfig({}), ...overrides };
}
