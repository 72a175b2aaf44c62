/**
 * ChatKit on the reference server's durable store: a ChatKit thread is a thread of
 * `/api/threads` (one store), survives a restart on the same SQLite file, and its attachments
 * are uploaded in two phases to the same server, kept on disk within their bound, stamped with
 * their thread and deleted with it.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalAttachmentStore } from 'streamwell/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createScriptedProvider } from '../server/helpers/scripted-provider.ts';
import { startTestServer, type TestServer } from '../server/helpers/test-server.ts';
import { callChatKit, streamChatKit, userInput } from './helpers/chatkit-client.ts';
import { type ChatKitTestServer, startChatKitServer } from './helpers/start-chatkit-server.ts';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

describe('ChatKit threads and attachments in the durable store', () => {
  let folder: string;
  let server: TestServer | undefined;
  let handler: ChatKitTestServer | undefined;
  afterEach(async () => {
    await server?.close();
    await handler?.close();
    server = undefined;
    handler = undefined;
    rmSync(folder, { recursive: true, force: true });
  });

  async function startServer(): Promise<TestServer> {
    server = await startTestServer({
      provider: createScriptedProvider({ autoReply: ['Nice', ' picture'] }).provider,
      config: {
        databaseUrl: `file:${path.join(folder, 'threads.db')}`,
        chatkitAttachmentsDir: path.join(folder, 'files'),
      },
    });
    return server;
  }

  it('keeps a ChatKit thread with its attachments in the store of /api/threads, across a restart', async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'streamwell-chatkit-'));
    let running = await startServer();
    let url = `${running.url}/chatkit`;

    // Two-phase upload: create, then send the bytes to the URL it gave (multipart, then raw).
    const image = (
      await callChatKit(url, {
        type: 'attachments.create',
        params: { name: 'a.png', size: PNG.length, mime_type: 'image/png' },
      })
    ).json;
    expect(image).toEqual({
      id: expect.stringMatching(/^atc_/),
      name: 'a.png',
      mime_type: 'image/png',
      upload_descriptor: { url: `/chatkit/attachments/${image.id}/upload`, method: 'POST', headers: {} },
      type: 'image',
      preview_url: `/chatkit/attachments/${image.id}`,
    });
    const form = new FormData();
    form.set('file', new Blob([PNG], { type: 'image/png' }), 'a.png');
    const uploaded = await fetch(`${running.url}${image.upload_descriptor.url}`, { method: 'POST', body: form });
    expect(uploaded.status).toBe(200);
    expect(await uploaded.json()).toEqual({
      id: image.id,
      name: 'a.png',
      mime_type: 'image/png',
      type: 'image',
      preview_url: image.preview_url,
    });
    const notes = (
      await callChatKit(url, {
        type: 'attachments.create',
        params: { name: 'notes.txt', size: 5, mime_type: 'text/plain' },
      })
    ).json;
    expect(notes.type).toBe('file');
    expect(notes.preview_url).toBeUndefined();
    const raw = await fetch(`${running.url}${notes.upload_descriptor.url}`, {
      method: 'POST',
      body: 'hello',
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(raw.status).toBe(200);
    const preview = await fetch(`${running.url}${image.preview_url}`);
    expect(preview.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await preview.arrayBuffer())).toEqual(PNG);

    const created = await streamChatKit(url, {
      type: 'threads.create',
      params: { input: userInput('Look at this', { attachments: [image.id, notes.id] }) },
    });
    const threadId = created.events[0]?.thread.id as string;
    const user = created.events[1]?.item;
    expect(user.attachments).toEqual([
      {
        id: image.id,
        name: 'a.png',
        mime_type: 'image/png',
        thread_id: threadId,
        type: 'image',
        preview_url: image.preview_url,
      },
      { id: notes.id, name: 'notes.txt', mime_type: 'text/plain', thread_id: threadId, type: 'file' },
    ]);

    // One store: /api/threads lists the ChatKit thread with its messages.
    const listed = await (await fetch(`${running.url}/api/threads`)).json();
    expect(listed.threads).toEqual([expect.objectContaining({ id: threadId, title: 'Look at this' })]);
    const detail = await (await fetch(`${running.url}/api/threads/${threadId}`)).json();
    expect(
      detail.messages.map((message: { role: string; content: string; status: string }) => [
        message.role,
        message.content,
        message.status,
      ]),
    ).toEqual([
      ['user', 'Look at this', 'complete'],
      ['assistant', 'Nice picture', 'complete'],
    ]);
    const before = (await callChatKit(url, { type: 'threads.get_by_id', params: { thread_id: threadId } })).json;

    // Restart on the same file.
    await running.close();
    running = await startServer();
    url = `${running.url}/chatkit`;
    const after = (await callChatKit(url, { type: 'threads.get_by_id', params: { thread_id: threadId } })).json;
    expect(after).toEqual(before);
    expect(after.items.data[0].attachments[0].thread_id).toBe(threadId);
    expect(
      (await callChatKit(url, { type: 'threads.list', params: {} })).json.data.map(
        (thread: { id: string }) => thread.id,
      ),
    ).toEqual([threadId]);
    expect(Buffer.from(await (await fetch(`${running.url}${image.preview_url}`)).arrayBuffer())).toEqual(PNG);
    const next = await streamChatKit(url, {
      type: 'threads.add_user_message',
      params: { thread_id: threadId, input: userInput('And now?') },
    });
    expect(next.events.at(-1)?.item.content[0].text).toBe('Nice picture');

    // Deleting the thread deletes its files too.
    expect(readdirSync(path.join(folder, 'files')).sort()).toEqual(
      [image.id, `${image.id}.json`, notes.id, `${notes.id}.json`].sort(),
    );
    expect((await callChatKit(url, { type: 'threads.delete', params: { thread_id: threadId } })).json).toEqual({});
    expect(readdirSync(path.join(folder, 'files'))).toEqual([]);
    expect((await fetch(`${running.url}/api/threads/${threadId}`)).status).toBe(404);
    expect((await fetch(`${running.url}${image.preview_url}`)).status).toBe(404);
  });

  it('bounds attachments by size, deletes them, and refuses an upload for an attachment it did not create', async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'streamwell-chatkit-'));
    const files = path.join(folder, 'files');
    const local = createLocalAttachmentStore({ directory: files, maxBytes: 1024, maxTotalBytes: 1500 });
    handler = await startChatKitServer(createScriptedProvider({ autoReply: ['ok'] }).provider, {
      // A store with private metadata (the reference's Attachment.metadata), which no client may see.
      attachments: {
        ...local,
        maxBytes: local.maxBytes,
        createAttachment: async (input, context) => ({
          ...(await local.createAttachment(input, context)),
          metadata: { bucket: 'private-bucket' },
        }),
      },
    });
    const { url, origin } = handler;
    const tooBig = await callChatKit(url, {
      type: 'attachments.create',
      params: { name: 'big.bin', size: 1025, mime_type: 'application/octet-stream' },
    });
    expect(tooBig.status).toBe(413);
    expect(tooBig.json.error.code).toBe('body_too_large');

    const create = async (name: string) =>
      (
        await callChatKit(url, {
          type: 'attachments.create',
          params: { name, size: 1000, mime_type: 'application/octet-stream' },
        })
      ).json;
    const lying = await create('lying.bin');
    const over = await fetch(`${origin}${lying.upload_descriptor.url}`, { method: 'POST', body: Buffer.alloc(1025) });
    expect(over.status).toBe(413);
    expect(existsSync(path.join(files, lying.id))).toBe(false);

    const first = await create('one.bin');
    expect(
      (await fetch(`${origin}${first.upload_descriptor.url}`, { method: 'PUT', body: Buffer.alloc(1000) })).status,
    ).toBe(200);
    const second = await create('two.bin');
    const full = await fetch(`${origin}${second.upload_descriptor.url}`, { method: 'POST', body: Buffer.alloc(1000) });
    expect(full.status).toBe(413);
    expect((await full.json()).error.message).toContain('full');

    expect((await callChatKit(url, { type: 'attachments.delete', params: { attachment_id: first.id } })).json).toEqual(
      {},
    );
    expect(existsSync(path.join(files, first.id))).toBe(false);
    expect((await callChatKit(url, { type: 'attachments.delete', params: { attachment_id: first.id } })).status).toBe(
      404,
    );
    expect(
      (await fetch(`${origin}${second.upload_descriptor.url}`, { method: 'POST', body: Buffer.alloc(1000) })).status,
    ).toBe(200);

    expect(
      (await fetch(`${origin}/chatkit/attachments/atc_unknown/upload`, { method: 'POST', body: 'x' })).status,
    ).toBe(404);
    expect((await fetch(`${origin}/chatkit/attachments/atc_unknown`)).status).toBe(404);
    expect((await fetch(`${origin}/chatkit/attachments/..%2Fthreads.db`)).status).toBe(404);
    expect(JSON.stringify(second)).not.toContain('private-bucket');
    const used = await streamChatKit(url, {
      type: 'threads.create',
      params: { input: userInput('see', { attachments: [second.id] }) },
    });
    const usedThread = used.events[0]?.thread.id;
    expect(used.events[1]?.item.attachments).toEqual([
      { id: second.id, name: 'two.bin', mime_type: 'application/octet-stream', thread_id: usedThread, type: 'file' },
    ]);
    expect((await handler.threads.loadAttachment(second.id, undefined))?.data).toMatchObject({
      metadata: { bucket: 'private-bucket' },
    });
    const byId = await callChatKit(url, { type: 'threads.get_by_id', params: { thread_id: usedThread } });
    expect(JSON.stringify(byId.json)).not.toContain('private-bucket');
    const unknown = await streamChatKit(url, {
      type: 'threads.create',
      params: { input: userInput('x', { attachments: ['atc_nope'] }) },
    });
    expect(unknown.events).toEqual([
      { type: 'error', code: 'custom', message: expect.stringContaining('atc_nope'), allow_retry: false },
    ]);
    // Refused before anything was written: no empty thread is left behind.
    expect((await callChatKit(url, { type: 'threads.list', params: {} })).json.data).toHaveLength(1);
  });
});
