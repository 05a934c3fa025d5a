/**
 * `render` on a user's own project (its program evaluated in-process, the path `check` gates with) at 2,000 and
 * 20,000 resources: wall time, peak RSS and the growth from the smaller to the larger. Goal: linear (the time per
 * resource at 20,000 within 1.5x of that at 2,000) and 20,000 well under a minute. Each size is its own Node process
 * running the compiled CLI, as installed. A benchmark, not a test.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const GROWTH_GOAL = 1.5;
const TWENTY_THOUSAND_GOAL_S = 60;

/** A project whose program registers `count` IAM policies (what a platform's own program adds beside RayS3Access). */
function project(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-own-"));
    fs.symlinkSync(path.join(__dirname, "..", "..", "node_modules"), path.join(dir, "node_modules"), "dir");
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: bench-own\nruntime: nodejs\nmain: index.js\n");
    fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), "config: {}\n");
    fs.writeFileSync(
        path.join(dir, "index.js"),
        `const aws = require("@pulumi/aws");
for (let i = 0; i < Number(process.env.BENCH_RESOURCES); i++) {
    new aws.iam.Policy("p" + i, { policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::b" + i + "/*" }] }) });
}
`,
    );
    return dir;
}

function measure(dir: string, resources: number): { seconds: number; maxRssMb: number } {
    const cli = path.join(__dirname, "..", "automation", "cli.js");
    const started = process.hrtime.bigint();
    const result = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, cli, "render", "--cwd", dir, "--json", "--timeout", "600"], {
        env: { ...process.env, BENCH_RESOURCES: String(resources) },
        encoding: "utf8",
        maxBuffer: 1 << 30,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) throw new Error(`render of ${resources} resources exited ${result.status}: ${result.stderr.slice(-500)}`);
    const registered = JSON.parse(result.stdout).stacks[0].resources.length;
    if (registered < resources) throw new Error(`render reported ${registered} of ${resources} resources`);
    return { seconds, maxRssMb: Number(result.stderr.trim().split("\n").pop()) / 1024 };
}

export function ownProjectBenchmark(): boolean {
    const dir = project();
    console.log(`\nrender on a user's own project (goal: ${TWENTY_THOUSAND_GOAL_S} s at 20,000 resources, growth within ${GROWTH_GOAL}x per resource)`);
    console.log("resources | wall | per resource | peak RSS");
    const small = measure(dir, 2000);
    const large = measure(dir, 20000);
    for (const [n, m] of [
        [2000, small],
        [20000, large],
    ] as const) {
        console.log(`${n} | ${m.seconds.toFixed(1)} s | ${((m.seconds / n) * 1000).toFixed(2)} ms | ${m.maxRssMb.toFixed(0)} MiB`);
    }
    const growth = large.seconds / 20000 / (small.seconds / 2000);
    const within = growth <= GROWTH_GOAL && large.seconds < TWENTY_THOUSAND_GOAL_S;
    console.log(`growth per resource from 2,000 to 20,000: ${growth.toFixed(2)}x (${within ? "within the goal" : "OVER the goal"})`);
    fs.rmSync(dir, { recursive: true, force: true });
    return within;
}

if (require.main === module) {
    ownProjectBenchmark();
}
