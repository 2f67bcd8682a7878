#!/usr/bin/env python3
"""Block-sparse GEMV speed-up over the dense GEMV against density, from a benchmark JSON file
(bench/run_benchmarks.sh -f sparse_gemv -o FILE, or ulk_bench_kernels --benchmark_out=FILE).
Writes a Markdown table to stdout and, with --svg OUT, the curve as a self-contained SVG (no
plotting library needed).

  python3 bench/plot_sparse.py bench/results/sparse.json --svg docs/sparse_speedup.svg
"""
import json
import re
import sys
from collections import defaultdict

NAME = re.compile(r"sparse_gemv/([^/]+)/(\d+x\d+)/density:(\d+)/threads:(\d+)")


def load(path):
    runs = json.load(open(path))["benchmarks"]
    # median aggregate when repetitions were run, else the single run
    rows = defaultdict(dict)
    for b in runs:
        m = NAME.match(b["name"])
        if not m or b.get("aggregate_name", "median") != "median":
            continue
        fmt, shape, density, threads = m.group(1), m.group(2), int(m.group(3)), int(m.group(4))
        rows[(fmt, shape, threads)][density] = (b["speedup"], b.get("bytes_ratio", 0.0))
    return rows


def table(rows):
    densities = sorted({d for v in rows.values() for d in v}, reverse=True)
    out = ["| format | block | threads | " + " | ".join(f"{d}%" for d in densities) + " |",
           "|---|---|---:|" + "---:|" * len(densities)]
    for (fmt, shape, threads), v in sorted(rows.items()):
        cells = [f"{v[d][0]:.2f}x" if d in v else "" for d in densities]
        out.append(f"| {fmt} | {shape} | {threads} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def svg(rows, threads):
    w, h, left, bottom, top, right = 640, 400, 60, 50, 30, 170
    series = {k: v for k, v in rows.items() if k[2] == threads}
    ymax = max([4.0] + [s for v in series.values() for s, _ in v.values()])
    x = lambda d: left + (100 - d) / 100 * (w - left - right)
    y = lambda s: h - bottom - s / ymax * (h - top - bottom)
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{left}" y="18">Block-sparse GEMV speed-up over dense, {threads} thread(s)</text>']
    for s in range(0, int(ymax) + 1):
        parts.append(f'<line x1="{left}" y1="{y(s):.1f}" x2="{w - right}" y2="{y(s):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 8}" y="{y(s) + 4:.1f}" text-anchor="end">{s}x</text>')
    for d in (100, 75, 50, 25, 10):
        parts.append(f'<text x="{x(d):.1f}" y="{h - bottom + 18}" text-anchor="middle">{d}%</text>')
    parts.append(f'<text x="{(left + w - right) / 2}" y="{h - 10}" text-anchor="middle">density (kept blocks)</text>')
    ideal = " ".join(f"{x(d):.1f},{y(min(ymax, 100 / d)):.1f}" for d in range(100, 9, -1))
    parts.append(f'<polyline points="{ideal}" fill="none" stroke="#999" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{w - right + 10}" y="{top + 10}" fill="#999">1/density (bytes)</text>')
    for i, ((fmt, shape, _), v) in enumerate(sorted(series.items())):
        c = colors[i % len(colors)]
        pts = " ".join(f"{x(d):.1f},{y(s):.1f}" for d, (s, _) in sorted(v.items(), reverse=True))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{c}" stroke-width="2"/>')
        parts.append(f'<text x="{w - right + 10}" y="{top + 30 + 18 * i}" fill="{c}">{fmt} {shape}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def main():
    args = sys.argv[1:]
    out_svg = None
    if "--svg" in args:
        i = args.index("--svg")
        out_svg = args[i + 1]
        del args[i:i + 2]
    rows = load(args[0])
    print(table(rows))
    if out_svg:
        threads = max(k[2] for k in rows)
        open(out_svg, "w").write(svg(rows, threads))


if __name__ == "__main__":
    main()
