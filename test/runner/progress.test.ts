/**
 * Progress and colour: live on a terminal (a real pseudo-terminal, script(1)), absent from piped stdout and from
 * --json runs; colour follows NO_COLOR, FORCE_COLOR and the terminal.
 */
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { colourEnabled } from "../../automation/progress";
import { runCli } from "../support/cli";
import { resetMocks } from "../support/mocks";

const ROOT = path.join(__dirname, "..", "..");
const FAKE_PULUMI = path.join(__dirname, "..", "support", "fake-pulumi");
const STACK =
    "config:\n  ray-s3-access:identity: podIdentity\n  ray-s3-access:clusterName: ray-dev\n  ray-s3-access:tenants:\n    - namespace: team-a\n      buckets: [{ bucket: team-a-ckpt }]\n";

/** Runs the CLI from source on a pseudo-terminal and returns everything the terminal got. */
async function onPty(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; output: string }> {
    const command = [process.execPath, "-r", "ts-node/register/transpile-only", path.join(ROOT, "automation", "cli.ts"), ...args]
        .map((a) => `'${a}'`)
        .join(" ");
    const childEnv: NodeJS.ProcessEnv = {
        ...process.env,
        PATH: `${FAKE_PULUMI}${path.delimiter}${process.env.PATH}`,
        PULUMI_CONFIG_PASSPHRASE: "test",
        PULUMI_BACKEND_URL: "",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
        TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json"),
        TERM: "xterm-256color",
        CI: undefined,
        NO_COLOR: undefined,
        FORCE_COLOR: undefined,
        ...env,
    };
    for (const key of Object.keys(childEnv)) if (childEnv[key] === undefined) delete childEnv[key];
    const child = spawn("script", ["-qfec", command, "/dev/null"], { cwd: ROOT, env: childEnv });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    clearTimeout(timer);
    return { code, output };
}

describe("progress and colour", function () {
    this.timeout(180_000);
    after(() => resetMocks());

    it("colour: FORCE_COLOR forces it, NO_COLOR turns it off, else a terminal that is not dumb", () => {
        assert.equal(colourEnabled({ isTTY: true }, {}), true);
        assert.equal(colourEnabled({ isTTY: false }, {}), false);
        assert.equal(colourEnabled({ isTTY: true }, { NO_COLOR: "1" }), false);
        assert.equal(colourEnabled({ isTTY: true }, { NO_COLOR: "" }), false, "NO_COLOR counts when set at all");
        assert.equal(colourEnabled({ isTTY: false }, { FORCE_COLOR: "1" }), true);
        assert.equal(colourEnabled({ isTTY: true }, { FORCE_COLOR: "1", NO_COLOR: "1" }), true, "FORCE_COLOR wins");
        assert.equal(colourEnabled({ isTTY: true }, { FORCE_COLOR: "0" }), true, "FORCE_COLOR=0 forces nothing");
        assert.equal(colourEnabled({ isTTY: true }, { TERM: "dumb" }), false);
    });

    it("piped: render and check print results only; up prints its summary on stdout and a line per stack on stderr; --json prints the document alone", async () => {
        const render = await runCli(["render", "--cwd", ROOT, "--stack", "dev"]);
        assert.equal(render.code, 0);
        assert.doesNotMatch(render.stdout + render.stderr, /evaluating/);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "progress-"));
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), STACK);
        const { FakeDriver } = await import("../support/fakeDriver");
        const up = await runCli(["up", "--cwd", dir, "--yes"], { driver: () => new FakeDriver() });
        assert.equal(up.code, 0);
        assert.doesNotMatch(up.stdout, /started|resources \|/, "no progress on piped stdout");
        assert.match(up.stdout, /dev\s+up\s+succeeded/);
        assert.match(up.stderr, /\[dev\] up started\n\[dev\] up succeeded/);
        const json = await runCli(["up", "--cwd", dir, "--yes", "--json"], { driver: () => new FakeDriver() });
        assert.equal(json.stderr, "");
        assert.equal(JSON.parse(json.stdout).stacks[0].result, "succeeded");
    });

    it("on a pseudo-terminal: render shows stacks and tenants evaluated, then clears the bar before the results", async function () {
        if (!fs.existsSync("/usr/bin/script")) this.skip();
        const { code, output } = await onPty(["render", "--cwd", ROOT, "--stack", "dev", "--stack", "prod"]);
        assert.equal(code, 0, output);
        assert.match(output, /evaluating .* \d\/2 stacks \| \d+ tenants \| \d+s/);
        assert.match(output, /-- RayS3Access ray/, "then the results");
    });

    it("on a pseudo-terminal: up shows a live line per stack with its resource steps, in colour unless NO_COLOR", async function () {
        if (!fs.existsSync("/usr/bin/script")) this.skip();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "progress-pty-"));
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), STACK);
        const log = path.join(dir, "calls.jsonl");
        const coloured = await onPty(["up", "--cwd", dir, "--yes", "--per-tenant"], { FAKE_PULUMI_LOG: log });
        assert.equal(coloured.code, 0, coloured.output);
        assert.match(coloured.output, /dev\.team-a\s+\S* \d+\/\d+ resources \|/);
        assert.match(coloured.output, /\x1b\[32msucceeded/, "a succeeded stack in green");
        const plain = await onPty(["up", "--cwd", dir, "--yes"], { FAKE_PULUMI_LOG: log, NO_COLOR: "1" });
        assert.equal(plain.code, 0, plain.output);
        assert.match(plain.output, /resources \| succeeded/);
        assert.doesNotMatch(plain.output, /\x1b\[3\dm/, "no colour with NO_COLOR");
    });
});
