/**
 * The published surface of `streamwell`, read from the built package exactly as a user gets it:
 * each subpath of the `exports` map is imported by a plain Node process (no `source` condition,
 * so `dist/`), and its declaration file is read by the TypeScript checker. The lists below are
 * the snapshot: a name that appears in (or leaves) an entry point fails this test until the list
 * is changed on purpose. Needs the library built (`npm run build:lib`; `npm install` and CI do it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkgDir = `${root}packages/streamwell/`;

interface ExportTarget {
  readonly types: string;
  readonly default: string;
}
const manifest = JSON.parse(readFileSync(`${pkgDir}package.json`, 'utf8')) as {
  exports: Record<string, ExportTarget | string>;
};

/** Runtime names of each entry point (the values a user can import). */
const RUNTIME_NAMES: Record<string, readonly string[]> = {
  './protocol': [
    'PROTOCOL_HEADER',
    'PROTOCOL_VERSION',
    'SSE_HEADERS',
    'STREAM_EVENT_NAMES',
    'STREAM_ID_HEADER',
    'WEBSOCKET_BEARER_PREFIX',
    'WEBSOCKET_PROTOCOL',
    'createSseByteParser',
    'createSseParser',
    'createSseParserStream',
    'encodeBearerProtocol',
    'encodeSseComment',
    'encodeSseEvent',
    'encodeSseFrame',
    'encodeSseRetry',
    'isStreamEvent',
    'isTerminalEventName',
    'parseSseStream',
  ],
  './server': [
    'StreamwellError',
    'checkStreamedRoundTrip',
    'createAgentsProvider',
    'createApiKeyAuth',
    'createConnectionLimiter',
    'createCorsPolicy',
    'createDemoProvider',
    'createOpenAICompatibleProvider',
    'createOriginNotAllowedError',
    'createHostAllowlist',
    'createHostNotAllowedError',
    'isLoopbackHost',
    'createProviderFromConfig',
    'createRunRegistry',
    'createStreamHandler',
    'createThreadStore',
    'createUpstreamError',
    'errorReply',
    'handleNodeRequest',
    'handleWebRequest',
    'isStreamwellError',
    'markUpstreamRetryable',
    'normalizeOrigin',
    'parseApiKeys',
    'readWebSocketCredential',
    'selectWebSocketProtocol',
    'serveWebSocket',
    'writeNodeReply',
    'PRODUCER_LOST_MESSAGE',
    'RemoteRun',
    'RunEventBatch',
    'createMemoryRunEventLog',
    'createRedisRunRegistry',
    'createRedisRunStore',
    'redactRedisUrl',
    'createSseUpstreamProvider',
    'parseUpstreamHeaders',
    'DEFAULT_SQLITE_PATH',
    'ITEM_STATUSES',
    'createMemoryThreadStore',
    'createSqlThreadStore',
    'createThreadRecorder',
    'describeDatabase',
    'migrateThreadStore',
    'parseDatabaseUrl',
    'readBearerToken',
    'CHAT_HANDLER_DEFAULTS',
    'STREAMWELL_SSE_FORMAT',
    'UI_MESSAGE_STREAM_FORMAT',
    'UI_MESSAGE_STREAM_HEADER',
    'chatRunKey',
    'createChatHandler',
    'createConversations',
    'createMemoryChatRunIndex',
    'createRedisChatRunIndex',
    'encodeUiMessageChunks',
    'messageStatusOf',
    'parseChatBody',
    'ChatKitStreamError',
    'createChatKitHandler',
    'createChatKitSession',
    'createChatKitStore',
    'createLocalAttachmentStore',
    'createOpenAITranscriber',
  ],
  './client': [
    'EMPTY_CLIENT_METRICS',
    'StreamHttpError',
    'StreamwellError',
    'createClientMetrics',
    'createSseByteParser',
    'createSseParser',
    'createSseParserStream',
    'createSseTransport',
    'createStreamClient',
    'createStreamStore',
    'createWsTransport',
    'diagnoseEndpoint',
    'isStreamwellError',
    'parseSseStream',
    'streamMessage',
    'streamSseEvents',
    'createBackoff',
    'createChatFetch',
    'trackChatStream',
  ],
  './react': ['useStreamingResponse'],
};

/** Type-only names of each entry point (interfaces, type aliases, classes exported as types). */
const TYPE_NAMES: Record<string, readonly string[]> = {
  './protocol': [
    'CheckpointData',
    'DoneData',
    'ErrorData',
    'EventDataMap',
    'FinishReason',
    'HandoffData',
    'SseByteParser',
    'SseEvent',
    'SseParser',
    'SseParserOptions',
    'SseSource',
    'SseStreamOptions',
    'StartData',
    'StreamErrorCode',
    'StreamEvent',
    'StreamEventInput',
    'StreamEventName',
    'TokenData',
    'ToolCallData',
    'ToolResultData',
  ],
  './server': [
    'AgentFactory',
    'AgentsModule',
    'AgentsProvider',
    'AgentsProviderOptions',
    'ApiKey',
    'ApiKeyAuth',
    'ChatMessage',
    'CheckpointData',
    'ConnectionKind',
    'ConnectionLimiter',
    'ConnectionLimiterOptions',
    'ConnectionSlot',
    'CorsOptions',
    'CorsPolicy',
    'DemoProviderOptions',
    'DoneData',
    'ErrorData',
    'EventDataMap',
    'EventedWebSocketLike',
    'FinishReason',
    'HandoffData',
    'HostAllowlist',
    'HostAllowlistOptions',
    'HttpBodyReply',
    'HttpHeaders',
    'HttpReply',
    'HttpRequestLike',
    'OpenAICompatibleProvider',
    'OpenAICompatibleProviderOptions',
    'Provider',
    'ProviderConfig',
    'ProviderEvent',
    'ProviderKind',
    'ProviderRequest',
    'ProviderSelfTestStep',
    'RegistryObserver',
    'RetentionCounter',
    'Run',
    'RunAttachment',
    'RunEvent',
    'RunLimits',
    'RunObserver',
    'RunRegistry',
    'RunRegistryOptions',
    'RunStatus',
    'RunSubscriber',
    'RunSummary',
    'SseCloseReason',
    'SseSink',
    'SseStreamHandle',
    'SseStreamReply',
    'StartData',
    'StartRequest',
    'StartResult',
    'StreamEndpoint',
    'StreamErrorCode',
    'StreamEvent',
    'StreamEventInput',
    'StreamEventName',
    'StreamHandler',
    'StreamHandlerOptions',
    'StreamOpenInfo',
    'StreamwellErrorCode',
    'StreamwellErrorOptions',
    'ThreadStore',
    'ThreadStoreOptions',
    'TokenData',
    'ToolCallData',
    'ToolResultData',
    'UpgradeHeaders',
    'UpstreamFailure',
    'UpstreamRetry',
    'UpstreamRetryHint',
    'UpstreamRetryReason',
    'WebRequestOptions',
    'WebSocketData',
    'WebSocketLike',
    'WebSocketSession',
    'WebSocketSessionOptions',
    'LocalRunRegistry',
    'RedisRunRegistry',
    'RedisRunRegistryOptions',
    'RedisRunStore',
    'RedisRunStoreOptions',
    'RemoteRunSnapshot',
    'ReplicaFailure',
    'RunEventEncoder',
    'RunEventLog',
    'RunHandle',
    'RunIdentity',
    'RunLogReplica',
    'RunLogSummary',
    'SseUpstreamProvider',
    'SseUpstreamProviderOptions',
    'UpstreamHttpOptions',
    'AttachmentInput',
    'AttachmentRecord',
    'BeginTurn',
    'BeginTurnRequest',
    'DatabaseTarget',
    'GetThreadOptions',
    'ItemKind',
    'ItemPage',
    'ItemRole',
    'ItemStatus',
    'JsonObject',
    'JsonValue',
    'ListThreadsOptions',
    'LoadItemsOptions',
    'MemoryThreadStoreOptions',
    'RecorderWrite',
    'SaveThreadRequest',
    'SqlThreadStoreOptions',
    'StreamingMessage',
    'ThreadItem',
    'ThreadItemInput',
    'ThreadPage',
    'ThreadRecord',
    'ThreadRecorder',
    'ThreadRecorderOptions',
    'ThreadStoreCommonOptions',
    'ThreadSummary',
    'ThreadWithMessages',
    'UpdateMessageRequest',
    'ChatHandler',
    'ChatHandlerOptions',
    'ChatRequestBody',
    'ChatRunIndex',
    'ChatTrigger',
    'Conversations',
    'ConversationsOptions',
    'HttpHandler',
    'MemoryChatRunIndexOptions',
    'RedisChatRunIndexOptions',
    'StartBodyLimits',
    'StreamFormat',
    'ChatKitAction',
    'ChatKitActionHandler',
    'ChatKitActionRequest',
    'ChatKitAnnotation',
    'ChatKitAssistantMessageItem',
    'ChatKitAttachment',
    'ChatKitAttachmentStore',
    'ChatKitClientSecret',
    'ChatKitClientToolCallItem',
    'ChatKitEvent',
    'ChatKitFeedbackHandler',
    'ChatKitHandler',
    'ChatKitHandlerOptions',
    'ChatKitHiddenContextItem',
    'ChatKitInferenceOptions',
    'ChatKitItemPage',
    'ChatKitItemUpdate',
    'ChatKitOtherItem',
    'ChatKitOutputText',
    'ChatKitPage',
    'ChatKitRequestContext',
    'ChatKitRequestType',
    'ChatKitRespond',
    'ChatKitRespondRequest',
    'ChatKitResponseInfo',
    'ChatKitSessionOptions',
    'ChatKitStore',
    'ChatKitStreamErrorOptions',
    'ChatKitStreamRequest',
    'ChatKitStructuredInputItem',
    'ChatKitSyncActionHandler',
    'ChatKitThread',
    'ChatKitThreadItem',
    'ChatKitThreadMetadata',
    'ChatKitThreadStatus',
    'ChatKitTitler',
    'ChatKitTranscriber',
    'ChatKitUploadDescriptor',
    'ChatKitUserContent',
    'ChatKitUserMessageItem',
    'LocalAttachmentStoreOptions',
    'OpenAITranscriberOptions',
  ],
  './client': [
    'BackoffOptions',
    'CheckResult',
    'CheckStatus',
    'CheckpointData',
    'ClientMetrics',
    'ClientMetricsOptions',
    'ClientMetricsSnapshot',
    'ClientWebSocketLike',
    'DiagnoseEndpointOptions',
    'DiagnosisReport',
    'DoneData',
    'ErrorData',
    'EventDataMap',
    'FinishReason',
    'HandoffData',
    'HeadersOption',
    'PersistedStream',
    'ReconnectInfo',
    'ResumeStreamOptions',
    'SseByteParser',
    'SseEvent',
    'SseParser',
    'SseParserOptions',
    'SseSource',
    'SseStreamOptions',
    'SseTransportOptions',
    'StartData',
    'StartStreamOptions',
    'StreamCallbacks',
    'StreamClient',
    'StreamClientOptions',
    'StreamErrorCode',
    'StreamEvent',
    'StreamEventInput',
    'StreamEventName',
    'StreamHttpErrorOptions',
    'StreamResult',
    'StreamSession',
    'StreamSnapshot',
    'StreamSseEventsOptions',
    'StreamSseEventsResult',
    'StreamStatus',
    'StreamStorage',
    'StreamStore',
    'StreamStoreOptions',
    'StreamStoreStatus',
    'StreamTransport',
    'StreamwellErrorCode',
    'StreamwellErrorOptions',
    'TokenData',
    'ToolCallData',
    'ToolResultData',
    'TransportHandlers',
    'TransportResult',
    'TransportResumeRequest',
    'TransportStartRequest',
    'WebSocketConstructorLike',
    'WsTransportOptions',
    'Backoff',
    'ChatCancelInit',
    'ChatFetch',
    'ChatFetchOptions',
    'ChatStreamProgress',
  ],
  './react': [
    'ClientMetricsSnapshot',
    'StreamEvent',
    'StreamStorage',
    'StreamStoreStatus',
    'StreamwellError',
    'UseStreamingResponseOptions',
    'UseStreamingResponseResult',
  ],
};

const subpaths = Object.keys(manifest.exports).filter((subpath) => subpath !== './package.json');

/** Imports every entry point in one plain Node process, from the repository root as a user would. */
function importBuiltEntries(): Record<string, string[]> {
  const script = `
    const subpaths = ${JSON.stringify(subpaths)};
    const out = {};
    for (const subpath of subpaths) out[subpath] = Object.keys(await import('streamwell' + subpath.slice(1))).sort();
    process.stdout.write(JSON.stringify(out));`;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  return JSON.parse(output) as Record<string, string[]>;
}

function target(subpath: string): ExportTarget {
  const entry = manifest.exports[subpath];
  if (typeof entry !== 'object') throw new Error(`exports["${subpath}"] has no types/default conditions`);
  return entry;
}

/** A program over the declaration files the `types` conditions point at. */
function declarationProgram(): ts.Program {
  return ts.createProgram(
    subpaths.map((subpath) => `${pkgDir}${target(subpath).types}`),
    {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
      types: ['node'],
      strict: true,
      noEmit: true,
      skipLibCheck: false,
    },
  );
}

function typeOnlyNames(program: ts.Program, subpath: string): string[] {
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(`${pkgDir}${target(subpath).types}`);
  const moduleSymbol = file && checker.getSymbolAtLocation(file);
  if (!moduleSymbol) throw new Error(`no declarations for ${subpath}`);
  return checker
    .getExportsOfModule(moduleSymbol)
    .filter((symbol) => {
      const resolved = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      // A class exported with `export type` is a type here even though its declaration is a value.
      const typeOnlyExport = symbol.declarations?.some((d) => ts.isTypeOnlyImportOrExportDeclaration(d)) ?? false;
      return typeOnlyExport || (resolved.flags & ts.SymbolFlags.Value) === 0;
    })
    .map((symbol) => symbol.name)
    .sort();
}

describe('the built package exports exactly the intended names', () => {
  let runtime: Record<string, string[]>;
  let program: ts.Program;

  beforeAll(() => {
    for (const subpath of subpaths) {
      const { types, default: js } = target(subpath);
      if (!existsSync(`${pkgDir}${js}`) || !existsSync(`${pkgDir}${types}`)) {
        throw new Error(`${subpath} is not built (${js}, ${types}): run npm run build:lib first`);
      }
    }
    runtime = importBuiltEntries();
    program = declarationProgram();
    // Loading the declarations pulls in the peers' types (openai, @openai/agents): seconds of CPU
    // on a busy 2-core machine, so this hook gets more than the default 30 s.
    program.getTypeChecker();
  }, 180_000);

  it('lists every subpath of the exports map in the snapshot', () => {
    expect(subpaths).toEqual(Object.keys(RUNTIME_NAMES));
  });

  it.each(Object.keys(RUNTIME_NAMES))('%s: runtime names', (subpath) => {
    expect(runtime[subpath]).toEqual([...(RUNTIME_NAMES[subpath] ?? [])].sort());
  });

  it.each(Object.keys(TYPE_NAMES))('%s: type-only names', (subpath) => {
    expect(typeOnlyNames(program, subpath)).toEqual([...(TYPE_NAMES[subpath] ?? [])].sort());
  });

  it('declaration files type-check (nothing public refers to a stripped @internal name)', () => {
    // Only the package's own declaration files: checking every dependency's types is slow.
    const ownFiles = program.getSourceFiles().filter((file) => file.fileName.startsWith(`${pkgDir}dist/`));
    expect(ownFiles.length).toBeGreaterThan(subpaths.length);
    const problems = ownFiles
      .flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)])
      .map((d) => `${d.file?.fileName.slice(pkgDir.length)}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    expect(problems).toEqual([]);
  });
});
