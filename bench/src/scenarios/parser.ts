/**
 * Client parser throughput (see `parser/parser-bench.ts`), in a child pinned to the gateway
 * core so the numbers do not share a core with anything else.
 *
 * @module
 */
import { startChild } from '../lib/child.ts';
import { heading, info } from '../lib/log.ts';
import type { ParserRow } from '../parser/parser-bench.ts';
import type { BenchContext } from './context.ts';

/** Result: shape → parser → row, plus the linearity ratio under 1-byte chunks. */
export interface ParserResult {
  readonly shapes: Record<string, Record<string, ParserRow>>;
  /** Per parser: events/s with 10× the events in 1-byte chunks ÷ events/s at 1× (1.0 = linear). */
  readonly linearity: Record<string, number>;
}

/** Runs the parser microbenchmark. */
export async function runParser(context: BenchContext): Promise<ParserResult> {
  heading('client parser throughput (in process)');
  const child = await startChild({
    name: 'parser-bench',
    script: 'bench/src/parser/parser-bench.ts',
    core: context.options.gatewayCore,
  });
  try {
    const shapes = await child.request<Record<string, Record<string, ParserRow>>>({
      type: 'parser',
      quick: context.options.quick,
    });
    const linearity: Record<string, number> = {};
    for (const name of Object.keys(shapes['1-byte chunks'] ?? {})) {
      const small = shapes['1-byte chunks']?.[name]?.eventsPerSecond ?? Number.NaN;
      const large = shapes['1-byte chunks ×10 events']?.[name]?.eventsPerSecond ?? Number.NaN;
      linearity[name] = Math.round((large / small) * 100) / 100;
    }
    for (const [shape, row] of Object.entries(shapes)) {
      for (const [name, result] of Object.entries(row)) {
        if (!result.correct) {
          context.integrity.errors += 1;
          context.integrity.notes.push(`parser ${name} on ${shape}: wrong event count ${result.events}`);
        }
      }
      info(
        `  ${shape}: ${Object.entries(row)
          .map(
            ([name, result]) =>
              `${name} ${(result.eventsPerSecond / 1e6).toFixed(2)}M ev/s ${result.megabytesPerSecond} MB/s`,
          )
          .join(', ')}`,
      );
    }
    return { shapes, linearity };
  } finally {
    await child.stop();
  }
}
