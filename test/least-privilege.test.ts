/**
 * What the generated documents allow, decided by an independent IAM evaluator (iam-simulate), not by
 * reading our own JSON back.
 */
import { strict as assert } from "assert";
import { buildIrsaTrustPolicy, buildPodIdentityTrustPolicy, buildS3PermissionsPolicy, RayS3Access } from "../components";
import { ResolvedBucketAccess } from "../components/s3Policy";
import { ACCOUNT, identityAllows, podIdentityContext, trustAllows, webIdentityAllows } from "./support/iamOracle";
import { resetMocks, settle, useStack, valueOf } from "./support/mocks";

const ISSUER = "oidc.eks.us-west-2.amazonaws.com/id/ABC123";
const PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/${ISSUER}`;
const OTHER_PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/OTHER999`;
const KEY = `arn:aws:kms:us-west-2:${ACCOUNT}:key/1111aaaa-2222-bbbb-3333-cccc4444dddd`;
const OTHER_KEY = `arn:aws:kms:us-west-2:${ACCOUNT}:key/9999ffff-2222-bbbb-3333-cccc4444dddd`;

describe("least privilege, proven by an independent IAM evaluator", () => {
    describe("IRSA trust", () => {
        let trust: string;
        before(async () => {
            resetMocks();
            useStack("dev");
            const c = new RayS3Access("ray", {
                namespace: "ray",
                oidcProviderArn: PROVIDER_ARN,
                buckets: [{ bucket: "ckpt-bucket" }],
                additionalServiceAccounts: ["ray-jobs:submitter"],
            });
            trust = await valueOf(c.trustPolicy);
            await settle();
        });

        it("admits the trusted service accounts through the cluster's provider with the STS audience", () => {
            assert.equal(webIdentityAllows(trust, PROVIDER_ARN, "system:serviceaccount:ray:ray-s3-sa"), true);
            assert.equal(webIdentityAllows(trust, PROVIDER_ARN, "system:serviceaccount:ray-jobs:submitter"), true);
        });

        it("denies another name, another namespace, a crossed pair, another audience and another provider", () => {
            assert.equal(webIdentityAllows(trust, PROVIDER_ARN, "system:serviceaccount:ray:default"), false);
            assert.equal(webIdentityAllows(trust, PROVIDER_ARN, "system:serviceaccount:other:ray-s3-sa"), false);
            assert.equal(webIdentityAllows(trust, PROVIDER_ARN, "system:serviceaccount:ray:submitter"), false);
            assert.equal(webIdentityAllows(trust, PROVIDER_ARN, "system:serviceaccount:ray:ray-s3-sa", "sts.example.com"), false);
            assert.equal(webIdentityAllows(trust, OTHER_PROVIDER_ARN, "system:serviceaccount:ray:ray-s3-sa"), false);
        });

        it("does not let a plain AssumeRole or the Pod Identity agent in", async () => {
            assert.equal(await trustAllows(trust, "sts:AssumeRole", `arn:aws:iam::${ACCOUNT}:root`, {}), false);
            assert.equal(await trustAllows(trust, "sts:AssumeRole", "pods.eks.amazonaws.com", podIdentityContext("c", "ray", "ray-s3-sa")), false);
        });

        it("the evaluator is sensitive: a trust without the sub pin admits any service account", () => {
            const loose = buildIrsaTrustPolicy(PROVIDER_ARN, [{ namespace: "ray", name: "ray-s3-sa" }]);
            delete (loose.Statement[0].Condition!.StringEquals as any)[`${ISSUER}:sub`];
            assert.equal(webIdentityAllows(loose, PROVIDER_ARN, "system:serviceaccount:evil:anything"), true);
        });
    });

    describe("Pod Identity trust", () => {
        const trust = buildPodIdentityTrustPolicy({
            accountId: ACCOUNT,
            clusterName: "ray-prod",
            serviceAccounts: [
                { namespace: "ray", name: "ray-s3-sa" },
                { namespace: "ray-jobs", name: "submitter" },
            ],
        });
        const agent = "pods.eks.amazonaws.com";

        it("lets the EKS Pod Identity agent assume and tag for the associated service accounts", async () => {
            for (const action of ["sts:AssumeRole", "sts:TagSession"]) {
                assert.equal(await trustAllows(trust, action, agent, podIdentityContext("ray-prod", "ray", "ray-s3-sa")), true, action);
                assert.equal(await trustAllows(trust, action, agent, podIdentityContext("ray-prod", "ray-jobs", "submitter")), true, action);
            }
        });

        it("denies another cluster, account, namespace, service account, a crossed pair, and other principals", async () => {
            const cases: [string, Record<string, string>][] = [
                ["other cluster", podIdentityContext("dev-cluster", "ray", "ray-s3-sa")],
                ["other account", podIdentityContext("ray-prod", "ray", "ray-s3-sa", "444455556666")],
                ["other namespace", podIdentityContext("ray-prod", "other", "ray-s3-sa")],
                ["other service account", podIdentityContext("ray-prod", "ray", "default")],
                ["crossed pair", podIdentityContext("ray-prod", "ray", "submitter")],
            ];
            for (const [label, context] of cases) {
                assert.equal(await trustAllows(trust, "sts:AssumeRole", agent, context), false, label);
            }
            assert.equal(await trustAllows(trust, "sts:AssumeRole", "ec2.amazonaws.com", podIdentityContext("ray-prod", "ray", "ray-s3-sa")), false);
            assert.equal(await trustAllows(trust, "sts:AssumeRole", `arn:aws:iam::${ACCOUNT}:root`, podIdentityContext("ray-prod", "ray", "ray-s3-sa")), false);
        });
    });

    describe("S3 and KMS permissions", () => {
        const buckets: ResolvedBucketAccess[] = [
            { bucket: "ckpt-bucket", access: "readWrite", prefixes: ["checkpoints/", "logs/"], kmsKeyArns: [KEY] },
            { bucket: "datasets", access: "read", prefixes: [], kmsKeyArns: [] },
        ];
        const policy = buildS3PermissionsPolicy("aws", buckets);
        const allows = (action: string, resource: string, ctx: Record<string, string> = {}) => identityAllows(policy, action, resource, ctx);

        it("allows reading, writing and multipart uploads under the granted prefixes", async () => {
            for (const action of [
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            ]) {
                assert.equal(await allows(action, "arn:aws:s3:::ckpt-bucket/checkpoints/run-1/ckpt.pt"), true, action);
                assert.equal(await allows(action, "arn:aws:s3:::ckpt-bucket/logs/x.log"), true, action);
            }
            assert.equal(await allows("s3:ListBucket", "arn:aws:s3:::ckpt-bucket", { "s3:prefix": "checkpoints/run-1/" }), true);
            assert.equal(await allows("s3:ListBucketMultipartUploads", "arn:aws:s3:::ckpt-bucket"), true);
            assert.equal(await allows("s3:GetBucketLocation", "arn:aws:s3:::ckpt-bucket"), true);
        });

        it("denies other prefixes, listing outside them, and other buckets", async () => {
            assert.equal(await allows("s3:GetObject", "arn:aws:s3:::ckpt-bucket/secrets/key.pem"), false);
            assert.equal(await allows("s3:PutObject", "arn:aws:s3:::ckpt-bucket/checkpoint"), false);
            assert.equal(await allows("s3:ListBucket", "arn:aws:s3:::ckpt-bucket", { "s3:prefix": "secrets/" }), false);
            assert.equal(await allows("s3:ListBucket", "arn:aws:s3:::ckpt-bucket", { "s3:prefix": "" }), false);
            assert.equal(await allows("s3:GetObject", "arn:aws:s3:::other-bucket/checkpoints/x"), false);
            assert.equal(await allows("s3:PutObject", "arn:aws:s3:::ckpt-bucket-2/checkpoints/x"), false);
        });

        it("a read bucket can be read and listed whole but not written", async () => {
            assert.equal(await allows("s3:GetObject", "arn:aws:s3:::datasets/imagenet/train/0.tar"), true);
            assert.equal(await allows("s3:ListBucket", "arn:aws:s3:::datasets", { "s3:prefix": "imagenet/" }), true);
            for (const action of ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]) {
                assert.equal(await allows(action, "arn:aws:s3:::datasets/imagenet/x"), false, action);
            }
        });

        it("denies every bucket-admin action", async () => {
            const bucket = "arn:aws:s3:::ckpt-bucket";
            const object = "arn:aws:s3:::ckpt-bucket/checkpoints/x";
            const cases: [string, string][] = [
                ["s3:PutBucketPolicy", bucket],
                ["s3:DeleteBucketPolicy", bucket],
                ["s3:PutBucketAcl", bucket],
                ["s3:DeleteBucket", bucket],
                ["s3:PutLifecycleConfiguration", bucket],
                ["s3:PutBucketPublicAccessBlock", bucket],
                ["s3:PutEncryptionConfiguration", bucket],
                ["s3:CreateBucket", bucket],
                ["s3:PutObjectAcl", object],
                ["s3:BypassGovernanceRetention", object],
                ["s3:DeleteObjectVersion", object],
                ["s3:PutObjectRetention", object],
            ];
            for (const [action, resource] of cases) {
                assert.equal(await allows(action, resource), false, action);
            }
        });

        it("KMS: decrypt and generate data keys on the bucket's key only", async () => {
            assert.equal(await allows("kms:Decrypt", KEY), true);
            assert.equal(await allows("kms:GenerateDataKey", KEY), true);
            assert.equal(await allows("kms:Decrypt", OTHER_KEY), false);
            assert.equal(await allows("kms:Encrypt", KEY), false);
            assert.equal(await allows("kms:ScheduleKeyDeletion", KEY), false);
            assert.equal(await allows("kms:CreateGrant", KEY), false);
        });

        it("a read-only bucket's key is granted decrypt but not GenerateDataKey", async () => {
            const readOnly = buildS3PermissionsPolicy("aws", [{ bucket: "datasets", access: "read", prefixes: [], kmsKeyArns: [KEY] }]);
            assert.equal(await identityAllows(readOnly, "kms:Decrypt", KEY), true);
            assert.equal(await identityAllows(readOnly, "kms:GenerateDataKey", KEY), false);
        });
    });

    describe("documents are deterministic and minimal", () => {
        const a: ResolvedBucketAccess = { bucket: "b-one", access: "read", prefixes: ["y/", "x/"], kmsKeyArns: [KEY] };
        const b: ResolvedBucketAccess = { bucket: "a-two", access: "readWrite", prefixes: [], kmsKeyArns: [OTHER_KEY, KEY] };

        it("same input, byte-identical JSON, whatever the order of buckets, prefixes, keys and service accounts", () => {
            const one = JSON.stringify(buildS3PermissionsPolicy("aws", [a, b]));
            const two = JSON.stringify(buildS3PermissionsPolicy("aws", [b, { ...a, prefixes: ["x/", "y/"] }]));
            assert.equal(one, two);
            const t1 = JSON.stringify(
                buildIrsaTrustPolicy(PROVIDER_ARN, [
                    { namespace: "a", name: "x" },
                    { namespace: "b", name: "y" },
                ]),
            );
            const t2 = JSON.stringify(
                buildIrsaTrustPolicy(PROVIDER_ARN, [
                    { namespace: "b", name: "y" },
                    { namespace: "a", name: "x" },
                ]),
            );
            assert.equal(t1, t2);
        });

        it('never a wildcard action, never Resource "*"', () => {
            const doc = buildS3PermissionsPolicy("aws", [a, b]);
            for (const statement of doc.Statement) {
                for (const action of [statement.Action].flat()) {
                    assert.doesNotMatch(action, /\*/, `${statement.Sid} grants ${action}`);
                }
                for (const resource of [statement.Resource].flat()) {
                    assert.notEqual(resource, "*");
                }
            }
        });
    });
});
