import { describe, expect, it } from 'vitest';
import { createProviderFromConfig, resolveProviderKind } from './create-provider-from-config.ts';

const invalid = expect.objectContaining({ code: 'invalid_config' });

describe('createProviderFromConfig', () => {
  it('uses the demo model when nothing is configured', () => {
    const provider = createProviderFromConfig({});
    expect(provider.name).toBe('demo');
    expect(provider.demo).toBe(true);
  });

  it('uses the OpenAI-compatible provider when LLM_BASE_URL is set', () => {
    const provider = createProviderFromConfig({ llmBaseUrl: 'http://localhost:11434/v1', llmModel: 'llama3.2' });
    expect(provider.name).toBe('openai');
    expect(provider.model).toBe('llama3.2');
  });

  it('uses the Agents SDK when only OPENAI_API_KEY is set, with gpt-4o-mini by default', () => {
    const provider = createProviderFromConfig({ openaiApiKey: 'sk-test' });
    expect(provider.name).toBe('agents');
    expect(provider.model).toBe('gpt-4o-mini');
    expect(createProviderFromConfig({ openaiApiKey: 'sk-test', llmModel: 'gpt-4.1' }).model).toBe('gpt-4.1');
  });

  it('uses the sse provider when UPSTREAM_URL is set, before LLM_BASE_URL and OPENAI_API_KEY', async () => {
    const provider = createProviderFromConfig({
      upstreamUrl: 'http://127.0.0.1:8001/api/stream/message',
      upstreamHeaders: 'Authorization: Bearer x',
    });
    expect(provider.name).toBe('sse');
    expect(provider.model).toBe('upstream');
    await provider.close?.();
    expect(
      resolveProviderKind({ upstreamUrl: 'http://b/api', llmBaseUrl: 'http://x/v1', openaiApiKey: 'sk-the-backends' }),
    ).toBe('sse');
  });

  it('prefers LLM_BASE_URL over OPENAI_API_KEY', () => {
    expect(resolveProviderKind({ openaiApiKey: 'sk-test', llmBaseUrl: 'http://localhost:8000/v1' })).toBe('openai');
  });

  it('lets an explicit provider win', () => {
    expect(resolveProviderKind({ provider: 'agents', openaiApiKey: 'sk', llmBaseUrl: 'http://x/v1' })).toBe('agents');
    expect(resolveProviderKind({ provider: 'demo', openaiApiKey: 'sk', llmBaseUrl: 'http://x/v1' })).toBe('demo');
  });

  it('treats empty and blank values as unset', () => {
    expect(resolveProviderKind({ llmBaseUrl: '  ', openaiApiKey: '' })).toBe('demo');
    expect(createProviderFromConfig({ llmBaseUrl: 'http://localhost:1234/v1', llmModel: ' ' }).model).toBe('auto');
  });

  it('rejects impossible combinations with invalid_config', () => {
    expect(() => createProviderFromConfig({ provider: 'openai' })).toThrow(invalid);
    expect(() => createProviderFromConfig({ provider: 'agents', llmBaseUrl: 'http://x/v1' })).toThrow(invalid);
    expect(() => createProviderFromConfig({ provider: 'bogus' as 'demo' })).toThrow(invalid);
    expect(() => createProviderFromConfig({ llmBaseUrl: 'localhost:11434' })).toThrow(invalid);
    expect(() => createProviderFromConfig({ openaiApiKey: 'sk', openaiBaseUrl: 'ftp://x' })).toThrow(invalid);
    expect(() => createProviderFromConfig({ provider: 'sse' })).toThrow(invalid);
    expect(() => createProviderFromConfig({ upstreamUrl: 'ftp://backend/stream' })).toThrow(invalid);
    expect(() => createProviderFromConfig({ upstreamUrl: 'http://b/api', upstreamHeaders: 'no colon' })).toThrow(
      invalid,
    );
  });

  it('names the missing variable in the message', () => {
    expect(() => createProviderFromConfig({ provider: 'openai' })).toThrow(/LLM_BASE_URL/);
    expect(() => createProviderFromConfig({ provider: 'agents' })).toThrow(/OPENAI_API_KEY/);
    expect(() => createProviderFromConfig({ provider: 'sse' })).toThrow(/UPSTREAM_URL/);
  });
});
