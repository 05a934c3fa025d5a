/**
 * `check`'s two phases at scale: the program's evaluation under the mock engine, and the policy pack on what it
 * registered, for 1,000 and 3,000 perTenant tenants, IRSA and Pod Identity. Goal (issue 13): the policy phase at
 * most 25% of the evaluation. Each case runs in its own process (compiled JavaScript), as `check` does.
 * A benchmark, not a test.
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { asPolicyResources, roleDocuments } from "../automation/offline";
import { evaluatePolicies } from "../automation/evaluatePolicies";
import { evaluateProgram } from "../automation/mockEngine";
import { runProgram } from "../programs/main";
import { policies } from "../policies/rules";

const PROVIDER = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
const GOAL = 0.25;

function config(identity: string, tenants: number): Record<string, string> {
    const list = Array.from({ length: tenants }, (_, i) => ({ namespace: `team-${i}`, buckets: [{ bucket: `team-${i}-data`, prefixes: ["checkpoints/"] }] }));
    const base: Record<string, string> =
        identity === "podIdentity"
            ? { "ray-s3-access:identity": "podIdentity", "ray-s3-access:clusterName": "ray-prod" }
            : { "ray-s3-access:oidcProviderArn": PROVIDER };
    return { ...base, "ray-s3-access:tenants": JSON.stringify(list) };
}

/** One case, in this process: prints one JSON line. */
async function measure(identity: string, tenants: number): Promise<void> {
    const started = process.hrtime.bigint();
    const evaluated = await evaluateProgram({
        project: "ray-s3-access",
        stack: "prod",
        config: config(identity, tenants),
        program: runProgram,
        timeoutMs: 30 * 60_000,
    });
    const evaluatedAt = process.hrtime.bigint();
    const stack = { stack: "prod", role: "environment" as const, resources: evaluated.resources, outputs: {}, roles: roleDocuments(evaluated.resources, {}) };
    const violations = await evaluatePolicies(policies, asPolicyResources(stack));
    const done = process.hrtime.bigint();
    process.stdout.write(
        JSON.stringify({
            identity,
            tenants,
            resources: evaluated.resources.length,
            evaluationMs: Number(evaluatedAt - started) / 1e6,
            policyMs: Number(done - evaluatedAt) / 1e6,
            mandatory: violations.filter((v) => v.enforcementLevel === "mandatory").length,
        }) + "\n",
    );
}

export function policyPhaseBenchmark(sizes = (process.env.BENCH_POLICY_TENANTS ?? "1000,3000").split(",").map(Number)): void {
    console.log(`\ncheck's phases, perTenant stacks (goal: policy phase <= ${GOAL * 100}% of the evaluation):`);
    console.log("identity | tenants | resources | evaluation | policy phase | policy / evaluation | mandatory violations");
    for (const identity of ["irsa", "podIdentity"]) {
        for (const tenants of sizes) {
            const out = execFileSync(process.execPath, [path.join(__dirname, "..", "bin", "bench", "policyPhase.js"), identity, String(tenants)], {
                encoding: "utf8",
                maxBuffer: 1 << 20,
            });
            const r = JSON.parse(out.trim().split("\n").pop()!);
            const ratio = r.policyMs / r.evaluationMs;
            console.log(
                `${identity} | ${tenants} | ${r.resources} | ${(r.evaluationMs / 1000).toFixed(1)} s | ${(r.policyMs / 1000).toFixed(1)} s | ` +
                    `${ratio.toFixed(3)} ${ratio <= GOAL ? "within" : "OVER"} | ${r.mandatory}`,
            );
        }
    }
}

if (require.main === module) {
    const [identity, tenants] = process.argv.slice(2);
    measure(identity, Number(tenants)).then(
        () => process.exit(0),
        (error) => {
            console.error(error);
            process.exit(1);
        },
    );
}
