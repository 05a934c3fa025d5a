/**
 * `render` and `check` on a user's own Pulumi project (test/fixtures/user-project: a Pulumi.yaml, TypeScript
 * program, two stacks): its program evaluated in-process with its own config, every resource it registers
 * reported, documents grouped by the RayS3Access components it registered, and any Node.js policy pack.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCli } from "../support/cli";
import { resetMocks } from "../support/mocks";

const PROJECT = path.join(__dirname, "..", "fixtures", "user-project");
const OTHER_PACK = path.join(__dirname, "..", "fixtures", "other-pack");

const cli = (args: string[]) => runCli(args);

/** A project directory whose node_modules is this repository's (as after `npm install`), unless `install` is false. */
function tempProject(files: Record<string, string>, install = true): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "user-project-"));
    if (install) fs.symlinkSync(path.join(__dirname, "..", "..", "node_modules"), path.join(dir, "node_modules"), "dir");
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
    return dir;
}

describe("the runner on a user's own Pulumi project", function () {
    this.timeout(120_000);
    after(() => resetMocks());

    it("render --json reports every resource the program registers, with its own config and secrets", async () => {
        const { code, stdout, stderr } = await cli(["render", "--cwd", PROJECT, "--json"]);
        assert.equal(code, 0, stderr);
        const stacks = JSON.parse(stdout).stacks;
        assert.deepEqual(
            stacks.map((s: any) => s.stack),
            ["dev", "prod"],
        );
        const prod = stacks[1].resources;
        const names = prod.map((r: any) => `${r.type} ${r.name}`);
        assert.ok(names.includes("ml:index:TrainingPlatform platform"), "the user's own component");
        assert.ok(names.includes("ray-s3-access:index:RayS3Access platform-ray"), "RayS3Access nested in it");
        assert.ok(names.includes("aws:iam/policy:Policy legacy-wide"), "resources outside any RayS3Access");
        const association = prod.find((r: any) => r.name === "platform-ray-association");
        assert.deepEqual(
            [association.inputs.clusterName, association.inputs.namespace, association.inputs.serviceAccount],
            ["ml-prod", "training", "ray-worker"],
        );
        const policy = prod.find((r: any) => r.name === "platform-ray-policy");
        assert.match(policy.inputs.policy, /arn:aws:s3:::ml-prod-checkpoints\/checkpoints\/\*/, "Pulumi.yaml's project-level default (prefix) applies");
        // dev's keys have no namespace: they belong to the project, as in the Pulumi CLI.
        assert.ok(stacks[0].resources.some((r: any) => r.type === "aws:iam/role:Role" && r.name === "notebooks-role"));
        assert.ok(!stacks[0].resources.some((r: any) => r.name === "legacy-wide"), "dev sets legacyWide false");
    });

    it("render groups the documents by the RayS3Access components registered, wherever they sit in the tree", async () => {
        const { code, stdout } = await cli(["render", "--cwd", PROJECT, "--stack", "prod"]);
        assert.equal(code, 0);
        assert.match(stdout, /^   ml:index:TrainingPlatform platform\n      ray-s3-access:index:RayS3Access platform-ray\n/m);
        assert.match(stdout, /-- RayS3Access platform-ray \(role platform-ray-role-[^)]+\): service accounts training\/ray-worker\n/);
        assert.match(stdout, /-- RayS3Access notebooks \(role notebooks-role-[^)]+\): service accounts notebooks\/ray-s3-sa\n/);
        assert.match(stdout, /\nprod: 14 resources, 2 RayS3Access roles serving 2 namespace\(s\): notebooks, training\n$/);
    });

    it("check runs the bundled pack on everything: the planted s3:* fails production (exit 1), development passes", async () => {
        const prod = await cli(["check", "--cwd", PROJECT, "--stack", "prod", "--json"]);
        assert.equal(prod.code, 1, prod.stderr);
        const violations = JSON.parse(prod.stdout).stacks[0].violations;
        const wildcard = violations.find((v: any) => v.policy === "no-s3-wildcard-in-production");
        assert.ok(wildcard, JSON.stringify(violations));
        assert.equal(wildcard.urn, "urn:pulumi:prod::ml-platform::aws:iam/policy:Policy::legacy-wide");
        assert.ok(
            violations.every((v: any) => v.urn.endsWith("::legacy-wide")),
            "the RayS3Access roles pass",
        );
        const dev = await cli(["check", "--cwd", PROJECT, "--stack", "dev"]);
        assert.equal(dev.code, 0, dev.stdout + dev.stderr);
        assert.match(dev.stdout, /check passed/);
    });

    it("--policy-pack DIR runs another team's pack (TypeScript, validateResourceOfType) offline", async () => {
        const { code, stdout } = await cli(["check", "--cwd", PROJECT, "--stack", "dev", "--policy-pack", OTHER_PACK, "--json"]);
        assert.equal(code, 1);
        const violations = JSON.parse(stdout).stacks[0].violations;
        assert.deepEqual([...new Set(violations.map((v: any) => v.policy))], ["iam-policy-team-tag"], "only that pack's rules run");
        assert.equal(violations.length, 2, "one per IAM policy of dev (two RayS3Access policies)");
        const notAPack = await cli(["check", "--cwd", PROJECT, "--policy-pack", PROJECT]);
        assert.equal(notAPack.code, 2);
        assert.match(notAPack.stderr, /has no PulumiPolicy.yaml, so it is not a policy pack/);
    });

    it("bundled-program flags and verify are refused on a user's project, with the reason (exit 2)", async () => {
        const perTenant = await cli(["render", "--cwd", PROJECT, "--per-tenant"]);
        assert.equal(perTenant.code, 2);
        assert.match(perTenant.stderr, /--per-tenant splits the bundled program's ray-s3-access:tenants; .* has its own program \(Pulumi.yaml "ml-platform"\)/);
        assert.equal((await cli(["render", "--cwd", PROJECT, "--tenant", "training"])).code, 2);
        const verify = await cli(["verify", "--cwd", PROJECT]);
        assert.equal(verify.code, 2);
        assert.match(verify.stderr, /verify checks the bundled program's tenants/);
    });

    it("a program that throws fails its stack (exit 1) and names it; a non-Node.js project is a usage error", async () => {
        const broken = tempProject({
            "Pulumi.yaml": "name: broken\nruntime: nodejs\nmain: main.js\n",
            "main.js": "throw new Error('bucket list missing');\n",
            "Pulumi.dev.yaml": "config: {}\n",
        });
        const failed = await cli(["render", "--cwd", broken]);
        assert.equal(failed.code, 1);
        assert.match(failed.stderr, /stack "dev": bucket list missing/);
        const uninstalled = tempProject({ "Pulumi.yaml": "name: fresh\nruntime: nodejs\n", "index.js": "", "Pulumi.dev.yaml": "config: {}\n" }, false);
        const notInstalled = await cli(["render", "--cwd", uninstalled]);
        assert.equal(notInstalled.code, 2);
        assert.match(notInstalled.stderr, /cannot load @pulumi\/pulumi: install the project's dependencies first \(npm install\)/);
        const python = tempProject({ "Pulumi.yaml": "name: py\nruntime: python\n", "Pulumi.dev.yaml": "config: {}\n" });
        const refused = await cli(["check", "--cwd", python]);
        assert.equal(refused.code, 2);
        assert.match(refused.stderr, /runtime "python" is not nodejs: .*pulumi preview --policy-pack node_modules\/ray-s3-access\/policies/);
    });
});
