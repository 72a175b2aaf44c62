/** Placeholder, replaced below. */
export function writeReport(_results: unknown, _root: string): string[] {
  return [];
}
