/**
 * Markdown replies for the e2e suite, cut into word-sized tokens like a real model's deltas.
 *
 * @module
 */

/** Splits text into tokens that keep their leading whitespace (as the demo model does). */
export const toTokens = (text: string): string[] => text.match(/\s*\S+|\s+/g) ?? [];

/** A short, realistic reply with a heading, a list, code and a table. */
export const SHOWCASE_REPLY = `## Why streamed replies break

Most dropped streams come from a proxy that **buffers** the response or closes an idle connection. streamwell numbers every event, so the page resumes from the last id it saw instead of asking the model again.

1. Send \`X-Accel-Buffering: no\` and \`Cache-Control: no-cache\`.
2. Keep the connection warm with a heartbeat every 15 s.
3. Resume with \`Last-Event-ID\`: no second model call.

\`\`\`ts
const { response, startStream, stopStream } = useStreamingResponse();
startStream('Explain SSE resumption');
\`\`\`

| Layer | Default idle timeout | Fix |
| --- | --- | --- |
| nginx | 60 s | \`proxy_read_timeout 1h\` |
| load balancer | 60 s | heartbeat |
| browser | none | — |

Press **Stop** at any time: the run is cancelled on the server, and the text so far stays on screen.`;

/**
 * A long markdown reply of `sections` sections (heading, paragraph, list, code block) — about
 * 100 tokens per section.
 *
 * @param sections - how many sections
 * @returns the reply text
 */
export function longMarkdownReply(sections: number): string {
  const parts: string[] = [];
  for (let index = 1; index <= sections; index += 1) {
    parts.push(
      `## Section ${index}`,
      `${'Every token arrives in order and is rendered once its block is complete, so long replies stay smooth. '.repeat(4).trim()} (part ${index})`,
      `- first point of ${index}\n- second point of ${index}\n- third point with \`code ${index}\``,
      `\`\`\`ts\nconst section = ${index};\nconsole.log(section * 2);\n\`\`\``,
    );
  }
  return parts.join('\n\n');
}
