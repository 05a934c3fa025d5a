/**
 * Fleets (issue: fleets on existing engines): each environment's tenants in shard stacks of at most N, recorded in
 * ray-s3-access.fleet.json so that no edit of the stack file moves a tenant (a move deletes its role in one stack and
 * creates it in another); shard stacks are real stacks of the bundled program.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EnvironmentPlan, formatFleetRecord, planEnvironment } from "../../automation/fleet";
import { runCli } from "../support/cli";
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
