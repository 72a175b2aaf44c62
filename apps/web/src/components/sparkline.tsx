/**
 * An inline SVG sparkline of inter-token gaps, with the slow-token threshold drawn as a line.
 *
 * @module
 */

/** Props of {@link Sparkline}. */
export interface SparklineProps {
  /** Recent gaps in ms, oldest first. */
  readonly values: readonly number[];
  /** Gaps above this are slow tokens; drawn as a dashed line when it is in range. */
  readonly threshold?: number;
  readonly width?: number;
  readonly height?: number;
  /** Accessible description. */
  readonly label: string;
}

/**
 * Draws the sparkline. The y axis is linear from 0 to the larger of the max gap and a small floor,
 * so a steady stream reads as a flat line rather than as noise magnified to full height.
 *
 * @param props - values and size
 * @returns an `<svg role="img">`
 */
export function Sparkline({ values, threshold, width = 240, height = 48, label }: SparklineProps) {
  const pad = 2;
  const floor = 50;
  const max = Math.max(floor, ...values, 0);
  const scaleY = (value: number): number => height - pad - (Math.min(value, max) / max) * (height - 2 * pad);
  const step = values.length > 1 ? (width - 2 * pad) / (values.length - 1) : 0;
  const points = values.map((value, index) => `${(pad + index * step).toFixed(1)},${scaleY(value).toFixed(1)}`);
  const area =
    points.length > 1 ? `M${pad},${height - pad} L${points.join(' L')} L${width - pad},${height - pad} Z` : '';
  return (
    <svg
      className="sparkline"
      viewBox={`0 0 ${width} ${height}`}
      preserveAspectRatio="none"
      role="img"
      aria-label={label}
    >
      <title>{label}</title>
      {threshold !== undefined && threshold <= max ? (
        <line
          className="sparkline-threshold"
          x1={0}
          x2={width}
          y1={scaleY(threshold)}
          y2={scaleY(threshold)}
          vectorEffect="non-scaling-stroke"
        />
      ) : null}
      {area === '' ? null : <path className="sparkline-area" d={area} />}
      {points.length > 1 ? (
        <polyline className="sparkline-line" points={points.join(' ')} vectorEffect="non-scaling-stroke" />
      ) : (
        <line className="sparkline-empty" x1={0} x2={width} y1={height - pad} y2={height - pad} />
      )}
    </svg>
  );
}
