/**
 * `streamwell/server`: runs, the run registry, providers and the HTTP and WebSocket adapters.
 *
 * Named exports only: what is not listed here is internal, even where its module exports it.
 * The wire protocol's values (headers, encoders, the SSE parser) are in `streamwell/protocol`;
 * its types are re-exported here because the server's signatures use them.
 *
 * @module
 */
export {
  isStreamwellError,
  StreamwellError,
  type StreamwellErrorCode,
  type StreamwellErrorOptions,
} from '../errors/index.ts';
export type {
  CheckpointData,
  DoneData,
  ErrorData,
  EventDataMap,
  FinishReason,
  HandoffData,
  StartData,
  StreamErrorCode,
  StreamEvent,
  StreamEventInput,
  StreamEventName,
  TokenData,
  ToolCallData,
  ToolResultData,
} from '../protocol/index.ts';
export { type ChatRunIndex, createMemoryChatRunIndex, type MemoryChatRunIndexOptions } from './chat-run-index.ts';
export type {
  ChatKitActionHandler,
  ChatKitActionRequest,
  ChatKitAttachmentStore,
  ChatKitFeedbackHandler,
  ChatKitRequestContext,
  ChatKitRespond,
  ChatKitRespondRequest,
  ChatKitStreamRequest,
  ChatKitSyncActionHandler,
  ChatKitTitler,
  ChatKitTranscriber,
} from './chatkit/chatkit-hooks.ts';
export { ChatKitStreamError, type ChatKitStreamErrorOptions } from './chatkit/chatkit-stream-error.ts';
export type {
  ChatKitAction,
  ChatKitAnnotation,
  ChatKitAssistantMessageItem,
  ChatKitAttachment,
  ChatKitClientToolCallItem,
  ChatKitEvent,
  ChatKitHiddenContextItem,
  ChatKitInferenceOptions,
  ChatKitItemUpdate,
  ChatKitOtherItem,
  ChatKitOutputText,
  ChatKitPage,
  ChatKitRequestType,
  ChatKitStructuredInputItem,
  ChatKitThread,
  ChatKitThreadItem,
  ChatKitThreadMetadata,
  ChatKitThreadStatus,
  ChatKitUploadDescriptor,
  ChatKitUserContent,
  ChatKitUserMessageItem,
} from './chatkit/chatkit-types.ts';
export {
  type ChatKitHandler,
  type ChatKitHandlerOptions,
  type ChatKitResponseInfo,
  createChatKitHandler,
} from './chatkit/create-chatkit-handler.ts';
export {
  type ChatKitClientSecret,
  type ChatKitSessionOptions,
  createChatKitSession,
} from './chatkit/create-chatkit-session.ts';
export { type ChatKitItemPage, type ChatKitStore, createChatKitStore } from './chatkit/create-chatkit-store.ts';
export {
  createLocalAttachmentStore,
  type LocalAttachmentStoreOptions,
} from './chatkit/create-local-attachment-store.ts';
export { createOpenAITranscriber, type OpenAITranscriberOptions } from './chatkit/create-openai-transcriber.ts';
export {
  type Conversations,
  type ConversationsOptions,
  createConversations,
  messageStatusOf,
} from './create-conversations.ts';
export {
  type ApiKey,
  type ApiKeyAuth,
  createApiKeyAuth,
  parseApiKeys,
  readBearerToken,
} from './http/create-api-key-auth.ts';
export {
  CHAT_HANDLER_DEFAULTS,
  type ChatHandler,
  type ChatHandlerOptions,
  createChatHandler,
} from './http/create-chat-handler.ts';
export {
  type ConnectionKind,
  type ConnectionLimiter,
  type ConnectionLimiterOptions,
  type ConnectionSlot,
  createConnectionLimiter,
} from './http/create-connection-limiter.ts';
export {
  type CorsOptions,
  type CorsPolicy,
  createCorsPolicy,
  createOriginNotAllowedError,
  normalizeOrigin,
} from './http/create-cors-policy.ts';
export {
  createHostAllowlist,
  createHostNotAllowedError,
  type HostAllowlist,
  type HostAllowlistOptions,
  isLoopbackHost,
} from './http/create-host-allowlist.ts';
export {
  createStreamHandler,
  errorReply,
  type StreamEndpoint,
  type StreamHandler,
  type StreamHandlerOptions,
  type StreamOpenInfo,
} from './http/create-stream-handler.ts';
export { handleNodeRequest, writeNodeReply } from './http/handle-node-request.ts';
export { handleWebRequest, type WebRequestOptions } from './http/handle-web-request.ts';
export type {
  HttpBodyReply,
  HttpHandler,
  HttpHeaders,
  HttpReply,
  HttpRequestLike,
  SseSink,
  SseStreamHandle,
  SseStreamReply,
} from './http/http-types.ts';
export { type ChatRequestBody, type ChatTrigger, parseChatBody } from './http/parse-chat-request.ts';
export type { StartBodyLimits } from './http/parse-start-request.ts';
export type { SseCloseReason } from './http/sse-response-writer.ts';
export { STREAMWELL_SSE_FORMAT, type StreamFormat } from './http/stream-format.ts';
export {
  encodeUiMessageChunks,
  UI_MESSAGE_STREAM_FORMAT,
  UI_MESSAGE_STREAM_HEADER,
} from './http/ui-message-stream-format.ts';
export { createMemoryRunEventLog } from './memory-run-event-log.ts';
export type { ChatMessage, Provider, ProviderEvent, ProviderRequest, ProviderSelfTestStep } from './provider.ts';
export { checkStreamedRoundTrip } from './providers/check-streamed-round-trip.ts';
export {
  type AgentFactory,
  type AgentsModule,
  type AgentsProvider,
  type AgentsProviderOptions,
  createAgentsProvider,
} from './providers/create-agents-provider.ts';
export { createDemoProvider, type DemoProviderOptions } from './providers/create-demo-provider.ts';
export {
  createOpenAICompatibleProvider,
  type OpenAICompatibleProvider,
  type OpenAICompatibleProviderOptions,
} from './providers/create-openai-compatible-provider.ts';
export {
  createProviderFromConfig,
  type ProviderConfig,
  type ProviderKind,
} from './providers/create-provider-from-config.ts';
export {
  createSseUpstreamProvider,
  type SseUpstreamProvider,
  type SseUpstreamProviderOptions,
} from './providers/create-sse-upstream-provider.ts';
export { createUpstreamError, type UpstreamFailure } from './providers/create-upstream-error.ts';
export { parseUpstreamHeaders } from './providers/parse-upstream-headers.ts';
export type { UpstreamHttpOptions } from './providers/upstream-batch-handler.ts';
export {
  chatRunKey,
  createRedisChatRunIndex,
  type RedisChatRunIndexOptions,
} from './redis/create-redis-chat-run-index.ts';
export {
  createRedisRunRegistry,
  type RedisRunRegistry,
  type RedisRunRegistryOptions,
  RemoteRun,
} from './redis/create-redis-run-registry.ts';
export {
  createRedisRunStore,
  PRODUCER_LOST_MESSAGE,
  type RedisRunStore,
  type RedisRunStoreOptions,
  type RemoteRunSnapshot,
  type ReplicaFailure,
  redactRedisUrl,
} from './redis/create-redis-run-store.ts';
export type { RetentionCounter, Run, RunLimits, RunObserver, RunStatus, RunSummary } from './run.ts';
export {
  type RunAttachment,
  type RunEvent,
  RunEventBatch,
  type RunEventEncoder,
  type RunEventLog,
  type RunLogReplica,
  type RunLogSummary,
  type RunSubscriber,
} from './run-event-log.ts';
export type { RunHandle } from './run-handle.ts';
export {
  createRunRegistry,
  type LocalRunRegistry,
  type RegistryObserver,
  type RunIdentity,
  type RunRegistry,
  type RunRegistryOptions,
  type StartRequest,
  type StartResult,
} from './run-registry.ts';
// The synchronous in-memory history store the run registry uses when no durable store is given;
// `ThreadStore` names the async port of ./threads.
export { createThreadStore, type ThreadStoreOptions } from './thread-store.ts';
export { createMemoryThreadStore, type MemoryThreadStoreOptions } from './threads/create-memory-thread-store.ts';
export { createSqlThreadStore, type SqlThreadStoreOptions } from './threads/create-sql-thread-store.ts';
export {
  createThreadRecorder,
  type RecorderWrite,
  type ThreadRecorder,
  type ThreadRecorderOptions,
} from './threads/create-thread-recorder.ts';
export { migrateThreadStore } from './threads/migrate-thread-store.ts';
export {
  type DatabaseTarget,
  DEFAULT_SQLITE_PATH,
  describeDatabase,
  parseDatabaseUrl,
} from './threads/parse-database-url.ts';
export {
  type AttachmentInput,
  type AttachmentRecord,
  type BeginTurn,
  type BeginTurnRequest,
  type GetThreadOptions,
  ITEM_STATUSES,
  type ItemKind,
  type ItemPage,
  type ItemRole,
  type ItemStatus,
  type JsonObject,
  type JsonValue,
  type ListThreadsOptions,
  type LoadItemsOptions,
  type SaveThreadRequest,
  type StreamingMessage,
  type ThreadItem,
  type ThreadItemInput,
  type ThreadPage,
  type ThreadRecord,
  type ThreadStore,
  type ThreadStoreCommonOptions,
  type ThreadSummary,
  type ThreadWithMessages,
  type UpdateMessageRequest,
} from './threads/thread-store.ts';
export {
  markUpstreamRetryable,
  type UpstreamRetry,
  type UpstreamRetryHint,
  type UpstreamRetryReason,
} from './upstream-retry.ts';
export type { WebSocketData, WebSocketSession, WebSocketSessionOptions } from './ws/create-websocket-session.ts';
export { serveWebSocket } from './ws/serve-websocket.ts';
export { readWebSocketCredential, selectWebSocketProtocol, type UpgradeHeaders } from './ws/websocket-credentials.ts';
export type { EventedWebSocketLike, WebSocketLike } from './ws/websocket-like.ts';
