/**
 * The SSE / WebSocket switch. Both transports carry the same events with the same ids.
 *
 * @module
 */

/** A transport the hook can use. */
export type Transport = 'sse' | 'ws';

/** Props of {@link TransportToggle}. */
export interface TransportToggleProps {
  readonly value: Transport;
  readonly onChange: (transport: Transport) => void;
  /** Whether the WebSocket transport may be chosen. */
  readonly webSocketAvailable: boolean;
  /** Switching mid-reply would orphan the running stream's view. */
  readonly disabled: boolean;
}

/**
 * Renders a two-option radio group.
 *
 * @param props - current value and callbacks
 * @returns a `<fieldset>`
 */
export function TransportToggle({ value, onChange, webSocketAvailable, disabled }: TransportToggleProps) {
  const option = (transport: Transport, label: string, enabled: boolean) => (
    <label className={value === transport ? 'segment segment-on' : 'segment'}>
      <input
        type="radio"
        name="transport"
        value={transport}
        checked={value === transport}
        disabled={disabled || !enabled}
        onChange={() => onChange(transport)}
      />
      {label}
    </label>
  );
  return (
    <fieldset className="segmented" aria-label="Transport">
      <legend className="visually-hidden">Transport</legend>
      {option('sse', 'SSE', true)}
      {option('ws', 'WebSocket', webSocketAvailable)}
    </fieldset>
  );
}
