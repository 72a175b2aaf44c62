/**
 * The deterministic micro-run that `bench/src/scenarios/instructions.ts` runs under callgrind:
 * the library's whole per-stream and per-token path, in one process, without sockets or timers.
 *
 * Plain JavaScript on the built package (`packages/streamwell/dist`), so that nothing compiles at
 * start-up (tsx would). Each stream goes through the HTTP core (`createStreamHandler` → start
 * request → registry → run) and the OpenAI-compatible provider's batch path with a stand-in
 * undici dispatcher that hands it pre-built Chat Completions SSE chunks, one per `setImmediate`
 * (one upstream read per token, as at speed); the run's frames reach an SSE connection whose sink
 * only counts bytes. What is left out is the kernel and Node's HTTP and undici's parser, which
 * callgrind would count but which do not repeat (timing decides how bytes group into reads).
 *
 * Usage: `node --single-threaded bench/src/instructions/core-loop.mjs <streams> <tokens>`
 * (prints the bytes written, to check that every frame arrived).
 */
import {
  createOpenAICompatibleProvider,
  createRunRegistry,
  createStreamHandler,
} from '../../../packages/streamwell/dist/server/index.js';

const streams = Number(process.argv[2] ?? 100);
const tokens = Number(process.argv[3] ?? 30);

/** The mock's chunk shape, with the bench's sequence marker as the text. */
function chunk(text) {
  return Buffer.from(
    `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}},"finish_reason":null}]}\n\n`,
  );
}
/** A whole upstream body of `count` tokens, as the mock sends it. */
function replyBody(count) {
  return [
    Buffer.from(
      'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n',
    ),
    ...Array.from({ length: count }, (_, index) => chunk(` ~${index}:${1_000_000_000 + index}~`)),
    Buffer.from(
      'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
    ),
  ];
}
// The warm-up always relays the same 120-token replies: every run starts its measured loop from
// the same heap (its retained runs are part of what the final collection walks), and every path
// the loop takes (checkpoints come every 50 tokens) is compiled before counting starts.
const warmupBody = replyBody(120);
const measuredBody = replyBody(tokens);
let body = warmupBody;

/** Stands in for undici's Agent: answers every dispatch with `body`, one chunk per turn. */
const dispatcher = {
  dispatch(_options, handler) {
    const controller = { aborted: false, paused: false, reason: null, abort() {}, pause() {}, resume() {} };
    handler.onRequestStart?.(controller, {});
    handler.onResponseStart?.(controller, 200, { 'content-type': 'text/event-stream' }, 'OK');
    let index = 0;
    const next = () => {
      if (index < body.length) {
        handler.onResponseData?.(controller, body[index]);
        index += 1;
        setImmediate(next);
      } else {
        handler.onResponseEnd?.(controller, {});
      }
    };
    setImmediate(next);
    return true;
  },
  close: async () => {},
  destroy: async () => {},
};

const provider = createOpenAICompatibleProvider({ baseUrl: 'http://127.0.0.1:9/v1', model: 'bench', dispatcher });
const registry = createRunRegistry({ provider, maxConcurrentStreams: 1_000_000 });
const handler = createStreamHandler({ registry, heartbeatMs: 0 });
const requestBody = new TextEncoder().encode(JSON.stringify({ message: 'bench n=60 rate=30' }));
const headers = {
  'content-type': 'application/json',
  'content-length': String(requestBody.length),
  host: '127.0.0.1:8000',
};
const request = {
  method: 'POST',
  url: '/api/stream/message',
  header: (name) => headers[name],
  readBody: async () => requestBody,
};

let written = 0;
/** One stream through the core, to its end. */
async function relay() {
  const reply = await handler.handle(request);
  if (reply?.type !== 'stream') throw new Error(`unexpected reply ${JSON.stringify(reply)}`);
  let end;
  const ended = new Promise((resolve) => {
    end = resolve;
  });
  reply.open({
    write(text) {
      written += text.length;
      return true;
    },
    bufferedBytes: 0,
    end,
  });
  await ended;
}

// Warm-up: the hot functions reach their optimized tier before anything is counted, and a full
// collection (with `--expose-gc`) starts the measured loop from the same heap every time.
for (let index = 0; index < Number(process.env.WARMUP_STREAMS ?? 200); index += 1) await relay();
globalThis.gc?.();
// The full collection drops optimized code that holds weak references (`--trace-deopt`: ten hot
// functions, "weak objects"), and without more warm-up they were compiled again inside the counted
// window: ~45 % of its instructions were TurboFan, which made the figure reward changes that only
// compile less (docs/benchmarks.md, finding 15). A second warm-up after it recompiles them first.
for (let index = 0; index < Number(process.env.REWARM_STREAMS ?? 100); index += 1) await relay();
written = 0;
body = measuredBody;

// With `--wait`, say "ready" and wait for a line on stdin before the loop: the caller switches
// callgrind's instrumentation on in between, so that start-up is not counted.
if (process.argv.includes('--wait')) {
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.pause();
}

for (let index = 0; index < streams; index += 1) await relay();
// A full collection inside the measured part: the loop's garbage is paid for in every run, not
// by whichever run happens to cross the heap limit (that made the counts depend on loop sizes).
globalThis.gc?.();
registry.close();
await provider.close();
process.stdout.write(`done ${written}\n`);
// Under `--wait` the caller reads the counters now, then ends the process.
if (process.argv.includes('--wait')) await new Promise((resolve) => process.stdin.once('data', resolve));
