/**
 * A grouped horizontal bar chart as a self-contained SVG string (no chart dependency):
 * one group per category, one bar per series, value labels at the bar ends, optional log scale
 * for values that span orders of magnitude (peers differ by 100× in some scenarios).
 *
 * @module
 */

/** Chart input. */
export interface BarChart {
  readonly title: string;
  /** Axis label, with the unit. */
  readonly unit: string;
  readonly categories: readonly string[];
  readonly series: readonly { readonly name: string; readonly values: readonly (number | undefined)[] }[];
  readonly log?: boolean;
  /** A vertical reference line (a target), with its label. */
  readonly target?: { readonly value: number; readonly label: string };
}

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1'];
const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function format(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude >= 100_000) return `${Math.round(value / 1000)}k`;
  if (magnitude >= 100) return String(Math.round(value));
  if (magnitude >= 10) return value.toFixed(1);
  return value.toFixed(magnitude >= 1 ? 2 : 3);
}

/** Renders the chart. */
export function renderBarChart(chart: BarChart): string {
  const labelWidth = 150;
  const plotWidth = 480;
  const barHeight = 14;
  const groupGap = 12;
  const top = 46;
  const legendHeight = 22;
  const seriesCount = chart.series.length;
  const groupHeight = seriesCount * barHeight + groupGap;
  const height = top + chart.categories.length * groupHeight + legendHeight + 24;
  const width = labelWidth + plotWidth + 90;
  const values = chart.series
    .flatMap((series) => series.values)
    .filter((value): value is number => value !== undefined && Number.isFinite(value));
  if (chart.target) values.push(chart.target.value);
  const max = Math.max(...values, 0) || 1;
  const positive = values.filter((value) => value > 0);
  const min = Math.min(...positive, max);
  const log = chart.log === true && positive.length > 0;
  const logMin = log ? 10 ** Math.floor(Math.log10(min)) : 0;
  const logMax = log ? 10 ** Math.ceil(Math.log10(max)) : 0;
  const scale = (value: number): number => {
    if (!log) return (Math.max(0, value) / max) * plotWidth;
    if (value <= 0) return 0;
    return ((Math.log10(value) - Math.log10(logMin)) / (Math.log10(logMax) - Math.log10(logMin))) * plotWidth;
  };
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">${escapeXml(chart.title)}</text>`,
    `<text x="10" y="34" fill="#555">${escapeXml(chart.unit)}${log ? ' (log scale)' : ''}</text>`,
  ];
  chart.categories.forEach((category, groupIndex) => {
    const y0 = top + groupIndex * groupHeight;
    parts.push(
      `<text x="${labelWidth - 8}" y="${y0 + (seriesCount * barHeight) / 2 + 4}" text-anchor="end">${escapeXml(category)}</text>`,
    );
    chart.series.forEach((series, seriesIndex) => {
      const value = series.values[groupIndex];
      const y = y0 + seriesIndex * barHeight;
      if (value === undefined || !Number.isFinite(value)) {
        parts.push(`<text x="${labelWidth + 4}" y="${y + barHeight - 4}" fill="#999">n/a</text>`);
        return;
      }
      const barWidth = Math.max(1, scale(value));
      parts.push(
        `<rect x="${labelWidth}" y="${y}" width="${barWidth.toFixed(1)}" height="${barHeight - 2}" fill="${PALETTE[seriesIndex % PALETTE.length]}"/>`,
        `<text x="${labelWidth + barWidth + 4}" y="${y + barHeight - 4}">${escapeXml(format(value))}</text>`,
      );
    });
  });
  const axisY = top + chart.categories.length * groupHeight;
  parts.push(`<line x1="${labelWidth}" y1="${top - 4}" x2="${labelWidth}" y2="${axisY}" stroke="#333"/>`);
  if (chart.target) {
    const x = labelWidth + scale(chart.target.value);
    parts.push(
      `<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${axisY}" stroke="#c00" stroke-dasharray="4 3"/>`,
      `<text x="${x + 3}" y="${top - 8}" fill="#c00">${escapeXml(chart.target.label)}</text>`,
    );
  }
  let legendX = labelWidth;
  chart.series.forEach((series, index) => {
    parts.push(
      `<rect x="${legendX}" y="${axisY + 10}" width="10" height="10" fill="${PALETTE[index % PALETTE.length]}"/>`,
      `<text x="${legendX + 14}" y="${axisY + 19}">${escapeXml(series.name)}</text>`,
    );
    legendX += 24 + series.name.length * 6.5;
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
