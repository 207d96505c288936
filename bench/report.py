"""Summarise the runs of bench/run.sh into a JSON file, a Markdown table
and a gnuplot PNG.

Input is the .jsonl that run.sh writes: one object per run with the case,
the target ("ours" or "reference"), the round and the JSON printed by
signal-bench. Every figure in the summary is the mean over the rounds of
one case and target. Latency percentiles are averaged over the rounds too,
which only approximates the percentile over all deliveries.

    /usr/bin/python3 bench/report.py --raw R.jsonl --stamp S --build B --out DIR
"""

import argparse
import json
import os
import platform
import subprocess
import sys

# Description of each case; {clients} is the number of clients it ran.
CASES = {
    "connect": "connect and authenticate {clients} clients, encrypted",
    "broadcast-64": "broadcast of 64 B to {clients} clients, encrypted",
    "broadcast-1k": "broadcast of 1 KiB to {clients} clients, encrypted",
    "latency-64": "one broadcast of 64 B at a time to {clients} clients, "
                  "encrypted, 4 per second",
    "rooms": "room sends of 64 B, 100 rooms, {clients} clients, encrypted",
    "idle-memory": "{clients} idle authenticated clients, encrypted",
    "connect-plain": "connect and authenticate {clients} clients, plain",
    "broadcast-64-plain": "broadcast of 64 B to {clients} clients, plain",
}

TARGETS = ("ours", "reference")
TARGET_NAMES = {"ours": "signal-server", "reference": "reference"}


def load_runs(path):
    runs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                runs.append(json.loads(line))
    return runs


def dig(obj, *keys):
    """Return obj[k1][k2]..., or None when any level is missing."""
    for key in keys:
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def per_unit(numerator, denominator, scale):
    if numerator is None or not denominator:
        return None
    return numerator / denominator * scale


def run_metrics(result):
    """Return the figures of one run that the summary compares."""
    ready = dig(result, "clients", "ready")
    delivered = dig(result, "deliveries", "delivered")
    return {
        "handshakes_per_s": dig(result, "handshakes", "per_second"),
        "handshake_p50_ms": dig(result, "handshakes", "latency_ms", "p50"),
        "handshake_p99_ms": dig(result, "handshakes", "latency_ms", "p99"),
        "server_us_per_handshake": per_unit(
            dig(result, "server", "connect_cpu_s"), ready, 1e6),
        "deliveries_per_s": dig(result, "deliveries", "per_second"),
        "latency_p50_ms": dig(result, "deliveries", "latency_ms", "p50"),
        "latency_p90_ms": dig(result, "deliveries", "latency_ms", "p90"),
        "latency_p99_ms": dig(result, "deliveries", "latency_ms", "p99"),
        "latency_max_ms": dig(result, "deliveries", "latency_ms", "max"),
        "server_us_per_delivery": per_unit(
            dig(result, "server", "send_cpu_s"), delivered, 1e6),
        "bench_us_per_delivery": per_unit(
            dig(result, "bench", "send_cpu_s"), delivered, 1e6),
        "idle_bytes_per_client": dig(result, "idle_memory", "bytes_per_client"),
        "server_rss_kib": dig(result, "server", "rss_kib"),
        "clients_ready": ready,
        "errors": dig(result, "error_total"),
        "lost": dig(result, "deliveries", "lost"),
        "duplicated": dig(result, "deliveries", "duplicated"),
        "reordered": dig(result, "deliveries", "reordered"),
    }


COUNTED = ("errors", "lost", "duplicated", "reordered")


def summarise(runs):
    summary = {}
    for name in CASES:
        for target in TARGETS:
            selected = [r for r in runs
                        if r["case"] == name and r["target"] == target]
            if not selected:
                continue
            per_run = [run_metrics(r["result"]) if r["result"] else None
                       for r in selected]
            valid = [m for m in per_run if m is not None]
            figures = {"rounds": len(selected), "failed_runs":
                       len(selected) - len(valid),
                       "clients": max((dig(r["result"], "clients",
                                           "requested") or 0
                                       for r in selected), default=0)}
            for key in run_metrics({}):
                values = [m[key] for m in valid]
                if key in COUNTED:
                    figures[key] = sum(v for v in values if v is not None)
                else:
                    figures[key] = mean(values)
            summary.setdefault(name, {})[target] = figures
    return summary


def machine_info(build):
    def first_line(command):
        try:
            out = subprocess.run(command, capture_output=True, text=True,
                                 timeout=10, check=False)
            text = (out.stdout or out.stderr).strip()
            return text.splitlines()[0] if text else None
        except OSError:
            return None

    model = None
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_kib = None
    with open("/proc/meminfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
                break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_mib": memory_kib // 1024 if memory_kib else None,
        "kernel": platform.release(),
        "signal_server": first_line([os.path.join(build, "signal-server"),
                                     "--version"]),
        "openssl": first_line(["openssl", "version"]),
    }


def fmt(value, digits=0):
    if value is None:
        return "n/a"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def ratio(ours, reference):
    if ours is None or not reference:
        return "n/a"
    return f"{ours / reference:.2f}"


def latency_cell(figures):
    if figures is None or figures.get("latency_p50_ms") is None:
        return "n/a"
    return " / ".join(fmt(figures[k], 1) for k in (
        "latency_p50_ms", "latency_p90_ms", "latency_p99_ms",
        "latency_max_ms"))


def checks_cell(figures):
    if figures is None:
        return "n/a"
    cell = " / ".join(str(int(figures[k] or 0)) for k in COUNTED)
    if figures["failed_runs"]:
        cell += f" ({figures['failed_runs']} runs failed)"
    return cell


def table_rows(name, by_target):
    """Rows (metric, ours, reference, ratio) of one case."""
    ours = by_target.get("ours")
    ref = by_target.get("reference")

    def row(label, key, digits=0):
        a = ours.get(key) if ours else None
        b = ref.get(key) if ref else None
        return (label, fmt(a, digits), fmt(b, digits), ratio(a, b))

    rows = []
    if name.startswith("connect"):
        rows.append(row("handshakes/s", "handshakes_per_s"))
        rows.append(row("handshake latency p99 (ms)", "handshake_p99_ms", 1))
        rows.append(row("server CPU per handshake (µs)",
                        "server_us_per_handshake"))
    elif name == "idle-memory":
        rows.append(row("server RSS per idle client (bytes)",
                        "idle_bytes_per_client"))
        rows.append(row("server RSS with the clients (KiB)",
                        "server_rss_kib"))
    else:
        rows.append(row("deliveries/s", "deliveries_per_s"))
        rows.append(("latency p50 / p90 / p99 / max (ms)", latency_cell(ours),
                     latency_cell(ref), "p99 " + ratio(
                         ours and ours.get("latency_p99_ms"),
                         ref and ref.get("latency_p99_ms"))))
        rows.append(row("server CPU per delivery (µs)",
                        "server_us_per_delivery", 2))
        rows.append(row("bench CPU per delivery (µs)",
                        "bench_us_per_delivery", 2))
    rows.append(("errors / lost / duplicated / reordered", checks_cell(ours),
                 checks_cell(ref), ""))
    return rows


def write_markdown(path, summary, machine, stamp):
    lines = [
        f"# signal-bench results {stamp}",
        "",
        f"Machine: {machine['nproc']} CPUs ({machine['cpu_model']}), "
        f"{machine['memory_mib']:,} MiB, Linux {machine['kernel']}; "
        f"{machine['signal_server']}, {machine['openssl']}.",
        "Each figure is the mean of the rounds of one case; ratio is "
        "signal-server divided by the reference.",
        "",
        "| case | metric | signal-server | reference | ratio |",
        "|---|---|---:|---:|---:|",
    ]
    for name, by_target in summary.items():
        clients = max(f["clients"] for f in by_target.values())
        description = CASES[name].format(clients=f"{clients:,}")
        for i, (label, a, b, r) in enumerate(table_rows(name, by_target)):
            case = f"{name}: {description}" if i == 0 else ""
            lines.append(f"| {case} | {label} | {a} | {b} | {r} |")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def write_plot(path, summary, work):
    """Three panels: throughput, delivery latency, idle memory."""
    def value(name, target, key):
        v = summary.get(name, {}).get(target, {}).get(key)
        return v if v is not None else 0

    throughput = os.path.join(work, "throughput.dat")
    with open(throughput, "w", encoding="utf-8") as f:
        for name in CASES:
            if name not in summary or name == "idle-memory":
                continue
            key = ("handshakes_per_s" if name.startswith("connect")
                   else "deliveries_per_s")
            f.write(f'"{name}" {value(name, "ours", key)} '
                    f'{value(name, "reference", key)}\n')

    latency = os.path.join(work, "latency.dat")
    with open(latency, "w", encoding="utf-8") as f:
        for name in CASES:
            if name not in summary or name.startswith("connect") or \
                    name == "idle-memory":
                continue
            f.write(f'"{name}" ' + " ".join(
                str(value(name, t, k)) for k in ("latency_p50_ms",
                                                  "latency_p99_ms")
                for t in TARGETS) + "\n")

    memory = os.path.join(work, "memory.dat")
    with open(memory, "w", encoding="utf-8") as f:
        f.write(f'"idle-memory" {value("idle-memory", "ours", "idle_bytes_per_client")} '
                f'{value("idle-memory", "reference", "idle_bytes_per_client")}\n')

    script = f"""
set terminal pngcairo size 1500,520 font ",10"
set output "{path}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top right
set xtics rotate by -25
set multiplot layout 1,3
set title "Throughput (handshakes/s or deliveries/s)"
set key top left
set logscale y
plot "{throughput}" using 2:xtic(1) title "signal-server" lc rgb "#1f77b4", \\
     "" using 3 title "reference" lc rgb "#ff7f0e"
set title "Delivery latency (ms)"
set key top right
plot "{latency}" using 2:xtic(1) title "signal-server p50" lc rgb "#1f77b4", \\
     "" using 3 title "reference p50" lc rgb "#ff7f0e", \\
     "" using 4 title "signal-server p99" lc rgb "#aec7e8", \\
     "" using 5 title "reference p99" lc rgb "#ffbb78"
unset logscale y
set yrange [0:*]
set key top left
set title "Server RSS per idle client (bytes)"
plot "{memory}" using 2:xtic(1) title "signal-server" lc rgb "#1f77b4", \\
     "" using 3 title "reference" lc rgb "#ff7f0e"
unset multiplot
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True,
                       timeout=60)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"report: gnuplot failed, no plot written: {e}",
              file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", required=True, help="the .jsonl of run.sh")
    parser.add_argument("--stamp", required=True, help="name of the results")
    parser.add_argument("--build", required=True, help="the build folder")
    parser.add_argument("--out", required=True, help="the results folder")
    args = parser.parse_args()

    runs = load_runs(args.raw)
    summary = summarise(runs)
    machine = machine_info(args.build)
    base = os.path.join(args.out, args.stamp)

    with open(base + ".json", "w", encoding="utf-8") as f:
        json.dump({"stamp": args.stamp, "machine": machine,
                   "cases": CASES, "summary": summary,
                   "runs": [{k: r[k] for k in ("case", "target", "round",
                                                "status", "load_average",
                                                "arguments")}
                            for r in runs]}, f, indent=2)
        f.write("\n")
    write_markdown(base + ".md", summary, machine, args.stamp)
    work = os.path.dirname(os.path.abspath(args.raw))
    plot_work = os.path.join(work, f".{args.stamp}.plot")
    os.makedirs(plot_work, exist_ok=True)
    write_plot(base + ".png", summary, plot_work)
    for name in os.listdir(plot_work):
        os.remove(os.path.join(plot_work, name))
    os.rmdir(plot_work)
    print(open(base + ".md", encoding="utf-8").read())


if __name__ == "__main__":
    main()
