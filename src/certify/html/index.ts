// The certification report as a self-contained HTML page. Pure: view in, string out.

export { renderCertificationHtml } from './render.js';
export {
  barChart,
  lineChart,
  niceDomain,
  niceScale,
  niceTicks,
  type NiceScale,
  type BarChartOptions,
  type BarSeries,
  type ChartPoint,
  type LineChartOptions,
  type LineSeries,
} from './charts.js';
export { escapeHtml, formatDuration, formatNumber } from './format.js';
export type * from './types.js';
