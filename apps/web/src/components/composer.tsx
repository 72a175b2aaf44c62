/**
 * The message box: a textbox labelled "Message", "Send" and "Stop". Enter sends, Shift+Enter adds
 * a new line, and an IME composition is never cut short by its confirming Enter.
 *
 * @module
 */
import { type FormEvent, type KeyboardEvent, useRef, useState } from 'react';

/** Props of {@link Composer}. */
export interface ComposerProps {
  /** A reply is running: Send waits, Stop is enabled. */
  readonly busy: boolean;
  readonly onSend: (message: string) => void;
  readonly onStop: () => void;
}

/** Lines the box grows to before it scrolls. */
const MAX_HEIGHT_PX = 200;

/**
 * Renders the composer.
 *
 * @param props - busy flag and callbacks
 * @returns a `<form>`
 */
export function Composer({ busy, onSend, onStop }: ComposerProps) {
  const [text, setText] = useState('');
  const box = useRef<HTMLTextAreaElement>(null);

  const fit = (): void => {
    const element = box.current;
    if (element === null) return;
    element.style.height = 'auto';
    element.style.height = `${Math.min(element.scrollHeight, MAX_HEIGHT_PX)}px`;
  };

  const submit = (): void => {
    if (busy || text.trim() === '') return;
    onSend(text);
    setText('');
    requestAnimationFrame(fit);
  };

  const onSubmit = (event: FormEvent): void => {
    event.preventDefault();
    submit();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  };

  return (
    <form className="composer" onSubmit={onSubmit}>
      <label htmlFor="message" className="visually-hidden">
        Message
      </label>
      <textarea
        id="message"
        ref={box}
        rows={1}
        value={text}
        placeholder="Ask something…"
        aria-describedby="message-hint"
        onChange={(event) => {
          setText(event.target.value);
          fit();
        }}
        onKeyDown={onKeyDown}
      />
      <div className="composer-actions">
        <span id="message-hint" className="composer-hint">
          <kbd>Enter</kbd> to send · <kbd>Shift</kbd>+<kbd>Enter</kbd> new line
        </span>
        <button type="button" className="button button-secondary" onClick={onStop} disabled={!busy}>
          Stop
        </button>
        <button type="submit" className="button button-primary" disabled={busy || text.trim() === ''}>
          Send
        </button>
      </div>
    </form>
  );
}
