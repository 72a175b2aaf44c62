/**
 * The "Diagnose" panel: runs the browser's side of the troubleshooting checklist
 * (`diagnoseEndpoint` from streamwell/client) against the stream endpoint and shows each check
 * with its evidence and fix. It sees what this page sees (URL, CORS as the browser enforces it,
 * status, content type, timing of the first chunk, event and token); the proxy-level checks
 * (preflight details, heartbeats, resume, WebSocket) are the CLI's, whose command it prints.
 *
 * @module
 */
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { type CheckResult, type CheckStatus, type DiagnosisReport, diagnoseEndpoint } from 'streamwell/client';

const STATUS_STYLE: Readonly<Record<CheckStatus, { color: string; background: string; label: string }>> = {
  pass: { color: 'var(--ok)', background: 'var(--accent-soft)', label: 'PASS' },
  warn: { color: 'var(--warn)', background: 'var(--warn-soft)', label: 'WARN' },
  fail: { color: 'var(--danger)', background: 'var(--danger-soft)', label: 'FAIL' },
};

function StatusChip({ status }: { status: CheckStatus }) {
  const style = STATUS_STYLE[status];
  return (
    <span
      className="chip"
      style={{ color: style.color, background: style.background, fontWeight: 700, flex: 'none' }}
      data-status={status}
    >
      {style.label}
    </span>
  );
}

function CheckItem({ check }: { check: CheckResult }) {
  return (
    <li data-check={check.id} style={{ padding: '8px 0', borderTop: '1px solid var(--border)' }}>
      <div style={{ display: 'flex', gap: 8, alignItems: 'baseline' }}>
        <StatusChip status={check.status} />
        <strong style={{ fontSize: 13 }}>{check.title}</strong>
      </div>
      <p style={{ margin: '4px 0 0', fontSize: 12.5, color: 'var(--muted)', overflowWrap: 'anywhere' }}>
        {check.evidence}
      </p>
      {check.fix.length > 0 && check.status !== 'pass' ? (
        <p style={{ margin: '4px 0 0', fontSize: 12.5, overflowWrap: 'anywhere' }}>
          <strong>Fix:</strong> {check.fix}
        </p>
      ) : null}
    </li>
  );
}

function cliCommand(url: string, prompt: string): string {
  let absolute = url;
  try {
    absolute = new URL(url, window.location.href).href;
  } catch {
    // Keep what was typed; the URL check reports it.
  }
  // Without -m the CLI probes as this panel does: a GET, and a probe POST if that is refused with 405.
  const message = prompt.trim() === '' ? '' : ` -m '${prompt.replace(/'/g, "'\\''")}'`;
  return `npx streamwell doctor ${absolute}${message} --origin ${window.location.origin}`;
}

/**
 * Renders the panel.
 *
 * @returns a labelled `<section>`
 */
export function DiagnosePanel() {
  const [url, setUrl] = useState('/api/stream/message');
  const [prompt, setPrompt] = useState('Say hello (streamwell diagnose)');
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState('');
  const [report, setReport] = useState<DiagnosisReport | undefined>(undefined);
  const controllerRef = useRef<AbortController | undefined>(undefined);

  // Abort a running diagnosis when the panel goes away.
  useEffect(() => () => controllerRef.current?.abort(), []);

  const run = async (event: FormEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    controllerRef.current?.abort();
    const controller = new AbortController();
    controllerRef.current = controller;
    setRunning(true);
    setReport(undefined);
    try {
      const result = await diagnoseEndpoint({
        url,
        ...(prompt.trim() === '' ? {} : { message: prompt }),
        signal: controller.signal,
        onProgress: (note) => {
          if (!controller.signal.aborted) setProgress(note);
        },
      });
      if (!controller.signal.aborted) setReport(result);
    } finally {
      if (controllerRef.current === controller) {
        setRunning(false);
        setProgress('');
      }
    }
  };

  const counts = { pass: 0, warn: 0, fail: 0 };
  for (const check of report?.checks ?? []) counts[check.status] += 1;

  return (
    <section className="panel diagnose-panel" aria-labelledby="diagnose-title">
      <h2 id="diagnose-title" className="panel-title">
        Diagnose
      </h2>
      <form onSubmit={(event) => void run(event)} style={{ display: 'grid', gap: 8 }}>
        <label style={{ display: 'grid', gap: 4, fontSize: 12, color: 'var(--muted)' }}>
          Endpoint URL
          <input value={url} onChange={(event) => setUrl(event.target.value)} spellCheck={false} />
        </label>
        <label style={{ display: 'grid', gap: 4, fontSize: 12, color: 'var(--muted)' }}>
          Probe prompt (empty: GET first)
          <input value={prompt} onChange={(event) => setPrompt(event.target.value)} />
        </label>
        <button type="submit" className="button button-secondary" disabled={running}>
          {running ? 'Diagnosing…' : 'Diagnose'}
        </button>
      </form>
      <p role="status" aria-live="polite" style={{ margin: '8px 0 0', fontSize: 12, color: 'var(--muted)' }}>
        {running
          ? progress
          : report === undefined
            ? ''
            : `${counts.pass} pass, ${counts.warn} warn, ${counts.fail} fail`}
      </p>
      {report === undefined ? null : (
        <>
          <ul style={{ listStyle: 'none', margin: '8px 0 0', padding: 0 }} aria-label="Diagnosis">
            {report.checks.map((check) => (
              <CheckItem key={check.id} check={check} />
            ))}
          </ul>
          <p style={{ margin: '8px 0 0', fontSize: 12, color: 'var(--muted)' }}>
            Proxies, preflight, heartbeats, resume and WebSocket are checked from a terminal:
          </p>
          <code style={{ display: 'block', fontFamily: 'var(--mono)', fontSize: 11.5, overflowWrap: 'anywhere' }}>
            {cliCommand(url, prompt)}
          </code>
        </>
      )}
    </section>
  );
}
