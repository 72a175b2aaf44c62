/**
 * The attachment routes of the ChatKit handler: the two-phase upload URL
 * (`POST|PUT {path}/attachments/{id}/upload`, multipart with a `file` field or the raw bytes, as
 * the reference samples accept both) and the content URL (`GET {path}/attachments/{id}`).
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';
import { bodyTooLarge } from '../http/create-stream-handler.ts';
import type { HttpBodyReply, HttpHeaders, HttpRequestLike } from '../http/http-types.ts';
import type { ChatKitAttachmentStore, ChatKitRequestContext } from './chatkit-hooks.ts';
import { encodeChatKitJson } from './chatkit-sse-writer.ts';
import { type ChatKitStore, toClientAttachment } from './create-chatkit-store.ts';

/** Room for multipart framing around the file's bytes. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/** What the routes need. */
export interface AttachmentRouteDependencies {
  readonly attachmentId: string;
  /** True for the upload URL, false for the content URL. */
  readonly upload: boolean;
  readonly attachments: ChatKitAttachmentStore | undefined;
  readonly store: ChatKitStore;
  /** Authenticates the request (throws `unauthorized`). */
  readonly principal: () => string | undefined;
  readonly context: (principal: string | undefined) => ChatKitRequestContext;
  readonly corsHeaders: HttpHeaders;
}

const notFound = (): StreamwellError =>
  new StreamwellError('not_found', 'There is no such attachment.', { status: 404 });

/** The file of an upload: a multipart body's `file` field, or the body itself. */
async function uploadedBytes(request: HttpRequestLike, limit: number): Promise<Uint8Array> {
  const body = await request.readBody(limit + MULTIPART_OVERHEAD_BYTES);
  const type = request.header('content-type') ?? '';
  if (!/^multipart\/form-data/i.test(type)) {
    if (body.byteLength > limit) throw bodyTooLarge(limit);
    return body;
  }
  let form: FormData;
  try {
    form = await new Response(body as Uint8Array<ArrayBuffer>, { headers: { 'content-type': type } }).formData();
  } catch {
    throw new StreamwellError('bad_request', 'The multipart body could not be read.', { status: 400 });
  }
  const file = form.get('file');
  if (file === null || typeof file === 'string') {
    throw new StreamwellError('bad_request', 'The multipart body has no "file" field.', { status: 400 });
  }
  if (file.size > limit) throw bodyTooLarge(limit);
  return new Uint8Array(await file.arrayBuffer());
}

/**
 * Answers an upload or content request.
 *
 * @param request - the request
 * @param deps - the attachment, stores and auth
 * @returns the reply
 *
 * @internal
 */
export async function serveAttachmentRoute(
  request: HttpRequestLike,
  deps: AttachmentRouteDependencies,
): Promise<HttpBodyReply> {
  const attachments = deps.attachments;
  const allow = deps.upload ? 'POST, PUT, OPTIONS' : 'GET, HEAD, OPTIONS';
  const allowed = deps.upload
    ? request.method === 'POST' || request.method === 'PUT'
    : request.method === 'GET' || request.method === 'HEAD';
  if (!allowed) {
    throw new StreamwellError('method_not_allowed', `${request.method} is not allowed here; use ${allow}.`, {
      status: 405,
    });
  }
  if (!deps.upload) {
    // No bearer key here: an `<img>` cannot send one; the unguessable id is the capability.
    const content = await attachments?.readContent?.(deps.attachmentId);
    if (content === undefined) throw notFound();
    return {
      type: 'body',
      status: 200,
      headers: {
        ...deps.corsHeaders,
        'Content-Type': content.mimeType,
        'Cache-Control': 'private, max-age=3600',
        'X-Content-Type-Options': 'nosniff',
        // A file is shown, never run as a page of this origin.
        'Content-Security-Policy': "default-src 'none'; sandbox",
      },
      body: request.method === 'HEAD' ? '' : content.bytes,
    };
  }
  const owner = deps.principal();
  if (attachments?.saveUpload === undefined) throw notFound();
  const attachment = await deps.store.loadAttachment(deps.attachmentId, owner);
  if (attachment === undefined) throw notFound();
  const bytes = await uploadedBytes(request, attachments.maxBytes);
  const uploaded = await attachments.saveUpload(attachment, bytes, deps.context(owner));
  await deps.store.saveAttachment(uploaded, owner);
  return {
    type: 'body',
    status: 200,
    headers: { ...deps.corsHeaders, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' },
    body: encodeChatKitJson(toClientAttachment(uploaded)),
  };
}
