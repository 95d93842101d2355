// Escaping and number formatting shared by the report page and its charts.
// Every piece of text that reaches the page goes through `escapeHtml`; the
// values come from a run that attacked the engine with hostile input, and the
// page is meant to be opened by anyone.

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML (and inline SVG) element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

/** A number for people: grouped integers, at most `decimals` decimals, "–" for non-finite values. */
export function formatNumber(value: number, decimals = 2): string {
  if (!Number.isFinite(value)) return '–';
  const rounded = Number(value.toFixed(decimals));
  return rounded.toLocaleString('en-US', { maximumFractionDigits: decimals });
}

/** A number with exactly `decimals` decimals, for columns that should line up (latencies). */
export function formatFixed(value: number, decimals: number): string {
  if (!Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/**
 * Tick labels for one axis, all in the same unit: an axis reading
 * "5000, 10k, 15k" looks like it changed scale halfway.
 */
export function formatTicks(ticks: number[]): string[] {
  const largest = Math.max(0, ...ticks.filter(Number.isFinite).map(Math.abs));
  const [divisor, suffix] = largest >= 1e9 ? [1e9, 'G'] : largest >= 1e6 ? [1e6, 'M'] : largest >= 1e4 ? [1e3, 'k'] : [1, ''];
  if (divisor === 1) return ticks.map(formatCompact);
  return ticks.map((tick) => (!Number.isFinite(tick) ? '–' : tick === 0 ? '0' : `${trimZeros((tick / divisor).toFixed(2))}${suffix}`));
}

/** A short number for an axis tick or a bar: 1.2k, 3M. */
export function formatCompact(value: number): string {
  if (!Number.isFinite(value)) return '–';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e9) return `${trimZeros((value / 1e9).toFixed(1))}G`;
  if (magnitude >= 1e6) return `${trimZeros((value / 1e6).toFixed(1))}M`;
  if (magnitude >= 1e4) return `${trimZeros((value / 1e3).toFixed(1))}k`;
  if (magnitude >= 100 || Number.isInteger(value)) return String(Math.round(value));
  return trimZeros(value.toFixed(magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3));
}

/** A duration for people: 450 ms, 2.35 s, 3 min 05 s, 1 h 02 min. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${trimZeros(seconds.toFixed(2))} s`;
  const wholeSeconds = Math.round(seconds);
  if (wholeSeconds < 3600) return `${Math.floor(wholeSeconds / 60)} min ${String(wholeSeconds % 60).padStart(2, '0')} s`;
  const minutes = Math.round(wholeSeconds / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

function trimZeros(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}
