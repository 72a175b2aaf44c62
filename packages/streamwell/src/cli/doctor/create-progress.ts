/**
 * Progress on stderr while the doctor waits: a spinner status line on a TTY, plain lines
 * otherwise (logs and CI), nothing when quiet.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { DoctorProgress } from './run-doctor.ts';

/** A progress reporter that can be stopped (clears the spinner line). */
export interface Progress extends DoctorProgress {
  stop(): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Creates the progress reporter.
 *
 * @param stream - stderr (or any writable with `isTTY`)
 * @param options - `quiet` silences it; `color` allows the spinner's dim style
 * @returns the reporter
 */
export function createProgress(
  stream: { isTTY?: boolean; write(text: string): unknown },
  options: { quiet?: boolean } = {},
): Progress {
  if (options.quiet === true) return { stage() {}, event() {}, stop() {} };
  if (stream.isTTY !== true) {
    return {
      stage(text) {
        stream.write(`doctor: ${text}\n`);
      },
      stop() {},
    };
  }
  let stage = '';
  let stageAt = performance.now();
  let detail = '';
  let frame = 0;
  const draw = (): void => {
    frame = (frame + 1) % FRAMES.length;
    const seconds = ((performance.now() - stageAt) / 1000).toFixed(1);
    // One line only: a status line that wraps cannot be cleared with a carriage return.
    const columns = (stream as { columns?: number }).columns ?? 80;
    const line = `${FRAMES[frame]} ${stage} ${detail} (${seconds} s)`;
    stream.write(`\r\u001b[2K${columns >= 20 && line.length >= columns ? `${line.slice(0, columns - 2)}…` : line}`);
  };
  const timer = setInterval(draw, 100);
  timer.unref();
  return {
    stage(text) {
      stage = text;
      stageAt = performance.now();
      detail = '';
      draw();
    },
    event(count, tokens) {
      detail = tokens > 0 ? `— ${count} events, ${tokens} tokens` : `— ${count} events, waiting for the first token`;
    },
    stop() {
      clearInterval(timer);
      stream.write('\r\u001b[2K');
    },
  };
}
