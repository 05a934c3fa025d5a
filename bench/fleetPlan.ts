/**
 * `fleet plan` at scale: one environment of 5,000 / 10,000 / 20,000 perTenant tenants, planned from nothing and then
 * re-planned with the record and 1% of the tenants changed, through the compiled CLI as an operator runs it (reading
 * and validating the stack file included). Goal (issue 22): 20,000 tenants within seconds, linear in tenants.
 * A benchmark, not a test.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const CLI = path.join(__dirname, "..", "bin", "automation", "cli.js");
const PROVIDER = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

function stackFile(dir: string, tenants: string[]): void {
    const list = tenants.map((namespace) => ({
        namespace,
        buckets: [{ bucket: `${namespace}-data`, prefixes: ["checkpoints/"] }, { bucket: `${namespace}-models` }],
    }));
    fs.writeFileSync(
        path.join(dir, "Pulumi.prod.yaml"),
        `config:\n  aws:region: us-west-2\n  ray-s3-access:oidcProviderArn: ${PROVIDER}\n  ray-s3-access:tenants: ${JSON.stringify(list)}\n`,
    );
}

function timed(args: string[]): number {
    const started = process.hrtime.bigint();
    execFileSync(process.execPath, [CLI, ...args], { stdio: ["ignore", "ignore", "ignore"], maxBuffer: 256 * 1024 * 1024 });
    return Number(process.hrtime.bigint() - started) / 1e9;
}

export function fleetPlanBenchmark(sizes = (process.env.BENCH_FLEET_TENANTS ?? "5000,10000,20000").split(",").map(Number)): void {
    console.log("\nfleet plan, one environment, perTenant (goal: 20,000 tenants within seconds, linear):");
    console.log("tenants | first plan (--write) | re-plan, 1% changed (--write) | --json | per 1,000 tenants (first)");
    let first: { tenants: number; seconds: number } | undefined;
    for (const count of sizes) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-fleet-"));
        const names = Array.from({ length: count }, (_, i) => `team-${String(i).padStart(6, "0")}`);
        stackFile(dir, names);
        const initial = timed(["fleet", "plan", "--cwd", dir, "--write"]);
        const changed = Math.max(1, Math.round(count / 100));
        stackFile(dir, [...names.slice(changed), ...Array.from({ length: changed }, (_, i) => `new-${i}`)]);
        const replan = timed(["fleet", "plan", "--cwd", dir, "--write"]);
        const json = timed(["fleet", "plan", "--cwd", dir, "--json"]);
        const per = (initial / count) * 1000;
        first ??= { tenants: count, seconds: initial };
        console.log(`${count} | ${initial.toFixed(2)} s | ${replan.toFixed(2)} s | ${json.toFixed(2)} s | ${per.toFixed(3)} s`);
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
