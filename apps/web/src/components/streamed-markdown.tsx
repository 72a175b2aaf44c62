/**
 * Markdown that stays smooth while it streams: finished blocks are parsed once and memoized, only
 * the open tail block is parsed again on each frame, and an unclosed code fence in the tail is
 * rendered as plain text (React escapes it) so a long code block costs no parsing at all.
 *
 * @module
 */
import { memo, useMemo, useState } from 'react';
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
}

/**
 * Renders a growing markdown reply, safely (sanitized) and in time linear in its length.
 *
 * @param props - the text
 * @returns the rendered markdown
 */
export function StreamedMarkdown({ text }: StreamedMarkdownProps) {
  const [splitter] = useState(createBlockSplitter);
  const { stable, tail, openFenceAt } = splitter.update(text);
  const groups = [];
  for (let start = 0; start < stable.length; start += GROUP_SIZE) {
    groups.push(
      <BlockGroup key={start} blocks={stable} start={start} end={Math.min(start + GROUP_SIZE, stable.length)} />,
    );
  }
  return (
    <div className="markdown">
      {groups}
      {tail.trim() === '' ? null : openFenceAt === undefined ? (
        <MarkdownBlock markdown={tail} />
      ) : (
        <OpenFence head={tail.slice(0, openFenceAt)} fence={tail.slice(openFenceAt)} />
      )}
    </div>
  );
}
