/**
 * The reference server's ChatKit backend (`/chatkit`): the library's handler on the app's run
 * registry and thread store, with attachments on local disk (`CHATKIT_ATTACHMENTS_DIR`), dictation
 * when `TRANSCRIBE_MODEL` is set, and logs and metrics like the stream endpoints'.
 *
 * @module
 */
import path from 'node:path';
import type { Logger } from 'pino';
import {
  type ApiKeyAuth,
  type ChatKitHandler,
  type ConnectionLimiter,
  type CorsPolicy,
  createChatKitHandler,
  createLocalAttachmentStore,
  createOpenAITranscriber,
  type RunRegistry,
  type ThreadStore,
} from 'streamwell/server';
import type { ServerConfig } from './config.ts';
import type { ServerMetrics } from './create-server-metrics.ts';

/** What the backend is built from. */
export interface ChatKitBackendParts {
  readonly config: ServerConfig;
  readonly registry: RunRegistry;
  readonly threads: ThreadStore;
  readonly cors: CorsPolicy;
  readonly auth: ApiKeyAuth;
  readonly log: Logger;
  readonly metrics: ServerMetrics;
  /** The server's connection caps, shared with the stream endpoints. */
  readonly connections: ConnectionLimiter;
}

/** The path of the ChatKit endpoint. */
export const CHATKIT_PATH = '/chatkit';

/** Where dictation goes: the OpenAI-compatible server of `LLM_BASE_URL`, else OpenAI. */
function transcriberOf(config: ServerConfig) {
  if (config.transcribeModel === undefined) return undefined;
  const local = config.llmBaseUrl !== undefined;
  return createOpenAITranscriber({
    baseUrl: local ? (config.llmBaseUrl as string) : (config.openaiBaseUrl ?? 'https://api.openai.com/v1'),
    apiKey: local ? config.llmApiKey : config.openaiApiKey,
    model: config.transcribeModel,
  });
}

/**
 * Creates the ChatKit backend.
 *
 * @param parts - config, registry, store, CORS, auth, log and metrics
 * @returns the handler (mounted by chatkit-routes.ts and the server factory)
 */
export function createChatKitBackend(parts: ChatKitBackendParts): ChatKitHandler {
  const { config, log, metrics } = parts;
  const debug = log.isLevelEnabled('debug');
  const transcribe = transcriberOf(config);
  return createChatKitHandler({
    registry: parts.registry,
    threads: parts.threads,
    path: CHATKIT_PATH,
    cors: parts.cors,
    auth: parts.auth,
    heartbeatMs: config.heartbeatMs,
    maxBodyBytes: config.maxBodyBytes,
    maxMessageChars: config.maxMessageChars,
    connections: parts.connections,
    checkpointEvery: config.checkpointEvery,
    attachments: createLocalAttachmentStore({
      directory: path.resolve(config.chatkitAttachmentsDir),
      baseUrl: CHATKIT_PATH,
    }),
    ...(transcribe === undefined ? {} : { transcribe }),
    onRequestError(error) {
      metrics.refused(error.code);
      // `not_implemented` (501: dictation, widget actions or attachments not set up) is this
      // server's answer to a request any client may send, not a failure: logged as a refusal.
      if ((error.status ?? 500) >= 500 && error.code !== 'not_implemented')
        log.error({ err: error.cause ?? error, endpoint: CHATKIT_PATH }, 'chatkit request failed');
      else if (debug) log.debug({ code: error.code, endpoint: CHATKIT_PATH }, 'chatkit request refused');
    },
    onRunStart(run) {
      if (debug)
        log.debug({ streamId: run.id, threadId: run.threadId, endpoint: CHATKIT_PATH }, 'chatkit reply started');
    },
    onResponse(info) {
      metrics.streamClosed(info.reason);
      if (debug) log.debug({ ...info, endpoint: CHATKIT_PATH }, 'chatkit response ended');
    },
    onError(error) {
      log.error({ err: error, endpoint: CHATKIT_PATH }, 'chatkit response failed');
    },
  });
}
