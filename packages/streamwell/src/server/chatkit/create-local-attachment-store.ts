/**
 * ChatKit attachments as files on local disk, bounded per file and in total, uploaded in two
 * phases to the ChatKit handler itself: `attachments.create` answers an upload URL under the
 * handler's path, the UI sends the bytes there, and images are previewed from the handler's
 * content URL. One folder per server: with several instances, use shared storage or your own
 * {@link ChatKitAttachmentStore} (an object store with signed URLs).
 *
 * @module
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StreamwellError } from '../../errors/index.ts';
import type { ChatKitAttachmentStore } from './chatkit-hooks.ts';
import type { ChatKitAttachment } from './chatkit-types.ts';

/** Options of {@link createLocalAttachmentStore}. */
export interface LocalAttachmentStoreOptions {
  /** The folder (created when missing). */
  readonly directory: string;
  /**
   * The ChatKit handler's URL as the page reaches it: the upload and content URLs go under it.
   * Relative (`/chatkit`) resolves against the page, as ChatKit's own `api.url` does.
   * @defaultValue '/chatkit'
   */
  readonly baseUrl?: string;
  /** Largest file. @defaultValue 10 MiB */
  readonly maxBytes?: number;
  /** Most bytes of all files together; past it uploads are refused (413). @defaultValue 1 GiB */
  readonly maxTotalBytes?: number;
}

/** What is kept next to a file. */
interface Sidecar {
  readonly mimeType: string;
}

const ID = /^[A-Za-z0-9_-]{1,200}$/;

/**
 * Creates the local-disk attachment store.
 *
 * @param options - folder, URLs and limits
 * @returns the store, for `createChatKitHandler({ attachments })`
 * @example
 * const attachments = createLocalAttachmentStore({ directory: './data/attachments' });
 */
export function createLocalAttachmentStore(options: LocalAttachmentStoreOptions): ChatKitAttachmentStore {
  const directory = path.resolve(options.directory);
  const baseUrl = (options.baseUrl ?? '/chatkit').replace(/\/+$/, '');
  const maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
  const maxTotalBytes = options.maxTotalBytes ?? 1024 * 1024 * 1024;
  // Counted once from the folder, then kept up to date (uploads and deletes go through here);
  // checked and updated without an await in between, so concurrent uploads cannot both fit.
  let totalBytes: number | undefined;
  let counting: Promise<void> | undefined;

  const fileOf = (id: string): string => {
    if (!ID.test(id)) throw new StreamwellError('not_found', 'There is no such attachment.', { status: 404 });
    return path.join(directory, id);
  };

  async function ensureTotal(): Promise<void> {
    if (totalBytes !== undefined) return;
    counting ??= (async () => {
      await mkdir(directory, { recursive: true });
      let bytes = 0;
      for (const name of await readdir(directory)) {
        if (name.endsWith('.json') || name.endsWith('.tmp')) continue;
        bytes += await sizeOf(path.join(directory, name));
      }
      totalBytes = bytes;
    })();
    await counting;
  }

  async function sizeOf(file: string): Promise<number> {
    return (await stat(file).catch(() => ({ size: 0 }))).size;
  }

  return {
    maxBytes,

    async createAttachment({ id, name, mimeType }) {
      const url = `${baseUrl}/attachments/${encodeURIComponent(id)}`;
      const common = {
        id,
        name,
        mime_type: mimeType,
        upload_descriptor: { url: `${url}/upload`, method: 'POST' as const, headers: {} },
      };
      return mimeType.startsWith('image/')
        ? { ...common, type: 'image', preview_url: url }
        : { ...common, type: 'file' };
    },

    async saveUpload(attachment, bytes) {
      if (bytes.byteLength > maxBytes) {
        throw new StreamwellError('body_too_large', `Attachments are at most ${maxBytes} bytes.`, { status: 413 });
      }
      const file = fileOf(attachment.id);
      const previous = await sizeOf(file);
      await ensureTotal();
      const next = (totalBytes ?? 0) - previous + bytes.byteLength;
      if (next > maxTotalBytes) {
        throw new StreamwellError('body_too_large', `The attachment storage is full (${maxTotalBytes} bytes).`, {
          status: 413,
        });
      }
      totalBytes = next;
      try {
        // Written whole, then renamed: a reader never sees half a file.
        await writeFile(`${file}.tmp`, bytes);
        await writeFile(`${file}.json`, JSON.stringify({ mimeType: attachment.mime_type } satisfies Sidecar));
        await rename(`${file}.tmp`, file);
      } catch (error) {
        totalBytes = (totalBytes ?? 0) - bytes.byteLength + previous;
        throw error;
      }
      const { upload_descriptor: _done, ...uploaded } = attachment;
      return uploaded as ChatKitAttachment;
    },

    async readContent(attachmentId) {
      if (!ID.test(attachmentId)) return undefined;
      const file = fileOf(attachmentId);
      try {
        const [bytes, sidecar] = await Promise.all([readFile(file), readFile(`${file}.json`, 'utf8')]);
        return { bytes, mimeType: (JSON.parse(sidecar) as Sidecar).mimeType };
      } catch {
        return undefined;
      }
    },

    async deleteAttachment(attachmentId) {
      if (!ID.test(attachmentId)) return;
      const file = fileOf(attachmentId);
      const size = await sizeOf(file);
      await rm(file, { force: true });
      await rm(`${file}.json`, { force: true });
      if (totalBytes !== undefined) totalBytes = Math.max(0, totalBytes - size);
    },
  };
}
