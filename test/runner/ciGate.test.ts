/**
 * The gate in CI (issue: a gate that cannot be opened by accident): `--policy-pack-config` is refused whole on any
 * mistake before a rule runs, and `check` tells CI what it judged: production and why, SARIF 2.1.0 valid against
 * the OASIS schema, GitHub workflow commands, and a reason per mandatory violation on stderr with --json.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const AjvDraft04 = require("ajv-draft-04");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const addFormats = require("ajv-formats");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Ajv = require("ajv").default;
import * as yaml from "js-yaml";
import { assertSomethingJudged, policyConfigProblems } from "../../automation/policyConfig";
import { policies } from "../../policies/rules";
import { runCli } from "../support/cli";
import { FakeDriver } from "../support/fakeDriver";
import { resetMocks } from "../support/mocks";

const NODE_MODULES = path.join(__dirname, "..", "..", "node_modules");
const COMPONENT = path.join(__dirname, "..", "..", "components");
const SARIF_SCHEMA = path.join(__dirname, "..", "fixtures", "schemas", "sarif-schema-2.1.0.json");

/** A program with a RayS3Access and an IAM policy granting s3:* (a mandatory violation in production). */
const WIDE_PROGRAM = `
const aws = require("@pulumi/aws");
const { RayS3Access } = require(${JSON.stringify(COMPONENT)});
new RayS3Access("ray", { identity: "podIdentity", clusterName: "ml", namespace: "training", buckets: [{ bucket: "ml-data" }] });
new aws.iam.Policy("legacy-wide", { policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] }) });
`;

function project(stacks = ["dev", "prod"]): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ci-gate-"));
    fs.symlinkSync(NODE_MODULES, path.join(dir, "node_modules"), "dir");
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: wide\nruntime: nodejs\nmain: index.js\n");
    fs.writeFileSync(path.join(dir, "index.js"), WIDE_PROGRAM);
    for (const stack of stacks) fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "config: {}\n");
    return dir;
}

function configFile(config: unknown): string {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ci-gate-config-")), "policy.json");
    fs.writeFileSync(file, typeof config === "string" ? config : JSON.stringify(config));
    return file;
}

/** Runs with GITHUB_ACTIONS set as given (restored after). */
async function withGithub<T>(value: string | undefined, body: () => Promise<T>): Promise<T> {
    const saved = process.env.GITHUB_ACTIONS;
    if (value === undefined) delete process.env.GITHUB_ACTIONS;
    else process.env.GITHUB_ACTIONS = value;
    try {
        return await body();
    } finally {
        if (saved === undefined) delete process.env.GITHUB_ACTIONS;
        else process.env.GITHUB_ACTIONS = saved;
    }
}

describe("gate: --policy-pack-config fails closed", function () {
    this.timeout(120_000);
    after(() => resetMocks());
    let dir: string;
    before(() => (dir = project()));

    const mistakes: [string, unknown, RegExp][] = [
        [
            "a misspelt level",
            { "no-s3-wildcard-in-production": { enforcementLevel: "mandatroy" } },
            /policy "no-s3-wildcard-in-production": enforcementLevel "mandatroy" is not an enforcement level; use one of advisory, mandatory, remediate, disabled \(did you mean "mandatory"\?\)/,
        ],
        [
            "a misspelt level as the shorthand",
            { "irsa-trust-pinned": "Mandatory" },
            /enforcementLevel "Mandatory" is not an enforcement level.*did you mean "mandatory"/,
        ],
        ["a level that is not a string", { "irsa-trust-pinned": { enforcementLevel: true } }, /enforcementLevel true is not an enforcement level/],
        [
            "an unknown policy",
            { "no-s3-wildcard-in-prod": "mandatory" },
            /"no-s3-wildcard-in-prod" is not a policy of this pack \(did you mean "no-s3-wildcard-in-production"\?\)/,
        ],
        [
            "an unknown key",
            { "no-bucket-admin-for-workloads": { exeptions: [] } },
            /policy "no-bucket-admin-for-workloads": unknown key "exeptions" \(did you mean "exceptions"\?\)/,
        ],
        [
            "a string where a list belongs",
            { "no-s3-wildcard-in-production": { productionStacks: "prod" } },
            /policy "no-s3-wildcard-in-production" key productionStacks: a string \("prod"\) must be array/,
        ],
        [
            "an exception without its reason",
            { "no-s3-wildcard-in-production": { exceptions: [{ resource: "legacy-wide", expires: "2027-01-01" }] } },
            /key exceptions\[0\]: "reason" is required/,
        ],
        ["a misspelt level for every policy", { all: "advisroy" }, /policy "all": enforcementLevel "advisroy".*did you mean "advisory"/],
        ["a policy config that is a list", { "irsa-trust-pinned": ["mandatory"] }, /policy "irsa-trust-pinned": a list is not a config/],
    ];

    for (const [what, config, message] of mistakes) {
        it(`${what}: exit 2 before any rule runs, naming the policy and key`, async () => {
            const { code, stdout, stderr } = await runCli(["check", "--cwd", dir, "--policy-pack-config", configFile(config)]);
            assert.equal(code, 2, stderr);
            assert.match(stderr, message);
            assert.match(stderr, /is refused before any rule runs/);
            assert.equal(stdout, "", "nothing was checked, so nothing is reported as passed");
        });
    }

    it("lists every problem at once", () => {
        const problems = policyConfigProblems(policies, {
            "no-s3-wildcard-in-production": { enforcementLevel: "mandatroy", productionStacks: "prod", exeptions: [] },
            "irsa-trust-pined": "mandatory",
        });
        assert.equal(problems.length, 4, problems.join("\n"));
    });

    it("preview and up refuse the config before the Pulumi CLI runs", async () => {
        for (const operation of ["preview", "up"]) {
            const driver = new FakeDriver();
            const file = configFile({ "no-s3-wildcard-in-production": { enforcementLevel: "mandatroy" } });
            const { code, stderr } = await runCli([operation, "--cwd", dir, "--policy-pack-config", file, "--yes"], { driver: () => driver });
            assert.equal(code, 2, stderr);
            assert.match(stderr, /did you mean "mandatory"/);
            assert.deepEqual([driver.prepared, driver.starts], [[], []], `${operation} reached the driver`);
        }
    });

    it("a valid config (the shipped prod.json, an empty file) still fails production on s3:*", async () => {
        for (const file of [path.join(__dirname, "..", "..", "policies", "config", "prod.json"), configFile("  \n")]) {
            const { code, stdout, stderr } = await runCli(["check", "--cwd", dir, "--stack", "prod", "--policy-pack-config", file]);
            assert.equal(code, 1, stderr);
            assert.match(stdout, /\[mandatory\] no-s3-wildcard-in-production: .*grants every S3 action/);
        }
    });

    it("a config that disables every policy is exit 2 (check would judge nothing); one with none mandatory says it cannot fail", async () => {
        const off = await runCli(["check", "--cwd", dir, "--stack", "prod", "--policy-pack-config", configFile({ all: "disabled" })]);
        assert.equal(off.code, 2, off.stderr);
        assert.match(off.stderr, /disables every policy of the pack \(\d+\): check would judge nothing and end "passed"/);
        assert.equal(off.stdout, "");
        const one = await runCli([
            "check",
            "--cwd",
            dir,
            "--stack",
            "dev",
            "--policy-pack-config",
            configFile({ all: "disabled", "irsa-trust-pinned": "advisory" }),
        ]);
        assert.equal(one.code, 0, one.stderr);
        assert.match(one.stdout, /check passed: no mandatory violation \(no policy of the 1 that ran is mandatory: this check cannot fail\)/);
        const plain = await runCli(["check", "--cwd", dir, "--stack", "dev"]);
        assert.match(plain.stdout, /check passed: no mandatory violation\n$/);
        assert.throws(() => assertSomethingJudged([], {}, undefined), /the policy pack has no policies: check would judge nothing/);
    });

    it("\"all\" sets every policy's level, and a policy's own entry wins over it", async () => {
        const advisory = await runCli(["check", "--cwd", dir, "--stack", "prod", "--policy-pack-config", configFile({ all: "advisory" }), "--json"]);
        assert.equal(advisory.code, 0, advisory.stderr);
        const violations = JSON.parse(advisory.stdout).stacks[0].violations;
        assert.ok(violations.some((v: any) => v.policy === "no-s3-wildcard-in-production" && v.enforcementLevel === "advisory"));
        const own = await runCli([
            "check",
            "--cwd",
            dir,
            "--stack",
            "prod",
            "--policy-pack-config",
            configFile({ all: "advisory", "no-s3-wildcard-in-production": "mandatory" }),
        ]);
        assert.equal(own.code, 1, own.stderr);
    });
});

describe("gate: what check tells CI", function () {
    this.timeout(120_000);
    after(() => resetMocks());
    let dir: string;
    before(() => (dir = project(["dev", "prod", "live-eu"])));

    it("each stack's line says whether it was judged production and why", async () => {
        const config = configFile({ "no-s3-wildcard-in-production": { productionStacks: ["live-*"] } });
        const { code, stdout } = await runCli(["check", "--cwd", dir, "--policy-pack-config", config]);
        assert.equal(code, 1);
        assert.match(stdout, /stack dev: \d+ resources, \d+ violation\(s\); not production \(no "prod" or "production" token in its name/);
        assert.match(stdout, /stack prod: .*; production \(name token "prod"\)/);
        assert.match(
            stdout,
            /stack live-eu: .*; production \(productionStacks pattern "live-\*" in the config of no-s3-wildcard-in-production \(\d+ other policies/,
        );
    });

    it("--stack-tag environment=prod makes a stack production offline, as the backend's tag would", async () => {
        const plain = await runCli(["check", "--cwd", dir, "--stack", "dev"]);
        assert.equal(plain.code, 0, plain.stdout);
        const tagged = await runCli(["check", "--cwd", dir, "--stack", "dev", "--stack-tag", "environment=prod", "--json"]);
        assert.equal(tagged.code, 1, tagged.stderr);
        const [stack] = JSON.parse(tagged.stdout).stacks;
        assert.deepEqual(stack.production, { production: true, reason: "stack tag environment=prod" });
        const refused = await runCli(["check", "--cwd", dir, "--stack-tag", "environment"]);
        assert.equal(refused.code, 2);
        assert.match(refused.stderr, /--stack-tag "environment" must be KEY=VALUE/);
    });

    it("--json keeps stdout JSON and puts one line per mandatory violation on stderr", async () => {
        const { code, stdout, stderr } = await withGithub(undefined, () => runCli(["check", "--cwd", dir, "--stack", "prod", "--json"]));
        assert.equal(code, 1);
        const mandatory = JSON.parse(stdout).stacks[0].violations.filter((v: any) => v.enforcementLevel === "mandatory");
        const lines = stderr.trim().split("\n");
        assert.equal(lines.length, mandatory.length, stderr);
        for (const v of mandatory)
            assert.ok(
                lines.some((l) => l.startsWith(`mandatory: ${v.policy}: `) && l.endsWith(`(${v.urn})`)),
                v.message,
            );
    });

    it("under GitHub Actions, violations are workflow commands: ::error for mandatory, ::warning for advisory", async () => {
        const text = await withGithub("true", () => runCli(["check", "--cwd", dir, "--stack", "prod"]));
        assert.match(
            text.stdout,
            /^::error title=no-s3-wildcard-in-production::IAM Policy|^::error title=no-s3-wildcard-in-production::aws:iam\/policy:Policy "legacy-wide"/m,
        );
        const json = await withGithub("true", () => runCli(["check", "--cwd", dir, "--stack", "prod", "--json"]));
        const violations = JSON.parse(json.stdout).stacks[0].violations;
        const commands = json.stderr.trim().split("\n");
        assert.equal(commands.length, violations.length);
        for (const v of violations) {
            const kind = v.enforcementLevel === "advisory" ? "warning" : "error";
            assert.ok(
                commands.some((c) => c.startsWith(`::${kind} title=${v.policy}::`)),
                `${kind} for ${v.policy}`,
            );
        }
        assert.ok(!commands.some((c) => /[\r\n]/.test(c.slice(2))), "a command never spans lines");
    });

    it("--sarif writes SARIF 2.1.0 valid against the OASIS schema, whose results equal the --json violations", async () => {
        const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ci-gate-sarif-")), "reports", "policy.sarif");
        const cwd = process.cwd();
        process.chdir(dir);
        let result;
        try {
            result = await runCli(["check", "--sarif", out, "--code-quality", path.join(path.dirname(out), "gl-code-quality.json"), "--json"]);
        } finally {
            process.chdir(cwd);
        }
        assert.equal(result.code, 1, result.stderr);
        assert.match(result.stderr, /wrote SARIF 2.1.0 \(\d+ result\(s\)\)/);
        const log = JSON.parse(fs.readFileSync(out, "utf8"));
        const ajv = new AjvDraft04({ allErrors: true, strict: false });
        addFormats(ajv);
        const validate = ajv.compile(JSON.parse(fs.readFileSync(SARIF_SCHEMA, "utf8")));
        assert.ok(validate(log), JSON.stringify(validate.errors, null, 2));
        const [run] = log.runs;
        const fromJson = JSON.parse(result.stdout).stacks.flatMap((s: any) =>
            s.violations.map((v: any) => ({ ruleId: v.policy, level: v.enforcementLevel === "advisory" ? "warning" : "error", text: v.message, urn: v.urn })),
        );
        const fromSarif = run.results.map((r: any) => ({
            ruleId: r.ruleId,
            level: r.level,
            text: r.message.text,
            urn: r.locations[0].logicalLocations[0].fullyQualifiedName,
        }));
        assert.ok(fromJson.length > 0);
        assert.deepEqual(fromSarif, fromJson);
        // Rules carry the pack's metadata; each result points at its rule and at the stack file in the repository.
        for (const r of run.results) {
            assert.equal(run.tool.driver.rules[r.ruleIndex].id, r.ruleId);
            assert.match(r.locations[0].physicalLocation.artifactLocation.uri, /^Pulumi\.(dev|prod|live-eu)\.yaml$/);
        }
        const rule = run.tool.driver.rules.find((r: any) => r.id === "no-s3-wildcard-in-production");
        assert.match(rule.fullDescription.text, /grant no principal every S3 action/);
        assert.equal(rule.defaultConfiguration.level, "error");
        // GitLab's code quality report holds the same violations, mandatory ones as blockers.
        const quality = JSON.parse(fs.readFileSync(path.join(path.dirname(out), "gl-code-quality.json"), "utf8"));
        assert.deepEqual(
            quality.map((q: any) => [q.check_name, q.severity, q.location.path]),
            run.results.map((r: any) => [r.ruleId, r.level === "error" ? "blocker" : "minor", r.locations[0].physicalLocation.artifactLocation.uri]),
        );
        assert.equal(new Set(quality.map((q: any) => q.fingerprint)).size, quality.length, "fingerprints are unique");
    });

    it("the GitHub Actions and GitLab CI examples' check commands run and write the reports their next steps upload", async () => {
        const examples = path.join(__dirname, "..", "..", "examples");
        const github: any = yaml.load(fs.readFileSync(path.join(examples, "github-actions", "policy.yml"), "utf8"));
        const gitlab: any = yaml.load(fs.readFileSync(path.join(examples, "gitlab-ci", ".gitlab-ci.yml"), "utf8"));
        const steps = github.jobs["offline-check"].steps;
        const githubCheck = steps.find((s: any) => /ray-s3-access check/.test(s.run ?? "")).run;
        const uploaded = steps.find((s: any) => /upload-sarif/.test(s.uses ?? "")).with.sarif_file;
        // The workflow is one GitHub accepts: valid against SchemaStore's github-workflow schema (test/fixtures/schemas).
        const ajv = new Ajv({ allErrors: true, strict: false });
        addFormats(ajv);
        const validateWorkflow = ajv.compile(
            JSON.parse(fs.readFileSync(path.join(__dirname, "..", "fixtures", "schemas", "github-workflow.schema.json"), "utf8")),
        );
        assert.ok(validateWorkflow(github), JSON.stringify(validateWorkflow.errors, null, 2));
        const job = gitlab["ray-s3-access-check"];
        const gitlabCheck = job.script.find((line: string) => /ray-s3-access check/.test(line));
        const reports = [job.artifacts.reports.codequality, ...job.artifacts.paths];
        for (const [command, files] of [
            [githubCheck, [uploaded]],
            [gitlabCheck, reports],
        ] as [string, string[]][]) {
            const work = project(["prod"]);
            fs.mkdirSync(path.join(work, "policy-config"));
            fs.copyFileSync(path.join(__dirname, "..", "..", "policies", "config", "prod.json"), path.join(work, "policy-config", "prod.json"));
            const args = command.replace(/>.*$/, "").trim().split(/\s+/).slice(2); // after `npx ray-s3-access`
            const cwd = process.cwd();
            process.chdir(work);
            try {
                const { code, stderr } = await withGithub(undefined, () => runCli(args));
                assert.equal(code, 1, `${command}\n${stderr}`);
            } finally {
                process.chdir(cwd);
            }
            for (const file of files) assert.ok(fs.existsSync(path.join(work, file)), `${command} did not write ${file}`);
        }
    });
});
