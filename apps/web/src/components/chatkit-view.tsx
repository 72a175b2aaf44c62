/**
 * The ChatKit view of the reference page (`/#chatkit`): OpenAI's `<openai-chatkit>` web component
 * on this server's self-hosted ChatKit backend (`POST /chatkit`). The component's script comes
 * only from OpenAI's CDN; when it cannot load, the view says why, and that the backend itself
 * is fine.
 *
 * @module
 */
import { useEffect, useRef, useState } from 'react';
import {
  CHATKIT_ELEMENT,
  ChatKitLoadError,
  type ChatKitLoadFailure,
  loadChatKitScript,
} from '../chatkit/load-chatkit-script.ts';

/**
 * ChatKit's domain key. Any placeholder works on localhost; a public hostname needs a key from
 * platform.openai.com (Settings → Security → Domain allowlist), set at build time.
 */
const DOMAIN_KEY: string = import.meta.env.VITE_CHATKIT_DOMAIN_KEY ?? 'domain_pk_localhost_dev';

/** The element's one method the page uses (`setOptions` replaces every option). */
interface ChatKitElement extends HTMLElement {
  setOptions(options: unknown): void;
}

type ViewState =
  | { readonly status: 'loading' }
  | { readonly status: 'ready' }
  | { readonly status: 'unavailable'; readonly reason: ChatKitLoadFailure };

/**
 * The options for this server: the self-hosted API with two-phase uploads.
 *
 * @returns ChatKit options
 */
export function chatKitOptions(): unknown {
  return {
    api: {
      url: new URL('/chatkit', window.location.href).href,
      domainKey: DOMAIN_KEY,
      uploadStrategy: { type: 'two_phase' },
    },
    history: { enabled: true },
    startScreen: { greeting: 'ChatKit on streamwell' },
  };
}

function Unavailable({ reason }: { reason: ChatKitLoadFailure }) {
  return (
    <div className="chatkit-unavailable" role="alert">
      <p>
        <strong>ChatKit could not be shown here.</strong> OpenAI serves ChatKit&apos;s interface only from its CDN (
        <code>cdn.platform.openai.com</code>), and this browser{' '}
        {reason === 'network' ? 'could not load it from there' : 'did not get it started within 15 seconds'}: the
        machine may have no internet access, or a proxy, firewall, content blocker or Content-Security-Policy may block
        that host.
      </p>
      <p>
        This server&apos;s ChatKit backend is not the problem: <code>POST /chatkit</code> answers as usual, and any
        ChatKit front end that can load the script (<code>@openai/chatkit-react</code> on a connected machine) works
        against it. See <code>docs/chatkit.md</code>.
      </p>
    </div>
  );
}

/**
 * Renders the ChatKit view.
 *
 * @returns the view
 */
export function ChatKitView() {
  const [state, setState] = useState<ViewState>({ status: 'loading' });
  const host = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let cancelled = false;
    loadChatKitScript().then(
      () => {
        if (cancelled || host.current === null) return;
        const element = document.createElement(CHATKIT_ELEMENT) as ChatKitElement;
        element.className = 'chatkit-element';
        host.current.replaceChildren(element);
        element.setOptions(chatKitOptions());
        setState({ status: 'ready' });
      },
      (error: unknown) => {
        if (cancelled) return;
        setState({ status: 'unavailable', reason: error instanceof ChatKitLoadError ? error.reason : 'network' });
      },
    );
    return () => {
      cancelled = true;
      host.current?.replaceChildren();
    };
  }, []);

  return (
    <main className="chatkit-view">
      <header className="chatkit-header">
        <h1 className="chat-title">ChatKit</h1>
        <a className="button" href="/">
          Back to the streamwell chat
        </a>
      </header>
      {state.status === 'loading' ? (
        <p className="chatkit-loading" role="status">
          Loading ChatKit from OpenAI&apos;s CDN…
        </p>
      ) : null}
      {state.status === 'unavailable' ? <Unavailable reason={state.reason} /> : null}
      <div ref={host} className="chatkit-host" data-testid="chatkit-host" />
    </main>
  );
}
