/**
 * Instructions per relayed token under callgrind: the one deterministic number of the report.
 *
 * @module
 */
import { table } from './markdown.ts';
import type { ReportContext } from './report-context.ts';

/** Renders the `instructions` scenario (nothing when callgrind was unavailable). */
export function renderInstructions({ scenarios }: ReportContext): string[] {
  const instructions = scenarios.instructions;
  if (instructions?.available !== true) return [];
  return [
    '## Instructions per relayed token (callgrind)',
    '',
    'The library’s whole per-stream and per-token path — HTTP core, registry and run, the OpenAI-compatible ' +
      'provider’s batch path behind a stand-in undici dispatcher that hands it real Chat Completions chunks one per ' +
      'event-loop turn, and the SSE connection — in a loop (`bench/src/instructions/core-loop.mjs`, on the built ' +
      'package) under `valgrind --tool=callgrind`, with V8 made repeatable (`--predictable`, fixed seeds). Start-up ' +
      'and 200 warm-up streams run uninstrumented; `callgrind_control` counts the measured loop only, which ends ' +
      'with a full collection so that its garbage is paid for in the count. Sockets, Node’s HTTP and the kernel ' +
      'are not counted ' +
      '(how bytes group into reads depends on timing). Repeat runs agree within ~1.5 %: CI compares with ' +
      '`bench/callgrind-baseline.json` and fails on more than 5 % growth.',
    '',
    table(
      ['streams × tokens', 'instructions (measured loop)', 'seconds under callgrind'],
      instructions.runs.map((run) => [
        `${run.streams} × ${run.tokensPerStream}`,
        run.instructions.toLocaleString('en-US'),
        run.seconds.toFixed(1),
      ]),
    ),
    '',
    `Per relayed token of a 60-token reply (its share of per-stream work and collections included): ` +
      `**${Math.round(instructions.perTokenAt60 ?? 0).toLocaleString('en-US')}** instructions` +
      (instructions.ratioToBaseline === undefined
        ? ' (no committed baseline for this Node version).'
        : ` (${instructions.ratioToBaseline}× the baseline of ${instructions.baseline?.commit}).`),
    '',
  ];
}
