#!/usr/bin/env python3
"""End-to-end speed against llama.cpp as a bar chart: reads the markdown table that
bench/llama_bench_compare.sh prints and writes a self-contained SVG (no plotting library) of the
ratios ulk / llama.cpp for prefill (pp64) and decode (tg64), one pair of bars per file.

  python3 bench/plot_e2e.py bench/results/e2e_246m.md --svg docs/e2e_vs_llamacpp.svg
"""
import sys


def load(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 8 or not cells[0].endswith(".gguf"):
            continue
        name, _, _, _, _, _, pp, tg = cells
        rows.append((name.replace(".gguf", ""), None if pp == "n/a" else float(pp), None if tg == "n/a" else float(tg)))
    return [r for r in rows if r[1] is not None or r[2] is not None]


def svg(rows, out):
    w, h, left, bottom, top = 720, 360, 60, 70, 40
    ymax = max(2.6, max(max(r[1] or 0, r[2] or 0) for r in rows) * 1.1)
    plot_h = h - bottom - top
    y = lambda v: top + plot_h * (1 - v / ymax)
    group = (w - left - 20) / len(rows)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
             f'<text x="{w/2}" y="20" text-anchor="middle" font-size="14">ulk / llama.cpp, 246M shape, 2 threads (same run)</text>']
    for v in [0, 0.5, 1, 1.5, 2, 2.5]:
        if v > ymax:
            continue
        parts.append(f'<line x1="{left}" x2="{w-20}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="{"#000" if v == 1 else "#ddd"}"/>')
        parts.append(f'<text x="{left-6}" y="{y(v)+4:.1f}" text-anchor="end">{v:g}x</text>')
    for i, (name, pp, tg) in enumerate(rows):
        x0 = left + i * group + group * 0.15
        bw = group * 0.33
        for j, (v, color) in enumerate([(pp, "#4c78a8"), (tg, "#f58518")]):
            if v is None:
                continue
            parts.append(f'<rect x="{x0 + j*bw:.1f}" y="{y(v):.1f}" width="{bw*0.95:.1f}" height="{y(0)-y(v):.1f}" fill="{color}"/>')
            parts.append(f'<text x="{x0 + j*bw + bw*0.47:.1f}" y="{y(v)-3:.1f}" text-anchor="middle" font-size="10">{v:.2f}</text>')
        parts.append(f'<text x="{x0 + bw:.1f}" y="{h-bottom+16}" text-anchor="middle" font-size="10">{name.replace("m246-", "")}</text>')
    parts.append(f'<rect x="{left}" y="{h-30}" width="12" height="12" fill="#4c78a8"/><text x="{left+16}" y="{h-20}">prefill (pp64)</text>')
    parts.append(f'<rect x="{left+130}" y="{h-30}" width="12" height="12" fill="#f58518"/><text x="{left+146}" y="{h-20}">decode (tg64)</text>')
    parts.append("</svg>")
    open(out, "w").write("\n".join(parts) + "\n")


if __name__ == "__main__":
    rows = load(sys.argv[1])
    for r in rows:
        print(r)
    if "--svg" in sys.argv:
        svg(rows, sys.argv[sys.argv.index("--svg") + 1])
