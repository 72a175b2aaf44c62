/**
 * The Diagnose panel against a real loopback stream server: type the endpoint, press Diagnose,
 * and every check of the browser's checklist is listed with its verdict.
 */
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { createSseTestServer, type SseTestServer } from '../../../../test/doctor/helpers/create-sse-test-server.ts';
import { DiagnosePanel } from './diagnose-panel.tsx';

let server: SseTestServer | undefined;
afterEach(async () => {
  cleanup();
  await server?.close();
  server = undefined;
});

async function diagnose(url: string, prompt?: string): Promise<HTMLElement> {
  render(<DiagnosePanel />);
  fireEvent.change(screen.getByLabelText(/Endpoint URL/), { target: { value: url } });
  if (prompt !== undefined) fireEvent.change(screen.getByLabelText(/Probe prompt/), { target: { value: prompt } });
  fireEvent.click(screen.getByRole('button', { name: 'Diagnose' }));
  return await screen.findByRole('list', { name: 'Diagnosis' }, { timeout: 10_000 });
}

function verdicts(list: HTMLElement): Record<string, string | null> {
  return Object.fromEntries(
    within(list)
      .getAllByRole('listitem')
      .map((item) => [item.dataset.check, item.querySelector('[data-status]')?.getAttribute('data-status') ?? null]),
  );
}

describe('DiagnosePanel', () => {
  it('lists every check of a healthy endpoint as passing', async () => {
    server = await createSseTestServer({});
    const list = await diagnose(`${server.origin}/api/stream/message`);
    expect(verdicts(list)).toEqual({
      url: 'pass',
      cors: 'pass',
      reachable: 'pass',
      'content-type': 'pass',
      timing: 'pass',
      buffering: 'pass',
      events: 'pass',
      terminal: 'pass',
    });
    expect(screen.getByRole('status').textContent).toBe('8 pass, 0 warn, 0 fail');
    expect(screen.getByText(/npx streamwell doctor http:\/\/127\.0\.0\.1:\d+\/api\/stream\/message -m/)).toBeTruthy();
  });

  it('with an empty prompt, POSTs a probe message after the GET is refused with 405, and says so', async () => {
    server = await createSseTestServer({});
    const url = `${server.origin}/api/stream/message`;
    const list = await diagnose(url, '');
    expect(screen.getByRole('status').textContent).toBe('8 pass, 0 warn, 0 fail');
    const reachable = list.querySelector('[data-check="reachable"]') as HTMLElement;
    expect(reachable.textContent).toContain(`GET ${url} answered 405`);
    expect(reachable.textContent).toContain('so this diagnosis POSTed the probe message');
    expect(screen.getByText(`npx streamwell doctor ${url} --origin ${window.location.origin}`)).toBeTruthy();
  });

  it('shows the failing check with its fix', async () => {
    server = await createSseTestServer({ contentType: 'application/json' });
    const list = await diagnose(`${server.origin}/api/stream/message`);
    await waitFor(() => expect(verdicts(list)['content-type']).toBe('fail'));
    const item = list.querySelector('[data-check="content-type"]') as HTMLElement;
    expect(item.textContent).toContain('application/json');
    expect(item.textContent).toContain('Fix:');
  });
});
