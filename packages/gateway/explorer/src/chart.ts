/**
 * The reputation chart: an inline SVG of a score's value per epoch over time,
 * with a ±1σ band of its Beta(α, β) posterior. No chart library.
 * @module
 */
import type { HistoryPoint } from "./api.js";
import { h, s } from "./dom.js";

const W = 640;
const H = 220;
const PAD = { left: 44, right: 16, top: 14, bottom: 34 };

/** The standard deviation of Beta(α, β). */
export function betaDeviation(alpha: number, beta: number): number {
  const n = alpha + beta;
  if (!(n > 0)) return 0;
  return Math.sqrt((alpha * beta) / (n * n * (n + 1)));
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

function shortDate(ms: number): string {
  return new Date(ms).toLocaleString(undefined, {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/**
 * Draws the history (oldest first) as an SVG line chart. Times are spread
 * evenly when they coincide (epochs run in one burst).
 */
export function reputationChart(history: readonly HistoryPoint[], label: string): Element {
  if (history.length === 0) {
    return h(
      "p",
      { class: "muted chart-empty" },
      "No epoch has scored this dimension yet (scores enter the history when an epoch runs).",
    );
  }
  const times = history.map((p) => Date.parse(p.asOf));
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const byTime = t1 > t0 && times.every((t) => Number.isFinite(t));
  const x = (i: number) => {
    if (history.length === 1) return PAD.left + iw / 2;
    if (!byTime) return PAD.left + (iw * i) / (history.length - 1);
    return PAD.left + (iw * ((times[i] as number) - t0)) / (t1 - t0);
  };
  const y = (v: number) => PAD.top + ih * (1 - clamp01(v));
  const points = history.map((p, i) => [x(i), y(p.value)] as const);

  const grid = [0, 0.25, 0.5, 0.75, 1].map((v) =>
    s(
      "g",
      { class: "grid" },
      s("line", { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) }),
      s("text", { x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end" }, v.toFixed(2)),
    ),
  );
  const upper = history.map((p, i) => `${x(i)},${y(p.value + betaDeviation(p.alpha, p.beta))}`);
  const lower = history
    .map((p, i) => `${x(i)},${y(p.value - betaDeviation(p.alpha, p.beta))}`)
    .reverse();
  const band =
    history.length > 1
      ? s("polygon", { class: "band", points: [...upper, ...lower].join(" ") })
      : null;
  const line = s("polyline", {
    class: "line",
    points: points.map(([px, py]) => `${px},${py}`).join(" "),
  });
  const dots = history.map((p, i) =>
    s(
      "circle",
      { class: "dot", cx: x(i), cy: y(p.value), r: 4, "data-epoch": p.epoch },
      s(
        "title",
        {},
        `epoch ${p.epoch} · ${new Date(p.asOf).toISOString()}\nvalue ${p.value.toFixed(4)} · α ${p.alpha.toFixed(2)} β ${p.beta.toFixed(2)} · ${p.samples} samples`,
      ),
    ),
  );
  const first = history[0] as HistoryPoint;
  const last = history[history.length - 1] as HistoryPoint;
  const xLabels = [
    s(
      "text",
      { x: PAD.left, y: H - 10, "text-anchor": "start" },
      `epoch ${first.epoch} · ${shortDate(Date.parse(first.asOf))}`,
    ),
    history.length > 1
      ? s(
          "text",
          { x: W - PAD.right, y: H - 10, "text-anchor": "end" },
          `epoch ${last.epoch} · ${shortDate(Date.parse(last.asOf))}`,
        )
      : null,
  ];
  const svg = s(
    "svg",
    {
      class: "chart",
      viewBox: `0 0 ${W} ${H}`,
      role: "img",
      "aria-label": `${label}: ${history.length} epochs, latest ${last.value.toFixed(3)}`,
      "data-points": history.length,
    },
    grid,
    band,
    line,
    dots,
    xLabels,
  );
  return h(
    "figure",
    { class: "chart-figure" },
    svg,
    h(
      "figcaption",
      { class: "muted" },
      `${label} per epoch (line), ±1σ of the Beta(α, β) posterior (band).`,
    ),
    h(
      "details",
      null,
      h("summary", null, "Data"),
      h(
        "table",
        null,
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            ["epoch", "as of", "value", "α", "β", "samples"].map((c) => h("th", null, c)),
          ),
        ),
        h(
          "tbody",
          null,
          history.map((p) =>
            h(
              "tr",
              null,
              h("td", null, p.epoch),
              h("td", null, p.asOf),
              h("td", null, p.value.toFixed(4)),
              h("td", null, p.alpha.toFixed(3)),
              h("td", null, p.beta.toFixed(3)),
              h("td", null, p.samples),
            ),
          ),
        ),
      ),
    ),
  );
}
