// The benchmark picture: one horizontal bar per workload and anchor, on a log
// scale, drawn from the run's own figures. Every bar reads "times better than
// the anchor": ours / theirs for rates, theirs / ours for times, so that right
// of the 1x line is always ours ahead. A target, where the workload has one
// stated against that anchor, is a tick on the bar's row.

/** One bar of the chart. */
export interface ChartBar {
  /** The workload, e.g. "applyAsync throughput". */
  workload: string;
  /** The anchor, e.g. "piscina". */
  anchor: string;
  /** Times better than the anchor (> 1: ours ahead). */
  better: number;
  /** The target in the same unit, if the workload has one against this anchor. */
  target?: number;
}

const ROW = 26;
const LABEL_WIDTH = 360;
const PLOT_WIDTH = 420;
const TOP = 48;

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!,
  );
}

/** The chart as an SVG document. */
export function ratioChart(bars: ChartBar[], caption: string): string {
  const values = bars.flatMap((b) => [b.better, b.target ?? 1]).filter((v) => v > 0);
  const lo = Math.min(0.1, ...values.map((v) => v / 1.5));
  const hi = Math.max(10, ...values.map((v) => v * 1.5));
  const [logLo, logHi] = [Math.log10(lo), Math.log10(hi)];
  const x = (v: number) =>
    LABEL_WIDTH + ((Math.log10(Math.max(v, lo)) - logLo) / (logHi - logLo)) * PLOT_WIDTH;
  const height = TOP + bars.length * ROW + 40;
  const width = LABEL_WIDTH + PLOT_WIDTH + 90;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${escapeXml(caption)}</text>`,
    `<text x="10" y="38" fill="#555">times better than the anchor (log scale; right of 1x: ours ` +
    `ahead); ticks: targets</text>`,
  ];
  for (let p = Math.ceil(logLo); p <= Math.floor(logHi); p++) {
    const v = 10 ** p;
    const gx = x(v).toFixed(1);
    parts.push(
      `<line x1="${gx}" y1="${TOP - 4}" x2="${gx}" y2="${TOP + bars.length * ROW}" ` +
        `stroke="${v === 1 ? "#333" : "#ddd"}"/>`,
      `<text x="${gx}" y="${TOP + bars.length * ROW + 16}" text-anchor="middle">${v}x</text>`,
    );
  }
  bars.forEach((bar, i) => {
    const y = TOP + i * ROW;
    const met = bar.better >= (bar.target ?? 1);
    const x0 = x(Math.min(1, bar.better));
    const x1 = x(Math.max(1, bar.better));
    parts.push(
      `<text x="${LABEL_WIDTH - 8}" y="${y + 16}" text-anchor="end">${
        escapeXml(`${bar.workload} vs ${bar.anchor}`)
      }</text>`,
      `<rect x="${x0.toFixed(1)}" y="${y + 5}" width="${Math.max(1, x1 - x0).toFixed(1)}" ` +
        `height="${ROW - 10}" fill="${met ? "#3a7d44" : "#d08c2c"}"/>`,
      `<text x="${(x1 + 4).toFixed(1)}" y="${y + 16}">${bar.better.toFixed(2)}x</text>`,
    );
    if (bar.target !== undefined) {
      const tx = x(bar.target).toFixed(1);
      parts.push(
        `<line x1="${tx}" y1="${y + 2}" x2="${tx}" y2="${y + ROW - 2}" stroke="#c00" ` +
          `stroke-width="2"/>`,
      );
    }
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
