/**
 * Incremental splitting of a growing markdown reply into finished blocks and one open tail.
 *
 * A streamed reply only ever grows, so re-parsing the whole markdown string on every token makes a
 * long reply quadratic: at 20k tokens each frame would re-lex ~100 KB. Instead the splitter scans
 * only the text added since the last call, cuts the reply at blank lines that end a top-level block
 * (outside code fences, not followed by an indented continuation), and hands out the finished
 * blocks as stable strings that the view parses once. Only the tail is re-parsed per frame.
 *
 * @module
 */

/** The reply cut into parsed-once blocks and the still-growing tail. */
export interface BlockSplit {
  /** Finished top-level blocks, in order. The array only grows while the text grows. */
  readonly stable: readonly string[];
  /** The unfinished last block (may be empty). */
  readonly tail: string;
  /** When the tail ends inside an unclosed code fence: where that fence's opening line starts in the tail. */
  readonly openFenceAt: number | undefined;
}

/** A stateful splitter for one growing text. Feed it the whole text each time. */
export interface BlockSplitter {
  /**
   * Splits `text`. When `text` extends the previous text only the new part is scanned; any other
   * text (a new reply, a shorter text) restarts the split from scratch.
   *
   * @param text - the whole reply so far
   * @returns the finished blocks and the tail
   */
  update(text: string): BlockSplit;
  /** Characters scanned since creation: stays linear in the reply length for an append-only reply. */
  readonly scannedChars: number;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/** How many trailing characters of the previous text are compared to detect a non-append change. */
const APPEND_CHECK_CHARS = 32;

/**
 * Creates a {@link BlockSplitter}.
 *
 * @returns a splitter with empty state
 * @example
 * const splitter = createBlockSplitter();
 * splitter.update('# Title\n\nfirst para'); // stable: ['# Title\n'], tail: 'first para'
 */
export function createBlockSplitter(): BlockSplitter {
  let source = '';
  let stable: string[] = [];
  let blockStart = 0;
  let lineStart = 0;
  let fence: string | undefined;
  let fenceStart = 0;
  /** Index just after a blank line that may end the current block, decided by the next line. */
  let pendingBreak: number | undefined;
  let blockHasContent = false;
  let scannedChars = 0;

  const restart = (): void => {
    source = '';
    stable = [];
    blockStart = 0;
    lineStart = 0;
    fence = undefined;
    pendingBreak = undefined;
    blockHasContent = false;
  };

  // Comparing whole strings would itself be linear per call; the reply is append-only within a
  // stream, so a length check plus the last few characters tells an append from a new text.
  const isAppend = (text: string): boolean => {
    if (text.length < source.length) return false;
    const from = Math.max(0, source.length - APPEND_CHECK_CHARS);
    return text.startsWith(source.slice(from), from);
  };

  const scanLine = (line: string, start: number, end: number): void => {
    const fenceMatch = FENCE.exec(line);
    if (fence !== undefined) {
      // "The closing code fence must be at least as long as the opening code fence" (CommonMark 4.5).
      if (fenceMatch?.[1] !== undefined && fenceMatch[1][0] === fence[0] && fenceMatch[1].length >= fence.length) {
        if (line.slice(fenceMatch[0].length).trim() === '') fence = undefined;
      }
      return;
    }
    if (line.trim() === '') {
      // A blank line may end the block; the next non-blank line decides (an indented line continues
      // a list item or an indented code block, so the block goes on).
      if (blockHasContent) pendingBreak ??= end + 1;
      return;
    }
    if (pendingBreak !== undefined) {
      if (!/^[ \t]/.test(line)) {
        stable.push(source.slice(blockStart, pendingBreak));
        blockStart = pendingBreak;
      }
      pendingBreak = undefined;
    }
    blockHasContent = true;
    if (fenceMatch?.[1] !== undefined) {
      fence = fenceMatch[1];
      fenceStart = start;
    }
  };

  return {
    update(text: string): BlockSplit {
      if (!isAppend(text)) restart();
      source = text;
      let newline = text.indexOf('\n', lineStart);
      while (newline !== -1) {
        scannedChars += newline + 1 - lineStart;
        const start = lineStart;
        lineStart = newline + 1;
        scanLine(text.slice(start, newline), start, newline);
        newline = text.indexOf('\n', lineStart);
      }
      // The first character of the next line already decides a pending break: cut now, so the
      // finished block does not wait for the whole next line.
      if (pendingBreak !== undefined && fence === undefined && lineStart < text.length) {
        const first = text[lineStart];
        if (first !== ' ' && first !== '\t' && first !== '\r') {
          stable.push(text.slice(blockStart, pendingBreak));
          blockStart = pendingBreak;
          pendingBreak = undefined;
        }
      }
      return {
        stable,
        tail: text.slice(blockStart),
        openFenceAt: fence === undefined ? undefined : fenceStart - blockStart,
      };
    },
    get scannedChars() {
      return scannedChars;
    },
  };
}
