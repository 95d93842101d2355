// Inline SVG charts for the certification page, without a library: a line
// chart (several series over a numeric x) and a grouped bar chart (several
// series per category). Each returns one `<svg>` element as a string, with
// axes, ticks, axis labels, a legend, and a `<title>` per mark so hovering
// shows the exact value. All text is escaped; colours are the Okabe–Ito
// palette, which stays distinguishable for colour-blind readers.

import { escapeHtml, formatCompact, formatNumber, formatTicks } from './format.js';

export interface ChartPoint {
  x: number;
  y: number;
  /** Shown when hovering the point; defaults to "series: x, y". */
  label?: string;
}

export interface LineSeries {
  name: string;
  points: ChartPoint[];
  color?: string;
  dashed?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** The y values are counts: ticks fall on whole numbers. */
  yInteger?: boolean;
  /** The x values are counts (operations): ticks fall on whole numbers. */
  xInteger?: boolean;
  width?: number;
  height?: number;
}

export interface BarSeries {
  name: string;
  /** One value per category, in the order of `categories`. */
  values: number[];
  color?: string;
}

export interface BarChartOptions {
  title: string;
  yLabel: string;
  categories: string[];
  series: BarSeries[];
  width?: number;
  height?: number;
}

export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#E69F00', '#CC79A7', '#56B4E9', '#555555'] as const;

const DEFAULT_WIDTH = 960;
const DEFAULT_HEIGHT = 300;
const MARGIN = { top: 48, right: 20, bottom: 52, left: 64 };
const TICK_COUNT_TARGET = 6;
/** Beyond this many points a series is drawn as a bare line, without hover markers. */
const MARKERS_POINTS_MAX = 80;
/** Beyond this many bars the value labels above them would collide. */
const BAR_VALUE_LABELS_MAX = 36;
/** Average width of one character of 11–12px sans-serif, for fitting text. */
const CHAR_WIDTH_PX = 6.6;

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** A line chart of one or more series; points with a non-finite coordinate break the line. */
export function lineChart(options: LineChartOptions): string {
  const frame = frameFor(options.width, options.height);
  const series = options.series.map((entry, index) => ({ ...entry, color: entry.color ?? colorAt(index) }));
  const finitePoints = series.flatMap((entry) => entry.points.filter(isFinitePoint));
  if (finitePoints.length === 0) return emptyChart(frame, options.title, 'no data');

  const xs = finitePoints.map((point) => point.x);
  const ys = finitePoints.map((point) => point.y);
  const [xMin, xMax] = spread(Math.min(...xs), Math.max(...xs));
  // The x axis spans the data exactly (a soak starts at its first bucket);
  // only ticks inside it are drawn. The y axis is widened to round values.
  const xTicks = niceTicks(xMin, xMax, TICK_COUNT_TARGET, options.xInteger).filter((tick) => tick >= xMin && tick <= xMax);
  const y = niceScale(Math.min(0, ...ys), Math.max(...ys), TICK_COUNT_TARGET, options.yInteger);
  const scaleX = linearScale(xMin, xMax, frame.left, frame.right);
  const scaleY = linearScale(y.min, y.max, frame.bottom, frame.top);

  const parts: string[] = [];
  parts.push(yGrid(frame, y.ticks, scaleY));
  const xTickLabels = formatTicks(xTicks);
  parts.push(xTicks.map((tick, index) => xTickMark(frame, scaleX(tick), xTickLabels[index]!)).join(''));
  parts.push(axes(frame, scaleY(0)));
  for (const entry of series) {
    const path = linePath(entry.points, scaleX, scaleY);
    if (path === '') continue;
    const dash = entry.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(`<path d="${path}" fill="none" stroke="${escapeHtml(entry.color)}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"${dash}/>`);
    const finite = entry.points.filter(isFinitePoint);
    if (finite.length <= MARKERS_POINTS_MAX) {
      for (const point of finite) {
        const label = point.label ?? `${entry.name}: x ${formatNumber(point.x)}, y ${formatNumber(point.y)}`;
        parts.push(
          `<circle cx="${fixed(scaleX(point.x))}" cy="${fixed(scaleY(point.y))}" r="3" fill="${escapeHtml(entry.color)}"><title>${escapeHtml(label)}</title></circle>`,
        );
      }
    }
  }
  parts.push(axisLabels(frame, options.xLabel, options.yLabel));
  parts.push(
    legend(
      frame,
      series.map((entry) => ({ name: entry.name, color: entry.color, dashed: entry.dashed === true })),
    ),
  );
  return svg(frame, options.title, parts.join(''));
}

/** A grouped bar chart: for each category, one bar per series. */
export function barChart(options: BarChartOptions): string {
  const frame = frameFor(options.width, options.height);
  const series = options.series.map((entry, index) => ({ ...entry, color: entry.color ?? colorAt(index) }));
  const values = series.flatMap((entry) => entry.values.slice(0, options.categories.length).filter(Number.isFinite));
  if (options.categories.length === 0 || series.length === 0 || values.length === 0) return emptyChart(frame, options.title, 'no data');

  const integer = values.every(Number.isInteger);
  const y = niceScale(Math.min(0, ...values), Math.max(0, ...values), TICK_COUNT_TARGET, integer);
  const scaleY = linearScale(y.min, y.max, frame.bottom, frame.top);
  const band = (frame.right - frame.left) / options.categories.length;
  const groupWidth = band * 0.8;
  const barWidth = groupWidth / series.length;
  const showValues = options.categories.length * series.length <= BAR_VALUE_LABELS_MAX;
  const labelCharsMax = Math.max(3, Math.floor(band / CHAR_WIDTH_PX));
  const zeroY = scaleY(0);

  const parts: string[] = [];
  parts.push(yGrid(frame, y.ticks, scaleY));
  options.categories.forEach((category, categoryIndex) => {
    const groupLeft = frame.left + band * categoryIndex + (band - groupWidth) / 2;
    series.forEach((entry, seriesIndex) => {
      const value = entry.values[categoryIndex];
      if (value === undefined || !Number.isFinite(value)) return;
      const x = groupLeft + barWidth * seriesIndex;
      const y = Math.min(scaleY(value), zeroY);
      // A zero still gets a hairline, so "0 winners" is visibly a bar of zero.
      const height = Math.max(Math.abs(zeroY - scaleY(value)), 1);
      const title = `${category} — ${entry.name}: ${formatNumber(value)}`;
      parts.push(
        `<rect x="${fixed(x + 1)}" y="${fixed(value === 0 ? zeroY - 1 : y)}" width="${fixed(Math.max(barWidth - 2, 1))}" height="${fixed(height)}" fill="${escapeHtml(entry.color)}"><title>${escapeHtml(title)}</title></rect>`,
      );
      if (showValues) {
        const labelY = value >= 0 ? y - 4 : y + height + 12;
        parts.push(
          `<text x="${fixed(x + barWidth / 2)}" y="${fixed(labelY)}" text-anchor="middle" class="chart-value">${escapeHtml(formatCompact(value))}</text>`,
        );
      }
    });
    const center = frame.left + band * categoryIndex + band / 2;
    parts.push(xTickMark(frame, center, truncate(category, labelCharsMax), category));
  });
  parts.push(axes(frame, zeroY));
  parts.push(axisLabels(frame, '', options.yLabel));
  parts.push(
    legend(
      frame,
      series.map((entry) => ({ name: entry.name, color: entry.color, dashed: false })),
    ),
  );
  return svg(frame, options.title, parts.join(''));
}

export interface NiceScale {
  min: number;
  max: number;
  step: number;
  ticks: number[];
}

/**
 * [min, max] widened outward to multiples of a "nice" step (1, 2, 2.5 or 5 ×
 * 10ⁿ; a whole number if `integer`), with the ticks at that step. Never
 * empty. The domain and its ticks come from one step, so a tick is never
 * outside the plot.
 */
export function niceScale(min: number, max: number, countTarget: number, integer = false): NiceScale {
  const [low, high] = spread(min, max);
  const step = niceStep(high - low, countTarget, integer);
  const domainMin = roundToStep(Math.floor(low / step) * step, step);
  const domainMax = roundToStep(Math.ceil(high / step) * step, step);
  const ticks: number[] = [];
  for (let index = 0; domainMin + index * step <= domainMax + step * 1e-9; index += 1) {
    ticks.push(roundToStep(domainMin + index * step, step));
  }
  return { min: domainMin, max: domainMax, step, ticks };
}

export function niceTicks(min: number, max: number, countTarget: number, integer = false): number[] {
  return niceScale(min, max, countTarget, integer).ticks;
}

export function niceDomain(min: number, max: number, countTarget: number, integer = false): [number, number] {
  const scale = niceScale(min, max, countTarget, integer);
  return [scale.min, scale.max];
}

function niceStep(range: number, countTarget: number, integer = false): number {
  const raw = range / Math.max(countTarget, 1);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const normalized = raw / magnitude;
  const nice = normalized <= 1 ? 1 : normalized <= 2 ? 2 : normalized <= 2.5 ? 2.5 : normalized <= 5 ? 5 : 10;
  const step = nice * magnitude;
  // 2.5 × 10⁰ is not a whole number, and neither is any step below 1.
  return integer ? Math.max(1, Math.ceil(step)) : step;
}

function roundToStep(value: number, step: number): number {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 2);
  return Number(value.toFixed(Math.min(decimals, 12)));
}

/**
 * A zero-width range would divide by zero; widen it by one unit (or 10%),
 * without dipping below zero for a non-negative value: all-zero leftover
 * holds should plot as a flat line on the axis, not mid-chart.
 */
function spread(min: number, max: number): [number, number] {
  if (max > min) return [min, max];
  const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
  return [min >= 0 ? Math.max(0, min - pad) : min - pad, max + pad];
}

function linearScale(domainMin: number, domainMax: number, rangeMin: number, rangeMax: number): (value: number) => number {
  const ratio = (rangeMax - rangeMin) / (domainMax - domainMin);
  return (value) => rangeMin + (value - domainMin) * ratio;
}

function linePath(points: ChartPoint[], scaleX: (x: number) => number, scaleY: (y: number) => number): string {
  let path = '';
  let penDown = false;
  for (const point of points) {
    if (!isFinitePoint(point)) {
      penDown = false;
      continue;
    }
    path += `${penDown ? 'L' : 'M'}${fixed(scaleX(point.x))} ${fixed(scaleY(point.y))}`;
    penDown = true;
  }
  return path;
}

function frameFor(width = DEFAULT_WIDTH, height = DEFAULT_HEIGHT): Frame {
  return { width, height, left: MARGIN.left, right: width - MARGIN.right, top: MARGIN.top, bottom: height - MARGIN.bottom };
}

function svg(frame: Frame, title: string, body: string): string {
  return (
    `<svg class="chart" viewBox="0 0 ${frame.width} ${frame.height}" width="${frame.width}" height="${frame.height}" role="img" aria-label="${escapeHtml(title)}">` +
    `<title>${escapeHtml(title)}</title>` +
    `<text x="${frame.left}" y="20" class="chart-title">${escapeHtml(title)}</text>` +
    body +
    '</svg>'
  );
}

function emptyChart(frame: Frame, title: string, message: string): string {
  const middleX = (frame.left + frame.right) / 2;
  const middleY = (frame.top + frame.bottom) / 2;
  return svg(frame, title, `<text x="${fixed(middleX)}" y="${fixed(middleY)}" text-anchor="middle" class="chart-empty">${escapeHtml(message)}</text>`);
}

function yGrid(frame: Frame, ticks: number[], scaleY: (y: number) => number): string {
  const labels = formatTicks(ticks);
  return ticks
    .map((tick, index) => {
      const y = fixed(scaleY(tick));
      return (
        `<line x1="${frame.left}" y1="${y}" x2="${frame.right}" y2="${y}" class="chart-grid"/>` +
        `<text x="${frame.left - 8}" y="${y}" dy="0.32em" text-anchor="end" class="chart-tick">${escapeHtml(labels[index]!)}</text>`
      );
    })
    .join('');
}

function xTickMark(frame: Frame, x: number, text: string, fullText?: string): string {
  const title = fullText !== undefined && fullText !== text ? `<title>${escapeHtml(fullText)}</title>` : '';
  return (
    `<line x1="${fixed(x)}" y1="${frame.bottom}" x2="${fixed(x)}" y2="${frame.bottom + 5}" class="chart-axis"/>` +
    `<text x="${fixed(x)}" y="${frame.bottom + 18}" text-anchor="middle" class="chart-tick">${escapeHtml(text)}${title}</text>`
  );
}

function axes(frame: Frame, zeroY: number): string {
  // The x axis sits at zero when zero is inside the plot, else at the bottom.
  const axisY = zeroY >= frame.top && zeroY <= frame.bottom ? zeroY : frame.bottom;
  return (
    `<line x1="${frame.left}" y1="${frame.top}" x2="${frame.left}" y2="${frame.bottom}" class="chart-axis"/>` +
    `<line x1="${frame.left}" y1="${fixed(axisY)}" x2="${frame.right}" y2="${fixed(axisY)}" class="chart-axis"/>`
  );
}

function axisLabels(frame: Frame, xLabel: string, yLabel: string): string {
  const middleX = (frame.left + frame.right) / 2;
  const middleY = (frame.top + frame.bottom) / 2;
  const x = xLabel === '' ? '' : `<text x="${fixed(middleX)}" y="${frame.height - 10}" text-anchor="middle" class="chart-label">${escapeHtml(xLabel)}</text>`;
  const y =
    yLabel === '' ? '' : `<text transform="translate(16 ${fixed(middleY)}) rotate(-90)" text-anchor="middle" class="chart-label">${escapeHtml(yLabel)}</text>`;
  return x + y;
}

function legend(frame: Frame, entries: Array<{ name: string; color: string; dashed: boolean }>): string {
  // Laid out right to left along the top, so it never covers the title.
  let right = frame.right;
  const items: string[] = [];
  for (const entry of [...entries].reverse()) {
    const textWidth = entry.name.length * CHAR_WIDTH_PX;
    const left = right - textWidth - 22;
    const dash = entry.dashed ? ' stroke-dasharray="4 3"' : '';
    items.push(
      `<g class="chart-legend"><line x1="${fixed(left)}" y1="36" x2="${fixed(left + 16)}" y2="36" stroke="${escapeHtml(entry.color)}" stroke-width="4"${dash}/>` +
        `<text x="${fixed(left + 20)}" y="36" dy="0.32em">${escapeHtml(entry.name)}</text></g>`,
    );
    right = left - 14;
  }
  return items.join('');
}

function isFinitePoint(point: ChartPoint): boolean {
  return Number.isFinite(point.x) && Number.isFinite(point.y);
}

function colorAt(index: number): string {
  return PALETTE[index % PALETTE.length]!;
}

function truncate(text: string, charsMax: number): string {
  const chars = [...text];
  return chars.length <= charsMax ? text : `${chars.slice(0, charsMax - 1).join('')}…`;
}

function fixed(value: number): string {
  return String(Math.round(value * 10) / 10);
}
