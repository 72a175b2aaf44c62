/**
 * `streamwell/client`: the browser and Node side of the stream. Browser-safe: no Node modules,
 * no DOM globals (`fetch` is injectable).
 *
 * @module
 */
export * from '../errors/index.ts';
export * from './diagnose/index.ts';
export * from './diagnose-endpoint.ts';
export * from './sse-parser.ts';
export * from './sse-stream.ts';
