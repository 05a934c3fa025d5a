/**
 * `npm run bench`: the component's evaluation cost against the same resources written by hand, under the
 * SDK's mock engine. Each measurement is its own Node process running compiled JavaScript (what users run
 * once the package is built); modes alternate so drift on the machine hits both alike. Prints the medians
 * and the ratios; a benchmark, not a test.
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { economyBenchmark } from "./economy";
import { runnerBenchmark } from "./runner";

interface Sample {
    mode: string;
    tenants: number;
    ms: number;
    maxRssMb: number;
    heapDeltaMb: number;
    retainedHeapMb: number;
    registered: number;
}

const root = path.join(__dirname, "..");
const tenantCounts = (process.env.BENCH_TENANTS ?? "300,1000").split(",").map(Number);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const GOAL = 1.15;

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function measure(mode: string, tenants: number): Sample {
    const out = execFileSync(process.execPath, ["--expose-gc", path.join(root, "bin", "bench", "evaluate.js"), mode, String(tenants)], {
        cwd: root,
        encoding: "utf8",
        maxBuffer: 1 << 20,
    });
    return JSON.parse(out.trim().split("\n").pop()!);
}

async function main(): Promise<void> {
    console.log("building (tsc) so both sides run compiled JavaScript ...");
    execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", root], { stdio: "inherit" });
    const rows: string[] = [];
    let within = true;
    for (const tenants of tenantCounts) {
        const samples: Record<string, Sample[]> = { hand: [], component: [] };
        for (let round = 0; round < rounds; round++) {
            const order = round % 2 === 0 ? ["hand", "component"] : ["component", "hand"];
            for (const mode of order) {
                samples[mode].push(measure(mode, tenants));
            }
        }
        const stat = (mode: string, field: "ms" | "maxRssMb" | "retainedHeapMb") => median(samples[mode].map((s) => s[field]));
        const timeRatio = stat("component", "ms") / stat("hand", "ms");
        const rssRatio = stat("component", "maxRssMb") / stat("hand", "maxRssMb");
        const heapRatio = stat("component", "retainedHeapMb") / stat("hand", "retainedHeapMb");
        within = within && timeRatio <= GOAL && rssRatio <= GOAL;
        rows.push(
            [
                tenants,
                `${stat("hand", "ms").toFixed(0)} ms`,
                `${stat("component", "ms").toFixed(0)} ms`,
                timeRatio.toFixed(3),
                `${stat("hand", "maxRssMb").toFixed(0)} MiB`,
                `${stat("component", "maxRssMb").toFixed(0)} MiB`,
                rssRatio.toFixed(3),
                `${stat("hand", "retainedHeapMb").toFixed(1)} / ${stat("component", "retainedHeapMb").toFixed(1)} MiB`,
                heapRatio.toFixed(3),
                `${samples.hand[0].registered} / ${samples.component[0].registered}`,
            ].join(" | "),
        );
    }
    console.log(`\nmedians of ${rounds} alternating rounds per size (goal: ratio <= ${GOAL})`);
    console.log("tenants | hand time | component time | time ratio | hand peak RSS | component peak RSS | memory ratio | retained heap after GC (hand / component) | heap ratio | registrations (hand / component)");
    for (const row of rows) console.log(row);
    console.log(within ? "\nwithin the 15% goal" : "\nOVER the 15% goal");
    await runnerBenchmark();
    economyBenchmark();
}

main();
