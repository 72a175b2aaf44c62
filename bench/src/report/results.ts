/**
 * The shape of a results file (`bench/results/*.json`) as the report reads it.
 *
 * @module
 */

/** A results file as `main.ts` writes it. */
export interface Results {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly environment: Record<string, unknown> & { clock?: { ok: boolean; maxRoundTripUs: number } };
  readonly peers: Record<string, { label: string; description: string }>;
  readonly integrity: { lost: number; duplicated: number; errors: number; tokens: number; notes: string[] };
  readonly scenarios: Record<string, unknown>;
}
