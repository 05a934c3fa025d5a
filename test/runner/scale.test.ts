/**
 * One stack at scale (issue: one stack at 10,000 tenants): deadlines that grow with the stack, evaluation with one
 * stack frame per promise giving byte-identical output, and a failing program still saying where it failed.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EVALUATION_MS_PER_TENANT, evaluationDeadlineMs } from "../../automation/offline";
import { runCli } from "../support/cli";
import { resetMocks } from "../support/mocks";

const NODE_MODULES = path.join(__dirname, "..", "..", "node_modules");
const PROVIDER = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC123";

async function withEnv<T>(name: string, value: string | undefined, body: () => Promise<T>): Promise<T> {
    const saved = process.env[name];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
    try {
        return await body();
    } finally {
        if (saved === undefined) delete process.env[name];
        else process.env[name] = saved;
    }
}

describe("one stack at scale", function () {
    this.timeout(180_000);
    after(() => resetMocks());

    it("the evaluation deadline grows with the stack: 120 s and 20 ms a tenant (10,000 tenants: 320 s)", () => {
        assert.equal(evaluationDeadlineMs(0), 120_000);
        assert.equal(evaluationDeadlineMs(10_000), 120_000 + 10_000 * EVALUATION_MS_PER_TENANT);
        assert.equal(evaluationDeadlineMs(10_000), 320_000);
    });

    it("renders and checks byte-identically with V8's full stack traces and with the one frame the runner keeps", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "traces-"));
        const tenants = [
            ...Array.from({ length: 20 }, (_, i) => ({ namespace: `team-${i}`, buckets: [{ bucket: `team-${i}-data`, prefixes: ["checkpoints/"] }] })),
            { namespace: "express", buckets: [{ bucket: "ckpt--usw2-az1--x-s3", access: "read" }] },
            { namespace: "readers", buckets: [{ bucket: "datasets", access: "read" }], additionalServiceAccounts: ["readers:worker"] },
        ];
        fs.writeFileSync(
            path.join(dir, "Pulumi.prod.yaml"),
            `config:\n  aws:region: us-west-2\n  ray-s3-access:oidcProviderArn: ${PROVIDER}\n  ray-s3-access:tenants: ${JSON.stringify(tenants)}\n`,
        );
        const outputs = async (full: string | undefined) =>
            withEnv("RAY_S3_ACCESS_FULL_TRACES", full, async () => {
                const render = await runCli(["render", "--cwd", dir, "--json"]);
                const check = await runCli(["check", "--cwd", dir, "--json"]);
                assert.equal(render.code, 0, render.stderr);
                assert.equal(check.code, 0, check.stderr);
                return [render.stdout, check.stdout];
            });
        const [render, check] = await outputs(undefined);
        const [fullRender, fullCheck] = await outputs("1");
        assert.ok(render.length > 10_000);
        assert.equal(render, fullRender, "render --json");
        assert.equal(check, fullCheck, "check --json (the violations and every resource)");
    });

    it("a failing program says where it failed; RAY_S3_ACCESS_FULL_TRACES=1 gives the whole trace", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "throws-"));
        fs.symlinkSync(NODE_MODULES, path.join(dir, "node_modules"), "dir");
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: throws\nruntime: nodejs\nmain: index.js\n");
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), "config: {}\n");
        fs.writeFileSync(
            path.join(dir, "index.js"),
            [
                'const aws = require("@pulumi/aws");',
                "function bucketPolicyFor(name) {",
                "    throw new Error(`no bucket named ${name}`);",
                "}",
                'const policy = new aws.iam.Policy("p", { policy: "{}" });',
                "policy.arn.apply((arn) => bucketPolicyFor(arn));",
                "",
            ].join("\n"),
        );
        const short = await withEnv("RAY_S3_ACCESS_FULL_TRACES", undefined, () => runCli(["render", "--cwd", dir]));
        assert.equal(short.code, 1);
        assert.match(
            short.stderr,
            /stack "dev": no bucket named arn:aws:iam::\d+:policy\/p-\w+ \(at index\.js:3:11; RAY_S3_ACCESS_FULL_TRACES=1 shows the whole trace\)/,
        );
        const full = await withEnv("RAY_S3_ACCESS_FULL_TRACES", "1", () => runCli(["render", "--cwd", dir]));
        assert.equal(full.code, 1);
        assert.match(full.stderr, /at bucketPolicyFor \(.*index\.js:3:11\)\n\s+at .*index\.js:6:/);
    });
});
