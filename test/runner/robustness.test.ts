/**
 * The runner under hostile or careless use: YAML bombs and oversized files, stacks too large for the process,
 * duplicate stack names, `--out` integrity (foreign files, stale tenants, files in the way), and Ctrl-C during
 * a long `render`.
 */
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCli } from "../support/cli";
import { FakeDriver } from "../support/fakeDriver";
import { resetMocks } from "../support/mocks";

const ROOT = path.join(__dirname, "..", "..");
const PROVIDER = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC";

function opsDir(stacks: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ops-hostile-"));
    for (const [name, content] of Object.entries(stacks)) fs.writeFileSync(path.join(dir, `Pulumi.${name}.yaml`), content);
    return dir;
}

function tenantsYaml(count: number, extra = ""): string {
    const lines = Array.from({ length: count }, (_, i) => `    - namespace: team-${i}\n      buckets: [{ bucket: team-${i}-data }]`);
    return `config:\n  ray-s3-access:oidcProviderArn: ${PROVIDER}\n${extra}  ray-s3-access:tenants:\n${lines.join("\n")}\n`;
}

describe("the runner under hostile input", function () {
    this.timeout(120_000);
    after(() => resetMocks());

    it("a YAML alias bomb is refused at once, naming the file and the key (exit 2)", async () => {
        const bomb = [
            "config:",
            '  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
            ...Array.from({ length: 8 }, (_, i) => `  a${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(",")}]`),
            "  ray-s3-access:tenants: [*a8]",
        ].join("\n");
        const dir = opsDir({ dev: bomb });
        const started = Date.now();
        const { code, stderr } = await runCli(["render", "--cwd", dir]);
        assert.equal(code, 2);
        assert.match(stderr, /Pulumi\.dev\.yaml: config\.a\d expands to more than 2000000 values \(YAML aliases repeat what they point at\)/);
        assert.ok(Date.now() - started < 20_000, "refused before expanding");
    });

    it("a stack file over the size limit is refused, naming it", async () => {
        const dir = opsDir({ dev: `# ${"x".repeat(17 * 1024 * 1024)}\nconfig: {}\n` });
        const { code, stderr } = await runCli(["check", "--cwd", dir]);
        assert.equal(code, 2);
        assert.match(stderr, /Pulumi\.dev\.yaml is \d+ bytes, over the 16777216-byte limit/);
    });

    it("a stack larger than the process can evaluate is refused up front with the estimate and the ways out", async () => {
        const dir = opsDir({ prod: tenantsYaml(20_000) });
        const { code, stderr } = await runCli(["render", "--cwd", dir]);
        assert.equal(code, 2);
        assert.match(stderr, /stack "prod" has 20000 tenants \(roleSharing perTenant\): evaluating it in one process needs about \d+ MiB of heap/);
        assert.match(stderr, /roleSharing "abac" .* or "packed" .*--per-tenant.*NODE_OPTIONS=--max-old-space-size=/);
        const started = Date.now();
        assert.equal((await runCli(["render", "--cwd", dir])).code, 2);
        assert.ok(Date.now() - started < 15_000, "refused before the tenants are validated");
        const split = await runCli(["render", "--cwd", dir, "--per-tenant", "--tenant", "team-1", "--json"]);
        assert.equal(split.code, 0, split.stderr);
    });

    it("a stack named twice runs once", async () => {
        const rendered = await runCli(["render", "--cwd", ROOT, "--stack", "dev", "--stack", "dev", "--json"]);
        assert.deepEqual(
            JSON.parse(rendered.stdout).stacks.map((s: any) => s.stack),
            ["dev"],
        );
        const driver = new FakeDriver({ latencyMs: 5 });
        const up = await runCli(["up", "--cwd", ROOT, "--stack", "dev", "--stack", "dev", "--json", "--yes"], { driver: () => driver });
        assert.equal(up.code, 0);
        assert.deepEqual(JSON.parse(up.stdout).summary, { succeeded: 1, failed: 0, cancelled: 0, skipped: 0 });
    });

    it("--out replaces each stack whole: a removed tenant leaves no files; foreign or blocking paths are refused (exit 2)", async () => {
        const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "render-out-")), "gitops");
        const dir = opsDir({ dev: tenantsYaml(3) });
        assert.equal((await runCli(["render", "--cwd", dir, "--out", out])).code, 0);
        assert.ok(fs.existsSync(path.join(out, "dev", "team-2", "trust-policy.json")));
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), tenantsYaml(2));
        assert.equal((await runCli(["render", "--cwd", dir, "--out", out])).code, 0);
        assert.ok(!fs.existsSync(path.join(out, "dev", "team-2")), "the removed tenant's files are gone");
        assert.ok(fs.existsSync(path.join(out, "dev", "team-1", "trust-policy.json")));
        assert.deepEqual(
            fs.readdirSync(out).filter((f) => f.includes(".tmp-")),
            [],
            "no temporary directory left",
        );

        const foreign = fs.mkdtempSync(path.join(os.tmpdir(), "foreign-"));
        fs.writeFileSync(path.join(foreign, "notes.txt"), "mine");
        const mixed = await runCli(["render", "--cwd", dir, "--out", foreign]);
        assert.equal(mixed.code, 2);
        assert.match(mixed.stderr, /--out .* holds files that render did not write \(notes\.txt\)/);
        assert.equal(fs.readFileSync(path.join(foreign, "notes.txt"), "utf8"), "mine");

        const file = path.join(foreign, "notes.txt");
        const intoFile = await runCli(["render", "--cwd", dir, "--out", file]);
        assert.equal(intoFile.code, 2);
        assert.match(intoFile.stderr, /--out .*notes\.txt is a file: give a directory/);
        const under = await runCli(["render", "--cwd", dir, "--out", path.join(file, "sub")]);
        assert.equal(under.code, 2);
        assert.match(under.stderr, /--out: cannot use .*notes\.txt\/sub \(ENOTDIR\): check the path and its permissions/);
        const cwdFile = await runCli(["render", "--cwd", file]);
        assert.equal(cwdFile.code, 2);
        assert.match(cwdFile.stderr, /--cwd .*notes\.txt is a file, not a directory/);
    });

    it("an output path whose parent cannot hold children (a dangling symlink, /proc) is exit 2 naming it, never a hang", () => {
        const dir = opsDir({ dev: tenantsYaml(1) });
        const dangling = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "dangling-")), "checkout");
        fs.symlinkSync(path.join(os.tmpdir(), "unmounted-disk-that-is-not-there"), dangling);
        const cases: [string[], RegExp][] = [
            [["render", "--cwd", dir, "--out", path.join(dangling, "gitops")], /--out: cannot use .*checkout\/gitops \(EEXIST\)/],
            [["check", "--cwd", dir, "--sarif", path.join(dangling, "reports", "check.sarif")], /cannot write .*checkout\/reports\/check\.sarif \(EEXIST\)/],
        ];
        // Node's own recursive mkdir spins forever on these at full CPU: run in a child process, so a regression fails
        // on the timeout instead of freezing the test run.
        if (fs.existsSync("/proc/self"))
            cases.push([["render", "--cwd", dir, "--out", "/proc/ray-s3-access-out"], /--out: cannot use \/proc\/ray-s3-access-out \(ENOENT\)/]);
        for (const [args, message] of cases) {
            const run = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "automation", "cli.ts"), ...args], {
                cwd: ROOT,
                encoding: "utf8",
                timeout: 60_000,
            });
            assert.equal(run.signal, null, `${args.join(" ")} did not end by itself`);
            assert.equal(run.status, 2, run.stderr);
            assert.match(run.stderr, message);
        }
    });

    it("Ctrl-C during a long render stops it within seconds, exit 130, nothing written", async function () {
        // Large enough that its evaluation takes far longer than the wait below (10,000 tenants: about 25 s).
        const dir = opsDir({ big: tenantsYaml(10000) });
        const out = path.join(dir, "out");
        const child = spawn(
            process.execPath,
            ["-r", require.resolve("ts-node/register/transpile-only"), path.join(ROOT, "automation", "cli.ts"), "render", "--cwd", dir, "--out", out],
            {
                stdio: ["ignore", "ignore", "pipe"],
            },
        );
        let stderr = "";
        child.stderr!.on("data", (chunk) => (stderr += String(chunk)));
        const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
        const guard = setTimeout(() => child.kill("SIGKILL"), 90_000);
        // Well into the evaluation (start-up and validation take a few seconds).
        await new Promise((r) => setTimeout(r, 8_000));
        const signalled = Date.now();
        child.kill("SIGINT");
        const code = await exited;
        clearTimeout(guard);
        assert.equal(code, 130, stderr);
        assert.ok(Date.now() - signalled < 10_000, `stopped ${Date.now() - signalled} ms after Ctrl-C`);
        assert.match(stderr, /cancelled \(Ctrl-C\) while evaluating stack "big": nothing was written/);
        assert.ok(!fs.existsSync(out), "--out is not created");
    });
});
