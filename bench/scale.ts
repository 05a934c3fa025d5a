/**
 * One stack at scale (issue 23): `render` and `check` of the bundled program through the compiled CLI at 1,000 /
 * 3,000 / 10,000 perTenant tenants, abac and packed at 10,000, packed at 20,000 (two buckets a tenant), each in its
 * own process under /usr/bin/time: CPU seconds (user + system) per tenant, peak memory, and the growth of CPU per
 * tenant from the smallest size of a mode. Goals: CPU per tenant at 10,000 within 1.2x of 1,000 in every mode;
 * check <= 1.3x render at every size. A benchmark, not a test.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const CLI = path.join(__dirname, "..", "bin", "automation", "cli.js");
const PROVIDER = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

interface Case {
    mode: "perTenant" | "abac" | "packed";
    tenants: number;
}

function stackDir(c: Case): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-scale-${c.mode}-`));
    const shared = c.mode !== "perTenant"; // abac and packed share roles only between tenants with the same buckets
    const list = Array.from({ length: c.tenants }, (_, i) => ({
        namespace: `team-${i}`,
        buckets: [{ bucket: shared ? "shared-data" : `team-${i}-data`, prefixes: ["checkpoints/"] }, { bucket: shared ? "shared-models" : `team-${i}-models` }],
    }));
    const mode =
        c.mode === "abac"
            ? "  ray-s3-access:identity: podIdentity\n  ray-s3-access:clusterName: ml\n  ray-s3-access:roleSharing: abac\n"
            : `  ray-s3-access:oidcProviderArn: ${PROVIDER}\n${c.mode === "packed" ? "  ray-s3-access:roleSharing: packed\n" : ""}`;
    fs.writeFileSync(path.join(dir, "Pulumi.s.yaml"), `config:\n  aws:region: us-west-2\n${mode}  ray-s3-access:tenants: ${JSON.stringify(list)}\n`);
    return dir;
}

function measure(command: string, dir: string): { cpu: number; wall: number; rssMiB: number; status: number; error?: string } {
    const result = spawnSync("/usr/bin/time", ["-f", "TIME %e %U %S %M", process.execPath, CLI, command, "--cwd", dir, "--json"], {
        encoding: "utf8",
        maxBuffer: 1024 * 1024 * 1024,
    });
    const line = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(result.stderr ?? "");
    if (!line) return { cpu: NaN, wall: NaN, rssMiB: NaN, status: result.status ?? -1, error: (result.stderr ?? "").split("\n").slice(-3).join(" ") };
    return {
        wall: Number(line[1]),
        cpu: Number(line[2]) + Number(line[3]),
        rssMiB: Number(line[4]) / 1024,
        status: result.status ?? -1,
        error:
            result.status === 0 || result.status === 1
                ? undefined
                : (result.stderr ?? "")
                      .split("\n")
                      .filter((l) => l.startsWith("error"))
                      .join(" "),
    };
}

export function scaleBenchmark(
    cases: Case[] = [
        { mode: "perTenant", tenants: 1000 },
        { mode: "perTenant", tenants: 3000 },
        { mode: "perTenant", tenants: 10000 },
        { mode: "abac", tenants: 1000 },
        { mode: "abac", tenants: 10000 },
        { mode: "packed", tenants: 1000 },
        { mode: "packed", tenants: 10000 },
        { mode: "packed", tenants: 20000 },
    ],
): void {
    if (!fs.existsSync("/usr/bin/time")) {
        console.log("\nscale suite: skipped (needs /usr/bin/time for CPU and peak memory)");
        return;
    }
    console.log("\none stack at scale (goals: CPU per tenant at 10,000 within 1.2x of 1,000; check <= 1.3x render):");
    console.log("mode | tenants | render CPU | ms CPU/tenant | growth | render peak | check CPU | check peak | check / render");
    const first = new Map<string, number>();
    for (const c of cases) {
        const dir = stackDir(c);
        const render = measure("render", dir);
        const check = measure("check", dir);
        fs.rmSync(dir, { recursive: true, force: true });
        if (render.error || check.error) {
            console.log(`${c.mode} | ${c.tenants} | failed: ${render.error ?? check.error}`);
            continue;
        }
        const perTenant = (render.cpu / c.tenants) * 1000;
        if (!first.has(c.mode)) first.set(c.mode, perTenant);
        const growth = perTenant / first.get(c.mode)!;
        const ratio = check.cpu / render.cpu;
        console.log(
            `${c.mode} | ${c.tenants} | ${render.cpu.toFixed(1)} s | ${perTenant.toFixed(2)} | ${growth.toFixed(2)}x${growth > 1.2 ? " OVER" : ""} | ` +
                `${render.rssMiB.toFixed(0)} MiB | ${check.cpu.toFixed(1)} s | ${check.rssMiB.toFixed(0)} MiB | ${ratio.toFixed(2)}${ratio > 1.3 ? " OVER" : ""}`,
        );
    }
}

if (require.main === module) {
    execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(__dirname, "..", "..")], { stdio: "inherit" });
    scaleBenchmark();
}
