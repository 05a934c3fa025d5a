/**
 * `up`, `refresh` and `destroy` ask first, as `pulumi up` does: on a terminal they show the stacks (production ones
 * marked, with why), `up` runs the previews, and only "yes" goes on; without a terminal they need --yes (exit 2).
 */
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PassThrough } from "stream";
import { main } from "../../automation/cli";
import { Capture, runCli } from "../support/cli";
import { FakeDriver } from "../support/fakeDriver";
import { resetMocks } from "../support/mocks";

const ROOT = path.join(__dirname, "..", "..");
const FAKE_PULUMI = path.join(__dirname, "..", "support", "fake-pulumi");

/** The CLI on a terminal (stdin and stdout report a TTY) that answers `answer` once the question is printed. */
async function onTerminal(args: string[], answer: string | undefined, driver: FakeDriver) {
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    const stdout = Object.assign(new Capture(), { isTTY: true });
    const stderr = new Capture();
    const write = stdout.write.bind(stdout);
    stdout.write = (chunk: string) => {
        const result = write(chunk);
        if (chunk.includes('Type "yes" to confirm')) setImmediate(() => (answer === undefined ? stdin.end() : stdin.write(`${answer}\n`)));
        return result;
    };
    const code = await main(args, { stdout, stderr, stdin, driver: () => driver });
    return { code, stdout: stdout.text, stderr: stderr.text };
}

describe("up, refresh and destroy ask first", function () {
    this.timeout(120_000);
    after(() => resetMocks());

    for (const operation of ["up", "refresh", "destroy"]) {
        it(`${operation} without --yes and without a terminal (CI) exits 2 naming the flag, and runs nothing`, async () => {
            const driver = new FakeDriver();
            const { code, stdout, stderr } = await runCli([operation, "--cwd", ROOT], { driver: () => driver });
            assert.equal(code, 2);
            assert.match(stderr, new RegExp(`${operation} would change 2 stack\\(s\\) \\(dev, prod\\) and there is no terminal to ask on: re-run with --yes`));
            assert.equal(stdout, "");
            assert.deepEqual(driver.prepared, []);
            assert.deepEqual(driver.runs, []);
        });
    }

    it("up on a terminal: lists the stacks (production marked, with why), previews them, and a no deploys nothing", async () => {
        const driver = new FakeDriver();
        const { code, stdout, stderr } = await onTerminal(["up", "--cwd", ROOT], "no", driver);
        assert.equal(code, 1);
        assert.match(stdout, /up will run on 2 stack\(s\):\n {2}prod {3}PRODUCTION \(name token "prod"\)\n {2}dev\n/, "production first");
        assert.match(stdout, /dev\s+preview\s+succeeded/);
        assert.match(stdout, /Do you want to up these 2 stack\(s\)\? Type "yes" to confirm: /);
        assert.match(stderr, /up: not confirmed, nothing was changed/);
        assert.deepEqual(driver.runs.sort(), ["preview dev", "preview prod"], "previews only: no up");
    });

    it("a long list shows every production stack and a screenful of the others", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "confirm-many-"));
        const tenants = Array.from({ length: 60 }, (_, i) => `    - namespace: team-${i}\n      buckets: [{ bucket: team-${i}-ckpt }]`).join("\n");
        const stack = `config:\n  ray-s3-access:identity: podIdentity\n  ray-s3-access:clusterName: ray\n  ray-s3-access:tenants:\n${tenants}\n`;
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), stack);
        fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), stack);
        const driver = new FakeDriver({ latencyMs: 1 });
        const { code, stdout } = await onTerminal(["destroy", "--cwd", dir, "--per-tenant"], "no", driver);
        assert.equal(code, 1);
        assert.match(stdout, /destroy will run on 122 stack\(s\):/);
        assert.equal((stdout.match(/PRODUCTION/g) ?? []).length, 61, "every production stack is listed");
        assert.match(stdout, /\.\.\. and 61 more \(not production\)/);
        assert.deepEqual(driver.runs, []);
    });

    it('up on a terminal: "yes" deploys what was previewed', async () => {
        const driver = new FakeDriver();
        const { code, stdout } = await onTerminal(["up", "--cwd", ROOT, "--stack", "dev"], "yes", driver);
        assert.equal(code, 0, stdout);
        assert.deepEqual(driver.runs, ["preview dev", "up dev"]);
        assert.match(stdout, /dev\s+up\s+succeeded/);
    });

    it("destroy and refresh on a terminal ask without previewing; input that ends is a no", async () => {
        for (const operation of ["destroy", "refresh"]) {
            const driver = new FakeDriver();
            const { code, stdout } = await onTerminal([operation, "--cwd", ROOT, "--stack", "prod"], undefined, driver);
            assert.equal(code, 1);
            assert.match(stdout, operation === "destroy" ? /destroy every resource of these 1 stack\(s\)/ : /Do you want to refresh these 1 stack\(s\)/);
            assert.deepEqual(driver.runs, []);
        }
    });

    it("--yes skips the question on a terminal too", async () => {
        const driver = new FakeDriver();
        const { code, stdout } = await onTerminal(["destroy", "--cwd", ROOT, "--stack", "dev", "--yes"], "no", driver);
        assert.equal(code, 0);
        assert.doesNotMatch(stdout, /Type "yes"/);
        assert.deepEqual(driver.runs, ["destroy dev"]);
    });

    it("on a real pseudo-terminal (script(1)), the recording pulumi CLI sees previews and no up after a no", async function () {
        if (!fs.existsSync("/usr/bin/script")) this.skip();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "confirm-"));
        fs.writeFileSync(
            path.join(dir, "Pulumi.dev.yaml"),
            "config:\n  ray-s3-access:identity: podIdentity\n  ray-s3-access:clusterName: ray-dev\n  ray-s3-access:tenants:\n    - namespace: team-a\n      buckets: [{ bucket: team-a-ckpt }]\n",
        );
        const log = path.join(dir, "calls.jsonl");
        const command = [process.execPath, "-r", "ts-node/register/transpile-only", path.join(ROOT, "automation", "cli.ts"), "up", "--cwd", dir]
            .map((a) => `'${a}'`)
            .join(" ");
        const child = spawn("script", ["-qfec", command, "/dev/null"], {
            cwd: ROOT,
            env: {
                ...process.env,
                PATH: `${FAKE_PULUMI}${path.delimiter}${process.env.PATH}`,
                FAKE_PULUMI_LOG: log,
                PULUMI_CONFIG_PASSPHRASE: "test",
                PULUMI_BACKEND_URL: "",
                PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
                TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json"),
            },
        });
        let output = "";
        let answered = false;
        child.stdout.on("data", (chunk: Buffer) => {
            output += chunk.toString();
            if (!answered && output.includes('Type "yes" to confirm')) {
                answered = true;
                child.stdin.write("no\n");
            }
        });
        const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
        const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
        clearTimeout(timer);
        assert.ok(answered, `the question was asked on the terminal:\n${output}`);
        assert.match(output, /not confirmed, nothing was changed/);
        assert.notEqual(code, 0);
        const calls = fs
            .readFileSync(log, "utf8")
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l).args[0]);
        assert.ok(calls.includes("preview"), `the preview ran: ${calls.join(", ")}`);
        assert.ok(!calls.includes("up"), `no up after a no: ${calls.join(", ")}`);
    });
});
