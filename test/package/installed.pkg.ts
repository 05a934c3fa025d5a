/**
 * The package as a user gets it: `npm pack`, the tarball installed into a fresh Pulumi project with its own
 * Pulumi.yaml, TypeScript program and stacks, and every user's path run from that install:
 *
 * - the program author's: the program type-checks against the installed types; `check` / `render` evaluate it;
 * - the platform team's: `check` on production and development stacks (a planted s3:* next to a RayS3Access
 *   fails production, passes development); the installed pack started as the Pulumi CLI starts it;
 * - the operator's: a directory of stack files only, driven with the bundled program.
 *
 * Needs the npm registry (or npm's cache) for the tarball's dependencies; run by `npm test` after the unit and
 * emulator suites (`npm run test:package` alone).
 */
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { analyze, analyzerPb, listedPolicies, startPack } from "../support/packServer";

const ROOT = path.join(__dirname, "..", "..");
// 793 kB since validation became a folder with the combination and platform rules (the component's TypeScript sources
// ship for the multi-language plugin, so each rule ships twice: source and compiled); 844 kB since the gate's own
// evaluation core, trust questions, config validation and CI reports (about 45 kB compiled); 871 kB with fleets (plan
// and emit, about 30 kB) once the internal modules' declarations ship without comments (24 kB less) and the README's
// depth moved to docs/; 921 kB with Outputs in bucket entries (stand-ins and the late validation) and the Pod
// Identity agent (the component, the bundled program and verify: source and compiled, about 50 kB) and their README
// sections; 949 kB with the runner's confirmation, progress, colour and CLI conventions once the README's generated
// component reference moved to docs/reference.md (15 kB less); 931 kB with `explain` once the component's
// implementation sources ship without comments (35 kB less; types.ts and rayS3Access.ts keep their doc comments, the schema's
// descriptions); 952 kB with pyarrow's SDK table, explain's hints and pyarrow messages, and the capped config errors, once
// the README's cluster, migration, session-policy and storage depth moved to docs/ (9 kB less); still 952 kB with config
// errors that show the refused value and the gate's refusal of a config that disables every policy, once the README's
// cross-account depth moved to docs/cross-account.md (2.5 kB less); 921 kB once the compiled modules take TypeScript's
// helpers from tslib (importHelpers) instead of a copy each (35 kB less). The 700 kB goal is not met; the way back left is more of the README's depth in docs/ (about 25 kB)
// and the compiled JavaScript's size itself, open work.
const MAX_UNPACKED_BYTES = 930 * 1024;

interface Run {
    status: number;
    stdout: string;
    stderr: string;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Run {
    const result = spawnSync(command, args, {
        cwd,
        encoding: "utf8",
        env: { ...process.env, ...env },
        maxBuffer: 64 * 1024 * 1024,
        timeout: 10 * 60_000,
    });
    if (result.error) throw result.error;
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const PROGRAM = `import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BucketAccess, RayS3Access, RoleSharing } from "ray-s3-access";

const config = new pulumi.Config();
const buckets: BucketAccess[] = [{ bucket: config.require("bucket"), prefixes: ["checkpoints/"] }];
const sharing: RoleSharing = "perTenant";

const access = new RayS3Access("training", {
    identity: "podIdentity",
    clusterName: config.require("clusterName"),
    namespace: "training",
    serviceAccountName: "ray-worker",
    buckets,
    roleSharing: sharing,
});

// What the copied shell scripts grant.
new aws.iam.Policy("legacy-wide", {
    policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] }),
});

export const roleArn = access.roleArn;
export const serviceAccount = access.serviceAccountName;
`;

/**
 * Type-checked only (never run): a provider of the author's own @pulumi/aws as assetsProvider (one copy of the SDK,
 * the peer dependency), and every type of the arguments imported by name.
 */
const AUTHOR_TYPES = `import * as aws from "@pulumi/aws";
import { AdditionalCluster, BucketKind, PodIdentityAgent, RayS3Access, SessionPolicyEntry, WebIdentityToken } from "ray-s3-access";

export function crossAccount(): RayS3Access {
    const assets = new aws.Provider("assets", { region: "us-east-1", assumeRoles: [{ roleArn: "arn:aws:iam::444455556666:role/deployer" }] });
    const kind: BucketKind = "generalPurpose";
    const clusters: AdditionalCluster[] = [];
    const token: WebIdentityToken = {};
    const sessions: SessionPolicyEntry[] | undefined = undefined;
    return new RayS3Access("assets", {
        namespace: "training",
        buckets: [{ bucket: "assets-ckpt", kind }],
        assetsProvider: assets,
        additionalClusters: clusters,
        webIdentityToken: token,
        sessionPolicies: sessions,
        clusterName: "ml",
        identity: "podIdentity",
    });
}

// A bucket and a key the same program creates, passed as Outputs; the agent added where missing.
export function sameProgram(): RayS3Access {
    const bucket = new aws.s3.Bucket("ckpt");
    const key = new aws.kms.Key("ckpt");
    const agent: PodIdentityAgent = "create";
    return new RayS3Access("ray", {
        namespace: "ray",
        identity: "podIdentity",
        clusterName: "ml",
        podIdentityAgent: agent,
        buckets: [{ bucket: bucket.bucket, prefixes: ["checkpoints/"], kmsKeyArns: [key.arn] }],
        additionalPolicyArns: [new aws.iam.Policy("extra", { policy: "{}" }).arn],
    });
}
`;

describe("the installed package (npm pack, npm install into a fresh project)", function () {
    this.timeout(15 * 60_000);
    let work: string;
    let tarball: string;
    let packed: { unpackedSize: number; files: { path: string }[] };
    let project: string;
    let cli: string;

    let installOutput = "";
    let manifestBefore = "";

    before(function () {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "ray-s3-access-package-"));
        manifestBefore = fs.readFileSync(path.join(ROOT, "package.json"), "utf8");
        const packOutput = execFileSync("npm", ["pack", "--json", "--pack-destination", work], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
        packed = JSON.parse(packOutput.slice(packOutput.indexOf("[")))[0];
        tarball = path.join(work, (packed as unknown as { filename: string }).filename);

        project = path.join(work, "ml-platform");
        fs.mkdirSync(project);
        fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "ml-platform", private: true, version: "1.0.0" }, null, 2));
        fs.writeFileSync(path.join(project, "Pulumi.yaml"), "name: ml-platform\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n");
        fs.writeFileSync(
            path.join(project, "tsconfig.json"),
            JSON.stringify({
                compilerOptions: { strict: true, target: "es2022", module: "commonjs", moduleResolution: "node", skipLibCheck: true },
                files: ["index.ts", "author-types.ts"],
            }),
        );
        fs.writeFileSync(path.join(project, "index.ts"), PROGRAM);
        fs.writeFileSync(path.join(project, "author-types.ts"), AUTHOR_TYPES);
        const stack = (cluster: string, bucket: string) =>
            `config:\n  aws:region: us-west-2\n  ml-platform:clusterName: ${cluster}\n  ml-platform:bucket: ${bucket}\n`;
        fs.writeFileSync(path.join(project, "Pulumi.prod.yaml"), stack("ml-prod", "ml-prod-ckpt"));
        fs.writeFileSync(path.join(project, "Pulumi.dev.yaml"), stack("ml-dev", "ml-dev-ckpt"));
        const typescript = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "typescript", "package.json"), "utf8")).version;
        const install = run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball, `typescript@${typescript}`], project);
        assert.equal(install.status, 0, `npm install failed:\n${install.stderr}`);
        installOutput = install.stdout + install.stderr;
        cli = path.join(project, "node_modules", ".bin", "ray-s3-access");
    });

    after(() => {
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it("npm pack builds once and leaves the repository's package.json as it was; the installed package has no install script to approve, and its metadata", () => {
        assert.equal(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"), manifestBefore, "postpack restored package.json");
        assert.ok(!fs.existsSync(path.join(ROOT, ".pack-backup")), "postpack put the component's sources back");
        assert.match(
            fs.readFileSync(path.join(ROOT, "components", "validation", "buckets.ts"), "utf8"),
            /^\/\*\*/m,
            "the repository's sources keep their comments",
        );
        const shipped = fs.readFileSync(path.join(project, "node_modules", "ray-s3-access", "components", "validation", "buckets.ts"), "utf8");
        assert.doesNotMatch(shipped, /\/\*\*/, "the shipped implementation sources have none");
        assert.match(
            fs.readFileSync(path.join(project, "node_modules", "ray-s3-access", "components", "types.ts"), "utf8"),
            /\/\*\*/,
            "types.ts keeps its doc comments (the schema's descriptions)",
        );
        const installed = JSON.parse(fs.readFileSync(path.join(project, "node_modules", "ray-s3-access", "package.json"), "utf8"));
        for (const script of ["preinstall", "install", "postinstall", "prepare"]) assert.equal(installed.scripts?.[script], undefined, `no ${script} script`);
        assert.doesNotMatch(installOutput, /ray-s3-access@[\d.]+ \((prepare|install|postinstall)/, "npm lists no install script of ours");
        for (const keyword of ["pulumi", "pulumi-component", "eks", "irsa", "pod-identity", "s3", "ray", "kuberay", "kubeflow", "crossguard"]) {
            assert.ok(installed.keywords.includes(keyword), keyword);
        }
        const manifest = JSON.parse(manifestBefore);
        assert.match(manifest.scripts.prepare, /tsc/, "a clone and a git-URL install still build through prepare");
        assert.match(manifest.scripts.prepack, /npm run build/, "npm pack builds in prepack, once (prepare is gone from the manifest it then reads)");
    });

    it("the tarball holds compiled JavaScript and types, no tests, benchmarks, examples or source maps, within 930 kB", () => {
        const files = packed.files.map((f) => f.path);
        assert.ok(packed.unpackedSize <= MAX_UNPACKED_BYTES, `unpacked ${packed.unpackedSize} bytes > ${MAX_UNPACKED_BYTES}`);
        for (const required of [
            "bin/components/index.js",
            "bin/components/index.d.ts",
            "bin/automation/cli.js",
            "bin/programs/index.js",
            "bin/policies/index.js",
            "policies/PulumiPolicy.yaml",
            "policies/package.json",
            "components/PulumiPlugin.yaml",
            "README.md",
            "LICENSE",
        ]) {
            assert.ok(files.includes(required), `${required} is in the tarball`);
        }
        const unwanted = files.filter((f) => /(^|\/)(test|bench|examples|scripts)\//.test(f) || f.endsWith(".map") || f.endsWith(".tgz"));
        assert.deepEqual(unwanted, []);
    });

    it("the Pulumi SDKs are peer dependencies: a project on @pulumi/aws 6 is told at install, not given a second copy", () => {
        const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        for (const sdk of ["@pulumi/aws", "@pulumi/kubernetes", "@pulumi/pulumi"]) {
            assert.ok(manifest.peerDependencies[sdk], `${sdk} is a peer dependency`);
            assert.ok(!(sdk in manifest.dependencies), `${sdk} is not a dependency of its own`);
        }
        const v6 = path.join(work, "aws-v6-project");
        fs.mkdirSync(v6);
        fs.writeFileSync(path.join(v6, "package.json"), JSON.stringify({ name: "aws-v6-project", private: true, dependencies: { "@pulumi/aws": "6.83.4" } }));
        // Resolution only (--package-lock-only): npm refuses the tree before downloading anything.
        // One retry when the registry did not answer: the refusal is what is tested, not the network.
        // npm's own log level: `npm run -s` hands the test a silent one, which would hide the refusal's text.
        const loud = { npm_config_loglevel: "notice" };
        let install = run("npm", ["install", "--package-lock-only", "--no-audit", "--no-fund", tarball], v6, loud);
        if (/E(AI_AGAIN|TIMEDOUT|CONNRESET|NOTFOUND)|network/i.test(install.stderr))
            install = run("npm", ["install", "--package-lock-only", "--no-audit", "--no-fund", tarball], v6, loud);
        assert.notEqual(install.status, 0, "npm accepted @pulumi/aws 6 next to ray-s3-access");
        assert.match(install.stdout + install.stderr, /Could not resolve dependency:[\s\S]*peer @pulumi\/aws@"\^7/, install.stderr.slice(0, 2000));
    });

    it("a program author's TypeScript program type-checks against the installed types", () => {
        const tsc = run(process.execPath, [path.join(project, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", "."], project);
        assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
    });

    it("importing the component loads no runner module (AWS SDK, Kubernetes client, yargs)", () => {
        const probe = run(
            process.execPath,
            [
                "-e",
                'require("ray-s3-access"); console.log(JSON.stringify(Object.keys(require.cache).filter((f) => /node_modules\\/(@aws-sdk|@kubernetes\\/client-node|yargs)\\//.test(f))))',
            ],
            project,
        );
        assert.equal(probe.status, 0, probe.stderr);
        assert.deepEqual(JSON.parse(probe.stdout), []);
    });

    it("ray-s3-access --help answers without loading the Pulumi, AWS or Kubernetes SDKs", () => {
        const preload = path.join(work, "report-loaded.js");
        fs.writeFileSync(
            preload,
            'process.on("exit", () => process.stderr.write("LOADED " + JSON.stringify(Object.keys(require.cache).filter((f) => /node_modules\\/(@pulumi|@aws-sdk|@kubernetes\\/client-node)\\//.test(f)).length) + "\\n"));\n',
        );
        const help = run(process.execPath, ["--require", preload, fs.realpathSync(cli), "--help"], project);
        assert.equal(help.status, 0, help.stderr);
        assert.match(help.stdout, /ray-s3-access render/);
        assert.match(help.stderr, /LOADED 0\n/);
        const usage = run(process.execPath, ["--require", preload, fs.realpathSync(cli), "check", "--stak", "prod"], project);
        assert.equal(usage.status, 2);
        assert.match(usage.stderr, /unknown option --stak: did you mean --stack\?/);
        assert.match(usage.stderr, /LOADED 0\n/);
    });

    it("check evaluates the user's own program: the planted s3:* fails production (exit 1) and passes development (exit 0)", () => {
        const prod = run(cli, ["check", "--stack", "prod", "--json"], project);
        assert.equal(prod.status, 1, prod.stderr);
        const violations = JSON.parse(prod.stdout).stacks[0].violations;
        const wildcard = violations.find((v: any) => v.policy === "no-s3-wildcard-in-production");
        assert.ok(wildcard, JSON.stringify(violations, null, 2));
        assert.equal(wildcard.urn, "urn:pulumi:prod::ml-platform::aws:iam/policy:Policy::legacy-wide");
        const dev = run(cli, ["check", "--stack", "dev"], project);
        assert.equal(dev.status, 0, dev.stdout + dev.stderr);
        assert.match(dev.stdout, /check passed/);
    });

    it("the gate from the installed package: a misspelt config level is refused (exit 2), SARIF and GitHub annotations are written", () => {
        const bad = path.join(work, "bad-policy-config.json");
        fs.writeFileSync(bad, JSON.stringify({ "no-s3-wildcard-in-production": { enforcementLevel: "mandatroy" } }));
        const refused = run(cli, ["check", "--stack", "prod", "--policy-pack-config", bad], project);
        assert.equal(refused.status, 2, refused.stdout + refused.stderr);
        assert.match(refused.stderr, /did you mean "mandatory"\?/);
        const sarif = path.join(work, "reports", "check.sarif");
        const checked = run(cli, ["check", "--stack", "prod", "--sarif", sarif], project, { GITHUB_ACTIONS: "true" });
        assert.equal(checked.status, 1, checked.stderr);
        assert.match(checked.stdout, /^::error title=no-s3-wildcard-in-production::/m);
        assert.match(checked.stdout, /stack prod: .*; production \(name token "prod"\)/);
        const log = JSON.parse(fs.readFileSync(sarif, "utf8"));
        assert.equal(log.version, "2.1.0");
        assert.ok(log.runs[0].results.some((r: any) => r.ruleId === "no-s3-wildcard-in-production" && r.level === "error"));
    });

    it("check --policy-pack runs another team's TypeScript pack from the installed runner (compiled JavaScript)", () => {
        const pack = path.join(work, "team-pack");
        fs.mkdirSync(pack);
        for (const file of ["PulumiPolicy.yaml", "package.json", "index.ts"]) {
            fs.copyFileSync(path.join(ROOT, "test", "fixtures", "other-pack", file), path.join(pack, file));
        }
        // The pack's dependencies, as after `npm install` in it: the project's.
        fs.symlinkSync(path.join(project, "node_modules"), path.join(pack, "node_modules"), "dir");
        const checked = run(cli, ["check", "--stack", "dev", "--policy-pack", pack, "--json"], project);
        assert.equal(checked.status, 1, checked.stderr);
        const violations = JSON.parse(checked.stdout).stacks[0].violations;
        assert.deepEqual([...new Set(violations.map((v: any) => v.policy))], ["iam-policy-team-tag"]);
    });

    it("render --json reports every resource of the user's program", () => {
        const rendered = run(cli, ["render", "--json", "--stack", "prod"], project);
        assert.equal(rendered.status, 0, rendered.stderr);
        const resources = JSON.parse(rendered.stdout).stacks[0].resources;
        const names = resources.map((r: any) => `${r.type} ${r.name}`);
        assert.ok(names.includes("ray-s3-access:index:RayS3Access training"), names.join("\n"));
        assert.ok(names.includes("aws:iam/policy:Policy legacy-wide"));
        const association = resources.find((r: any) => r.type === "aws:eks/podIdentityAssociation:PodIdentityAssociation");
        assert.deepEqual(
            [association.inputs.clusterName, association.inputs.namespace, association.inputs.serviceAccount],
            ["ml-prod", "training", "ray-worker"],
        );
        const text = run(cli, ["render", "--stack", "dev"], project);
        assert.match(text.stdout, /\ndev: \d+ resources, 1 RayS3Access role serving 1 namespace\(s\): training\n$/);
    });

    it("an operator's directory of stack files runs the bundled program, per environment, per tenant and in shards", () => {
        const ops = path.join(work, "ops");
        fs.mkdirSync(ops);
        fs.writeFileSync(
            path.join(ops, "Pulumi.prod.yaml"),
            `config:
  aws:region: us-west-2
  ray-s3-access:identity: podIdentity
  ray-s3-access:clusterName: ray-prod
  ray-s3-access:tenants:
    - namespace: team-a
      buckets: [{ bucket: team-a-ckpt, prefixes: ["checkpoints/"] }]
    - kind: kubeflowProfile
      namespace: kubeflow-bob
      owner: bob@example.com
      buckets: [{ bucket: kf-data, access: read }]
`,
        );
        const check = run(cli, ["check", "--cwd", ops], project);
        assert.equal(check.status, 0, check.stdout + check.stderr);
        const rendered = JSON.parse(run(cli, ["render", "--cwd", ops, "--json", "--per-tenant"], project).stdout);
        assert.deepEqual(
            rendered.stacks.map((s: any) => s.stack),
            ["prod", "prod.team-a", "prod.kubeflow-bob"],
        );
        assert.ok(rendered.stacks[2].resources.some((r: any) => r.type === "kubernetes:kubeflow.org/v1:Profile"));
        const typo = run(cli, ["render", "--cwd", ops, "--stack", "prod", "--tenant", "team-z"], project);
        assert.equal(typo.status, 2);
        assert.match(typo.stderr, /--tenant "team-z" matches no tenant of prod/);

        // A fleet from the installed package: plan, shard stacks, and what the engines apply.
        assert.equal(run(cli, ["fleet", "plan", "--cwd", ops, "--write", "--shard-size", "1"], project).status, 0);
        const shards = JSON.parse(run(cli, ["render", "--cwd", ops, "--stack", "prod", "--shards", "--json"], project).stdout);
        assert.deepEqual(
            shards.stacks.map((s: any) => s.stack),
            ["prod", "prod.shard_001", "prod.shard_002"],
        );
        const gitops = path.join(work, "gitops");
        const pko = run(cli, ["fleet", "emit", "--cwd", ops, "--engine", "pko", "--out", gitops, "--repo", "https://example.com/ops.git"], project);
        assert.equal(pko.status, 0, pko.stderr);
        assert.match(fs.readFileSync(path.join(gitops, "prod.yaml"), "utf8"), /kind: Stack\n[\s\S]*name: ray-s3-access-prod-shard-002/);
        const gha = run(
            cli,
            ["fleet", "emit", "--cwd", ops, "--engine", "github-actions", "--out", gitops, "--role-arn", "arn:aws:iam::111122223333:role/gha"],
            project,
        );
        assert.equal(gha.status, 0, gha.stderr);
        assert.ok(fs.existsSync(path.join(gitops, ".github", "workflows", "ray-s3-access-fleet.yml")));
    });

    it("up from the installed package points each workspace at the package's compiled program and pack (recording pulumi on PATH)", () => {
        const ops = path.join(work, "ops-up");
        fs.mkdirSync(ops);
        fs.writeFileSync(
            path.join(ops, "Pulumi.dev.yaml"),
            "config:\n  ray-s3-access:identity: podIdentity\n  ray-s3-access:clusterName: ray-dev\n  ray-s3-access:tenants:\n    - namespace: team-a\n      buckets: [{ bucket: team-a-ckpt }]\n",
        );
        const log = path.join(work, "pulumi-calls.jsonl");
        const fakeDir = path.join(ROOT, "test", "support", "fake-pulumi");
        const up = run(cli, ["up", "--cwd", ops, "--yes"], project, {
            PATH: `${fakeDir}${path.delimiter}${process.env.PATH}`,
            FAKE_PULUMI_LOG: log,
            PULUMI_CONFIG_PASSPHRASE: "test",
            PULUMI_BACKEND_URL: "",
        });
        assert.equal(up.status, 0, up.stdout + up.stderr);
        const calls = fs
            .readFileSync(log, "utf8")
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l));
        const installed = fs.realpathSync(path.join(project, "node_modules", "ray-s3-access"));
        const upCall = calls.find((c: any) => c.args[0] === "up");
        assert.equal(upCall.args[upCall.args.indexOf("--policy-pack") + 1], path.join(installed, "policies"));
        const workDir = path.join(ops, ".pulumi-workspaces", "dev");
        assert.equal(fs.realpathSync(upCall.cwd), fs.realpathSync(workDir));
        const main = /main: (.+)/.exec(fs.readFileSync(path.join(workDir, "Pulumi.yaml"), "utf8"))![1].trim();
        assert.equal(fs.realpathSync(path.resolve(workDir, main)), path.join(installed, "bin", "programs"));
        assert.ok(fs.existsSync(path.join(installed, "bin", "programs", "index.js")), "the program it points at is compiled JavaScript");
        assert.match(fs.readFileSync(path.join(workDir, "Pulumi.yaml"), "utf8"), /typescript: false/);
    });

    it("node_modules/ray-s3-access/policies starts as the Pulumi CLI starts a pack, and answers the analyzer protocol", async () => {
        const packDir = path.join(project, "node_modules", "ray-s3-access", "policies");
        assert.ok(fs.existsSync(path.join(packDir, "PulumiPolicy.yaml")));
        const pack = await startPack(packDir);
        try {
            const { name, levels } = await listedPolicies(pack.client);
            assert.equal(name, "ray-s3-access");
            assert.equal(levels["no-s3-wildcard-in-production"], analyzerPb.EnforcementLevel.MANDATORY);
            const wide = { policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] }) };
            const diagnostics = await analyze(pack.client, "prod", "aws:iam/policy:Policy", "wide", wide);
            assert.ok(diagnostics.some((d) => d.policy === "no-s3-wildcard-in-production" && d.level === analyzerPb.EnforcementLevel.MANDATORY));
        } finally {
            pack.stop();
        }
    });

    it("node_modules/ray-s3-access/components gives Pulumi's schema analyzer the component (pulumi package add)", async () => {
        const schemaProbe = run(
            process.execPath,
            [
                "-e",
                `const { ComponentProvider } = require("@pulumi/pulumi/provider/experimental");
                 const { RayS3Access } = require("ray-s3-access");
                 new ComponentProvider({ components: [RayS3Access], dirname: "node_modules/ray-s3-access/components", name: "ray-s3-access" })
                     .getSchema().then((s) => console.log(JSON.stringify(Object.keys(JSON.parse(s).resources))));`,
            ],
            project,
        );
        assert.equal(schemaProbe.status, 0, schemaProbe.stderr);
        assert.deepEqual(JSON.parse(schemaProbe.stdout), ["ray-s3-access:index:RayS3Access"]);
    });
});
