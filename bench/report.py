"""What a bench run shows: the JSON kept in bench/results, the printed table and the figure."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

# (scenario, key, how the figure is read, target as a test on the value, the target's text)
TARGETS: list[tuple[str, str, str, Any, str]] = [
    (
        "round_trip",
        "ratio_bare",
        "round trip median, twsapp / bare",
        lambda v: v <= 1.15,
        "<= 1.15",
    ),
    (
        "round_trip",
        "ratio_ib_async",
        "round trip median, twsapp / ib_async",
        lambda v: v < 1.0,
        "< 1",
    ),
    ("ingest", "ratio_bare", "ingest throughput, twsapp / bare", lambda v: v >= 0.7, ">= 0.7"),
    (
        "burst",
        "ratio_theoretical",
        "burst at 50/s, seconds / theoretical",
        lambda v: abs(v - 1.0) <= 0.03,
        "1 ± 0.03",
    ),
    ("burst", "error_100", "burst at 50/s, error 100s", lambda v: v == 0, "0"),
    ("startup", "ratio_bare", "start-up until synced, twsapp / bare", lambda v: v <= 1.2, "<= 1.2"),
    (
        "memory",
        "ratio_bare_placed",
        "memory per order placed, twsapp / bare",
        lambda v: v <= 1.1,
        "<= 1.1",
    ),
    (
        "simulator",
        "ratio_held_empty",
        "sim place latency, held / empty",
        lambda v: v <= 1.2,
        "<= 1.2",
    ),
]


# The table's columns: each program's key in the results, and its heading.
PROGRAMS = {
    "twsapp": "twsapp",
    "bare": "bare ibapi",
    "bare_fields": "bare + twsapp's fields",
    "ib_async": "ib_async",
}


def with_targets(results: dict[str, Any]) -> dict[str, Any]:
    """The results, with each target: its value, the goal, and whether it is met."""
    out = dict(results)
    out["targets"] = {
        f"{scenario}.{key}": {
            "value": results[scenario][key],
            "target": text,
            "met": test(results[scenario][key]),
        }
        for scenario, key, _, test, text in TARGETS
        if key in results.get(scenario, {})
    }
    return out


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _cols(results: dict[str, Any], scenario: str, pattern: str, fmt: str) -> list[str]:
    data = results.get(scenario, {})
    cells = []
    for program in PROGRAMS:
        value = data.get(pattern.format(p=program))
        cells.append("–" if value is None else format(value, fmt))
    return cells


def table(results: dict[str, Any]) -> str:
    """A Markdown table: each figure for each program, then the targets."""
    lines = [_row(["figure", *PROGRAMS.values()]), _row(["---"] * (len(PROGRAMS) + 1))]
    figures = [
        ("round trip median, ms", "round_trip", "median_ms_{p}", ".3f"),
        ("round trip p99, ms", "round_trip", "p99_ms_{p}", ".3f"),
        ("client CPU per round trip, µs", "round_trip", "cpu_us_{p}", ".0f"),
        ("ingest, messages/s", "ingest", "msgs_per_s_{p}", ",.0f"),
        ("ingest, µs per message", "ingest", "us_per_msg_{p}", ".1f"),
        ("start-up until synced, s (median)", "startup", "seconds_{p}", ".3f"),
        ("memory per order placed, bytes (traced)", "memory", "bytes_placed_{p}", ",.0f"),
        ("memory per order received, bytes (traced)", "memory", "bytes_received_{p}", ",.0f"),
        ("resident memory per order placed, bytes", "memory", "rss_placed_{p}", ",.0f"),
        ("longest GC pause, ms", "memory", "gc_pause_ms_{p}", ".1f"),
        ("full gc.collect() holding the orders, ms", "memory", "full_collect_ms_{p}", ".1f"),
    ]
    for label, scenario, pattern, fmt in figures:
        if scenario not in results:
            continue
        lines.append(_row([label, *_cols(results, scenario, pattern, fmt)]))
    ingest = results.get("ingest", {})
    for kind in ("openOrder", "orderStatus", "execDetails", "commission") if ingest else ():
        cells = [
            format(ingest.get(f"us_per_kind_{p}", {}).get(kind), ".1f")
            if kind in ingest.get(f"us_per_kind_{p}", {})
            else "–"
            for p in PROGRAMS
        ]
        lines.append(_row([f"ingest {kind}, µs (decode + callback)", *cells]))
    sim = results.get("simulator", {})
    if sim:
        lines.append("")
        lines.append(
            f"Simulator: {sim['msgs_per_s']:,.0f} messages/s ({sim['orders_per_s']:,.0f} orders/s); "
            f"place round trip {sim['place_ms_empty']:.3f} ms empty, "
            f"{sim['place_ms_held']:.3f} ms with {sim['held']:,} orders held."
        )
    burst = results.get("burst", {})
    if burst:
        lines.append("")
        lines.append(
            f"Burst: {burst['orders']} orders through twsapp's limiter at {burst['rate']:g}/s, "
            f"all Submitted after {burst['seconds']:.3f} s "
            f"(theoretical {burst['theoretical_seconds']:g} s), {burst['error_100']} error 100."
        )
    same = [
        f"{label} {results[scenario]['ratio_same_fields']:.2f}"
        for scenario, label in (("round_trip", "round trip"), ("ingest", "ingest throughput"))
        if "ratio_same_fields" in results.get(scenario, {})
    ]
    if same:
        lines.append("")
        lines.append(
            "twsapp against the bare program with the same field reader and writer (what twsapp "
            f"adds beyond them, less what its openOrder reader saves): {', '.join(same)}."
        )
    lines += ["", _row(["target", "value", "goal", "met"]), _row(["---"] * 4)]
    for scenario, key, label, test, text in TARGETS:
        value = results.get(scenario, {}).get(key)
        if value is not None:
            lines.append(_row([label, f"{value:.2f}", text, "yes" if test(value) else "no"]))
    return "\n".join(lines)


def figure(results: dict[str, Any], path: Path) -> None:
    """Scenario 1's latency distributions and scenario 2's ingest rate over time, one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for program, points in results.get("round_trip", {}).get("quantiles_ms", {}).items():
        n = len(points) - 1
        median = points[n // 2]
        left.plot(
            points, [i / n for i in range(n + 1)], label=f"{program} (median {median:.2f} ms)"
        )
    left.set_xscale("log")
    left.xaxis.set_major_formatter(ScalarFormatter())
    left.xaxis.set_minor_formatter(NullFormatter())
    left.set_xlabel("place until Submitted is known, ms (log)")
    left.set_ylabel("fraction of orders")
    left.set_title("Scenario 1: round trip of a resting LMT order")
    left.legend()
    ingest = results.get("ingest", {})
    for program in ("bare", "bare_fields", "twsapp"):
        timeline = ingest.get(f"timeline_{program}")
        if not timeline:
            continue
        xs, ys = [], []
        for (t0, n0), (t1, n1) in itertools.pairwise(timeline):
            if t1 > t0 and n1 > n0:
                xs.append(t1)
                ys.append((n1 - n0) / (t1 - t0) / 1000)
        right.plot(xs, ys, label=program)
    right.set_xlabel("seconds since the first message")
    right.set_ylabel("thousand messages/s")
    right.set_title(f"Scenario 2: ingest of {ingest.get('messages', 0):,} messages")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
