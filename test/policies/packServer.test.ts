/**
 * The pack as the Pulumi CLI runs it: `policies/` (PulumiPolicy.yaml, a package.json whose main is the compiled
 * pack) started through the SDK's run-policy-pack from the pack's directory; the analyzer protocol lists every
 * rule and reports violations. The installed package's pack is started the same way in test/package.test.ts.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { analyze, analyzerPb, listedPolicies, RunningPack, startPack } from "../support/packServer";

const packDir = path.join(__dirname, "..", "..", "policies");

describe("policy pack under the Pulumi CLI's layout (analyzer gRPC protocol)", function () {
    this.timeout(90_000);
    let pack: RunningPack;

    before(async () => {
        assert.ok(fs.existsSync(path.join(packDir, "PulumiPolicy.yaml")), "policies/PulumiPolicy.yaml");
        const main = JSON.parse(fs.readFileSync(path.join(packDir, "package.json"), "utf8")).main;
        assert.match(main, /\.js$/, "the pack's main is compiled JavaScript, so the CLI's ts-node never compiles the pack");
        assert.ok(fs.existsSync(path.join(packDir, main)), `${main} exists (npm ci builds it; after editing the pack, npm run build)`);
        assert.ok(!fs.existsSync(path.join(packDir, "tsconfig.json")), "no tsconfig.json the CLI's ts-node would read");
        pack = await startPack(packDir);
    });

    after(() => pack?.stop());

    it("lists every rule with its enforcement level", async () => {
        const { name, levels } = await listedPolicies(pack.client);
        assert.equal(name, "ray-s3-access");
        const { EnforcementLevel } = analyzerPb;
        assert.deepEqual(levels, {
            "no-s3-wildcard-in-production": EnforcementLevel.MANDATORY,
            "irsa-trust-pinned": EnforcementLevel.MANDATORY,
            "irsa-trust-pinned-advisory": EnforcementLevel.ADVISORY,
            "trust-principals-pinned": EnforcementLevel.MANDATORY,
            "trust-principals-pinned-advisory": EnforcementLevel.ADVISORY,
            "no-bucket-admin-for-workloads": EnforcementLevel.MANDATORY,
            "no-bucket-admin-for-workloads-advisory": EnforcementLevel.ADVISORY,
            "service-account-role-trust-match": EnforcementLevel.MANDATORY,
            "iam-statements-well-formed": EnforcementLevel.MANDATORY,
            "directory-bucket-read-sessions": EnforcementLevel.MANDATORY,
            "directory-bucket-read-sessions-advisory": EnforcementLevel.ADVISORY,
            "permissions-boundary-policies": EnforcementLevel.MANDATORY,
            "permissions-boundary-policies-advisory": EnforcementLevel.ADVISORY,
            "ray-pods-use-the-service-account": EnforcementLevel.MANDATORY,
        });
    });

    it("reports s3:* in a production stack as a mandatory violation, and nothing in development", async () => {
        const wide = { policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] }) };
        const prod = await analyze(pack.client, "prod", "aws:iam/policy:Policy", "wide", wide);
        const wildcard = prod.find((d) => d.policy === "no-s3-wildcard-in-production");
        assert.ok(wildcard, JSON.stringify(prod));
        assert.equal(wildcard.level, analyzerPb.EnforcementLevel.MANDATORY);
        assert.match(wildcard.message, /grants every S3 action/);
        const dev = await analyze(pack.client, "dev", "aws:iam/policy:Policy", "wide", wide);
        assert.equal(dev.filter((d) => d.policy === "no-s3-wildcard-in-production").length, 0);
        assert.ok(
            dev.some((d) => d.policy === "no-bucket-admin-for-workloads-advisory"),
            "advisory findings still show in development",
        );
    });
});
