"""results.json -> results.md and the PNG plots."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from pinnacle.bench.harness import num
from pinnacle.paths import write_atomic

LATENCY_PLOT = "latency_append.png"
THREADS_PLOT = "durable_threads.png"
RECOVERY_PLOT = "recovery_length.png"


def _cells(row: list[Any]) -> str:
    return "| " + " | ".join(str(c) for c in row) + " |"


def markdown_table(columns: list[str], rows: list[list[Any]]) -> list[str]:
    return [_cells(columns), _cells(["---"] * len(columns)), *(_cells(r) for r in rows)]


def figure(value: float, unit: str) -> str:
    text = num(value, 2 if abs(value) < 100 else 0)
    return f"{text}{unit}" if unit == "×" else f"{text} {unit}"


def _machine(meta: dict[str, Any]) -> list[str]:
    m = meta["machine"]
    fs = m["data_fs"]
    mem = meta["memory"]
    rows = [
        ["CPU", m["cpu"]],
        ["cores", m["cores"]],
        ["memory", f"{m['memory_gib']} GiB"],
        ["kernel", m["kernel"]],
        ["Python", m["python"]],
        ["numpy", m["numpy"]],
        ["pinnacle", f"{m['pinnacle']} ({m['pinnacle_build']})"],
        ["sqlite / py-lmdb", f"{m['sqlite']} / {m['lmdb']}"],
        [
            "data dir",
            f"`{m['data_dir']}`: {fs['fstype']} on {fs['device']} (mounted at {fs['mount']}); "
            f"flush counts from disk {m['data_disk'] or 'n/a'}",
        ],
        [
            "timer overhead",
            f"{meta['timer_overhead_ns']} ns per `perf_counter_ns` pair (subtracted from per-call latencies)",
        ],
        ["load average at start / end", f"{meta['load_start']} / {meta['load_end']}"],
        [
            "other processes' CPU during the run",
            f"{meta['cpu']['other_cores']} cores on average "
            f"(hypervisor steal: {meta['cpu']['steal_cores']} cores)",
        ],
    ]
    lines = ["## Machine", "", *markdown_table(["", ""], rows), "", "### Machine memory baseline", ""]
    lines += markdown_table(
        [
            "`np.ones`, memory new to this process",
            "`np.ones` again (pages recycled)",
            "refill of the same buffer",
        ],
        [[f"{num(mem[k], 2)} GB/s" for k in ("fresh_gbps", "recycled_gbps", "refill_gbps")]],
    )
    lines += [
        "",
        f"{num(mem['bytes'] / 2**20)} MiB buffers. Memory the guest never touched costs a hypervisor "
        "fault per 4 KiB page on first touch; recycled pages only need zeroing; a refill is the memory "
        "bandwidth. Appending to any file-backed store touches new page-cache pages, so this bounds "
        "what writers see.",
        "",
    ]
    return lines


def _targets(results: dict[str, Any]) -> list[str]:
    rows = []
    for t in results["targets"]:
        value = "—" if t["value"] is None else figure(t["value"], t["unit"])
        section = results["sections"].get(t["section"])
        other = section["cpu"]["other_cores"] if section else "—"
        rows.append([t["label"], value, f"**{t['result']}**", other])
    columns = ["target", "figure (this run)", "result", "other processes' CPU during its section (cores)"]
    return ["## Issue targets", "", *markdown_table(columns, rows), ""]


def _section(name: str, s: dict[str, Any], plots: dict[str, str]) -> list[str]:
    lines = [f"## {s['title']} (`{name}`)", ""]
    if s["status"] != "ok":
        return [*lines, "**FAILED**", "", "```", s["error"].rstrip(), "```", ""]
    for t in s["tables"]:
        lines += [f"### {t['title']}", "", *markdown_table(t["columns"], t["rows"]), ""]
        lines += [f"- {n}" for n in t["notes"]]
        lines.append("")
    for series, png in plots.items():
        if series in s["series"]:
            lines += [f"![{series}]({png})", ""]
    return lines


def write_markdown(results: dict[str, Any], path: Path, plots: dict[str, str], plot_note: str | None) -> None:
    meta = results["meta"]
    lines = [
        f"# pinnacle benchmarks ({meta['mode']})",
        "",
        f"{meta['date']} · `{meta['command']}` · {meta['duration_s']:.0f} s",
        "",
    ]
    lines += [f"> **Warning:** {w}" for w in meta["warnings"]]
    lines += ["", *_machine(meta), *_targets(results)]
    summary = [
        [name, s["status"].upper(), f"{s['seconds']:.1f}", s["cpu"]["other_cores"], s["cpu"]["steal_cores"]]
        for name, s in results["sections"].items()
    ]
    lines += ["## Sections", ""]
    lines += markdown_table(
        ["section", "status", "seconds", "other processes' CPU (cores)", "steal (cores)"], summary
    )
    lines.append("")
    if plot_note:
        lines += [f"> Plots: {plot_note}", ""]
    for name, s in results["sections"].items():
        lines += _section(name, s, plots)
    write_atomic(path, "\n".join(lines).encode())


def _save(fig: Any, path: Path) -> None:
    """Saves a figure as PNG through the atomic-file protocol."""
    out = io.BytesIO()
    fig.savefig(out, dpi=120, format="png")
    write_atomic(path, out.getbuffer())


def _plot_latency(plt: Any, data: dict[str, Any], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for label, d in data.items():
        xs = [ns for p, ns in d["curve"]] + [d["max"]]
        ys = [1 - p / 100 for p, _ in d["curve"]] + [1 / d["samples"]]
        ax.step(xs, ys, where="post", label=label.replace("`", ""))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.axvline(2000, color="grey", linestyle=":", linewidth=1)
    ax.axhline(1e-3, color="grey", linestyle=":", linewidth=1)
    ax.text(2100, 1.2e-3, "p99.9 target: 2 µs", color="grey", fontsize=8)
    ax.set_xlabel("latency per call (ns, timer overhead subtracted)")
    ax.set_ylabel("fraction of calls slower (CCDF)")
    ax.set_title("Single 64-byte appends: latency distribution")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def _plot_threads(plt: Any, data: dict[str, Any], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 5))
    threads = data["threads"]
    for label, rates in data["lines"].items():
        ax.plot(threads, rates, marker="o", label=label.replace("`", ""))
    base = data["baseline"]
    ax.axhline(base, color="grey", linestyle="--", linewidth=1, label="per-record fdatasync, 1 thread")
    ax.axhline(5 * base, color="tab:red", linestyle=":", linewidth=1, label="target: 5× per-record fdatasync")
    ax.set_xscale("log", base=2)
    ax.set_xticks(threads, [str(t) for t in threads])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("threads appending to one store")
    ax.set_ylabel("durable appends / s (total)")
    ax.set_title("Group commit: durable throughput vs threads")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def _plot_recovery(plt: Any, data: dict[str, Any], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 5))
    ops, seconds = data["ops"], data["seconds"]
    ax.plot(ops, seconds, marker="o", label="PersistenceManager.recover_state (scan + verify + replay)")
    # A line through the smallest size with slope 1: what linear scaling looks like.
    ax.plot(
        ops, [seconds[0] * n / ops[0] for n in ops], color="grey", linestyle="--", linewidth=1, label="linear"
    )
    ax.plot(
        [1_000_000], [0.35], marker="x", color="tab:red", linestyle="none", label="target: 1 M ops ≤ 0.35 s"
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("journaled book operations (no snapshot)")
    ax.set_ylabel("recovery time (s)")
    ax.set_title("Recovery time against journal length")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def write_plots(results: dict[str, Any], out: Path) -> tuple[dict[str, str], str | None]:
    """Draws the plots whose data this run has; returns {series: file name} and, when
    matplotlib is missing, a note saying so."""
    wanted = {
        "latency_append": (LATENCY_PLOT, _plot_latency),
        "durable_threads": (THREADS_PLOT, _plot_threads),
        "recovery_length": (RECOVERY_PLOT, _plot_recovery),
    }
    found = {
        key: s["series"][key]
        for s in results["sections"].values()
        if s["status"] == "ok"
        for key in s["series"]
        if key in wanted
    }
    if not found:
        return {}, None
    try:
        import matplotlib
    except ImportError:
        return {}, "not drawn: matplotlib is not installed (`pip install 'pinnacle[bench]'`)"
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = {}
    for key, data in found.items():
        name, draw = wanted[key]
        draw(plt, data, out / name)
        made[key] = name
    return made, None
