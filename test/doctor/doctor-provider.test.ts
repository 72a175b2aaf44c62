/**
 * `streamwell doctor --provider` (the guide's "Agent SDK not streaming"): the provider is built
 * from the environment as the server would, and its self-test talks to a fake upstream that
 * speaks the real OpenAI wire format over loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runDoctor } from '../../packages/streamwell/src/cli/doctor/run-doctor.ts';
import { FAKE_API_KEY, type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';

let upstream: FakeOpenAI | undefined;
afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
});

function statusMap(checks: readonly { id: string; status: string }[]): Record<string, string> {
  return Object.fromEntries(checks.map((check) => [check.id, check.status]));
}

describe('streamwell doctor --provider', () => {
  it('passes key, model and a real streamed reply of an OpenAI-compatible server', async () => {
    upstream = await startFakeOpenAI();
    const report = await runDoctor({
      provider: true,
      timeoutMs: 10_000,
      env: { LLM_BASE_URL: `${upstream.url}/v1`, LLM_API_KEY: FAKE_API_KEY, LLM_MODEL: 'fake-model' },
    });
    expect(statusMap(report.checks)).toEqual({
      'provider-key': 'pass',
      'provider-model': 'pass',
      'provider-stream': 'pass',
    });
    expect(report.ok).toBe(true);
    expect(report.checks[0]?.evidence).toMatch(/^openai provider, model fake-model: /);
  });

  it('passes key, model and a real streamed reply through the OpenAI Agents SDK', async () => {
    upstream = await startFakeOpenAI();
    const report = await runDoctor({
      provider: true,
      timeoutMs: 15_000,
      env: { OPENAI_API_KEY: FAKE_API_KEY, OPENAI_BASE_URL: `${upstream.url}/v1`, LLM_MODEL: 'gpt-4o-mini' },
    });
    expect(statusMap(report.checks)).toEqual({
      'provider-key': 'pass',
      'provider-model': 'pass',
      'provider-stream': 'pass',
    });
    expect(report.checks[0]?.evidence).toMatch(/^agents provider, model gpt-4o-mini: /);
  });

  it('fails the key check when the upstream refuses the key', async () => {
    upstream = await startFakeOpenAI();
    const report = await runDoctor({
      provider: true,
      timeoutMs: 10_000,
      env: { LLM_BASE_URL: `${upstream.url}/v1`, LLM_API_KEY: 'sk-wrong', LLM_MODEL: 'fake-model' },
    });
    expect(statusMap(report.checks)['provider-key']).toBe('fail');
    expect(report.ok).toBe(false);
  });

  it('fails the model check for a model the server does not have', async () => {
    upstream = await startFakeOpenAI();
    const report = await runDoctor({
      provider: true,
      timeoutMs: 10_000,
      env: { LLM_BASE_URL: `${upstream.url}/v1`, LLM_API_KEY: FAKE_API_KEY, LLM_MODEL: 'no-such-model' },
    });
    expect(statusMap(report.checks)).toMatchObject({ 'provider-key': 'pass', 'provider-model': 'fail' });
  });

  it('reports a configuration the server would refuse as one failing check', async () => {
    const report = await runDoctor({ provider: true, timeoutMs: 5000, env: { STREAMWELL_PROVIDER: 'openai' } });
    expect(statusMap(report.checks)).toEqual({ provider: 'fail' });
    expect(report.checks[0]?.evidence).toContain('LLM_BASE_URL');
  });

  it('warns that the demo model answers when nothing is configured', async () => {
    const report = await runDoctor({ provider: true, timeoutMs: 5000, env: {} });
    expect(statusMap(report.checks)).toEqual({
      'provider-key': 'warn',
      'provider-model': 'pass',
      'provider-stream': 'pass',
    });
    expect(report.ok).toBe(true);
  });
});
