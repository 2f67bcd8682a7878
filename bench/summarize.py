#!/usr/bin/env python3
"""Turn ulk_bench_kernels' JSON output into the markdown tables of docs/benchmarks.md.

    python3 bench/summarize.py [bench/results/latest.json] [-o table.md]

Takes the median of each benchmark's repetitions (the `_median` aggregates that
run_benchmarks.sh asks for; without them, the median of the plain runs), and prints:
  - read bandwidth: the probe every GEMV is divided by
  - GEMV (decode): format, bits/weight, threads, weight GB/s, % of the probe at that thread count
  - GEMM (prefill, 64 tokens): format, threads, GOP/s
  - SIMD vs scalar: each format's dot kernel over its scalar reference
Every figure that compares is a ratio within this one run; absolute numbers depend on the machine
and on what else ran on it. Standard library only.
"""
import argparse
import json
import statistics
import sys
from collections import OrderedDict

TIME_SUFFIXES = ("manual_time", "real_time")


def parse_name(run_name):
    """'gemv/Q4_0/threads:2/manual_time' -> ('gemv', 'Q4_0', {'threads': '2'}, [])."""
    parts = [p for p in run_name.split("/") if p not in TIME_SUFFIXES]
    kind = parts[0]
    rest = parts[1:]
    fields, plain = {}, []
    for p in rest:
        if ":" in p:
            k, v = p.split(":", 1)
            fields[k] = v
        else:
            plain.append(p)
    return kind, fields, plain


def collect(benchmarks):
    """run_name -> {counter: median value, '_cv': {counter: cv}, '_reps': n}, in output order."""
    medians, cvs, runs = OrderedDict(), {}, OrderedDict()
    for b in benchmarks:
        if b.get("error_occurred"):
            print(f"warning: {b['name']} failed: {b.get('error_message', '')}", file=sys.stderr)
            continue
        name = b.get("run_name", b["name"])
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[name] = dict(b, _reps=b.get("repetitions", 1))
            elif b.get("aggregate_name") == "cv":
                cvs[name] = b
        else:
            runs.setdefault(name, []).append(b)
    out = OrderedDict()
    for name, rs in runs.items():
        if name in medians:
            continue
        keys = [k for k, v in rs[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        out[name] = {k: statistics.median(r[k] for r in rs if k in r) for k in keys}
        out[name]["_reps"] = len(rs)
    for name, m in medians.items():
        out[name] = m
    for name, c in cvs.items():
        if name in out:
            out[name]["_cv"] = c
    # Keep the binary's order (the order of the tables), whichever way each entry arrived.
    order = {b.get("run_name", b["name"]): i for i, b in reversed(list(enumerate(benchmarks)))}
    return OrderedDict(sorted(out.items(), key=lambda kv: order.get(kv[0], 0)))


def table(header, rows, align):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def cv_note(rec, key):
    """' ±3%' from the repetitions' coefficient of variation, when there was one."""
    cv = rec.get("_cv", {}).get(key)
    return f" ±{100 * cv:.0f}%" if isinstance(cv, (int, float)) and cv > 0 else ""


def summarize(doc):
    ctx = doc.get("context", {})
    recs = collect(doc.get("benchmarks", []))
    out = []
    reps = max((r.get("_reps", 1) for r in recs.values()), default=1)
    out.append(f"Measured {ctx.get('date', '?')} on `{ctx.get('host_name', '?')}`, "
               f"{ctx.get('num_cpus', '?')} CPUs, kernels `{ctx.get('ulk_simd', '?')}`; "
               f"median of {reps} repetition{'s' if reps != 1 else ''} (± is their coefficient of variation). "
               f"GEMV streams {ctx.get('ulk_gemv_MiB', '?')} MiB of weights per iteration; "
               f"the probe reads {ctx.get('ulk_probe_MiB', '?')} MiB.")
    warnings = []
    if ctx.get("ulk_build", "optimized") != "optimized":
        warnings.append(f"build: {ctx['ulk_build']}")
    load = ctx.get("load_avg") or []
    cpus = ctx.get("num_cpus") or 0
    if load and cpus and load[0] > 0.5 * cpus:
        warnings.append(f"load average {load[0]:.1f} on {cpus} CPUs when the run started: other work shared the machine")
    if str(ctx.get("ulk_gemv_MiB", "256")).isdigit() and int(ctx.get("ulk_gemv_MiB", "256")) < 256:
        warnings.append("GEMV weights smaller than 256 MiB: caches flatter the bandwidth (a smoke run, not a measurement)")
    for w in warnings:
        out.append(f"\n**Warning:** {w}.")

    # Read bandwidth
    rows = []
    for name, r in recs.items():
        kind, f, _ = parse_name(name)
        if kind != "probe":
            continue
        t = f.get("threads", "?")
        startup = ctx.get(f"ulk_probe_GBps_threads:{t}")
        rows.append([t, startup if startup else f"{r.get('startup_bytes_per_s', 0) / 1e9:.2f}",
                     f"{r.get('bytes', 0) / 1e9:.2f}{cv_note(r, 'bytes')}"])
    if rows:
        out.append("\n### Read bandwidth (probe)\n")
        out.append(table(["threads", "start-up GB/s (the `of_probe` divisor)", "benchmark GB/s"], rows, "rrr"))

    # GEMV
    rows, allocating = [], []
    for name, r in recs.items():
        kind, f, _ = parse_name(name)
        if kind != "gemv":
            continue
        fmt = name.split("/")[1]
        rows.append([fmt, f"{r.get('bits_per_weight', 0):.3g}", f.get("threads", "?"),
                     f"{r.get('bytes', 0) / 1e9:.2f}{cv_note(r, 'bytes')}", f"{100 * r.get('of_probe', 0):.0f}%"])
        if r.get("allocs_per_iter", 0) > 0:
            allocating.append(f"{fmt} ({r['allocs_per_iter']:.0f}/iteration)")
    if rows:
        out.append("\n### GEMV (decode): weight bandwidth\n")
        out.append(table(["format", "bits/weight", "threads", "GB/s", "% of probe"], rows, "lrrrr"))
        if allocating:
            out.append(f"\nAllocates inside the timed loop: {', '.join(dict.fromkeys(allocating))}.")

    # GEMM
    rows, allocating = [], []
    for name, r in recs.items():
        kind, f, _ = parse_name(name)
        if kind != "gemm":
            continue
        fmt = name.split("/")[1]
        rows.append([fmt, f.get("threads", "?"), f"{r.get('ops', 0) / 1e9:.1f}{cv_note(r, 'ops')}"])
        if r.get("allocs_per_iter", 0) > 0:
            allocating.append(fmt)
    if rows:
        tokens = next((parse_name(n)[1].get("tokens") for n in recs if n.startswith("gemm/")), "?")
        out.append(f"\n### GEMM (prefill, {tokens} tokens, (2816, 1024) + (1024, 2816))\n")
        out.append(table(["format", "threads", "GOP/s"], rows, "lrr"))
        if allocating:
            out.append(f"\nAllocates inside the timed loop: {', '.join(dict.fromkeys(allocating))}.")

    # SIMD vs scalar reference
    dots = OrderedDict()
    for name, r in recs.items():
        kind, _, plain = parse_name(name)
        if kind != "dot" or len(plain) < 2:
            continue
        fmt, variant = plain[0], plain[1]
        dots.setdefault(fmt, {})[variant] = r
    rows = []
    for fmt, d in dots.items():
        ref = d.get("ref")
        for variant, r in d.items():
            if variant == "ref":
                continue
            ref_rate = ref.get("weights", 0) if ref else 0
            rate = r.get("weights", 0)
            rows.append([fmt, f"`{variant}`", f"{ref_rate / 1e9:.2f}" if ref else "-", f"{rate / 1e9:.2f}",
                         f"{rate / ref_rate:.1f}x" if ref_rate else "-"])
    if rows:
        out.append("\n### SIMD kernel vs scalar reference (one row of 4096 weights, in cache)\n")
        out.append(table(["format", "kernel", "reference Gweights/s", "SIMD Gweights/s", "speed-up"], rows, "llrrr"))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("json", nargs="?", default="bench/results/latest.json", help="ulk_bench_kernels --benchmark_out file")
    ap.add_argument("-o", "--output", help="write the markdown here instead of stdout")
    args = ap.parse_args()
    with open(args.json, encoding="utf-8") as f:
        doc = json.load(f)
    text = summarize(doc)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
