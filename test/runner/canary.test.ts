import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    CanaryJobState,
    CanaryKube,
    canaryJob,
    CanaryTarget,
    judgeCanary,
    MINIMUM_PYARROW,
    parseCanaryLog,
    pyarrowAwsSdk,
    pyarrowTooOld,
    runCanary,
} from "../../automation/verify/canary";
import { main } from "../../automation/cli";
import { StackDriver } from "../../automation/driver";
import { runE2e } from "../../automation/e2e";
import { VerifyClients } from "../../automation/verify";

const ROOT = path.join(__dirname, "..", "..");
const ROLE = "arn:aws:iam::111122223333:role/ray-role-1a2b3c";

const irsaTarget: CanaryTarget = {
    namespace: "ray",
    serviceAccountName: "ray-s3-sa",
    identity: "irsa",
    targets: ["ray-ckpt/checkpoints/"],
    expectedRoleArn: ROLE,
};

/** A scripted cluster: each Job goes through the given states, then prints the given log. */
class ScriptedKube implements CanaryKube {
    readonly jobs: Record<string, any>[] = [];
    readonly deleted: string[] = [];
    private polls = 0;
    constructor(
        private readonly states: CanaryJobState[],
        private readonly log: string,
    ) {}
    async createJob(_namespace: string, job: Record<string, unknown>) {
        this.jobs.push(job);
    }
    async jobState(): Promise<CanaryJobState> {
        return this.states[Math.min(this.polls++, this.states.length - 1)];
    }
    async jobLogs() {
        return this.log;
    }
    async deleteJob(namespace: string, name: string) {
        this.deleted.push(`${namespace}/${name}`);
    }
}

const log = (...lines: string[]) => ["pulling...", ...lines.map((l) => `ray-s3-access-canary ${l}`)].join("\n");

describe("verify --canary: the Job and how its report is read", () => {
    it("the Job runs once as the tenant's service account, bounded, with the chosen image", () => {
        const job: any = canaryJob("ray-s3-canary-x", irsaTarget, { image: "rayproject/ray:2.40.0-py311", sdk: "auto", timeoutSeconds: 120 });
        assert.equal(job.kind, "Job");
        assert.equal(job.metadata.namespace, "ray");
        assert.equal(job.spec.backoffLimit, 0);
        assert.equal(job.spec.activeDeadlineSeconds, 120);
        const pod = job.spec.template.spec;
        assert.equal(pod.serviceAccountName, "ray-s3-sa");
        assert.equal(pod.restartPolicy, "Never");
        assert.equal(pod.containers[0].image, "rayproject/ray:2.40.0-py311");
        assert.deepEqual(pod.containers[0].command.slice(0, 2), ["sh", "-c"]);
        assert.equal(pod.containers[0].env.find((e: any) => e.name === "CANARY_TARGETS").value, "ray-ckpt/checkpoints/");
        assert.equal(pod.volumes, undefined);
    });

    it("the Job's script hands each target to the SDK as the pods would: an access point's ARN or a directory bucket's name as the bucket, then the prefix", function () {
        this.timeout(30_000);
        // The real script, run here with stand-in SDKs that record their calls: a boto3 module, and an `aws` command.
        const targets = [
            "arn:aws:s3:us-west-2:111122223333:accesspoint/ray-ap/checkpoints/run-1/",
            "team-a--usw2-az1--xa-s3/team-a/",
            "ckpt--usw2-az1--x-s3/",
            "ray-ckpt/a/b/",
        ];
        const job: any = canaryJob("ray-s3-canary-x", { ...irsaTarget, targets }, { image: "x", sdk: "auto", timeoutSeconds: 60 });
        const container = job.spec.template.spec.containers[0];
        const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ray-s3-canary-sdk-"));
        try {
            fs.mkdirSync(path.join(dir, "boto3"));
            fs.writeFileSync(
                path.join(dir, "boto3", "__init__.py"),
                [
                    "import json",
                    "__version__ = '1.35.0'",
                    "class _Client:",
                    "    def get_caller_identity(self): return {'Arn': 'arn:aws:sts::111122223333:assumed-role/r/s'}",
                    "    def list_objects_v2(self, **kw): print('CALL', json.dumps(kw, sort_keys=True))",
                    "def client(name): return _Client()",
                    "class Session:",
                    "    def get_credentials(self): return None",
                ].join("\n"),
            );
            // The CLI's output is captured by the script, so the stand-in records its arguments in a file.
            fs.writeFileSync(path.join(dir, "aws"), `#!/bin/sh\ncase "$2" in list-objects-v2) echo "$*" >> "${dir}/calls";; esac\nexit 0\n`, { mode: 0o755 });
            const run = (sdk: string) =>
                spawnSync(container.command[0], container.command.slice(1), {
                    env: { PATH: `${dir}:${process.env.PATH}`, PYTHONPATH: dir, ...env, CANARY_SDK: sdk },
                    encoding: "utf8",
                    timeout: 20_000,
                }).stdout;
            const python = run("python")
                .split("\n")
                .filter((l) => l.startsWith("CALL "))
                .map((l) => JSON.parse(l.slice(5)));
            assert.deepEqual(
                python.map((c) => [c.Bucket, c.Prefix]),
                [
                    ["arn:aws:s3:us-west-2:111122223333:accesspoint/ray-ap", "checkpoints/run-1/"],
                    ["team-a--usw2-az1--xa-s3", "team-a/"],
                    ["ckpt--usw2-az1--x-s3", ""],
                    ["ray-ckpt", "a/b/"],
                ],
            );
            run("cli");
            const cli = fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
            assert.deepEqual(cli, [
                "s3api list-objects-v2 --bucket arn:aws:s3:us-west-2:111122223333:accesspoint/ray-ap --prefix checkpoints/run-1/ --max-keys 1 --output json",
                "s3api list-objects-v2 --bucket team-a--usw2-az1--xa-s3 --prefix team-a/ --max-keys 1 --output json",
                "s3api list-objects-v2 --bucket ckpt--usw2-az1--x-s3 --prefix  --max-keys 1 --output json",
                "s3api list-objects-v2 --bucket ray-ckpt --prefix a/b/ --max-keys 1 --output json",
            ]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("an IRSA cross-account tenant's Job mounts the chained profile and selects it", () => {
        const job: any = canaryJob(
            "c",
            { ...irsaTarget, awsConfigMap: "ray-s3-sa-aws-config", env: { AWS_CONFIG_FILE: "/etc/ray-s3-access/config", AWS_PROFILE: "assets" } },
            { image: "i", sdk: "auto", timeoutSeconds: 60 },
        );
        const pod = job.spec.template.spec;
        assert.deepEqual(pod.volumes, [{ name: "aws-config", configMap: { name: "ray-s3-sa-aws-config" } }]);
        assert.equal(pod.containers[0].volumeMounts[0].mountPath, "/etc/ray-s3-access");
        assert.equal(pod.containers[0].env.find((e: any) => e.name === "AWS_PROFILE").value, "assets");
    });

    it("a boto3 too old for Pod Identity is named with the first version that works", () => {
        const report = parseCanaryLog(
            log(
                "sdk boto3 1.28.57",
                "identity-error NoCredentialsError: Unable to locate credentials",
                "list-error ray-ckpt/checkpoints/ NoCredentialsError: Unable to locate credentials",
                "done",
            ),
        );
        const result = judgeCanary(report, { ...irsaTarget, identity: "podIdentity" });
        assert.equal(result.ok, false);
        assert.match(result.message, /got no identity: NoCredentialsError/);
        assert.equal(result.fix, "the image's boto3 1.28.57 is older than 1.34.41, the first that supports EKS Pod Identity: upgrade it in the image");
        // The same SDK is new enough for IRSA: the fix then points at the set-up instead.
        assert.match(judgeCanary(report, irsaTarget).fix!, /eks.amazonaws.com\/role-arn/);
        // AWS CLI v2 before 2.15.0 does not know Pod Identity either.
        const cli = judgeCanary(parseCanaryLog(log("sdk aws-cli 2.13.0", "identity-error Unable to locate credentials", "done")), {
            ...irsaTarget,
            identity: "podIdentity",
        });
        assert.match(cli.fix!, /aws-cli 2.13.0 is older than 2.15.0/);
    });

    it("the AWS SDK for C++ in each pyarrow release (arrow's pinned vcpkg baselines), and the Pod Identity gate derived from it", () => {
        const table = Object.fromEntries(
            ["7.0.0", "8.0.0", "12.0.1", "13.0.0", "15.0.2", "16.1.0", "17.0.0", "19.0.1", "21.0.0", "22.0.0", "23.0.1", "24.0.0", "25.0.1", "26.0.0"].map(
                (v) => [v, pyarrowAwsSdk(v) ?? "-"],
            ),
        );
        assert.deepEqual(table, {
            "7.0.0": "-",
            "8.0.0": "1.9.220",
            "12.0.1": "1.9.220",
            "13.0.0": "1.11.4",
            "15.0.2": "1.11.4",
            "16.1.0": "1.11.201",
            "17.0.0": "1.11.285",
            "19.0.1": "1.11.285",
            "21.0.0": "1.11.285",
            "22.0.0": "1.11.591",
            "23.0.1": "1.11.591",
            "24.0.0": "1.11.724",
            "25.0.1": "1.11.800",
            "26.0.0": "1.11.800",
        });
        // The first release whose SDK reaches 1.11.263, the Pod Identity minimum.
        assert.equal(MINIMUM_PYARROW.podIdentity, "17.0.0");
        // A release past the table is named with "or newer"; one before it without an SDK.
        const log = (version: string) =>
            parseCanaryLog(
                [
                    `sdk boto3 1.35.0`,
                    `identity arn:aws:sts::1:assumed-role/r/s`,
                    `source assume-role-with-web-identity`,
                    `list b/ ok`,
                    `pyarrow ${version}`,
                    `pyarrow-list b/ none`,
                    "done",
                ]
                    .map((l) => `ray-s3-access-canary ${l}`)
                    .join("\n"),
            );
        const irsa: CanaryTarget = { namespace: "ray", serviceAccountName: "sa", identity: "irsa", targets: ["b/"], expectedRoleArn: "arn:aws:iam::1:role/r" };
        assert.match(judgeCanary(log("26.0.0"), irsa).message, /; pyarrow 26\.0\.0 \(AWS SDK for C\+\+ 1\.11\.800 or newer\) lists them too$/);
        assert.match(judgeCanary(log("7.0.0"), irsa).message, /; pyarrow 7\.0\.0 lists them too$/);
    });

    it("pyarrow's version gate on its documented boundaries: Pod Identity from 17, IRSA in every version; an access point ARN is left to boto3", () => {
        assert.match(
            pyarrowTooOld("16.1.0", "podIdentity")!,
            /pyarrow 16\.1\.0 bundles the AWS SDK for C\+\+ 1\.11\.201, older than 1\.11\.263.* pyarrow >= 17\.0\.0 for Pod Identity/,
        );
        assert.ok(pyarrowTooOld("13.0.0", "podIdentity"));
        assert.equal(pyarrowTooOld("17.0.0", "podIdentity"), undefined);
        assert.equal(pyarrowTooOld("21.0.0.dev42", "podIdentity"), undefined);
        assert.equal(pyarrowTooOld("13.0.0", "irsa"), undefined);
        const M = "ray-s3-access-canary";
        const target: CanaryTarget = {
            namespace: "ray",
            serviceAccountName: "ray-s3-sa",
            identity: "irsa",
            targets: ["ray-ckpt/a/", "arn:aws:s3:us-west-2:111122223333:accesspoint/ap/b/"],
            expectedRoleArn: "arn:aws:iam::111122223333:role/ray-role",
        };
        const log = [
            `${M} sdk boto3 1.35.0`,
            `${M} identity arn:aws:sts::111122223333:assumed-role/ray-role/botocore`,
            `${M} list ray-ckpt/a/ ok`,
            `${M} list arn:aws:s3:us-west-2:111122223333:accesspoint/ap/b/ ok`,
            `${M} pyarrow 18.1.0`,
            `${M} pyarrow-list ray-ckpt/a/ ray-ckpt/a/x.parquet`,
            `${M} pyarrow-skip arn:aws:s3:us-west-2:111122223333:accesspoint/ap/b/`,
            `${M} done`,
        ].join("\n");
        const report = parseCanaryLog(log);
        assert.deepEqual(report.pyarrow, {
            version: "18.1.0",
            lists: [
                { target: "ray-ckpt/a/", ok: true, read: "ray-ckpt/a/x.parquet" },
                { target: "arn:aws:s3:us-west-2:111122223333:accesspoint/ap/b/", ok: true, skipped: true },
            ],
        });
        const judged = judgeCanary(report, target);
        assert.equal(judged.ok, true);
        assert.match(
            judged.message,
            /pyarrow 18\.1\.0 \(AWS SDK for C\+\+ 1\.11\.285\) lists and reads them too \(not access point ARNs, which pyarrow paths cannot name: arn:aws:s3/,
        );
        // A chained IRSA tenant whose pyarrow is denied: pyarrow does not follow the profile chain.
        const denied = parseCanaryLog(
            log.replace(`${M} pyarrow-list ray-ckpt/a/ ray-ckpt/a/x.parquet`, `${M} pyarrow-error ray-ckpt/a/ OSError: AWS Error ACCESS_DENIED`),
        );
        const chained = judgeCanary(denied, { ...target, env: { AWS_PROFILE: "assets", AWS_CONFIG_FILE: "/etc/ray-s3-access/config" } });
        assert.equal(chained.ok, false);
        assert.match(chained.fix!, /does not follow the AWS profile chain into the assets role: use identity "podIdentity"/);
        // pyarrow never got to a target (its line is missing though the Job said done): not passed.
        const silent = judgeCanary(parseCanaryLog(log.replace(`${M} pyarrow-list ray-ckpt/a/ ray-ckpt/a/x.parquet\n`, "")), target);
        assert.equal(silent.ok, false);
        assert.match(silent.message, /but pyarrow 18\.1\.0 \(AWS SDK for C\+\+ 1\.11\.285\) did not get to s3:\/\/ray-ckpt\/a\/$/);
        // Only access point ARNs: pyarrow listed nothing, and the finding does not say it did.
        const arnOnly = { ...target, targets: ["arn:aws:s3:us-west-2:111122223333:accesspoint/ap/b/"] };
        const arnLog = log
            .split("\n")
            .filter((l) => !l.includes("ray-ckpt/a/"))
            .join("\n");
        const named = judgeCanary(parseCanaryLog(arnLog), arnOnly);
        assert.equal(named.ok, true);
        assert.match(
            named.message,
            /; pyarrow 18\.1\.0 \(AWS SDK for C\+\+ 1\.11\.285\) can name none of them \(access point ARNs, which pyarrow paths cannot name: arn:aws:s3:/,
        );
    });

    it("a pod that falls back to the node's role is caught by the identity it reports", () => {
        const result = judgeCanary(
            parseCanaryLog(
                log("sdk boto3 1.35.0", "identity arn:aws:sts::111122223333:assumed-role/eks-node-group-role/i-0abc", "list ray-ckpt/checkpoints/ ok", "done"),
            ),
            irsaTarget,
        );
        assert.equal(result.ok, false);
        assert.match(result.message, /runs as arn:aws:sts::111122223333:assumed-role\/eks-node-group-role\/i-0abc, not as the role ray-role-1a2b3c/);
        assert.match(result.fix!, /node's role/);
        const good = judgeCanary(
            parseCanaryLog(
                log(
                    "sdk boto3 1.35.0",
                    `identity arn:aws:sts::111122223333:assumed-role/ray-role-1a2b3c/botocore-session-1`,
                    "list ray-ckpt/checkpoints/ ok",
                    "done",
                ),
            ),
            irsaTarget,
        );
        assert.equal(good.ok, true);
    });

    it("a pod that cannot pull its image is reported, and the Job is deleted", async () => {
        const kube = new ScriptedKube([{ finished: false }, { finished: false, stuck: 'ImagePullBackOff: Back-off pulling image "my-ray:typo"' }], "");
        const result = await runCanary(kube, irsaTarget, { image: "my-ray:typo", sdk: "auto", timeoutSeconds: 60, pollMs: 1 });
        assert.equal(result.ok, false);
        assert.match(result.message, /could not start: ImagePullBackOff/);
        assert.match(result.fix!, /--canary-image/);
        assert.deepEqual(kube.deleted, [`ray/${kube.jobs[0].metadata.name}`]);
    });

    it("cancelling (Ctrl-C) stops waiting and still deletes the Job; --canary-keep leaves it", async () => {
        const controller = new AbortController();
        const kube = new ScriptedKube([{ finished: false }], "");
        setTimeout(() => controller.abort(), 20);
        const result = await runCanary(kube, irsaTarget, { image: "i", sdk: "auto", timeoutSeconds: 600, pollMs: 5 }, controller.signal);
        assert.match(result.message, /cancelled/);
        assert.equal(kube.deleted.length, 1);
        const kept = new ScriptedKube(
            [{ finished: true, succeeded: true }],
            log("sdk boto3 1.35.0", `identity arn:aws:sts::111122223333:assumed-role/ray-role-1a2b3c/s`, "list ray-ckpt/checkpoints/ ok", "done"),
        );
        assert.equal((await runCanary(kept, irsaTarget, { image: "i", sdk: "auto", timeoutSeconds: 60, pollMs: 1, keep: true })).ok, true);
        assert.deepEqual(kept.deleted, []);
    });

    it("the CLI runs one canary per tenant with the chosen image, prints the result and fails on a bad one", async () => {
        const driver: StackDriver = {
            prepare: async () => undefined,
            run: async (request) => ({ changes: {}, outputs: { tenants: Object.fromEntries(request.target.tenants.map((ns) => [ns, { roleArn: ROLE }])) } }),
        };
        const noSuchEntity = Object.assign(new Error("The role cannot be found"), { name: "NoSuchEntityException" });
        const verifyClients = (): VerifyClients => ({ iam: { send: async () => Promise.reject(noSuchEntity) }, eks: { send: async () => ({}) } });
        const kube = new ScriptedKube(
            [{ finished: true, succeeded: true }],
            log("sdk boto3 1.20.0", "identity-error NoCredentialsError: Unable to locate credentials", "done"),
        );
        const out = {
            text: "",
            write(c: string) {
                this.text += c;
                return true;
            },
        };
        const err = {
            text: "",
            write(c: string) {
                this.text += c;
                return true;
            },
        };
        const code = await main(["verify", "--cwd", ROOT, "--stack", "prod", "--tenant", "ray-team-a", "--canary", "--canary-image", "my-registry/ray:2.9"], {
            stdout: out as any,
            stderr: err as any,
            driver: () => driver,
            verifyClients,
            canaryKube: async () => kube,
            canaryPollMs: 1,
        });
        assert.equal(code, 1);
        assert.equal(kube.jobs.length, 1);
        assert.equal(kube.jobs[0].spec.template.spec.containers[0].image, "my-registry/ray:2.9");
        assert.match(
            out.text,
            /FAIL prod\/ray-team-a canary: canary for ray-team-a\/ray-worker got no identity: NoCredentialsError[^\n]*\n\s+fix: the image's boto3 1.20.0 is older than 1.34.41/,
        );
        const bad = await main(["verify", "--cwd", ROOT, "--canary", "--canary-timeout", "3"], {
            stdout: out as any,
            stderr: err as any,
            driver: () => driver,
            verifyClients,
            canaryKube: async () => kube,
        });
        assert.equal(bad, 2);
        assert.match(err.text, /--canary-timeout "3" must be a whole number of seconds, at least 10/);
        // Before the Pulumi CLI or the cluster is asked anything: a canary option without --canary, an image Kubernetes cannot pull.
        for (const [args, message] of [
            [
                ["--canary-image", "my/ray:2.9", "--canary-keep"],
                /--canary-image, --canary-keep are options of --canary, which is not given: add --canary, or drop them/,
            ],
            [["--canary", "--canary-image", "My Ray:2.9"], /--canary-image "My Ray:2\.9" is not a container image reference/],
        ] as [string[], RegExp][]) {
            err.text = "";
            const jobsBefore: number = kube.jobs.length;
            const refused = await main(["verify", "--cwd", ROOT, "--stack", "prod", ...args], {
                stdout: out as any,
                stderr: err as any,
                driver: () => {
                    throw new Error("the driver was asked for");
                },
                verifyClients,
                canaryKube: async () => kube,
            });
            assert.equal(refused, 2, err.text);
            assert.match(err.text, message);
            assert.equal(kube.jobs.length, jobsBefore, "no Job was created");
        }
    });
});

describe("npm run e2e", () => {
    const capture = () => ({
        text: "",
        write(c: string) {
            this.text += c;
            return true;
        },
    });

    it("refuses to run without the explicit opt-in, a named stack, or on a production stack, and runs nothing", async () => {
        const calls: string[][] = [];
        const run = async (argv: string[]) => (calls.push(argv), 0);
        const stderr = capture();
        assert.equal(await runE2e(["--stack", "e2e"], { env: {}, stdout: capture(), stderr, run }), 2);
        assert.match(stderr.text, /creates and destroys real IAM roles.*Set RAY_S3_ACCESS_E2E=1 to opt in/);
        assert.equal(await runE2e([], { env: { RAY_S3_ACCESS_E2E: "1" }, stdout: capture(), stderr, run }), 2);
        assert.match(stderr.text, /name the stack to use with --stack/);
        assert.equal(await runE2e(["--stack", "prod"], { env: { RAY_S3_ACCESS_E2E: "1" }, stdout: capture(), stderr, run }), 2);
        assert.match(stderr.text, /stack prod looks like production/);
        assert.deepEqual(calls, []);
    });

    it("checks offline, then runs up, verify --canary, destroy; destroys after a failed step, not after a refused up; reports each step", async () => {
        const calls: string[] = [];
        const codes: Record<string, number> = { check: 0, up: 0, verify: 1, destroy: 0 };
        const run = async (argv: string[]) => (calls.push(argv.filter((a) => !a.startsWith("/")).join(" ")), codes[argv[0]]);
        const stdout = capture();
        const code = await runE2e(["--stack", "e2e", "--canary-image", "my/ray:2.9"], { env: { RAY_S3_ACCESS_E2E: "1" }, stdout, stderr: capture(), run });
        assert.equal(code, 1);
        assert.deepEqual(calls, [
            "check --stack e2e --cwd",
            "up --stack e2e --cwd",
            "verify --stack e2e --cwd --canary --canary-timeout 300 --canary-image my/ray:2.9",
            "destroy --stack e2e --cwd --yes",
        ]);
        assert.match(stdout.text, /verify --canary\s+failed \(exit 1\)/);
        calls.length = 0;
        codes.up = 1;
        assert.equal(await runE2e(["--stack", "e2e"], { env: { RAY_S3_ACCESS_E2E: "1" }, stdout, stderr: capture(), run }), 1);
        assert.deepEqual(
            calls.map((c) => c.split(" ")[0]),
            ["check", "up", "destroy"],
            "a failed up skips verify and still cleans up",
        );
        calls.length = 0;
        codes.up = 2;
        assert.equal(await runE2e(["--stack", "e2e"], { env: { RAY_S3_ACCESS_E2E: "1" }, stdout, stderr: capture(), run }), 1);
        assert.deepEqual(
            calls.map((c) => c.split(" ")[0]),
            ["check", "up"],
            "up refused (no CLI, no passphrase): nothing to destroy",
        );
        calls.length = 0;
        codes.check = 1;
        assert.equal(await runE2e(["--stack", "e2e"], { env: { RAY_S3_ACCESS_E2E: "1" }, stdout, stderr: capture(), run }), 1);
        assert.deepEqual(
            calls.map((c) => c.split(" ")[0]),
            ["check"],
            "a policy violation stops the run before anything is created",
        );
        codes.check = 0;
        calls.length = 0;
        codes.up = 0;
        codes.verify = 0;
        assert.equal(await runE2e(["--stack", "e2e", "--keep"], { env: { RAY_S3_ACCESS_E2E: "1" }, stdout, stderr: capture(), run }), 0);
        assert.deepEqual(
            calls.map((c) => c.split(" ")[0]),
            ["check", "up", "verify"],
            "--keep leaves the stack",
        );
    });
});
