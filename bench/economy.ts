/**
 * Role economy for 1,000 tenants: roles, policies and associations per roleSharing mode, next to the seed
 * scripts' one role per namespace; packed roles' fill (subjects per role as a fraction of the most that fit
 * the trust quota; goal >= 95%); evaluation time and memory per mode. Each mode runs in its own process
 * (compiled JavaScript) so memory figures do not mix. A benchmark, not a test.
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { evaluateProgram } from "../automation/mockEngine";
import { buildIrsaTrustPolicy } from "../components/trustPolicy";
import { iamPolicyLength } from "../components/s3Policy";
import { runProgram } from "../programs/main";

const PROVIDER = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
const TENANTS = Number(process.env.BENCH_ECONOMY_TENANTS ?? 1000);
const QUOTA = 2048;

function stackConfig(mode: string): Record<string, string> {
    const tenants = Array.from({ length: TENANTS }, (_, i) => ({ namespace: `team-${i}`, buckets: [{ bucket: "ray-ckpt", prefixes: ["checkpoints/"] }] }));
    const base: Record<string, unknown> = mode === "abac" ? { identity: "podIdentity", clusterName: "ray-prod" } : { oidcProviderArn: PROVIDER };
    const values: Record<string, unknown> = { ...base, roleSharing: mode, tenants, trustPolicyMaxLength: QUOTA };
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [`ray-s3-access:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
}

/** How many subjects of this average length fit one trust policy under the quota. */
function mostThatFit(averageSubjectLength: number): number {
    let count = 0;
    // Distinct subjects (the trust de-duplicates) of exactly the average length.
    const subject = (i: number) => ({
        namespace: "n".repeat(Math.max(1, averageSubjectLength - "system:serviceaccount::".length - 4)),
        name: String(i).padStart(4, "0"),
    });
    while (
        iamPolicyLength(
            buildIrsaTrustPolicy(
                PROVIDER,
                Array.from({ length: count + 1 }, (_, i) => subject(i)),
            ),
        ) <= QUOTA
    )
        count++;
    return count;
}

async function measure(mode: string): Promise<void> {
    const start = process.hrtime.bigint();
    const { resources } = await evaluateProgram({
        project: "ray-s3-access",
        stack: "bench",
        config: stackConfig(mode),
        program: runProgram,
        timeoutMs: 600_000,
    });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const count = (type: string) => resources.filter((r) => r.type === type).length;
    let fill: number | undefined;
    let minFill: number | undefined;
    if (mode === "packed") {
        const fills = resources
            .filter((r) => r.type === "aws:iam/role:Role")
            .map((role) => {
                const trust = JSON.parse(role.inputs.assumeRolePolicy);
                const subjects: string[] = [Object.entries(trust.Statement[0].Condition.StringEquals).find(([k]) => k.endsWith(":sub"))![1]].flat() as string[];
                const average = Math.round(subjects.reduce((n, s) => n + s.length, 0) / subjects.length);
                return subjects.length / mostThatFit(average);
            });
        const full = fills.slice(0, -1); // the last role holds the remainder
        fill = full.reduce((a, b) => a + b, 0) / full.length;
        minFill = Math.min(...full);
    }
    console.log(
        JSON.stringify({
            mode,
            roles: count("aws:iam/role:Role"),
            policies: count("aws:iam/policy:Policy"),
            associations: count("aws:eks/podIdentityAssociation:PodIdentityAssociation"),
            resources: resources.length,
            ms,
            maxRssMb: process.resourceUsage().maxRSS / 1024,
            fill,
            minFill,
        }),
    );
}

function main(): void {
    // bench/ under ts-node, bin/bench/ once compiled.
    const root = path.basename(path.dirname(__dirname)) === "bin" ? path.join(__dirname, "..", "..") : path.join(__dirname, "..");
    console.log(`\nrole economy, ${TENANTS} tenants (IRSA trust quota ${QUOTA}; the seed scripts create one role and one policy per namespace)`);
    console.log("mode | roles | policies | associations | resources | packed fill (mean / min) | evaluation time | peak RSS");
    let fillOk = true;
    for (const mode of ["perTenant", "abac", "packed"]) {
        const out = execFileSync(process.execPath, [path.join(root, "bin", "bench", "economy.js"), mode], { cwd: root, encoding: "utf8", maxBuffer: 1 << 24 });
        const r = JSON.parse(out.trim().split("\n").pop()!);
        if (r.fill !== undefined) fillOk = r.fill >= 0.95;
        const fill = r.fill === undefined ? "-" : `${(r.fill * 100).toFixed(1)}% / ${(r.minFill * 100).toFixed(1)}%`;
        console.log(
            `${mode} | ${r.roles} | ${r.policies} | ${r.associations} | ${r.resources} | ${fill} | ${(r.ms / 1000).toFixed(1)} s | ${r.maxRssMb.toFixed(0)} MiB`,
        );
    }
    console.log(`seed scripts | ${TENANTS} | ${TENANTS} | - | - | - | - | -`);
    console.log(fillOk ? "packed fill meets the 95% goal" : "packed fill BELOW the 95% goal");
}

if (process.argv[2]) {
    measure(process.argv[2]).catch((error) => {
        console.error(error);
        process.exit(1);
    });
} else if (require.main === module) {
    main();
}

export { main as economyBenchmark };
