/**
 * The generated documents against an AWS API emulator (moto on loopback): IAM accepts them, and with
 * enforcement on, credentials for a role holding the generated permissions policy can write where the
 * policy allows and get AccessDenied elsewhere.
 *
 * moto evaluates neither web identity nor service principals and ignores conditions, so the role used for
 * S3 calls trusts a plain IAM user (assume-role); the trust documents themselves are checked by
 * `update-assume-role-policy`, which validates them.
 */
import {
    CreateRoleCommand,
    CreatePolicyCommand,
    IAMClient,
    UpdateAssumeRolePolicyCommand,
    CreateUserCommand,
    CreateAccessKeyCommand,
    PutUserPolicyCommand,
    AttachRolePolicyCommand,
} from "@aws-sdk/client-iam";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { strict as assert } from "assert";
import { RayS3Access } from "../../components";
import { resetMocks, settle, useStack, valueOf } from "../support/mocks";
import { MotoServer, startMoto } from "../support/moto";

const ACCOUNT = "123456789012"; // moto's default account

type Mode =
    | "irsa"
    | "podIdentity"
    | "abac"
    | "irsaAndPodIdentity"
    | "irsa, two clusters"
    | "podIdentity, two clusters"
    | "abac, two clusters"
    | "irsa, custom audience"
    | "podIdentity, session tags off"
    | "sessionPolicy";

async function generated(mode: Mode) {
    resetMocks();
    useStack("dev");
    const identity = mode.split(",")[0] as "irsa" | "podIdentity" | "abac" | "irsaAndPodIdentity" | "sessionPolicy";
    const twoClusters = mode.endsWith("two clusters");
    const irsa = identity === "irsa" || identity === "irsaAndPodIdentity";
    const provider = (id: string) => `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/${id}`;
    const shared = identity === "abac" || identity === "sessionPolicy";
    const component = new RayS3Access(`moto-${identity}`, {
        identity: shared ? "podIdentity" : identity,
        roleSharing: shared ? identity : "perTenant",
        ...(mode.endsWith("custom audience") ? { webIdentityToken: { audience: "ray.example.com" } } : {}),
        ...(mode.endsWith("session tags off") ? { disableSessionTags: true } : {}),
        ...(identity === "sessionPolicy"
            ? {
                  sessionPolicies: [
                      { serviceAccount: "ray:ray-s3-sa", buckets: [{ bucket: "ckpt-bucket", prefixes: ["checkpoints/"] }] },
                      { serviceAccount: "ray-jobs:submitter", buckets: [{ bucket: "datasets", access: "read" as const }] },
                  ],
              }
            : {}),
        clusterName: "ray-prod",
        namespace: "ray",
        ...(irsa ? { oidcProviderArn: provider("ABC123") } : {}),
        ...(twoClusters ? { additionalClusters: [irsa ? { oidcProviderArn: provider("DEF456") } : { clusterName: "ray-green" }] } : {}),
        additionalServiceAccounts: ["ray-jobs:submitter"],
        buckets: [
            { bucket: "ckpt-bucket", prefixes: ["checkpoints/"] },
            { bucket: "datasets", access: "read" },
        ],
    });
    const [trustPolicy, permissionsPolicy] = await valueOf(component.trustPolicy.apply((t) => component.permissionsPolicy.apply((p) => [t, p])));
    await settle();
    return { trustPolicy, permissionsPolicy };
}

function errorName(error: unknown): string {
    return (error as { name?: string; Code?: string }).name ?? (error as { Code?: string }).Code ?? String(error);
}

describe("generated documents against moto (AWS API emulator)", function () {
    this.timeout(120_000);
    let moto: MotoServer;
    let iam: IAMClient;
    let clientConfig: { endpoint: string; region: string; credentials: MotoServer["credentials"] };

    before(async () => {
        moto = await startMoto();
        clientConfig = { endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials };
        iam = new IAMClient(clientConfig);
    });
    after(async () => {
        await moto?.stop();
    });
    beforeEach(async () => {
        await moto.reset();
        await moto.enforceAuth(false);
    });

    it("moto validates documents: a malformed one is rejected (the check below can fail)", async () => {
        await assert.rejects(
            iam.send(
                new CreatePolicyCommand({ PolicyName: "bad", PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow" }] }) }),
            ),
            (error) => errorName(error) === "MalformedPolicyDocument" || errorName(error) === "MalformedPolicyDocumentException",
        );
    });

    for (const mode of [
        "irsa",
        "podIdentity",
        "abac",
        "irsaAndPodIdentity",
        "irsa, two clusters",
        "podIdentity, two clusters",
        "abac, two clusters",
        "irsa, custom audience",
        "podIdentity, session tags off",
        "sessionPolicy",
    ] as const) {
        it(`IAM accepts the ${mode} permissions policy and trust policy`, async () => {
            const identity = mode.replace(/[^A-Za-z]+/g, "-");
            const { trustPolicy, permissionsPolicy } = await generated(mode);
            const policy = await iam.send(new CreatePolicyCommand({ PolicyName: `ray-${identity}`, PolicyDocument: permissionsPolicy }));
            assert.ok(policy.Policy?.Arn);
            const placeholderTrust = JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "sts:AssumeRole" }],
            });
            await iam.send(new CreateRoleCommand({ RoleName: `ray-${identity}`, AssumeRolePolicyDocument: placeholderTrust }));
            await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: `ray-${identity}`, PolicyDocument: trustPolicy }));
        });
    }

    it("IAM accepts the cross-account chain: the assets role's trust of the workload role, and the assume policy", async () => {
        const { buildAssetsTrustPolicy, buildAssumeAssetsPolicy } = await import("../../components/crossAccount");
        const workload = await iam.send(
            new CreateRoleCommand({
                RoleName: "ray-workload",
                AssumeRolePolicyDocument: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "sts:AssumeRole" }],
                }),
            }),
        );
        const chain = { tagSession: true, externalId: "ray-prod" };
        const assets = await iam.send(
            new CreateRoleCommand({ RoleName: "ray-assets", AssumeRolePolicyDocument: JSON.stringify(buildAssetsTrustPolicy(workload.Role!.Arn!, chain)) }),
        );
        // Pod Identity: every association's external id in the trust.
        const ids = { tagSession: true, externalId: ["11111111-2222-3333-4444-555555555555", "66666666-7777-8888-9999-000000000000"] };
        await iam.send(
            new CreateRoleCommand({ RoleName: "ray-assets-pi", AssumeRolePolicyDocument: JSON.stringify(buildAssetsTrustPolicy(workload.Role!.Arn!, ids)) }),
        );
        await iam.send(
            new CreatePolicyCommand({ PolicyName: "assume-assets", PolicyDocument: JSON.stringify(buildAssumeAssetsPolicy(assets.Role!.Arn!, chain)) }),
        );
    });

    it("IAM accepts the storage kinds' documents: a directory bucket, an access point, Mountpoint", async () => {
        const { buildS3PermissionsPolicy } = await import("../../components/s3Policy");
        const documents = {
            directory: buildS3PermissionsPolicy(
                "aws",
                [{ bucket: "ckpt--use1-az4--x-s3", access: "read", prefixes: [], kmsKeyArns: [], directory: { zoneId: "use1-az4" } }],
                {},
                { region: "us-east-1", account: ACCOUNT },
            ),
            accessPoint: buildS3PermissionsPolicy("aws", [
                {
                    bucket: "ray-ap",
                    access: "readWrite",
                    prefixes: ["checkpoints/"],
                    kmsKeyArns: [],
                    accessPoint: { arn: `arn:aws:s3:us-east-1:${ACCOUNT}:accesspoint/ray-ap` },
                },
            ]),
            mountpoint: buildS3PermissionsPolicy("aws", [
                { bucket: "ray-ckpt", access: "mountpoint", allowDelete: true, prefixes: ["checkpoints/"], kmsKeyArns: [] },
            ]),
        };
        for (const [name, document] of Object.entries(documents)) {
            const created = await iam.send(new CreatePolicyCommand({ PolicyName: `storage-${name}`, PolicyDocument: JSON.stringify(document) }));
            assert.ok(created.Policy?.Arn, name);
        }
    });

    it("with enforcement on, assumed-role credentials write under the granted prefix and are denied elsewhere", async () => {
        const { permissionsPolicy } = await generated("irsa");
        const s3Admin = new S3Client({ ...clientConfig, forcePathStyle: true });
        for (const bucket of ["ckpt-bucket", "datasets", "other-bucket"]) {
            await s3Admin.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: "us-west-2" } }));
        }
        await s3Admin.send(new PutObjectCommand({ Bucket: "datasets", Key: "imagenet/0.tar", Body: "shard" }));

        await iam.send(new CreateUserCommand({ UserName: "pod-stand-in" }));
        const key = await iam.send(new CreateAccessKeyCommand({ UserName: "pod-stand-in" }));
        await iam.send(
            new CreateRoleCommand({
                RoleName: "ray-workload",
                AssumeRolePolicyDocument: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/pod-stand-in` }, Action: "sts:AssumeRole" }],
                }),
            }),
        );
        const policy = await iam.send(new CreatePolicyCommand({ PolicyName: "ray-workload-s3", PolicyDocument: permissionsPolicy }));
        await iam.send(new AttachRolePolicyCommand({ RoleName: "ray-workload", PolicyArn: policy.Policy!.Arn! }));
        await iam.send(
            new PutUserPolicyCommand({
                UserName: "pod-stand-in",
                PolicyName: "assume",
                PolicyDocument: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: `arn:aws:iam::${ACCOUNT}:role/ray-workload` }],
                }),
            }),
        );

        await moto.enforceAuth(true);
        const sts = new STSClient({
            endpoint: moto.endpoint,
            region: moto.region,
            credentials: { accessKeyId: key.AccessKey!.AccessKeyId!, secretAccessKey: key.AccessKey!.SecretAccessKey! },
        });
        const session = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/ray-workload`, RoleSessionName: "ray-head" }));
        const s3 = new S3Client({
            endpoint: moto.endpoint,
            region: moto.region,
            forcePathStyle: true,
            credentials: {
                accessKeyId: session.Credentials!.AccessKeyId!,
                secretAccessKey: session.Credentials!.SecretAccessKey!,
                sessionToken: session.Credentials!.SessionToken!,
            },
        });

        await s3.send(new PutObjectCommand({ Bucket: "ckpt-bucket", Key: "checkpoints/run-1/ckpt.pt", Body: "weights" }));
        const read = await s3.send(new GetObjectCommand({ Bucket: "datasets", Key: "imagenet/0.tar" }));
        assert.equal(await read.Body!.transformToString(), "shard");

        const denied = async (bucket: string, objectKey: string) =>
            assert.rejects(s3.send(new PutObjectCommand({ Bucket: bucket, Key: objectKey, Body: "x" })), (error) => errorName(error) === "AccessDenied");
        await denied("other-bucket", "checkpoints/run-1/ckpt.pt");
        await denied("ckpt-bucket", "secrets/leak.txt");
        await denied("datasets", "imagenet/overwrite.tar");
        await moto.enforceAuth(false);
    });
});
