/**
 * The place of the "Diagnose" panel in the layout. The panel lives in its own module,
 * `./diagnose-panel.tsx`; this slot renders it when that module exists and renders nothing
 * otherwise, so the page builds with or without it.
 *
 * @module
 */
import type { ComponentType } from 'react';

/** What the slot accepts from `./diagnose-panel.tsx`: a `DiagnosePanel` export or a default export. */
interface DiagnoseModule {
  readonly DiagnosePanel?: ComponentType;
  readonly default?: ComponentType;
}

// A glob, not an import: Vite resolves it at build time to an empty object when the file is absent.
const modules = import.meta.glob<DiagnoseModule>('./diagnose-panel.tsx', { eager: true });
const panelModule = Object.values(modules)[0];
const Panel = panelModule?.DiagnosePanel ?? panelModule?.default;

/** Props of {@link DiagnoseSlot}. */
export interface DiagnoseSlotProps {
  /** On narrow screens the panel folds away; this says whether it is unfolded. */
  readonly open: boolean;
  readonly onToggle: () => void;
}

/**
 * Renders the Diagnose panel if the page was built with one. On wide screens it is always shown;
 * on a phone a button unfolds it (CSS decides which applies).
 *
 * @param props - fold state
 * @returns the panel, or nothing
 */
export function DiagnoseSlot({ open, onToggle }: DiagnoseSlotProps) {
  if (Panel === undefined) return null;
  return (
    <>
      <button
        type="button"
        className="button button-secondary diagnose-toggle"
        aria-expanded={open}
        aria-controls="diagnose"
        onClick={onToggle}
      >
        {open ? 'Hide diagnostics' : 'Diagnose this connection'}
      </button>
      <div className="diagnose-slot" id="diagnose">
        <Panel />
      </div>
    </>
  );
}
