/**
 * Entry point of the `/ai-sdk` page: the Vercel AI SDK's `useChat` against streamwell's
 * `/api/chat` endpoints.
 *
 * @module
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { AiSdkApp } from './ai-sdk-app.tsx';
import '../styles.css';

const root = document.getElementById('root');
if (root === null) throw new Error('ai-sdk.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <AiSdkApp />
  </StrictMode>,
);
