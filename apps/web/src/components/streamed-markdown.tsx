/**
 * Markdown that stays smooth while it streams: finished blocks are parsed once and memoized, only
 * the open tail block is parsed again on each frame, and an unclosed code fence in the tail is
 * rendered as plain text (React escapes it) so a long code block costs no parsing at all.
 *
 * While the reply can still grow, the tail is completed for display (`completePartialMarkdown`):
 * an open code span, emphasis, strikethrough or link renders as it will once closed, and a marker
 * with nothing after it yet is hidden, so no raw syntax shows and nothing jumps when it closes.
 *
 * @module
 */
import { memo, useMemo, useState } from 'react';
import { completePartialMarkdown } from '../markdown/complete-partial-markdown.ts';
import { createBlockSplitter } from '../markdown/create-block-splitter.ts';
import { renderMarkdown } from '../markdown/render-markdown.ts';

/** Blocks per memoized group: keeps each frame's reconciliation small on very long replies. */
const GROUP_SIZE = 32;

const MarkdownBlock = memo(function MarkdownBlock({ markdown }: { markdown: string }) {
  const html = useMemo(() => renderMarkdown(markdown), [markdown]);
  // biome-ignore lint/security/noDangerouslySetInnerHtml: renderMarkdown sanitizes with DOMPurify.
  return <div className="md-block" dangerouslySetInnerHTML={{ __html: html }} />;
});

interface GroupProps {
  /** The splitter's block array; it only grows while the reply grows, and is replaced on restart. */
  readonly blocks: readonly string[];
  readonly start: number;
  readonly end: number;
}

const BlockGroup = memo(function BlockGroup({ blocks, start, end }: GroupProps) {
  const items = [];
  for (let index = start; index < end; index += 1) {
    items.push(<MarkdownBlock key={index} markdown={blocks[index] ?? ''} />);
  }
  return <>{items}</>;
});

function OpenFence({ head, fence }: { head: string; fence: string }) {
  const newline = fence.indexOf('\n');
  const info = (newline === -1 ? fence : fence.slice(0, newline)).replace(/^\s*[`~]+/, '').trim();
  const language = info.split(/\s/)[0] ?? '';
  const code = newline === -1 ? '' : fence.slice(newline + 1);
  return (
    <>
      {head.trim() === '' ? null : <MarkdownBlock markdown={head} />}
      <div className="md-block">
        <pre>
          <code className={language === '' ? undefined : `language-${language}`}>{code}</code>
        </pre>
      </div>
    </>
  );
}

/** Props of {@link StreamedMarkdown}. */
export interface StreamedMarkdownProps {
  /** The whole reply so far (append-only while it streams). */
  readonly text: string;
  /**
   * True while the text may end in the middle of a construct: it is streaming, or it was cut
   * (stopped, failed). Its last block is then completed for display. @defaultValue false
   */
  readonly incomplete?: boolean;
}

/**
 * Renders a growing markdown reply, safely (sanitized) and in time linear in its length.
 *
 * @param props - the text
 * @returns the rendered markdown
 */
export function StreamedMarkdown({ text, incomplete = false }: StreamedMarkdownProps) {
  const [splitter] = useState(createBlockSplitter);
  const { stable, tail, openFenceAt } = splitter.update(text);
  // Finished blocks are final as written, and so is text before an open fence (no inline construct
  // spans into a fence): only a tail without an open fence can end mid-construct.
  const head =
    openFenceAt !== undefined ? tail.slice(0, openFenceAt) : incomplete ? completePartialMarkdown(tail) : tail;
  const groups = [];
  for (let start = 0; start < stable.length; start += GROUP_SIZE) {
    groups.push(
      <BlockGroup key={start} blocks={stable} start={start} end={Math.min(start + GROUP_SIZE, stable.length)} />,
    );
  }
  return (
    <div className="markdown">
      {groups}
      {openFenceAt !== undefined ? (
        <OpenFence head={head} fence={tail.slice(openFenceAt)} />
      ) : head.trim() === '' ? null : (
        <MarkdownBlock markdown={head} />
      )}
    </div>
  );
}
