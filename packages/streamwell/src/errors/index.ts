export * from './streamwell-error.ts';
