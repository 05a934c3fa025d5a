/**
 * The CLI behaves like the tools around it: --version, the help with no arguments, each command's own options,
 * errors that name the command, verify's messages for a missing CLI or missing credentials, and one JSON document
 * on stdout for every --json run, failures included.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StackDriver } from "../../automation/driver";
import { VerifyClients } from "../../automation/verify";
import { runCli } from "../support/cli";
import { resetMocks } from "../support/mocks";

const ROOT = path.join(__dirname, "..", "..");

/** A driver whose outputs name a role per tenant (what `up` left). */
const deployed: StackDriver = {
    prepare: async () => undefined,
    run: async (request) => ({
        changes: {},
        outputs: { tenants: Object.fromEntries(request.target.tenants.map((ns) => [ns, { roleArn: `arn:aws:iam::111122223333:role/${ns}-role-x` }])) },
    }),
};

/** Runs with PATH pointing nowhere: no Pulumi CLI. */
async function withoutPulumi<T>(body: () => Promise<T>): Promise<T> {
    const saved = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
        return await body();
    } finally {
        process.env.PATH = saved;
    }
}

describe("CLI conventions", function () {
    this.timeout(120_000);
    after(() => resetMocks());

    it("--version prints the package's version", async () => {
        const { code, stdout } = await runCli(["--version"]);
        assert.equal(code, 0);
        assert.equal(stdout.trim(), JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version);
    });

    it("no arguments prints the help on stdout, exit 0", async () => {
        const { code, stdout, stderr } = await runCli([]);
        assert.equal(code, 0);
        assert.equal(stderr, "");
        assert.match(stdout, /ray-s3-access <command> \[options\]/);
        for (const command of ["render", "check", "preview", "up", "destroy", "refresh", "outputs", "verify", "fleet"])
            assert.match(stdout, new RegExp(`ray-s3-access ${command}`));
    });

    it("each command's help lists the options that apply to it", async () => {
        const help = async (command: string) => (await runCli([command, "--help"])).stdout;
        const [up, preview, destroy, refresh, outputs] = await Promise.all(["up", "preview", "destroy", "refresh", "outputs"].map(help));
        assert.match(up, /--yes/);
        assert.match(up, /--policy-pack /);
        assert.doesNotMatch(preview, /--yes/);
        assert.match(preview, /--policy-pack /);
        for (const text of [destroy, refresh]) {
            assert.match(text, /--yes/);
            assert.doesNotMatch(text, /--policy-pack/);
        }
        assert.doesNotMatch(outputs, /--yes|--policy-pack/);
    });

    it("errors name the command that was run", async () => {
        const missing = await runCli(["check", "--cwd", "/nonexistent-dir"]);
        assert.equal(missing.code, 2);
        assert.match(missing.stderr, /^error: check: --cwd \/nonexistent-dir: no such directory/);
        const typo = await runCli(["render", "--cwd", ROOT, "--stak", "dev"]);
        assert.equal(typo.code, 2);
        assert.match(typo.stderr, /^error: render: unknown option --stak: did you mean --stack\?/);
        const plan = await runCli(["fleet", "plan", "--cwd", "/nonexistent-dir"]);
        assert.match(plan.stderr, /^error: fleet plan: /);
    });

    it("verify without the Pulumi CLI says that it reads the outputs with it, and how to install it", async () => {
        const { code, stderr } = await withoutPulumi(() => runCli(["verify", "--cwd", ROOT, "--stack", "dev"]));
        assert.equal(code, 2);
        assert.match(
            stderr,
            /error: verify: verify reads each stack's outputs \(the deployed role ARNs\) with the Pulumi CLI, which is missing \(not found on PATH\): install/,
        );
        assert.doesNotMatch(stderr, /`outputs` needs/);
    });

    it("verify without AWS credentials says how to provide them and which identity it needs", async () => {
        const noCredentials = Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" });
        const verifyClients = (): VerifyClients => ({
            iam: { send: async () => Promise.reject(noCredentials) },
            eks: { send: async () => Promise.reject(noCredentials) },
        });
        const { code, stderr } = await runCli(["verify", "--cwd", ROOT, "--stack", "dev", "--tenant", "ray"], { driver: () => deployed, verifyClients });
        assert.equal(code, 2);
        assert.match(stderr, /verify needs AWS credentials for the account the stacks deploy to \(region us-west-2\)/);
        assert.match(stderr, /iam:GetRole.*eks:DescribeAddon.*ReadOnlyAccess covers them/);
        assert.match(stderr, /AWS_PROFILE=NAME .*aws sso login --profile NAME.*AWS_ACCESS_KEY_ID \/ AWS_SECRET_ACCESS_KEY/);
        assert.match(stderr, /The AWS SDK said: Could not load credentials from any providers/);
        const expired = Object.assign(new Error("The security token included in the request is expired"), { name: "ExpiredTokenException" });
        const stale = await runCli(["verify", "--cwd", ROOT, "--stack", "dev", "--tenant", "ray"], {
            driver: () => deployed,
            verifyClients: () => ({ iam: { send: async () => Promise.reject(expired) }, eks: { send: async () => ({}) } }),
        });
        assert.match(stale.stderr, /verify needs AWS credentials that have not expired/);
    });

    it("every --json run prints one JSON document on stdout, failures included", async () => {
        const broken = fs.mkdtempSync(path.join(os.tmpdir(), "json-failures-"));
        fs.writeFileSync(path.join(broken, "Pulumi.dev.yaml"), "config:\n  ray-s3-access:tenants:\n    - namespace: Bad_NS\n      buckets: []\n");
        const noCredentials = Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" });
        // One at a time: two runs without the Pulumi CLI at once would restore each other's PATH.
        const cases: [string, () => Promise<{ code: number; stdout: string }>, number][] = [
            ["unknown option", () => runCli(["check", "--cwd", ROOT, "--json", "--polcy-pack", "x"]), 2],
            ["no such directory", () => runCli(["render", "--cwd", "/nonexistent-dir", "--json"]), 2],
            ["invalid stack config", () => runCli(["check", "--cwd", broken, "--json"]), 2],
            ["up without --yes and without a terminal", () => runCli(["up", "--cwd", ROOT, "--json"]), 2],
            ["preview without the Pulumi CLI", () => withoutPulumi(() => runCli(["preview", "--cwd", ROOT, "--json"])), 2],
            ["verify without the Pulumi CLI", () => withoutPulumi(() => runCli(["verify", "--cwd", ROOT, "--json"])), 2],
            [
                "verify without credentials",
                () =>
                    runCli(["verify", "--cwd", ROOT, "--stack", "dev", "--json"], {
                        driver: () => deployed,
                        verifyClients: () => ({
                            iam: { send: async () => Promise.reject(noCredentials) },
                            eks: { send: async () => Promise.reject(noCredentials) },
                        }),
                    }),
                2,
            ],
            ["fleet plan of a missing directory", () => runCli(["fleet", "plan", "--cwd", "/nonexistent-dir", "--json"]), 2],
        ];
        for (const [what, running, exitCode] of cases) {
            const { code, stdout } = await running();
            assert.equal(code, exitCode, what);
            let document: any;
            assert.doesNotThrow(() => (document = JSON.parse(stdout)), `${what}: stdout is one JSON document:\n${stdout}`);
            assert.equal(document.ok, false, what);
            assert.equal(document.exitCode, exitCode, what);
            assert.equal(typeof document.error, "string", what);
        }
    });
});
