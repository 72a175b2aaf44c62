/**
 * Entry point of the reference web page.
 *
 * @module
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';
import { markdownStats } from './markdown/render-markdown.ts';
import './styles.css';

// The end-to-end suite reads these counters to check that markdown work stays linear.
(window as unknown as { __streamwellMarkdown: typeof markdownStats }).__streamwellMarkdown = markdownStats;

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
