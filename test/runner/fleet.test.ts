/**
 * Fleets (issue: fleets on existing engines): each environment's tenants in shard stacks of at most N, recorded in
 * ray-s3-access.fleet.json so that no edit of the stack file moves a tenant (a move deletes its role in one stack and
 * creates it in another); shard stacks are real stacks of the bundled program.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { EnvironmentPlan, formatFleetRecord, planEnvironment } from "../../automation/fleet";
import { EMIT_RECORD } from "../../automation/files";
import { runCli } from "../support/cli";
import { FakeDriver } from "../support/fakeDriver";
import { resetMocks } from "../support/mocks";

const PROVIDER = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC123";
const FAKE_DIR = path.join(__dirname, "..", "support", "fake-pulumi");

function tenantEntry(namespace: string) {
    return { namespace, buckets: [{ bucket: `${namespace}-data`, prefixes: ["checkpoints/"] }] };
}

function stackFile(namespaces: string[], extra = ""): string {
    return (
        `config:\n  aws:region: us-west-2\n  ray-s3-access:oidcProviderArn: ${PROVIDER}\n${extra}` +
        `  ray-s3-access:tenants: ${JSON.stringify(namespaces.map(tenantEntry))}\n`
    );
}

function opsDir(namespaces: string[], extra = ""): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-"));
    fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), stackFile(namespaces, extra));
    return dir;
}

const names = (count: number, prefix = "team") => Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(4, "0")}`);

/** Tenant -> shard stack, for comparing plans. */
function assignment(plan: EnvironmentPlan): Map<string, string> {
    return new Map(plan.shards.flatMap((s) => s.tenants.map((t) => [t, s.stack] as [string, string])));
}

describe("fleet plan: stable shards", function () {
    this.timeout(120_000);

    it("property: adding, removing and reordering tenants loses, duplicates and moves no tenant; the same input gives the same plan", () => {
        const pool = names(400, "ns");
        const edit = fc.record({
            add: fc.subarray(pool, { maxLength: 60 }),
            remove: fc.nat(),
            removeCount: fc.nat({ max: 40 }),
            seed: fc.nat(),
        });
        fc.assert(
            fc.property(
                fc.subarray(pool, { minLength: 1, maxLength: 250 }),
                fc.integer({ min: 1, max: 50 }),
                fc.array(edit, { minLength: 1, maxLength: 6 }),
                (initial, size, edits) => {
                    let tenants = [...initial];
                    let plan = planEnvironment("prod", tenants, undefined, size).plan;
                    for (const step of edits) {
                        const before = assignment(plan);
                        const removed = new Set(tenants.slice(step.remove % Math.max(tenants.length, 1)).slice(0, step.removeCount));
                        tenants = [...tenants.filter((t) => !removed.has(t)), ...step.add.filter((t) => !tenants.includes(t))];
                        // The stack file's order does not matter.
                        const shuffled = [...tenants].sort(
                            (a, b) => ((a.charCodeAt(3) * 31 + step.seed) % 17) - ((b.charCodeAt(3) * 31 + step.seed) % 17) || a.localeCompare(b),
                        );
                        const next = planEnvironment("prod", shuffled, plan, size).plan;
                        const after = assignment(next);
                        assert.equal(after.size, tenants.length, "every tenant exactly once");
                        assert.deepEqual([...after.keys()].sort(), [...tenants].sort());
                        for (const [tenant, shard] of before) if (after.has(tenant)) assert.equal(after.get(tenant), shard, `${tenant} moved`);
                        for (const shard of next.shards) assert.ok(shard.tenants.length <= size, `${shard.stack} holds ${shard.tenants.length} > ${size}`);
                        // Deterministic, and a fixed point: planning again changes nothing, byte for byte.
                        const again = planEnvironment("prod", tenants, plan, size).plan;
                        assert.equal(
                            formatFleetRecord({ version: 1, environments: { prod: again } }),
                            formatFleetRecord({ version: 1, environments: { prod: next } }),
                        );
                        const { plan: same, changes } = planEnvironment("prod", tenants, next, size);
                        assert.deepEqual(changes, { added: [], removed: [] });
                        assert.deepEqual(same, next);
                        plan = next;
                    }
                },
            ),
            { numRuns: 150, seed: 20261206 },
        );
    });

    it("new tenants fill freed places first, then new shards; a smaller size moves nobody", () => {
        const first = planEnvironment("prod", names(5), undefined, 2).plan;
        assert.deepEqual(
            first.shards.map((s) => [s.stack, s.tenants.length]),
            [
                ["prod.shard_001", 2],
                ["prod.shard_002", 2],
                ["prod.shard_003", 1],
            ],
        );
        const freed = planEnvironment("prod", [...names(5).filter((t) => t !== "team-0000"), "team-9999"], first, 2).plan;
        assert.deepEqual(freed.shards[0].tenants, ["team-0001", "team-9999"], "the freed place in shard 1 is taken");
        const smaller = planEnvironment("prod", names(5), first, 1);
        assert.deepEqual(assignment(smaller.plan), assignment(first), "nothing moves when the size shrinks");
    });

    it("fleet plan --json, --write, --check; a new tenant in the stack file moves no other tenant", async () => {
        const dir = opsDir(names(450));
        const planned = await runCli(["fleet", "plan", "--cwd", dir, "--json"]);
        assert.equal(planned.code, 0, planned.stderr);
        const { shards } = JSON.parse(planned.stdout);
        assert.deepEqual(
            shards.map((s: any) => [s.environment, s.stack, s.tenants.length]),
            [
                ["prod", "prod.shard_001", 200],
                ["prod", "prod.shard_002", 200],
                ["prod", "prod.shard_003", 50],
            ],
        );
        assert.match(planned.stderr, /ray-s3-access.fleet.json is missing: run `ray-s3-access fleet plan --write`/);
        assert.equal((await runCli(["fleet", "plan", "--cwd", dir, "--check"])).code, 1, "--check fails while nothing is recorded");
        const written = await runCli(["fleet", "plan", "--cwd", dir, "--write"]);
        assert.equal(written.code, 0);
        const record = fs.readFileSync(path.join(dir, "ray-s3-access.fleet.json"), "utf8");
        assert.equal((await runCli(["fleet", "plan", "--cwd", dir, "--check"])).code, 0);
        assert.equal((await runCli(["fleet", "plan", "--cwd", dir, "--write"])).code, 0);
        assert.equal(fs.readFileSync(path.join(dir, "ray-s3-access.fleet.json"), "utf8"), record, "the same input writes the same record, byte for byte");

        // A tenant that sorts first is added, and the file is reordered: nobody moves; the newcomer takes shard 3.
        fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), stackFile(["aaa-new", ...names(450).reverse()]));
        const stale = await runCli(["fleet", "plan", "--cwd", dir, "--check"]);
        assert.equal(stale.code, 1);
        assert.match(stale.stdout, /1 to place, 0 gone/);
        await runCli(["fleet", "plan", "--cwd", dir, "--write"]);
        const after = JSON.parse((await runCli(["fleet", "plan", "--cwd", dir, "--json"])).stdout).shards;
        for (const [i, shard] of shards.entries()) {
            for (const tenant of shard.tenants) assert.ok(after[i].tenants.includes(tenant), `${tenant} left ${shard.stack}`);
        }
        assert.ok(after[2].tenants.includes("aaa-new"));
    });

    it("refuses bad sizes and a tampered record, naming the file", async () => {
        const dir = opsDir(names(3));
        const size = await runCli(["fleet", "plan", "--cwd", dir, "--shard-size", "0"]);
        assert.equal(size.code, 2);
        assert.match(size.stderr, /--shard-size "0" must be a whole number/);
        fs.writeFileSync(
            path.join(dir, "ray-s3-access.fleet.json"),
            JSON.stringify({
                version: 1,
                environments: {
                    prod: {
                        shardSize: 2,
                        shards: [
                            { stack: "prod.shard_001", index: 1, tenants: ["team-0000"] },
                            { stack: "prod.shard_002", index: 2, tenants: ["team-0000"] },
                        ],
                    },
                },
            }),
        );
        const tampered = await runCli(["fleet", "plan", "--cwd", dir]);
        assert.equal(tampered.code, 2);
        assert.match(tampered.stderr, /ray-s3-access.fleet.json: tenant "team-0000" is in both prod.shard_001 and prod.shard_002/);
    });
});

describe("shard stacks are stacks of the bundled program", function () {
    this.timeout(180_000);
    after(() => resetMocks());

    it("render --stack prod.shard_002 holds exactly that shard's tenants, after its environment stack", async () => {
        const dir = opsDir(names(12));
        await runCli(["fleet", "plan", "--cwd", dir, "--write", "--shard-size", "5"]);
        const { code, stdout, stderr } = await runCli(["render", "--cwd", dir, "--stack", "prod.shard_002", "--json"]);
        assert.equal(code, 0, stderr);
        const stacks = JSON.parse(stdout).stacks;
        assert.deepEqual(
            stacks.map((s: any) => s.stack),
            ["prod", "prod.shard_002"],
        );
        const namespaces = stacks[1].resources.filter((r: any) => r.type === "kubernetes:core/v1:ServiceAccount").map((r: any) => r.inputs.metadata.namespace);
        assert.deepEqual([...new Set(namespaces)].sort(), names(12).slice(5, 10));
        // The environment stack keeps only the cluster-level pieces.
        assert.equal(stacks[0].resources.filter((r: any) => r.type === "ray-s3-access:index:RayS3Access").length, 0);
        const all = await runCli(["check", "--cwd", dir, "--stack", "prod", "--shards", "--json"]);
        assert.equal(all.code, 0, all.stderr);
        assert.deepEqual(
            JSON.parse(all.stdout).stacks.map((s: any) => s.stack),
            ["prod", "prod.shard_001", "prod.shard_002", "prod.shard_003"],
        );
    });

    it("refuses a record that is not current, shared roles, --per-tenant and --tenant with shards", async () => {
        const dir = opsDir(names(4));
        const none = await runCli(["render", "--cwd", dir, "--stack", "prod", "--shards"]);
        assert.equal(none.code, 2);
        assert.match(none.stderr, /no ray-s3-access.fleet.json .* run `ray-s3-access fleet plan --write`/);
        await runCli(["fleet", "plan", "--cwd", dir, "--write"]);
        fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), stackFile([...names(3), "team-new"]));
        const stale = await runCli(["render", "--cwd", dir, "--stack", "prod.shard_001"]);
        assert.equal(stale.code, 2);
        assert.match(
            stale.stderr,
            /not current for "prod": 1 tenant\(s\) have no shard \(team-new\); 1 planned tenant\(s\) are gone from Pulumi.prod.yaml \(team-0003\)/,
        );
        for (const [args, message] of [
            [
                [],
                /"prod" is sharded \(ray-s3-access.fleet.json\): its tenants live in its shard stacks, and running it whole would create their roles a second time/,
            ],
            [["--per-tenant"], /"prod" is sharded/],
            [["--per-tenant", "--shards"], /--per-tenant and shard stacks both split/],
            [["--tenant", "team-0000", "--shards"], /a shard stack always holds all of its tenants/],
        ] as [string[], RegExp][]) {
            const refused = await runCli(["render", "--cwd", dir, "--stack", "prod", ...args]);
            assert.equal(refused.code, 2);
            assert.match(refused.stderr, message);
        }
        const shared = opsDir(names(4), "  ray-s3-access:roleSharing: packed\n");
        await runCli(["fleet", "plan", "--cwd", shared, "--write"]);
        const packed = await runCli(["render", "--cwd", shared, "--stack", "prod", "--shards"]);
        assert.equal(packed.code, 2);
        assert.match(packed.stderr, /roleSharing "packed" shares roles across tenants, so it cannot run .* in a fleet's shard stacks/);
    });

    it("check of an emptied shard alone judged nothing: exit 2, never 'check passed'", async () => {
        const dir = opsDir(names(4));
        await runCli(["fleet", "plan", "--cwd", dir, "--write", "--shard-size", "2"]);
        fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), stackFile(names(2)));
        await runCli(["fleet", "plan", "--cwd", dir, "--write"]);
        const emptied = await runCli(["check", "--cwd", dir, "--stack", "prod.shard_002"]);
        assert.equal(emptied.code, 2, emptied.stdout);
        assert.match(emptied.stderr, /registered no resources .* nothing to check and the run cannot pass/);
        assert.doesNotMatch(emptied.stdout, /check passed/);
        const withTenants = await runCli(["check", "--cwd", dir, "--stack", "prod", "--shards"]);
        assert.equal(withTenants.code, 0, withTenants.stderr);
    });

    it("up --stack prod.shard_001 against the recording pulumi CLI runs the environment stack, then that shard", async () => {
        const dir = opsDir(names(6));
        await runCli(["fleet", "plan", "--cwd", dir, "--write", "--shard-size", "3"]);
        const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "fleet-pulumi-")), "calls.jsonl");
        const saved = { PATH: process.env.PATH, FAKE_PULUMI_LOG: process.env.FAKE_PULUMI_LOG, PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE };
        Object.assign(process.env, {
            PATH: `${FAKE_DIR}${path.delimiter}${process.env.PATH}`,
            FAKE_PULUMI_LOG: logFile,
            PULUMI_CONFIG_PASSPHRASE: "test",
            PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
        });
        try {
            const { code, stdout, stderr } = await runCli(["up", "--cwd", dir, "--stack", "prod.shard_001", "--yes"]);
            assert.equal(code, 0, stdout + stderr);
        } finally {
            for (const [key, value] of Object.entries(saved)) {
                if (value === undefined) delete process.env[key];
                else process.env[key] = value;
            }
        }
        const calls = fs
            .readFileSync(logFile, "utf8")
            .trim()
            .split("\n")
            .map((line) => JSON.parse(line));
        const ups = calls.filter((c: any) => c.args[0] === "up").map((c: any) => c.args[c.args.indexOf("--stack") + 1]);
        assert.deepEqual(ups, ["prod", "prod.shard_001"]);
        const shardFile = fs.readFileSync(path.join(dir, ".pulumi-workspaces", "prod.shard_001", "Pulumi.prod.shard_001.yaml"), "utf8");
        assert.match(shardFile, /ray-s3-access:environmentStack: organization\/ray-s3-access\/prod/);
        for (const tenant of names(3)) assert.ok(shardFile.includes(tenant), tenant);
        assert.ok(!shardFile.includes("team-0003"), "the second shard's tenants are not in the first");
    });
});

describe("fleet emit: what the engines apply, valid against their own schemas", function () {
    this.timeout(120_000);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Ajv = require("ajv").default;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addFormats = require("ajv-formats");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { evaluate } = require("@marcbachmann/cel-js");
    const schemas = path.join(__dirname, "..", "fixtures", "schemas");
    const crd = JSON.parse(fs.readFileSync(path.join(schemas, "pko-v2.9.0-stack-v1.schema.json"), "utf8"));
    const workflowSchema = JSON.parse(fs.readFileSync(path.join(schemas, "github-workflow.schema.json"), "utf8"));

    /** The CRD's openAPIV3Schema as the API server applies it: its JSON Schema, then its CEL rules on the object. */
    function validateStack(stack: any): string[] {
        const ajv = new Ajv({ allErrors: true, strict: false });
        addFormats(ajv);
        for (const format of ["int32", "int64", "int-or-string", "byte"]) ajv.addFormat(format, true);
        const validate = ajv.compile(crd);
        const problems = validate(stack) ? [] : validate.errors.map((e: any) => `${e.instancePath} ${e.message}`);
        for (const rule of crd["x-kubernetes-validations"] ?? []) {
            if (evaluate(rule.rule, { self: stack }) !== true) problems.push(`CEL ${rule.rule}: ${rule.message}`);
        }
        // metadata.name is a DNS-1123 subdomain (the API server's own check).
        if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(stack.metadata.name)) problems.push(`name ${stack.metadata.name}`);
        return problems;
    }

    async function emit(dir: string, out: string, args: string[]) {
        const result = await runCli(["fleet", "emit", "--cwd", dir, "--out", out, ...args]);
        assert.equal(result.code, 0, result.stderr);
        return result;
    }

    it("pko: per shard a Stack the v2.9.0 CRD accepts (schema and CEL), its tenants in a ConfigMap read with json: true, after the environment Stack", async () => {
        // An environment name long enough that its shard stack names must be shortened to 42 characters.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-pko-"));
        const environment = "production-us-west-2-ml-platform";
        fs.writeFileSync(path.join(dir, `Pulumi.${environment}.yaml`), stackFile(names(7)));
        await runCli(["fleet", "plan", "--cwd", dir, "--write", "--shard-size", "3"]);
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-pko-out-"));
        const args = [
            "--engine",
            "pko",
            "--repo",
            "https://github.com/acme/ml-ops.git",
            "--repo-dir",
            "ops",
            "--backend",
            "s3://acme-state",
            "--deployer-role-arn",
            "arn:aws:iam::111122223333:role/pko-deployer",
            "--credentials-secret",
            "pulumi-passphrase",
        ];
        await emit(dir, out, args);
        const objects = (yaml.loadAll(fs.readFileSync(path.join(out, `${environment}.yaml`), "utf8")) as any[]).filter(Boolean);
        const stacks = objects.filter((o) => o.kind === "Stack");
        const configMaps = new Map(objects.filter((o) => o.kind === "ConfigMap").map((o) => [o.metadata.name, o]));
        assert.equal(stacks.length, 1 + 3, "the environment and three shards");
        for (const stack of stacks) {
            assert.deepEqual(validateStack(stack), [], stack.metadata.name);
            assert.ok(stack.metadata.name.length <= 42, stack.metadata.name);
            assert.equal(stack.spec.workspaceReclaimPolicy, "Delete");
            assert.equal(stack.spec.destroyOnFinalize, false, "deleting the object never destroys the stack");
            assert.ok(stack.spec.workspaceTemplate.spec.resources.requests["ephemeral-storage"]);
            assert.deepEqual(stack.spec.envRefs, { PULUMI_CONFIG_PASSPHRASE: { type: "Secret", secret: { name: "pulumi-passphrase", key: "passphrase" } } });
        }
        assert.equal(new Set(stacks.map((s) => s.metadata.name)).size, stacks.length, "shortened names stay distinct");
        const [env, ...shards] = stacks;
        assert.equal(env.spec.stack, environment);
        assert.deepEqual(env.spec.config, { "ray-s3-access:tenantStacks": true });
        const planned = JSON.parse((await runCli(["fleet", "plan", "--cwd", dir, "--json"])).stdout).shards;
        for (const [i, shard] of shards.entries()) {
            assert.equal(shard.spec.stack, planned[i].stack);
            assert.deepEqual(shard.spec.prerequisites, [{ name: env.metadata.name }]);
            const ref = shard.spec.configRef["ray-s3-access:tenants"];
            assert.equal(ref.json, true);
            const configMap: any = configMaps.get(ref.name);
            assert.ok(configMap, `${ref.name} is emitted with its Stack`);
            const tenants = JSON.parse(configMap.data[ref.key]);
            assert.deepEqual(
                tenants.map((t: any) => t.namespace),
                planned[i].tenants,
            );
            assert.equal(shard.spec.config["ray-s3-access:environmentStack"], `organization/ray-s3-access/${environment}`);
            assert.equal(shard.spec.config["ray-s3-access:oidcProviderArn"], PROVIDER, "the environment's config, structured values structured");
            assert.ok(!("ray-s3-access:tenants" in shard.spec.config));
        }
        // The deployer: its ServiceAccount (IRSA), system:auth-delegator, and the Kubernetes access the program needs.
        const deployer = (yaml.loadAll(fs.readFileSync(path.join(out, "deployer.yaml"), "utf8")) as any[]).filter(Boolean);
        assert.equal(deployer[0].metadata.annotations["eks.amazonaws.com/role-arn"], "arn:aws:iam::111122223333:role/pko-deployer");
        assert.ok(deployer.some((o) => o.kind === "ClusterRoleBinding" && o.roleRef.name === "system:auth-delegator"));
        const source = yaml.load(fs.readFileSync(path.join(out, "source", "Pulumi.yaml"), "utf8")) as any;
        assert.equal(source.main, "node_modules/ray-s3-access/bin/programs");
        // The same input writes the same bytes.
        const again = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-pko-again-"));
        await emit(dir, again, args);
        for (const file of ["deployer.yaml", `${environment}.yaml`, "source/Pulumi.yaml", "source/package.json"]) {
            assert.equal(fs.readFileSync(path.join(again, file), "utf8"), fs.readFileSync(path.join(out, file), "utf8"), file);
        }
        // A mutation the CRD refuses is caught by the validation: a name over 42 characters.
        assert.match(validateStack({ ...shards[0], metadata: { ...shards[0].metadata, name: "x".repeat(43) } }).join(), /no more than 42 characters/);
    });

    it("pko refuses what the operator would: a ConfigMap over 1 MiB, secure config it cannot copy", async () => {
        const big = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-big-"));
        // About 600 bytes a tenant (four buckets, three prefixes each, within IAM's policy quota): 2,000 are over 1 MiB.
        const prefixes = Array.from({ length: 3 }, (_, p) => `datasets/training/partition-${p}/`);
        const tenants = names(2000).map((namespace) => ({
            namespace,
            buckets: Array.from({ length: 4 }, (_, i) => ({ bucket: `${namespace}-b${i}`, prefixes })),
        }));
        fs.writeFileSync(
            path.join(big, "Pulumi.prod.yaml"),
            `config:\n  aws:region: us-west-2\n  ray-s3-access:oidcProviderArn: ${PROVIDER}\n  ray-s3-access:tenants: ${JSON.stringify(tenants)}\n`,
        );
        const planned = await runCli(["fleet", "plan", "--cwd", big, "--write", "--shard-size", "2000"]);
        assert.equal(planned.code, 0, planned.stderr);
        const refused = await runCli(["fleet", "emit", "--cwd", big, "--out", path.join(big, "out"), "--engine", "pko", "--repo", "https://example.com/r.git"]);
        assert.equal(refused.code, 2);
        assert.match(refused.stderr, /shard prod.shard_001: its tenants are \d+ bytes, more than a ConfigMap holds \(1 MiB\)/);
        const secret = opsDir(names(2), "  aws:secretKey:\n    secure: v1:abc\n");
        await runCli(["fleet", "plan", "--cwd", secret, "--write"]);
        const secure = await runCli([
            "fleet",
            "emit",
            "--cwd",
            secret,
            "--out",
            path.join(secret, "out"),
            "--engine",
            "pko",
            "--repo",
            "https://example.com/r.git",
        ]);
        assert.equal(secure.code, 2);
        assert.match(secure.stderr, /secure config \(aws:secretKey\) is encrypted for that stack only/);
    });

    it("refuses, before writing anything, names Kubernetes, IAM, git or GitHub would refuse, and a flag of the other engine", async () => {
        const dir = opsDir(names(2));
        await runCli(["fleet", "plan", "--cwd", dir, "--write"]);
        const cases: [string[], RegExp[]][] = [
            [
                [
                    "--engine",
                    "pko",
                    "--repo",
                    "https://example.com/r.git",
                    "--namespace",
                    "Bad_NS",
                    "--service-account",
                    "A B",
                    "--deployer-role-arn",
                    "deployer",
                    "--role-arn",
                    "arn:aws:iam::111122223333:role/x",
                ],
                [
                    /--namespace "Bad_NS" is not a valid Kubernetes namespace name/,
                    /--service-account "A B" is not a valid Kubernetes ServiceAccount name/,
                    /--deployer-role-arn "deployer" is not an IAM role ARN/,
                    /--role-arn is a flag of --engine github-actions, and --engine pko would ignore it: give --deployer-role-arn/,
                ],
            ],
            [
                ["--engine", "pko", "--repo", "example.com/r", "--backend", "bucket", "--branch", "a b", "--image", "Pulumi/Pulumi:latest"],
                [
                    /--repo "example.com\/r" is not a git URL/,
                    /--backend "bucket" is not a Pulumi backend URL/,
                    /--branch "a b" is not a branch name git takes/,
                    /--image "Pulumi\/Pulumi:latest" is not a container image reference/,
                ],
            ],
            [
                ["--engine", "github-actions", "--role-arn", "deployer", "--region", "mars", "--repo-dir", "../ops", "--namespace", "x"],
                [
                    /--role-arn "deployer" is not an IAM role ARN/,
                    /--region "mars" is not an AWS region/,
                    /--repo-dir "..\/ops" must be a directory inside the repository/,
                    /--namespace is a flag of --engine pko, and --engine github-actions would ignore it: drop it/,
                ],
            ],
        ];
        for (const [args, messages] of cases) {
            const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "fleet-bad-")), "out");
            const { code, stderr } = await runCli(["fleet", "emit", "--cwd", dir, "--out", out, ...args]);
            assert.equal(code, 2, stderr);
            for (const message of messages) assert.match(stderr, message);
            assert.equal(stderr.match(/^ {2}- /gm)?.length, messages.length, stderr);
            assert.ok(!fs.existsSync(out), "nothing was written");
        }
        // A default given again is no choice of the other engine's: --region us-west-2 with pko is accepted.
        const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "fleet-ok-")), "out");
        await emit(dir, out, ["--engine", "pko", "--repo", "git@example.com:ops/r.git", "--region", "us-west-2"]);
    });

    it("a later emit removes the files the last one wrote and this one does not (an environment gone, a workflow renamed), and nothing else", async () => {
        const dir = opsDir(names(2));
        fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), stackFile(names(2)));
        await runCli(["fleet", "plan", "--cwd", dir, "--write"]);
        const out = path.join(dir, "gitops");
        const pko = ["--engine", "pko", "--repo", "https://example.com/r.git"];
        await emit(dir, out, pko);
        fs.writeFileSync(path.join(out, "mine.yaml"), "kind: ConfigMap\n");
        assert.ok(fs.existsSync(path.join(out, "staging.yaml")));
        // Some environments only: the others' files stay.
        const some = await emit(dir, out, [...pko, "--stack", "prod"]);
        assert.ok(fs.existsSync(path.join(out, "staging.yaml")));
        assert.doesNotMatch(some.stderr, /removed/);
        fs.rmSync(path.join(dir, "Pulumi.staging.yaml"));
        await runCli(["fleet", "plan", "--cwd", dir, "--write"]);
        const again = await emit(dir, out, pko);
        assert.match(again.stderr, /removed staging\.yaml: the last emit wrote them, and this one does not/);
        assert.ok(!fs.existsSync(path.join(out, "staging.yaml")));
        assert.ok(fs.existsSync(path.join(out, "prod.yaml")));
        assert.equal(fs.readFileSync(path.join(out, "mine.yaml"), "utf8"), "kind: ConfigMap\n", "a file emit never wrote is left alone");
        // A record edited to point outside the directory removes nothing there.
        const outside = path.join(dir, "outside.yaml");
        fs.writeFileSync(outside, "keep\n");
        fs.writeFileSync(path.join(out, EMIT_RECORD), JSON.stringify({ pko: ["../outside.yaml", outside] }));
        await emit(dir, out, pko);
        assert.equal(fs.readFileSync(outside, "utf8"), "keep\n");
        // A renamed workflow: the old file goes, so two workflows never deploy the same stacks.
        const gha = ["--engine", "github-actions", "--role-arn", "arn:aws:iam::111122223333:role/gha"];
        await emit(dir, out, [...gha, "--name", "deploy ray"]);
        const renamed = await emit(dir, out, [...gha, "--name", "ray s3 fleet"]);
        assert.deepEqual(fs.readdirSync(path.join(out, ".github", "workflows")), ["ray-s3-fleet.yml"]);
        assert.match(renamed.stderr, /removed \.github\/workflows\/deploy-ray\.yml/);
        assert.ok(fs.existsSync(path.join(out, "prod.yaml")), "the other engine's files stay");
    });

    it("github-actions: a workflow valid against SchemaStore's schema: check first, then environments, then shards in matrices of at most 256", async () => {
        const dir = opsDir(names(300));
        await runCli(["fleet", "plan", "--cwd", dir, "--write", "--shard-size", "1"]);
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-gh-"));
        const args = ["--engine", "github-actions", "--role-arn", "arn:aws:iam::111122223333:role/gha-deployer", "--repo-dir", "ops", "--max-parallel", "16"];
        await emit(dir, out, args);
        const file = path.join(out, ".github", "workflows", "ray-s3-access-fleet.yml");
        const workflow: any = yaml.load(fs.readFileSync(file, "utf8"));
        const ajv = new Ajv({ allErrors: true, strict: false });
        addFormats(ajv);
        const validate = ajv.compile(workflowSchema);
        assert.ok(validate(workflow), JSON.stringify(validate.errors, null, 2));
        assert.deepEqual(Object.keys(workflow.jobs), ["check", "environments-1", "shards-1", "shards-2"]);
        assert.deepEqual(workflow.permissions, { contents: "read", "id-token": "write" });
        const shards = [...workflow.jobs["shards-1"].strategy.matrix.stack, ...workflow.jobs["shards-2"].strategy.matrix.stack];
        assert.equal(workflow.jobs["shards-1"].strategy.matrix.stack.length, 256);
        assert.equal(shards.length, 300);
        assert.equal(new Set(shards).size, 300);
        for (const id of ["environments-1", "shards-1", "shards-2"]) {
            const job = workflow.jobs[id];
            assert.equal(job.strategy["fail-fast"], false);
            assert.equal(job.strategy["max-parallel"], 16);
            assert.equal(job.concurrency.group, "ray-s3-access-${{ matrix.stack }}");
            assert.ok(
                job.steps.some(
                    (s: any) =>
                        s.uses === "aws-actions/configure-aws-credentials@v4" && s.with["role-to-assume"] === "arn:aws:iam::111122223333:role/gha-deployer",
                ),
            );
            assert.ok(job.steps.some((s: any) => /npx ray-s3-access up --stack "\$\{\{ matrix.stack \}\}" --skip-environment --yes --json/.test(s.run ?? "")));
            assert.ok(job.steps.some((s: any) => s.uses === "actions/upload-artifact@v4"));
        }
        assert.deepEqual(workflow.jobs["environments-1"].needs, ["check"]);
        assert.deepEqual(workflow.jobs["shards-2"].needs, ["environments-1"]);
        assert.ok(workflow.jobs.check.steps.some((s: any) => /ray-s3-access check --stack prod --shards/.test(s.run ?? "")));
        // The same input, the same bytes; a broken workflow fails the schema.
        const again = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-gh-again-"));
        await emit(dir, again, args);
        assert.equal(fs.readFileSync(path.join(again, ".github", "workflows", "ray-s3-access-fleet.yml"), "utf8"), fs.readFileSync(file, "utf8"));
        assert.equal(validate({ ...workflow, jobs: { check: { ...workflow.jobs.check, "runs-on": undefined, steps: "x" } } }), false);
    });

    it("--skip-environment runs the named shard stacks alone (a CI job after the environment's)", async () => {
        const dir = opsDir(names(4));
        await runCli(["fleet", "plan", "--cwd", dir, "--write", "--shard-size", "2"]);
        const { code, stdout, stderr } = await runCli(["render", "--cwd", dir, "--stack", "prod.shard_002", "--skip-environment", "--json"]);
        assert.equal(code, 0, stderr);
        assert.deepEqual(
            JSON.parse(stdout).stacks.map((s: any) => s.stack),
            ["prod.shard_002"],
        );
        const refused = await runCli(["render", "--cwd", dir, "--stack", "prod", "--skip-environment"]);
        assert.equal(refused.code, 2);
        assert.match(refused.stderr, /--skip-environment runs shard stacks without their environment/);
    });
});

describe("a shard gives its tenants exactly what the environment stack would", function () {
    this.timeout(120_000);
    after(() => resetMocks());

    it("the same trust and permission documents per tenant, sharded or not (IRSA and Pod Identity, general-purpose and directory buckets, another account's buckets)", async () => {
        for (const extra of ["", "  ray-s3-access:identity: podIdentity\n  ray-s3-access:clusterName: ml\n"]) {
            const tenants = [
                ...names(3).map(tenantEntry),
                { namespace: "express-team", buckets: [{ bucket: "ckpt--usw2-az1--x-s3", access: "read" }] },
                // Buckets in another account: the assets role is deployed there, by the shard as by the environment.
                { namespace: "assets-team", buckets: [{ bucket: "assets-ckpt" }], assetsDeployRoleArn: "arn:aws:iam::444455556666:role/deployer" },
            ];
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-same-"));
            fs.writeFileSync(
                path.join(dir, "Pulumi.prod.yaml"),
                `config:\n  aws:region: us-west-2\n  ray-s3-access:oidcProviderArn: ${PROVIDER}\n${extra}  ray-s3-access:tenants: ${JSON.stringify(tenants)}\n`,
            );
            const whole = await runCli(["render", "--cwd", dir, "--stack", "prod", "--json"]);
            assert.equal(whole.code, 0, whole.stderr);
            await runCli(["fleet", "plan", "--cwd", dir, "--write", "--shard-size", "2"]);
            const sharded = await runCli(["render", "--cwd", dir, "--stack", "prod", "--shards", "--json"]);
            assert.equal(sharded.code, 0, sharded.stderr);
            /** Per tenant (the RayS3Access component's name), its roles' trust and its policies' documents. */
            const documents = (stacks: any[]) => {
                const byTenant = new Map<string, string[]>();
                for (const stack of stacks) {
                    for (const r of stack.resources) {
                        if (!/aws:iam\/(role|policy):/.test(r.type)) continue;
                        // A document that depends on another resource's output is unknown offline: its resource still counts.
                        const doc = r.inputs.assumeRolePolicy ?? r.inputs.policy ?? "";
                        const tenant = r.name.split("-role")[0].split("-s3")[0];
                        byTenant.set(
                            tenant,
                            [...(byTenant.get(tenant) ?? []), `${r.type} ${r.name} ${typeof doc === "string" ? doc : JSON.stringify(doc)}`].sort(),
                        );
                    }
                }
                return byTenant;
            };
            const expected = documents(JSON.parse(whole.stdout).stacks);
            const actual = documents(JSON.parse(sharded.stdout).stacks);
            assert.ok(expected.size >= 5, [...expected.keys()].join());
            assert.ok(
                [...expected.values()].flat().some((d) => d.includes("assets-team-assets-role")),
                "the role deployed in the other account is compared too",
            );
            assert.deepEqual([...actual.entries()].sort(), [...expected.entries()].sort());
        }
    });

    it("verify --stack ENV.shard_NNN checks exactly that shard's tenants", async () => {
        const dir = opsDir(names(4));
        await runCli(["fleet", "plan", "--cwd", dir, "--write", "--shard-size", "2"]);
        const driver = new FakeDriver();
        const { stdout } = await runCli(["verify", "--cwd", dir, "--stack", "prod.shard_002", "--json"], {
            driver: () => driver,
            verifyClients: () => ({}) as any,
        });
        assert.deepEqual(
            driver.starts.map((s) => s.stack),
            ["prod.shard_002"],
        );
        const { findings } = JSON.parse(stdout);
        assert.deepEqual([...new Set(findings.map((f: any) => f.tenant))], names(4).slice(2));
        // Emptied (its tenants removed from the stack file): nothing to look at is no "verify passed".
        fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), stackFile(names(2)));
        await runCli(["fleet", "plan", "--cwd", dir, "--write"]);
        const emptied = await runCli(["verify", "--cwd", dir, "--stack", "prod.shard_002"], {
            driver: () => new FakeDriver(),
            verifyClients: () => ({}) as any,
        });
        assert.equal(emptied.code, 2, emptied.stdout + emptied.stderr);
        assert.match(emptied.stderr, /verify checked nothing: prod\.shard_002 has no tenants/);
        assert.doesNotMatch(emptied.stdout, /verify passed/);
    });
});
