/**
 * Start-up of the CLI: `ray-s3-access --help` (compiled, as installed) against a bare `node -e 0`, in paired
 * rounds (each round runs both back to back, in alternating order), judged on the median of the per-round
 * ratios with its distribution-free interval. Goal: --help within 3x a bare Node.js start, which holds only while
 * the CLI loads no SDK before it parses its arguments.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { median, medianInterval, verdict, VERDICT_TEXT } from "./stats";

const GOAL = 3;
const CONFIDENCE = 0.9;

function wallMs(args: string[]): number {
    const started = process.hrtime.bigint();
    const result = spawnSync(process.execPath, args, { stdio: "ignore" });
    if (result.status !== 0) throw new Error(`node ${args.join(" ")} exited ${result.status}`);
    return Number(process.hrtime.bigint() - started) / 1e6;
}

export function startupBenchmark(rounds = Number(process.env.BENCH_STARTUP_ROUNDS ?? 21)): void {
    const cli = path.join(__dirname, "..", "bin", "automation", "cli.js");
    const bare = ["-e", "0"];
    const help = [cli, "--help"];
    wallMs(bare);
    wallMs(help); // warm the file cache
    const ratios: number[] = [];
    const bareMs: number[] = [];
    const helpMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
        const [first, second] = r % 2 === 0 ? [bare, help] : [help, bare];
        const a = wallMs(first);
        const b = wallMs(second);
        const [b0, h0] = first === bare ? [a, b] : [b, a];
        bareMs.push(b0);
        helpMs.push(h0);
        ratios.push(h0 / b0);
    }
    const interval = medianInterval(ratios, CONFIDENCE);
    const result = verdict(median(ratios), interval, GOAL);
    console.log(`\nstart-up, ${rounds} paired rounds (wall time, compiled CLI):`);
    console.log(`  node -e 0: median ${median(bareMs).toFixed(0)} ms; ray-s3-access --help: median ${median(helpMs).toFixed(0)} ms`);
    console.log(
        `  --help / bare node: ${median(ratios).toFixed(2)} [${interval.low.toFixed(2)}-${interval.high.toFixed(2)}] ` +
            `(${(interval.coverage * 100).toFixed(1)}% interval; goal <= ${GOAL}x): ${VERDICT_TEXT[result]}`,
    );
}
