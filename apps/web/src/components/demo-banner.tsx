/**
 * The banner that labels replies from the built-in demo model, so nobody mistakes them for a real
 * model's answers.
 *
 * @module
 */

/**
 * Renders the demo banner.
 *
 * @returns a `role="note"` banner
 */
export function DemoBanner() {
  return (
    <div className="demo-banner" role="note" aria-label="Demo model in use" data-testid="demo-banner">
      <strong>Demo model.</strong> Replies come from streamwell's built-in demo model, not from an LLM.
      <span className="demo-more">
        {' '}
        Set <code>OPENAI_API_KEY</code> or <code>LLM_BASE_URL</code> on the server to use a real model.
      </span>
    </div>
  );
}
