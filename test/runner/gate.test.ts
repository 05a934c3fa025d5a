/**
 * A run never ends "passed" without having checked (issue: runs that pass without checking): user programs that
 * misbehave (exit, throw in an apply, print, never resolve, register nothing) and project layouts (a symlinked
 * --cwd, `main: ../shared/index.js`) each end with exit 2 naming the stack, or are evaluated afresh per stack.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import { assertSomethingToCheck, renderTargets } from "../../automation/offline";
import { loadProject } from "../../automation/project";
import { selectTargets } from "../../automation/stacks";
import { runCli } from "../support/cli";
import { resetMocks } from "../support/mocks";

const ROOT = path.join(__dirname, "..", "..");
const NODE_MODULES = path.join(__dirname, "..", "..", "node_modules");
const COMPONENT = path.join(__dirname, "..", "..", "components");

/** A user's project with `files`, this repository's node_modules, and stacks dev and prod. */
function project(files: Record<string, string>, stacks = ["dev", "prod"]): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gate-"));
    fs.symlinkSync(NODE_MODULES, path.join(dir, "node_modules"), "dir");
    for (const [name, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), content);
    }
    for (const stack of stacks) if (!files[`Pulumi.${stack}.yaml`]) fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "config: {}\n");
    return dir;
}

/** A program with a RayS3Access and an IAM policy granting s3:* (a mandatory violation in production). */
const WIDE_PROGRAM = `
const aws = require("@pulumi/aws");
const { RayS3Access } = require(${JSON.stringify(COMPONENT)});
new RayS3Access("ray", { identity: "podIdentity", clusterName: "ml", namespace: "training", buckets: [{ bucket: "ml-data" }] });
new aws.iam.Policy("legacy-wide", { policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] }) });
`;

describe("gate: a run never ends passed without having checked", function () {
    this.timeout(120_000);
    after(() => resetMocks());

    it("symlinked --cwd: every stack is evaluated afresh and production's s3:* fails", async () => {
        const dir = project({ "Pulumi.yaml": "name: wide\nruntime: nodejs\nmain: index.js\n", "index.js": WIDE_PROGRAM });
        const link = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gate-link-")), "checkout");
        fs.symlinkSync(dir, link, "dir");
        const { code, stdout, stderr } = await runCli(["check", "--cwd", link, "--json"]);
        assert.equal(code, 1, stderr);
        const stacks = JSON.parse(stdout).stacks;
        assert.deepEqual(
            stacks.map((s: any) => [s.stack, s.resources.length > 5]),
            [
                ["dev", true],
                ["prod", true],
            ],
        );
        assert.ok(stacks[1].violations.some((v: any) => v.policy === "no-s3-wildcard-in-production"));
    });

    it("main: ../shared/index.js: every stack is evaluated afresh", async () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "gate-shared-"));
        fs.mkdirSync(path.join(root, "shared"));
        fs.writeFileSync(path.join(root, "shared", "index.js"), WIDE_PROGRAM);
        const dir = path.join(root, "app");
        fs.mkdirSync(dir);
        fs.symlinkSync(NODE_MODULES, path.join(dir, "node_modules"), "dir");
        fs.symlinkSync(NODE_MODULES, path.join(root, "node_modules"), "dir");
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: wide\nruntime: nodejs\nmain: ../shared/index.js\n");
        for (const stack of ["dev", "prod"]) fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "config: {}\n");
        const { code, stdout, stderr } = await runCli(["check", "--cwd", dir, "--json"]);
        assert.equal(code, 1, stderr);
        const stacks = JSON.parse(stdout).stacks;
        assert.ok(stacks[1].resources.length > 5, `prod rendered ${stacks[1].resources.length} resources`);
        assert.ok(stacks[1].violations.some((v: any) => v.policy === "no-s3-wildcard-in-production"));
    });

    it("a program that calls process.exit(0) fails its stack (exit 1) naming it, never 'check passed'", async () => {
        const dir = project({
            "Pulumi.yaml": "name: quitter\nruntime: nodejs\nmain: index.js\n",
            "index.js": WIDE_PROGRAM + "\nrequire('@pulumi/pulumi').output('x').apply(() => process.exit(0));\n",
        });
        const { code, stdout, stderr } = await runCli(["check", "--cwd", dir, "--stack", "prod"]);
        assert.equal(code, 1, stdout + stderr);
        assert.doesNotMatch(stdout, /check passed/);
        assert.match(stderr, /the program called process.exit\(0\) while stack "prod" was evaluated: nothing was checked/);
    });

    it("a program whose apply throws fails its stack (exit 1) naming it, never 'check passed'", async () => {
        const dir = project({
            "Pulumi.yaml": "name: thrower\nruntime: nodejs\nmain: index.js\n",
            "index.js": WIDE_PROGRAM + "\nrequire('@pulumi/pulumi').output('x').apply(() => { throw new Error('no buckets for this team'); });\n",
        });
        const { code, stdout, stderr } = await runCli(["check", "--cwd", dir, "--stack", "dev"]);
        assert.doesNotMatch(stdout, /check passed/);
        assert.equal(code, 1, stdout + stderr);
        assert.match(stderr, /stack "dev".*no buckets for this team/);
    });

    it("an Output that resolves to a bad namespace is exit 2 with the component's message, without the SDK's property chain", async () => {
        const dir = project({
            "Pulumi.yaml": "name: late\nruntime: nodejs\nmain: index.js\n",
            "index.js": `
const pulumi = require("@pulumi/pulumi");
const { RayS3Access } = require(${JSON.stringify(COMPONENT)});
new RayS3Access("ray", { identity: "podIdentity", clusterName: "ml", namespace: pulumi.output("Team_A"), buckets: [{ bucket: "ml-data" }] });
`,
        });
        const { code, stdout, stderr } = await runCli(["check", "--cwd", dir, "--stack", "dev"]);
        assert.equal(code, 2, stdout + stderr);
        assert.match(
            stderr,
            /^error: check: stack "dev": RayS3Access "ray": namespace "Team_A" is not a valid Kubernetes namespace name.*\(an Output that resolved at deployment\)$/m,
        );
        assert.doesNotMatch(stderr, /error serializing property/);
    });

    it("what a user program prints goes to stderr: render --json stays parseable", async () => {
        const dir = project({
            "Pulumi.yaml": "name: chatty\nruntime: nodejs\nmain: index.js\n",
            "index.js":
                WIDE_PROGRAM + "\nconsole.log('deploying the ML platform');\nrequire('@pulumi/pulumi').output('x').apply(() => console.log('resolved'));\n",
        });
        const printed: string[] = [];
        const write = process.stdout.write;
        const errWrite = process.stderr.write;
        const errors: string[] = [];
        process.stdout.write = ((chunk: string) => printed.push(String(chunk)) > 0) as typeof process.stdout.write;
        process.stderr.write = ((chunk: string) => errors.push(String(chunk)) > 0) as typeof process.stderr.write;
        try {
            const { code, stdout } = await runCli(["render", "--cwd", dir, "--stack", "dev", "--json"]);
            assert.equal(code, 0);
            assert.equal(JSON.parse(stdout).stacks[0].stack, "dev");
        } finally {
            process.stdout.write = write;
            process.stderr.write = errWrite;
        }
        assert.deepEqual(printed, [], "nothing of the program's reached stdout");
        assert.match(errors.join(""), /deploying the ML platform\n[^]*resolved/);
    });

    it("a program that never resolves ends at the deadline with exit 2 naming the stack and the way out", async () => {
        const dir = project({
            "Pulumi.yaml": "name: stuck\nruntime: nodejs\nmain: index.js\n",
            "index.js": WIDE_PROGRAM + "\nmodule.exports = new Promise(() => undefined);\n",
        });
        const started = Date.now();
        const { code, stdout, stderr } = await runCli(["check", "--cwd", dir, "--stack", "prod", "--timeout", "1"]);
        assert.equal(code, 2, stdout + stderr);
        assert.ok(Date.now() - started < 30_000);
        assert.match(stderr, /evaluating stack "prod" took longer than 1 s: .*raise the limit with --timeout SECONDS/);
        assert.doesNotMatch(stdout, /check passed/);
        const refused = await runCli(["check", "--cwd", dir, "--timeout", "0"]);
        assert.equal(refused.code, 2);
        assert.match(refused.stderr, /--timeout "0" must be a whole number of seconds, at least 1/);
    });

    it("a program that registers nothing cannot pass check: exit 2 naming the stack", async () => {
        const dir = project({
            "Pulumi.yaml": "name: empty\nruntime: nodejs\nmain: index.js\n",
            "index.js": "const pulumi = require('@pulumi/pulumi');\nif (pulumi.getStack() === 'prod') { module.exports = {}; } else {" + WIDE_PROGRAM + "}\n",
        });
        const { code, stdout, stderr } = await runCli(["check", "--cwd", dir]);
        assert.equal(code, 2, stdout + stderr);
        assert.match(stderr, /stack "prod": the program registered no resources, so there is nothing to check/);
        assert.doesNotMatch(stdout, /check passed/);
    });

    it("a Pulumi.yaml whose main does not exist is a usage error (exit 2) naming it, without a require stack", async () => {
        const dir = project({ "Pulumi.yaml": "name: lost\nruntime: nodejs\nmain: dist/index.js\n" });
        const { code, stderr } = await runCli(["render", "--cwd", dir]);
        assert.equal(code, 2);
        assert.match(stderr, /Pulumi.yaml's main "dist\/index.js" .* has no program/);
        assert.doesNotMatch(stderr, /Require stack|at Module/);
    });

    /** The CLI in a process of its own, as a user runs it; `signal` is sent after `afterMs`. */
    async function spawnCli(args: string[], signal?: { name: NodeJS.Signals; afterMs: number }) {
        const child = spawn(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), path.join(ROOT, "automation", "cli.ts"), ...args], {
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout!.on("data", (chunk) => (stdout += String(chunk)));
        child.stderr!.on("data", (chunk) => (stderr += String(chunk)));
        const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
        const timer = signal && setTimeout(() => child.kill(signal.name), signal.afterMs);
        const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
        clearTimeout(guard);
        if (timer) clearTimeout(timer);
        return { code, stdout, stderr };
    }

    it("past the deadline the process itself ends (exit 2), though the program still waits", async () => {
        const dir = project({
            "Pulumi.yaml": "name: stuck\nruntime: nodejs\nmain: index.js\n",
            "index.js": WIDE_PROGRAM + "\nsetInterval(() => undefined, 1000);\nmodule.exports = new Promise(() => undefined);\n",
        });
        const { code, stderr } = await spawnCli(["check", "--cwd", dir, "--stack", "dev", "--timeout", "2"]);
        assert.equal(code, 2, stderr);
        assert.match(stderr, /evaluating stack "dev" took longer than 2 s/);
    });

    it("SIGTERM during render --out cleans up as Ctrl-C does: exit 130, nothing written, and the next render works", async () => {
        const dir = project({
            "Pulumi.yaml": "name: slow\nruntime: nodejs\nmain: index.js\n",
            "index.js": WIDE_PROGRAM + "\nmodule.exports = new Promise(() => undefined);\n",
        });
        const out = path.join(dir, "out");
        const { code, stderr } = await spawnCli(["render", "--cwd", dir, "--out", out], { name: "SIGTERM", afterMs: 6_000 });
        assert.equal(code, 130, stderr);
        assert.match(stderr, /cancelled \(Ctrl-C\) while evaluating stack "dev": nothing was written/);
        assert.ok(!fs.existsSync(out));
        // A render killed outright leaves its temporary directory; the next render removes it and goes on.
        fs.mkdirSync(path.join(out, ".dev.tmp-4242"), { recursive: true });
        fs.writeFileSync(path.join(out, ".dev.tmp-4242", "resources.json"), "[");
        const fine = project({ "Pulumi.yaml": "name: wide\nruntime: nodejs\nmain: index.js\n", "index.js": WIDE_PROGRAM });
        const again = await runCli(["render", "--cwd", fine, "--stack", "dev", "--out", out]);
        assert.equal(again.code, 0, again.stderr);
        assert.deepEqual(fs.readdirSync(out).sort(), [".ray-s3-access-render.json", "dev"]);
    });

    it("render --out: components team/a and team_a get directories of their own; names equal but for case are refused", async () => {
        const component = (name: string, namespace: string) =>
            `new RayS3Access(${JSON.stringify(name)}, { identity: "podIdentity", clusterName: "ml", namespace: ${JSON.stringify(namespace)}, buckets: [{ bucket: "ml-data" }] });\n`;
        const head = `const { RayS3Access } = require(${JSON.stringify(COMPONENT)});\n`;
        const dir = project(
            { "Pulumi.yaml": "name: teams\nruntime: nodejs\nmain: index.js\n", "index.js": head + component("team/a", "a") + component("team_a", "b") },
            ["dev"],
        );
        const out = path.join(dir, "out");
        const { code, stderr } = await runCli(["render", "--cwd", dir, "--out", out]);
        assert.equal(code, 0, stderr);
        const dirs = fs.readdirSync(path.join(out, "dev")).filter((d) => d !== "resources.json");
        assert.equal(dirs.length, 2, dirs.join(", "));
        const served = dirs.map((d) => JSON.parse(fs.readFileSync(path.join(out, "dev", d, "role.json"), "utf8")).serviceAccounts[0].namespace).sort();
        assert.deepEqual(served, ["a", "b"]);
        const cased = project(
            { "Pulumi.yaml": "name: teams\nruntime: nodejs\nmain: index.js\n", "index.js": head + component("Team-A", "a") + component("team-a", "b") },
            ["dev"],
        );
        const refused = await runCli(["render", "--cwd", cased, "--out", path.join(cased, "out")]);
        assert.equal(refused.code, 2);
        assert.match(refused.stderr, /components "Team-A" and "team-a" would be written to one directory/);
    });

    it("clusterName: ~ is refused naming the key, not taken as a cluster named null", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gate-null-"));
        fs.writeFileSync(
            path.join(dir, "Pulumi.dev.yaml"),
            "config:\n  ray-s3-access:identity: podIdentity\n  ray-s3-access:clusterName: ~\n  ray-s3-access:tenants:\n    - namespace: team-a\n      buckets: [{ bucket: ml-data }]\n",
        );
        const { code, stdout, stderr } = await runCli(["render", "--cwd", dir, "--json"]);
        assert.equal(code, 2, stdout);
        assert.match(stderr, /Pulumi.dev.yaml: ray-s3-access:clusterName is empty \(null\): give it a value, or remove the key/);
    });

    it("a secure value nested in structured config reaches the program as the offline placeholder string, and the key is secret", async () => {
        const dir = project(
            {
                "Pulumi.yaml": "name: nested\nruntime: nodejs\nmain: index.js\n",
                "index.js":
                    WIDE_PROGRAM +
                    `
const pulumi = require("@pulumi/pulumi");
const team = new pulumi.Config().requireObject("team");
new aws.iam.Policy("probe", { description: typeof team.password + ":" + team.password + ":" + team.name, policy: "{}" });
`,
                "Pulumi.dev.yaml": "config:\n  nested:team:\n    name: ml\n    password:\n      secure: v1:AAAA:ciphertext\n",
            },
            ["dev"],
        );
        const { code, stdout, stderr } = await runCli(["render", "--cwd", dir, "--json"]);
        assert.equal(code, 0, stderr);
        const probe = JSON.parse(stdout).stacks[0].resources.find((r: any) => r.name === "probe");
        assert.equal(probe.inputs.description, "string:offline-secret-placeholder:ml");
    });

    it("a pack rule that never returns ends check at the deadline with exit 2 naming the stack", async () => {
        const dir = project({ "Pulumi.yaml": "name: wide\nruntime: nodejs\nmain: index.js\n", "index.js": WIDE_PROGRAM }, ["dev"]);
        const pack = project(
            {
                "PulumiPolicy.yaml": "runtime: nodejs\n",
                "index.js": `const { PolicyPack } = require("@pulumi/policy");
new PolicyPack("stuck", { policies: [{ name: "waits-forever", description: "Checks nothing, ever.", enforcementLevel: "mandatory", validateResource: () => new Promise(() => undefined) }] });
`,
            },
            [],
        );
        const { code, stdout, stderr } = await runCli(["check", "--cwd", dir, "--policy-pack", pack, "--timeout", "1"]);
        assert.equal(code, 2, stdout + stderr);
        assert.match(stderr, /the policy pack's rules did not finish on stack "dev" within 1 s/);
        assert.doesNotMatch(stdout, /check passed/);
    });

    it("a bundled stack whose tenant got no role the program registered cannot pass check", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gate-unserved-"));
        fs.writeFileSync(
            path.join(dir, "Pulumi.dev.yaml"),
            "config:\n  ray-s3-access:identity: podIdentity\n  ray-s3-access:clusterName: ml\n  ray-s3-access:tenants:\n    - namespace: team-a\n      buckets: [{ bucket: ml-data }]\n",
        );
        const bundled = loadProject(dir);
        const [rendered] = await renderTargets(bundled, selectTargets({ project: bundled }));
        assert.doesNotThrow(() => assertSomethingToCheck(rendered), "every tenant served");
        assert.throws(
            () => assertSomethingToCheck({ ...rendered, tenants: ["team-a", "team-b"] }),
            /stack "dev": the config lists tenant\(s\) team-b, but no RayS3Access role the program registered serves them/,
        );
    });
});
