/**
 * Loads OpenAI's ChatKit web component. Its script is served only from OpenAI's CDN (it cannot
 * be self-hosted or pinned), so a page that cannot reach the CDN cannot show ChatKit: the loader
 * says which way it failed, for the page to say so plainly.
 *
 * @module
 */

/** Where OpenAI serves ChatKit (evergreen). */
export const CHATKIT_SCRIPT_URL = 'https://cdn.platform.openai.com/deployments/chatkit/chatkit.js';

/** The element the script defines. */
export const CHATKIT_ELEMENT = 'openai-chatkit';

/** Why ChatKit could not load: the script failed to load, or did not define its element in time. */
export type ChatKitLoadFailure = 'network' | 'timeout';

/** Options of {@link loadChatKitScript}. */
export interface LoadChatKitOptions {
  /** @defaultValue {@link CHATKIT_SCRIPT_URL} */
  readonly src?: string;
  /** How long to wait for the element. @defaultValue 15000 */
  readonly timeoutMs?: number;
}

/** The failure of {@link loadChatKitScript}. */
export class ChatKitLoadError extends Error {
  readonly reason: ChatKitLoadFailure;

  constructor(reason: ChatKitLoadFailure) {
    super(
      reason === 'network' ? 'The ChatKit script could not be loaded.' : 'The ChatKit script did not start in time.',
    );
    this.name = 'ChatKitLoadError';
    this.reason = reason;
  }
}

const SCRIPT_ID = 'openai-chatkit-script';

/**
 * Loads the script once per page and resolves when `<openai-chatkit>` is defined.
 *
 * @param options - script URL and patience
 * @returns resolves when the element can be created
 * @throws ChatKitLoadError `network` when the script fails to load, `timeout` when the element is
 *   not defined in time
 */
export function loadChatKitScript(options: LoadChatKitOptions = {}): Promise<void> {
  if (customElements.get(CHATKIT_ELEMENT) !== undefined) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let script = document.getElementById(SCRIPT_ID) as HTMLScriptElement | null;
    if (script?.dataset.failed === 'true') {
      // A failed <script> never retries: a new attempt needs a new element.
      script.remove();
      script = null;
    }
    if (script === null) {
      script = document.createElement('script');
      script.id = SCRIPT_ID;
      script.src = options.src ?? CHATKIT_SCRIPT_URL;
      script.async = true;
      document.head.append(script);
    }
    const element = script;
    const timer = setTimeout(() => finish(new ChatKitLoadError('timeout')), options.timeoutMs ?? 15_000);
    function finish(error?: ChatKitLoadError): void {
      clearTimeout(timer);
      element.removeEventListener('error', failed);
      if (error === undefined) resolve();
      else reject(error);
    }
    function failed(): void {
      element.dataset.failed = 'true';
      finish(new ChatKitLoadError('network'));
    }
    element.addEventListener('error', failed);
    void customElements.whenDefined(CHATKIT_ELEMENT).then(() => finish());
  });
}
