/**
 * `verify --canary` end to end on this machine: the canary Job's real script runs with the real SDKs
 * installed here (boto3, the AWS CLI) against moto with IAM enforcement on, in the environment EKS gives a
 * pod (the IRSA webhook's token variables, or the Pod Identity agent's credentials endpoint; see
 * test/support/localJobs.ts). Only the cluster is simulated.
 */
import { CreateClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import {
    CreateAccessKeyCommand,
    CreateOpenIDConnectProviderCommand,
    CreateRoleCommand,
    CreateUserCommand,
    IAMClient,
    PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { strict as assert } from "assert";
import * as path from "path";
import * as os from "os";
import * as fs from "fs";
import { spawnSync } from "child_process";
import { CanaryOptions, runCanary } from "../../automation/verify/canary";
import { parsePyarrowDenial } from "../../automation/verify/explain";
import { buildAssetsTrustPolicy, buildAssumeAssetsPolicy, chainedAwsConfig, chainedEnvironment, IRSA_TOKEN_FILE } from "../../components/crossAccount";
import { verifyStack, VerifyFinding } from "../../automation/verify";
import { buildS3PermissionsPolicy } from "../../components/s3Policy";
import { buildTrustPolicy } from "../../components/identities";
import { buildPodIdentityTrustPolicy } from "../../components/trustPolicy";
import { parseStackConfig } from "../../programs/config";
import { LocalCluster, LocalJobs } from "../support/localJobs";
import { S3ExpressStandIn, startS3Express } from "../support/s3Express";
import { validateArgs } from "../../components/validation";
import { BucketAccess } from "../../components/types";
import { MotoServer, startMoto, attachNewPolicy } from "../support/moto";
import { AwsLoopback, startAwsLoopback } from "../support/awsLoopback";
import { withRecordedAssociations } from "../support/recordedEks";

const ACCOUNT = "123456789012";
/** The real pyarrow for the pod (its PYTHONPATH and version), or why there is none. */
function findPyarrow(): { env: Record<string, string>; version: string } | string {
    const dir = process.env.RAY_S3_ACCESS_TEST_PYARROW;
    const env: Record<string, string> = dir ? { PYTHONPATH: dir } : {};
    const probe = spawnSync("python3", ["-c", "import pyarrow, pyarrow.fs; print(pyarrow.__version__)"], {
        env: { ...process.env, ...env },
        encoding: "utf8",
        timeout: 60_000,
    });
    if (probe.status !== 0) {
        return `no pyarrow for python3${dir ? ` in RAY_S3_ACCESS_TEST_PYARROW=${dir}` : ""}: python3 -m pip install --target DIR pyarrow, then RAY_S3_ACCESS_TEST_PYARROW=DIR`;
    }
    return { env, version: probe.stdout.trim() };
}

const OPTIONS: CanaryOptions = { image: "rayproject/ray:2.40.0", sdk: "auto", timeoutSeconds: 60, pollMs: 100 };

describe("verify --canary: the canary script with real SDKs against moto", function () {
    this.timeout(180_000);
    let moto: MotoServer;
    let iam: IAMClient;
    let eks: EKSClient;
    const jobs: LocalJobs[] = [];

    before(async () => {
        moto = await startMoto();
        const clientConfig = { endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials };
        iam = new IAMClient(clientConfig);
        eks = new EKSClient(clientConfig);
    });
    after(async () => {
        jobs.forEach((j) => j.close());
        await moto?.stop();
    });
    beforeEach(async () => {
        await moto.enforceAuth(false);
        await moto.reset();
    });
    afterEach(async () => moto.enforceAuth(false));

    // A prefix, as tenants have: the pod lists "checkpoints/" (moto_server.py lets moto check such a signature).
    const buckets: BucketAccess[] = [{ bucket: "ray-ckpt", prefixes: ["checkpoints/"] }];

    /** A deployed tenant (role, policy, bucket with one checkpoint), as `up` would leave it. */
    async function deploy(
        identity: "irsa" | "podIdentity" | "irsaAndPodIdentity",
        permissions: object = buildS3PermissionsPolicy("aws", [{ bucket: "ray-ckpt", access: "readWrite", prefixes: ["checkpoints/"], kmsKeyArns: [] }]),
    ) {
        const s3 = new S3Client({ endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials, forcePathStyle: true });
        for (const bucket of ["ray-ckpt", "other-team"]) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        await s3.send(new PutObjectCommand({ Bucket: "ray-ckpt", Key: "checkpoints/run-1/ckpt.pt", Body: "weights" }));
        const cluster = await eks.send(
            new CreateClusterCommand({ name: "ray-prod", roleArn: `arn:aws:iam::${ACCOUNT}:role/eks`, resourcesVpcConfig: { subnetIds: [] } }),
        );
        let trust: object;
        let providerArn: string | undefined;
        if (identity !== "podIdentity") {
            const provider = await iam.send(
                new CreateOpenIDConnectProviderCommand({
                    Url: cluster.cluster!.identity!.oidc!.issuer!,
                    ClientIDList: ["sts.amazonaws.com"],
                    ThumbprintList: ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
                }),
            );
            providerArn = provider.OpenIDConnectProviderArn!;
            trust = buildTrustPolicy(identity, {
                providerArns: [providerArn],
                accountId: ACCOUNT,
                clusterNames: ["ray-prod"],
                serviceAccounts: [{ namespace: "ray", name: "ray-s3-sa" }],
                roleSharing: "perTenant",
            });
        } else {
            trust = buildPodIdentityTrustPolicy({ accountId: ACCOUNT, clusterName: "ray-prod", serviceAccounts: [{ namespace: "ray", name: "ray-s3-sa" }] });
        }
        const role = await iam.send(new CreateRoleCommand({ RoleName: "ray-role-canary", AssumeRolePolicyDocument: JSON.stringify(trust) }));
        await attachNewPolicy(iam, "ray-role-canary", "ray-policy-canary", permissions);
        // IAM enforcement is on during the canary: verify's own calls use an administrator of the account.
        await iam.send(new CreateUserCommand({ UserName: "admin" }));
        await iam.send(
            new PutUserPolicyCommand({
                UserName: "admin",
                PolicyName: "admin",
                PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }),
            }),
        );
        const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "admin" }))).AccessKey!;
        const raw = (tenantBuckets = buckets) =>
            parseStackConfig("prod", {
                identity,
                clusterName: "ray-prod",
                ...(providerArn ? { oidcProviderArn: providerArn } : {}),
                tenants: JSON.stringify([{ namespace: "ray", buckets: tenantBuckets }]),
            });
        return { roleArn: role.Role!.Arn!, config: raw, adminCredentials: { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! } };
    }

    async function canary(deployed: Awaited<ReturnType<typeof deploy>>, cluster: LocalCluster, options: Partial<CanaryOptions> = {}, tenantBuckets = buckets) {
        const kube = new LocalJobs(moto, cluster);
        jobs.push(kube);
        const clientConfig = { endpoint: moto.endpoint, region: moto.region, credentials: deployed.adminCredentials };
        const admin = { iam: new IAMClient(clientConfig), eks: new EKSClient(clientConfig) };
        await moto.enforceAuth(true);
        const findings = await verifyStack(
            "prod",
            deployed.config(tenantBuckets),
            { ray: { roleArn: deployed.roleArn } },
            {
                iam: admin.iam,
                eks: withRecordedAssociations(
                    admin.eks,
                    Object.fromEntries(Object.entries(cluster.associations ?? {}).map(([key, roleArn]) => [key, { roleArn }])),
                ),
                region: moto.region,
                canary: { kube, options: { ...OPTIONS, ...options } },
            },
        );
        await moto.enforceAuth(false);
        assert.deepEqual(kube.deleted, kube.created, "every canary Job is deleted");
        assert.equal(kube.created.length, 1);
        return { finding: findings.find((f) => f.check === "canary") as VerifyFinding, findings, kube };
    }

    it("IRSA: the pod's boto3 assumes the role through the web-identity token and lists the tenant's prefix", async () => {
        const deployed = await deploy("irsa");
        const { finding, findings } = await canary(deployed, { annotations: { "ray/ray-s3-sa": deployed.roleArn } });
        assert.equal(finding.ok, true, `${finding.message} / ${finding.fix}`);
        // The static checks ran first and passed; the canary comes last.
        assert.deepEqual(
            findings.map((f) => [f.check, f.ok]),
            [
                ["role", true],
                ["trust", true],
                ["oidc-provider", true],
                ["oidc-issuer", true],
                ["permissions", true],
                ["canary", true],
            ],
        );
        assert.match(
            finding.message,
            /canary for ray\/ray-s3-sa runs as ray-role-canary via IRSA \(web identity\) \(boto3 [\d.]+\) and lists s3:\/\/ray-ckpt\/checkpoints\/$/,
        );
    });

    describe("pyarrow in the image (Ray Data, Ray Train): the canary's script with a stand-in pyarrow that records its calls", () => {
        const standIn = (version: string) => {
            const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pyarrow-log-")), "calls.jsonl");
            const env = { PYTHONPATH: path.join(__dirname, "..", "fixtures", "pyarrow-standin"), PYARROW_STANDIN_VERSION: version, PYARROW_STANDIN_LOG: log };
            const calls = () =>
                fs.existsSync(log)
                    ? fs
                          .readFileSync(log, "utf8")
                          .trim()
                          .split("\n")
                          .map((l) => JSON.parse(l))
                    : [];
            return { env, calls };
        };

        it("IRSA: pyarrow lists the tenant's prefix and reads its first object through its own filesystem, and the finding says so", async () => {
            const deployed = await deploy("irsa");
            const pyarrow = standIn("17.0.0");
            const { finding } = await canary(deployed, { annotations: { "ray/ray-s3-sa": deployed.roleArn }, imageEnv: pyarrow.env });
            assert.equal(finding.ok, true, `${finding.message} / ${finding.fix}`);
            assert.match(finding.message, /; pyarrow 17\.0\.0 \(AWS SDK for C\+\+ 1\.11\.285\) lists and reads them too$/);
            // As Ray Data opens an s3:// path: from_uri in the pod's region, the prefix listed, its first object read.
            assert.deepEqual(pyarrow.calls(), [
                ["from_uri", `s3://ray-ckpt/checkpoints/?region=${moto.region}`],
                ["S3FileSystem", moto.region],
                ["get_file_info", "ray-ckpt/checkpoints", true],
                ["open_input_stream", "ray-ckpt/checkpoints/run-1/ckpt.pt"],
                ["finalize_s3"],
            ]);
        });

        it("Pod Identity with pyarrow 16 (its AWS SDK for C++ predates Pod Identity): the finding fails with the fix", async () => {
            const deployed = await deploy("podIdentity");
            const pyarrow = standIn("16.1.0");
            const { finding } = await canary(deployed, { associations: { "ray/ray-s3-sa": deployed.roleArn }, imageEnv: pyarrow.env });
            assert.equal(finding.ok, false);
            assert.match(finding.message, /pyarrow 16\.1\.0 \(AWS SDK for C\+\+ 1\.11\.201\) cannot use EKS Pod Identity/);
            assert.match(finding.fix!, /pyarrow >= 17\.0\.0 for Pod Identity .* or run this tenant on IRSA/);
        });

        it("a prefix pyarrow cannot list is reported with pyarrow's error", async () => {
            const deployed = await deploy("irsa");
            const pyarrow = standIn("18.1.0");
            const { finding } = await canary(deployed, { annotations: { "ray/ray-s3-sa": deployed.roleArn }, imageEnv: pyarrow.env }, {}, [
                { bucket: "other-team" },
            ]);
            assert.equal(finding.ok, false);
            assert.match(finding.message, /cannot list s3:\/\/other-team\//);
        });
    });

    /**
     * An IRSA tenant whose buckets are in another account: the workload role may only assume the assets role, which
     * reaches the bucket. Runs the canary with the component's chained profile (its ConfigMap, this machine's paths).
     */
    async function chainedCanary(cluster: Partial<LocalCluster> = {}) {
        const assetsArn = `arn:aws:iam::${ACCOUNT}:role/ray-assets-canary`;
        const deployed = await deploy("irsa", buildAssumeAssetsPolicy(assetsArn, { tagSession: false }));
        await iam.send(
            new CreateRoleCommand({
                RoleName: "ray-assets-canary",
                // moto matches the trust's principal against the calling session's ARN literally, so neither the workload
                // role's ARN nor the account matches it; the component's trust (the workload role only) is proven with the
                // IAM evaluator in test/crossAccount.test.ts. This test is about the client: it must follow the profile
                // chain, and the workload role's own policy (sts:AssumeRole on this role only) still gates it.
                AssumeRolePolicyDocument: JSON.stringify({
                    ...buildAssetsTrustPolicy(deployed.roleArn, { tagSession: false }),
                    Statement: [{ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }],
                }),
            }),
        );
        await attachNewPolicy(
            iam,
            "ray-assets-canary",
            "ray-assets-policy-canary",
            buildS3PermissionsPolicy("aws", [{ bucket: "ray-ckpt", access: "readWrite", prefixes: ["checkpoints/"], kmsKeyArns: [] }]),
        );
        // The ConfigMap the component writes, with this machine's token path and path-style S3 addresses.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chained-"));
        const token = path.join(dir, "token");
        fs.writeFileSync(token, "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl");
        const config = chainedAwsConfig(deployed.roleArn, assetsArn)
            .replace(IRSA_TOKEN_FILE, token)
            .replace(/(\[profile [a-z]+\]\n)/g, "$1s3 =\n    addressing_style = path\n");
        fs.writeFileSync(path.join(dir, "config"), config);
        const kube = new LocalJobs(moto, { annotations: { "ray/ray-s3-sa": deployed.roleArn }, ...cluster });
        jobs.push(kube);
        await moto.enforceAuth(true);
        const result = await runCanary(
            kube,
            {
                namespace: "ray",
                serviceAccountName: "ray-s3-sa",
                identity: "irsa",
                targets: ["ray-ckpt/checkpoints/"],
                expectedRoleArn: assetsArn,
                region: moto.region,
                env: { ...chainedEnvironment(), AWS_CONFIG_FILE: path.join(dir, "config") },
            },
            OPTIONS,
        );
        await moto.enforceAuth(false);
        fs.rmSync(dir, { recursive: true, force: true });
        return { ...result, kube };
    }

    it("IRSA with buckets in another account: boto3 follows the component's chained profile into the assets role (what pyarrow cannot)", async () => {
        const result = await chainedCanary();
        assert.equal(result.ok, true, `${result.message} / ${result.fix}`);
        assert.match(result.message, /runs as ray-assets-canary .* and lists s3:\/\/ray-ckpt\/checkpoints\//);
    });

    describe("the real pyarrow: its AWS SDK for C++ and that SDK's own credential chain, against AWS's host names served by moto", function () {
        // The SDK's STS client for web identity takes no endpoint override, so the pod runs where AWS's names reach
        // moto (test/support/awsLoopback.ts). pyarrow comes from RAY_S3_ACCESS_TEST_PYARROW (a directory for
        // PYTHONPATH; .ci/run installs the newest wheel there) or from python3's own packages.
        let loopback: AwsLoopback | undefined;
        let pyarrow: { env: Record<string, string>; version: string } | undefined;
        before(async function () {
            const found = findPyarrow();
            const started = typeof found === "string" ? undefined : await startAwsLoopback(moto, moto.region, ["ray-ckpt", "other-team"]);
            const why = typeof found === "string" ? found : typeof started === "string" ? started : undefined;
            if (why !== undefined) {
                console.log(`      (skipped: ${why})`);
                this.skip();
            }
            pyarrow = found as { env: Record<string, string>; version: string };
            loopback = started as AwsLoopback;
        });
        after(async () => loopback?.stop());

        const PYARROW_OK = /; pyarrow ([\d.]+) \(AWS SDK for C\+\+ [\d.]+(?: or newer)?\) lists them too$/;
        /** The pod ended by itself, as a Job must (pyarrow 24 and 25 can hang at exit: apache/arrow#50188). */
        const exitedByItself = (kube: LocalJobs) => {
            const [job] = [...kube.jobs.values()];
            assert.deepEqual([job.exitCode, job.signal], [0, undefined], job.log);
        };

        it("IRSA: pyarrow gets the role through web identity with its own STS client and lists the prefix", async () => {
            const deployed = await deploy("irsa");
            const { finding, kube } = await canary(deployed, {
                annotations: { "ray/ray-s3-sa": deployed.roleArn },
                imageEnv: pyarrow!.env,
                awsLoopback: loopback,
            });
            assert.equal(finding.ok, true, `${finding.message} / ${finding.fix}`);
            assert.match(finding.message, /runs as ray-role-canary via IRSA \(web identity\)/);
            assert.equal(PYARROW_OK.exec(finding.message)?.[1], pyarrow!.version);
            exitedByItself(kube);
        });

        it("Pod Identity: pyarrow's container provider takes the association's role from the agent endpoint with its token", async () => {
            const deployed = await deploy("podIdentity");
            const { finding, kube } = await canary(deployed, {
                associations: { "ray/ray-s3-sa": deployed.roleArn },
                imageEnv: pyarrow!.env,
                awsLoopback: loopback,
            });
            assert.equal(finding.ok, true, `${finding.message} / ${finding.fix}`);
            assert.match(finding.message, /runs as ray-role-canary via EKS Pod Identity/);
            assert.equal(PYARROW_OK.exec(finding.message)?.[1], pyarrow!.version);
            exitedByItself(kube);
        });

        it("a prefix the role does not grant: pyarrow's own AccessDenied is reported", async () => {
            const deployed = await deploy("irsa");
            const cluster = { annotations: { "ray/ray-s3-sa": deployed.roleArn }, imageEnv: pyarrow!.env, awsLoopback: loopback };
            // boto3 is told the same by its own listing; the SDK lines in the image (boto3 first) both fail.
            const { finding } = await canary(deployed, cluster, {}, [{ bucket: "other-team" }]);
            assert.equal(finding.ok, false);
            assert.match(finding.message, /cannot list s3:\/\/other-team\/ \(.*AccessDenied/);
        });

        it("an access point ARN cannot be named in pyarrow, as an s3:// URI or as a path (why the canary leaves ARNs to boto3)", () => {
            const script = [
                "import pyarrow.fs as pafs",
                "arn = 'arn:aws:s3:us-west-2:123456789012:accesspoint/ray-ckpt-ap/checkpoints/'",
                "for attempt in (lambda: pafs.FileSystem.from_uri('s3://' + arn), lambda: pafs.S3FileSystem(region='us-west-2').get_file_info(pafs.FileSelector(arn))):",
                "    try:",
                "        attempt()",
                "        print('named')",
                "    except Exception as error:",
                "        print(type(error).__name__ + ': ' + str(error).splitlines()[0])",
                "pafs.finalize_s3()",
            ].join("\n");
            const run = spawnSync("python3", ["-c", script], {
                env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), AWS_EC2_METADATA_DISABLED: "true", ...pyarrow!.env },
                encoding: "utf8",
                timeout: 60_000,
            });
            assert.equal(run.status, 0, run.stderr);
            const [uri, filePath] = run.stdout.trim().split("\n");
            assert.match(uri, /Cannot parse URI/);
            assert.match(filePath, /Expected an S3 object path of the form 'bucket\/key/);
        });

        it("IRSA with buckets in another account: boto3 follows the chained profile, pyarrow does not (it lists as the workload role and is denied), and the fix names Pod Identity", async () => {
            const result = await chainedCanary({ imageEnv: pyarrow!.env, awsLoopback: loopback });
            exitedByItself(result.kube);
            assert.equal(result.ok, false);
            assert.match(
                result.message,
                /boto3 lists as ray-assets-canary, but pyarrow [\d.]+ \(AWS SDK for C\+\+ [^)]+\) cannot list s3:\/\/ray-ckpt\/checkpoints\/ \(.*ACCESS_DENIED/,
            );
            assert.match(result.fix!, /does not follow the AWS profile chain into the assets role: use identity "podIdentity"/);
            // The error the real pyarrow printed is one `explain --message` reads.
            assert.deepEqual(parsePyarrowDenial(result.message), {
                operation: "ListObjectsV2",
                bucket: "ray-ckpt",
                key: "checkpoints/",
                action: "s3:ListBucket",
                resource: "s3://ray-ckpt",
                prefix: "checkpoints/",
            });
        });
    });

    it("IRSA with the AWS CLI instead of boto3 (an image with only the CLI)", async function () {
        // The build machines have the AWS CLI; elsewhere this one case needs it installed (pip install awscli).
        if (spawnSync("aws", ["--version"]).status !== 0) this.skip();
        const deployed = await deploy("irsa");
        const { finding } = await canary(deployed, { annotations: { "ray/ray-s3-sa": deployed.roleArn } }, { sdk: "cli" });
        assert.equal(finding.ok, true, `${finding.message} / ${finding.fix}`);
        assert.match(finding.message, /via IRSA \(web identity\) \(aws-cli [\d.]+\)/);
    });

    it("IRSA: a ServiceAccount without the annotation gives the pod no identity, and the fix says so", async () => {
        const deployed = await deploy("irsa");
        const { finding } = await canary(deployed, { annotations: {} });
        assert.equal(finding.ok, false);
        assert.match(finding.message, /canary for ray\/ray-s3-sa got no identity: NoCredentialsError/);
        assert.match(finding.fix!, /eks.amazonaws.com\/role-arn and the pod must be created after it/);
    });

    it("a prefix the role does not grant is reported as AccessDenied from inside the pod", async () => {
        const deployed = await deploy("irsa");
        const { finding } = await canary(deployed, { annotations: { "ray/ray-s3-sa": deployed.roleArn } }, {}, [{ bucket: "other-team" }]);
        assert.equal(finding.ok, false);
        assert.match(finding.message, /runs as ray-role-canary but cannot list s3:\/\/other-team\/ \(.*An error occurred \(AccessDenied\)/);
        assert.match(finding.fix!, /bucket policy/);
    });

    it("Pod Identity: the SDK's container provider gets the association's role from the agent endpoint", async () => {
        const deployed = await deploy("podIdentity");
        const { finding } = await canary(deployed, { associations: { "ray/ray-s3-sa": deployed.roleArn } });
        assert.equal(finding.ok, true, `${finding.message} / ${finding.fix}`);
        assert.match(finding.message, /runs as ray-role-canary via EKS Pod Identity/);
    });

    it("migration (irsaAndPodIdentity): a new pod gets Pod Identity (the association takes precedence), and a missing association is caught", async () => {
        const deployed = await deploy("irsaAndPodIdentity");
        // Steps 1 and 2: annotation and association; EKS's webhook injects only the container credentials.
        const step1 = await canary(deployed, { annotations: { "ray/ray-s3-sa": deployed.roleArn }, associations: { "ray/ray-s3-sa": deployed.roleArn } });
        assert.equal(step1.finding.ok, true, `${step1.finding.message} / ${step1.finding.fix}`);
        assert.match(step1.finding.message, /runs as ray-role-canary via EKS Pod Identity/);
        // The association missing (or not in effect): the new pod falls back to IRSA, which the step does not expect.
        const missing = await canary(deployed, { annotations: { "ray/ray-s3-sa": deployed.roleArn } });
        assert.equal(missing.finding.ok, false);
        assert.match(missing.finding.message, /runs as ray-role-canary via IRSA \(web identity\), not EKS Pod Identity/);
        assert.match(missing.finding.fix!, /no Pod Identity association applies to it/);
    });

    it("the SDK's own order: a pod that has both environments uses web identity (why the webhook must not inject both)", async () => {
        const deployed = await deploy("irsa");
        const both = { annotations: { "ray/ray-s3-sa": deployed.roleArn }, associations: { "ray/ray-s3-sa": deployed.roleArn }, bothEnvironments: true };
        const { finding, kube } = await canary(deployed, both);
        const env = [...kube.jobs.values()][0].env;
        assert.ok(env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_CONTAINER_CREDENTIALS_FULL_URI, "the pod had both");
        assert.equal(finding.ok, true, `${finding.message} / ${finding.fix}`);
        assert.match(finding.message, /via IRSA \(web identity\)/);
    });

    describe("directory buckets (S3 Express One Zone): the SDK's own path, CreateSession then the listing", () => {
        const DIRECTORY = "ckpt--usw2-az1--x-s3";
        const ACCESS_POINT = "team-a--usw2-az1--xa-s3";
        const expressArn = (name: string) => `arn:aws:s3express:us-west-2:${ACCOUNT}:${name.endsWith("--xa-s3") ? "accesspoint" : "bucket"}/${name}`;
        let express: S3ExpressStandIn | undefined;
        afterEach(async () => {
            await express?.stop();
            express = undefined;
        });

        /** A tenant of these buckets: its policy as the component builds it, deployed; the stand-in decides with it. */
        async function expressTenant(tenantBuckets: BucketAccess[]) {
            const resolved = validateArgs("ray", { namespace: "ray", clusterName: "ray-prod", buckets: tenantBuckets }).buckets;
            const permissions = buildS3PermissionsPolicy("aws", resolved, {}, { region: "us-west-2", account: ACCOUNT });
            const deployed = await deploy("irsa", permissions);
            express = await startS3Express(JSON.stringify(permissions), `arn:aws:sts::${ACCOUNT}:assumed-role/ray-role-canary/pod`, expressArn);
            return { deployed, cluster: { annotations: { "ray/ray-s3-sa": deployed.roleArn }, s3Endpoint: express.endpoint } };
        }

        for (const sdk of ["python", "cli"] as const) {
            it(`a read tenant's pod (${sdk === "python" ? "boto3" : "AWS CLI"}) gets a ReadOnly session, not ReadWrite, and lists the directory bucket`, async function () {
                if (sdk === "cli" && spawnSync("aws", ["--version"]).status !== 0) this.skip();
                const tenantBuckets = [{ bucket: DIRECTORY, access: "read" as const }];
                const { deployed, cluster } = await expressTenant(tenantBuckets);
                const { finding, findings } = await canary(deployed, cluster, { sdk }, tenantBuckets);
                assert.deepEqual(
                    findings.filter((f) => !f.ok),
                    [],
                );
                assert.match(finding.message, new RegExp(`lists s3://${DIRECTORY}/$`));
                // The SDK asked for no mode: S3 tries ReadWrite, which the policy refuses, then ReadOnly.
                assert.deepEqual(express!.sessions, [{ name: DIRECTORY, mode: "ReadOnly" }]);
                assert.deepEqual(express!.lists, [DIRECTORY]);
            });
        }

        it("a readWrite tenant gets a ReadWrite session; through the access point the component creates, the pod names the access point", async () => {
            const tenantBuckets = [{ bucket: DIRECTORY, prefixes: ["team-a/"], createAccessPoint: true, accessPointName: ACCESS_POINT }];
            const { deployed, cluster } = await expressTenant(tenantBuckets);
            const { finding } = await canary(deployed, cluster, {}, tenantBuckets);
            assert.equal(finding.ok, true, `${finding.message} / ${finding.fix}`);
            assert.match(finding.message, new RegExp(`lists s3://${ACCESS_POINT}/team-a/$`));
            assert.deepEqual(express!.sessions, [{ name: ACCESS_POINT, mode: "ReadWrite" }]);
        });

        const expressCases: [string, BucketAccess[], string, "ReadOnly" | "ReadWrite"][] = [
            ["a read tenant's directory bucket", [{ bucket: DIRECTORY, access: "read" }], DIRECTORY, "ReadOnly"],
            [
                "a readWrite tenant's access point",
                [{ bucket: DIRECTORY, prefixes: ["team-a/"], createAccessPoint: true, accessPointName: ACCESS_POINT }],
                ACCESS_POINT,
                "ReadWrite",
            ],
        ];
        for (const [what, tenantBuckets, target, mode] of expressCases) {
            it(`the real pyarrow on ${what}: its SDK opens its own ${mode} session and lists`, async function () {
                const pyarrow = findPyarrow();
                const loopback = typeof pyarrow === "string" ? pyarrow : await startAwsLoopback(moto, moto.region, []);
                if (typeof pyarrow === "string" || typeof loopback === "string") {
                    console.log(`      (skipped: ${typeof pyarrow === "string" ? pyarrow : loopback})`);
                    this.skip();
                }
                try {
                    const { deployed, cluster } = await expressTenant(tenantBuckets);
                    const { finding, kube } = await canary(deployed, { ...cluster, imageEnv: pyarrow.env, awsLoopback: loopback }, {}, tenantBuckets);
                    assert.equal(finding.ok, true, `${finding.message} / ${finding.fix}`);
                    assert.match(
                        finding.message,
                        new RegExp(`; pyarrow ${pyarrow.version.replace(/\./g, "\\.")} \\(AWS SDK for C\\+\\+ [^)]+\\) lists them too$`),
                    );
                    // boto3's session, then pyarrow's own: each SDK asks S3 Express for one.
                    assert.deepEqual(express!.sessions, [
                        { name: target, mode },
                        { name: target, mode },
                    ]);
                    assert.equal(express!.lists.length, 2);
                    const [job] = [...kube.jobs.values()];
                    assert.deepEqual([job.exitCode, job.signal], [0, undefined], job.log);
                } finally {
                    await loopback.stop();
                }
            });
        }

        it("a directory bucket the role does not reach: CreateSession is refused, and the canary reports AccessDenied from inside the pod", async () => {
            const { deployed, cluster } = await expressTenant([{ bucket: DIRECTORY }]);
            // The stack now lists another directory bucket (the role was not updated): the pod's session is refused.
            const { finding } = await canary(deployed, cluster, {}, [{ bucket: "other--usw2-az1--x-s3" }]);
            assert.equal(finding.ok, false);
            assert.match(finding.message, /other--usw2-az1--x-s3.*AccessDenied/s);
            assert.deepEqual(express!.sessions, [{ name: "other--usw2-az1--x-s3", mode: "denied" }]);
        });
    });

    it("an image with neither boto3 nor the AWS CLI is named, with the option to change it", async () => {
        const deployed = await deploy("irsa");
        const { finding } = await canary(deployed, { annotations: { "ray/ray-s3-sa": deployed.roleArn }, hide: ["python3", "aws"] });
        assert.equal(finding.ok, false);
        assert.match(finding.message, /neither python3 with boto3 nor the aws CLI found/);
        assert.match(finding.fix!, /--canary-image/);
    });
});
