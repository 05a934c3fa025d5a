/**
 * The real AutomationDriver (the real `@pulumi/pulumi/automation` LocalWorkspace and Stack) against a recording
 * `pulumi` executable placed first on PATH (test/support/fake-pulumi/pulumi). What this proves: the command
 * lines, working directories, backend and stack settings the runner makes the Automation API produce, in both
 * project modes, and that Ctrl-C reaches the CLI as SIGINT followed by `pulumi cancel`. What it does not prove:
 * what a real engine does with them (that needs the real CLI and a cloud account: `npm run e2e`).
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { bundledProgramDir } from "../../automation/project";
import { bundledPolicyPackDir } from "../../automation/policyPacks";
import { runCli } from "../support/cli";

const FAKE_DIR = path.join(__dirname, "..", "support", "fake-pulumi");

interface Invocation {
    args: string[];
    cwd: string;
    backend: string | null;
    hanging?: string;
    interrupted?: string;
}

const saved: Record<string, string | undefined> = {};
function setEnv(values: Record<string, string | undefined>) {
    for (const [key, value] of Object.entries(values)) {
        if (!(key in saved)) saved[key] = process.env[key];
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
    }
}

function invocations(logFile: string): Invocation[] {
    if (!fs.existsSync(logFile)) return [];
    return fs
        .readFileSync(logFile, "utf8")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line));
}

/** A command line without the per-run temporary paths (event logs). */
function shape(args: string[]): string {
    return args.map((a, i) => (args[i - 1] === "--event-log" ? "EVENTS" : a)).join(" ");
}

const STACK_FILE = `secretsprovider: passphrase
encryptionsalt: v1:abcdefgh:v1:ijklmnop:qrstuvwxyz==
config:
  aws:region: us-west-2
  ray-s3-access:identity: podIdentity
  ray-s3-access:clusterName: ray-dev
  ray-s3-access:tenants:
    - namespace: team-a
      buckets: [{ bucket: team-a-data }]
    - namespace: team-b
      buckets: [{ bucket: team-b-data }]
  aws:secretKey:
    secure: v1:AAAABBBBCCCC:ciphertext
`;

describe("AutomationDriver against a recording pulumi CLI (real Automation API)", function () {
    this.timeout(60_000);
    let logFile: string;

    beforeEach(() => {
        logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "fake-pulumi-log-")), "calls.jsonl");
        setEnv({
            PATH: `${FAKE_DIR}${path.delimiter}${saved.PATH ?? process.env.PATH}`,
            FAKE_PULUMI_LOG: logFile,
            FAKE_PULUMI_HANG: undefined,
            PULUMI_BACKEND_URL: undefined,
            PULUMI_CONFIG_PASSPHRASE: "test-passphrase",
            PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
        });
    });

    after(() => {
        for (const [key, value] of Object.entries(saved)) {
            if (value === undefined) delete process.env[key];
            else process.env[key] = value;
        }
    });

    const cli = (args: string[], signal?: AbortSignal) => runCli(args, { signal });

    it("stack files only: each stack gets a workspace whose Pulumi.yaml runs the bundled program, with the stack file's settings", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ops-repo-"));
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), STACK_FILE);
        fs.writeFileSync(path.join(dir, "prod-policy.json"), "{}");
        const { code, stdout, stderr } = await cli(["up", "--cwd", dir, "--stack", "dev", "--policy-pack-config", path.join(dir, "prod-policy.json"), "--yes"]);
        assert.equal(code, 0, stdout + stderr);
        assert.match(stdout, /dev\s+up\s+succeeded\s+create 3/);

        const calls = invocations(logFile);
        const workDir = path.join(dir, ".pulumi-workspaces", "dev");
        const versionOf = (pkg: string) => JSON.parse(fs.readFileSync(require.resolve(`${pkg}/package.json`), "utf8")).version;
        const awsVersion = versionOf("@pulumi/aws");
        const k8sVersion = versionOf("@pulumi/kubernetes");
        const lines = calls.map((c) => shape(c.args));
        assert.ok(lines.includes(`plugin install resource aws v${awsVersion} --non-interactive`), lines.join("\n"));
        assert.ok(lines.includes(`plugin install resource kubernetes v${k8sVersion} --non-interactive`), "plugins at the versions the package was built with");
        const up = calls.find((c) => c.args[0] === "up")!;
        assert.equal(
            shape(up.args),
            `up --yes --skip-preview --policy-pack ${bundledPolicyPackDir()} --policy-pack-config ${path.join(dir, "prod-policy.json")} --exec-kind auto.local --stack dev --non-interactive`,
        );
        assert.equal(up.cwd, workDir, "the stack runs in its own workspace directory");
        assert.equal(up.backend, `file://${path.join(dir, ".pulumi-state")}`, "a local backend under --cwd unless PULUMI_BACKEND_URL is set");
        assert.ok(
            calls.findIndex((c) => c.args[0] === "stack" && c.args[1] === "select" && c.args.includes("dev")) < calls.indexOf(up),
            "the stack is selected (or created) first",
        );
        assert.ok(
            lines.some((l) => l.startsWith("stack output --json") && l.includes("--stack dev")),
            "up reads the outputs back",
        );

        // The workspace: Pulumi.yaml points at the package's program wherever it is; the stack file keeps its secrets.
        const project = fs.readFileSync(path.join(workDir, "Pulumi.yaml"), "utf8");
        const main_ = /main: (.+)/.exec(project)![1].trim();
        assert.equal(path.resolve(workDir, main_), bundledProgramDir());
        assert.match(project, /name: ray-s3-access/);
        const stackSettings = fs.readFileSync(path.join(workDir, "Pulumi.dev.yaml"), "utf8");
        assert.match(stackSettings, /encryptionsalt: v1:abcdefgh:v1:ijklmnop:qrstuvwxyz==/);
        assert.match(stackSettings, /aws:secretKey:\n\s+secure: v1:AAAABBBBCCCC:ciphertext/, "secrets are passed still encrypted");
        assert.match(stackSettings, /ray-s3-access:tenants:\n\s+- namespace: team-a/, "structured config stays structured");
    });

    it("a Pulumi.yaml in --cwd: the project runs in place with its own stack files, backend and plugins", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "own-project-"));
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: ml-platform\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n");
        fs.writeFileSync(path.join(dir, "index.ts"), "export const x = 1;\n");
        const own = "config:\n  ml-platform:bucket: ckpt\n  aws:region: us-east-1\n";
        fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), own);
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), own);
        const { code, stdout, stderr } = await cli(["preview", "--cwd", dir, "--concurrency", "1"]);
        assert.equal(code, 0, stdout + stderr);
        const calls = invocations(logFile);
        const previews = calls.filter((c) => c.args[0] === "preview");
        assert.deepEqual(
            previews.map((c) => c.args[c.args.indexOf("--stack") + 1]),
            ["dev", "prod"],
        );
        for (const preview of previews) {
            assert.equal(preview.cwd, dir, "the project's own directory is the work dir");
            assert.equal(preview.backend, null, "the CLI's own login or Pulumi.yaml backend, not one chosen by the runner");
            assert.deepEqual(preview.args.slice(0, 3), ["preview", "--policy-pack", bundledPolicyPackDir()]);
        }
        assert.ok(!calls.some((c) => c.args[0] === "plugin"), "plugins are the CLI's business for a user's project");
        assert.equal(fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8"), own, "the user's stack file is not rewritten");
        assert.ok(!fs.existsSync(path.join(dir, ".pulumi-workspaces")), "no workspace directories in the user's project");
    });

    it("destroy takes no policy pack and goes tenants first; --policy-pack DIR replaces the bundled pack", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ops-repo-"));
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), STACK_FILE);
        const destroyed = await cli(["destroy", "--cwd", dir, "--per-tenant", "--yes", "--concurrency", "1"]);
        assert.equal(destroyed.code, 0, destroyed.stdout + destroyed.stderr);
        const destroys = invocations(logFile).filter((c) => c.args[0] === "destroy");
        assert.deepEqual(
            destroys.map((c) => c.args[c.args.indexOf("--stack") + 1]),
            ["dev.team-a", "dev.team-b", "dev"],
        );
        assert.ok(destroys.every((c) => !c.args.includes("--policy-pack")));
        const tenantSettings = fs.readFileSync(path.join(dir, ".pulumi-workspaces", "dev.team-a", "Pulumi.dev.team-a.yaml"), "utf8");
        assert.match(tenantSettings, /ray-s3-access:environmentStack: organization\/ray-s3-access\/dev/);

        fs.writeFileSync(logFile, "");
        const packDir = fs.mkdtempSync(path.join(os.tmpdir(), "other-pack-"));
        const previewed = await cli(["preview", "--cwd", dir, "--policy-pack", packDir]);
        assert.equal(previewed.code, 0, previewed.stderr);
        const preview = invocations(logFile).find((c) => c.args[0] === "preview")!;
        assert.deepEqual(preview.args.slice(0, 3), ["preview", "--policy-pack", packDir]);
    });

    it("a run from a stack-file directory in git leaves `git status` clean there: the state and workspaces it writes get a .gitignore entry, announced once", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ops-git-"));
        const git = (...args: string[]) =>
            execFileSync("git", ["-c", "user.name=ops", "-c", "user.email=ops@example.com", ...args], { cwd: dir, encoding: "utf8" });
        git("init", "-q");
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), STACK_FILE);
        git("add", ".");
        git("commit", "-qm", "stack files");
        const first = await cli(["up", "--cwd", dir, "--stack", "dev", "--yes"]);
        assert.equal(first.code, 0, first.stdout + first.stderr);
        assert.match(first.stderr, /note: no --backend or PULUMI_BACKEND_URL: the stacks' state goes to file:\/\/.*\.pulumi-state \(a local file backend\)/);
        assert.match(first.stderr, /note: added \.pulumi-state\/ and \.pulumi-workspaces\/ to .*\.gitignore/);
        assert.ok(fs.existsSync(path.join(dir, ".pulumi-state")) && fs.existsSync(path.join(dir, ".pulumi-workspaces")));
        git("add", ".gitignore");
        git("commit", "-qm", "ignore the runner's state");
        const second = await cli(["up", "--cwd", dir, "--stack", "dev", "--yes"]);
        assert.equal(second.code, 0);
        assert.doesNotMatch(second.stderr, /note:/, "said once");
        assert.equal(git("status", "--porcelain"), "", "nothing the runner wrote shows in git");
    });

    it("--backend and --project: the operator's backend and project name; stack references name the backend's organisation (file: organization; Cloud: the default org, else the user)", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ops-names-"));
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), STACK_FILE);
        const state = fs.mkdtempSync(path.join(os.tmpdir(), "team-state-"));
        const onFile = await cli(["preview", "--cwd", dir, "--per-tenant", "--backend", `file://${state}`, "--project", "ml-team-a", "--concurrency", "1"]);
        assert.equal(onFile.code, 0, onFile.stdout + onFile.stderr);
        const previews = invocations(logFile).filter((c) => c.args[0] === "preview");
        assert.ok(previews.length === 3 && previews.every((c) => c.backend === `file://${state}`), "every stack on the operator's backend");
        const workspace = (stack: string) => path.join(dir, ".pulumi-workspaces", stack);
        assert.match(fs.readFileSync(path.join(workspace("dev"), "Pulumi.yaml"), "utf8"), /name: ml-team-a/);
        assert.match(fs.readFileSync(path.join(workspace("dev.team-a"), "Pulumi.dev.team-a.yaml"), "utf8"), /environmentStack: organization\/ml-team-a\/dev/);
        assert.doesNotMatch(onFile.stderr, /no --backend/, "a chosen backend is not announced as the default");

        fs.writeFileSync(logFile, "");
        setEnv({ FAKE_PULUMI_USER: "alice", FAKE_PULUMI_DEFAULT_ORG: undefined });
        const onCloud = await cli(["preview", "--cwd", dir, "--per-tenant", "--backend", "https://api.pulumi.com", "--concurrency", "1"]);
        assert.equal(onCloud.code, 0, onCloud.stdout + onCloud.stderr);
        assert.match(fs.readFileSync(path.join(workspace("dev.team-a"), "Pulumi.dev.team-a.yaml"), "utf8"), /environmentStack: alice\/ray-s3-access\/dev/);
        setEnv({ FAKE_PULUMI_DEFAULT_ORG: "acme" });
        const inOrg = await cli(["preview", "--cwd", dir, "--per-tenant", "--backend", "https://api.pulumi.com", "--concurrency", "1"]);
        assert.equal(inOrg.code, 0);
        assert.match(fs.readFileSync(path.join(workspace("dev.team-b"), "Pulumi.dev.team-b.yaml"), "utf8"), /environmentStack: acme\/ray-s3-access\/dev/);
        setEnv({ FAKE_PULUMI_DEFAULT_ORG: undefined, FAKE_PULUMI_USER: undefined });

        const refused = await cli(["preview", "--cwd", dir, "--project", "ml team"]);
        assert.equal(refused.code, 2);
        assert.match(refused.stderr, /--project "ml team" is not a Pulumi project name/);
    });

    it("--backend that is no backend URL is exit 2 before the Pulumi CLI runs; a file path with spaces is one", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ops-backend-"));
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), STACK_FILE);
        fs.writeFileSync(logFile, "");
        for (const backend of ["not a url", "ftp://state", "s3://", "https://api.pulumi.com/ x"]) {
            const { code, stderr } = await cli(["preview", "--cwd", dir, "--backend", backend]);
            assert.equal(code, 2, stderr);
            assert.match(stderr, /--backend ".*" is not a Pulumi backend URL: give https:\/\/api\.pulumi\.com/);
        }
        assert.deepEqual(invocations(logFile), [], "the Pulumi CLI was not run");
        const spaced = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "team state-")), "state dir");
        const ok = await cli(["preview", "--cwd", dir, "--backend", `file://${spaced}`]);
        assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    });

    it("Ctrl-C: the running update gets SIGINT, then `pulumi cancel`; the stack is reported cancelled", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ops-repo-"));
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), STACK_FILE);
        setEnv({ FAKE_PULUMI_HANG: "dev" });
        const controller = new AbortController();
        const running = cli(["up", "--cwd", dir, "--json", "--yes"], controller.signal);
        const deadline = Date.now() + 30_000;
        while (!invocations(logFile).some((c) => c.hanging === "dev")) {
            assert.ok(Date.now() < deadline, "the fake CLI started the update");
            await new Promise((r) => setTimeout(r, 50));
        }
        controller.abort();
        const { code, stdout } = await running;
        assert.equal(code, 1);
        const summary = JSON.parse(stdout);
        assert.equal(summary.stacks[0].result, "cancelled");
        const calls = invocations(logFile);
        assert.ok(
            calls.some((c) => c.interrupted === "dev"),
            "the CLI process got SIGINT",
        );
        const interrupted = calls.findIndex((c) => c.interrupted === "dev");
        assert.ok(
            calls.findIndex((c, i) => i > interrupted && c.args?.[0] === "cancel" && c.args.includes("dev")) > interrupted,
            "then `pulumi cancel` releases the lock",
        );
    });

    it("without a pulumi on PATH, preview exits 2 with how to install it", async () => {
        setEnv({ PATH: fs.mkdtempSync(path.join(os.tmpdir(), "empty-path-")) });
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ops-repo-"));
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), STACK_FILE);
        const { code, stderr } = await cli(["preview", "--cwd", dir]);
        assert.equal(code, 2);
        assert.match(stderr, /`preview` needs the Pulumi CLI \(not found on PATH\): install the Pulumi CLI/);
    });
});
