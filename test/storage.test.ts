/**
 * Directory buckets (S3 Express One Zone): the policy a bucket entry gets, decided by the independent evaluator,
 * and the validation that stops a general-purpose policy on a directory bucket (issue: "a silent wrong policy").
 */
import { strict as assert } from "assert";
import { evaluateProgram } from "../automation/mockEngine";
import { RayS3Access, RayS3AccessArgs } from "../components";
import { runProgram } from "../programs/main";
import { ACCOUNT, identityAllows } from "./support/iamOracle";
import { evaluatePolicies } from "../automation/evaluatePolicies";
import { policies } from "../policies/rules";
import { expectNone, expectViolations, iamPolicy, run } from "./policies/harness";
import { recordedForPolicies, resetMocks, settle, useStack, valueOf, world } from "./support/mocks";

const BUCKET = "ckpt--usw2-az1--x-s3";
const arn = (name = BUCKET, region = "us-west-2", account = ACCOUNT) => `arn:aws:s3express:${region}:${account}:bucket/${name}`;

async function policyFor(buckets: RayS3AccessArgs["buckets"], extra: Partial<RayS3AccessArgs> = {}): Promise<string> {
    const component = new RayS3Access("ray", { namespace: "ray", identity: "podIdentity", clusterName: "ray-prod", buckets, ...extra });
    const policy = await valueOf(component.permissionsPolicy);
    await settle();
    return policy;
}

/** Constructing the component with these arguments (over a Pod Identity tenant) fails, matching `pattern`. */
function refuse(args: Partial<RayS3AccessArgs>, pattern: RegExp): void {
    assert.throws(
        () => new RayS3Access("bad", { namespace: "ray", identity: "podIdentity", clusterName: "c", buckets: [], ...args } as RayS3AccessArgs),
        pattern,
    );
}

const session = (policy: string, mode: "ReadOnly" | "ReadWrite", bucket = arn()) =>
    identityAllows(policy, "s3express:CreateSession", bucket, { "s3express:SessionMode": mode });

describe("directory buckets (S3 Express One Zone)", () => {
    beforeEach(() => {
        resetMocks();
        useStack("dev");
    });

    it("a name ending in --x-s3 gets s3express:CreateSession on its s3express ARN in the provider's region and account, not a general-purpose policy", async () => {
        const policy = await policyFor([{ bucket: BUCKET }]);
        const [statement] = JSON.parse(policy).Statement;
        assert.deepEqual(statement, { Sid: "DirectoryBucketCkptUsw2Az1XS3", Effect: "Allow", Action: "s3express:CreateSession", Resource: arn() });
        assert.doesNotMatch(policy, /arn:aws:s3:::/, "no general-purpose ARN that would grant nothing");
    });

    it("the evaluator: read gets ReadOnly sessions only; readWrite gets both; other buckets, zones and accounts are denied", async () => {
        const read = await policyFor([{ bucket: BUCKET, access: "read" }]);
        assert.equal(await session(read, "ReadOnly"), true);
        assert.equal(await session(read, "ReadWrite"), false);
        resetMocks();
        const write = await policyFor([{ bucket: BUCKET }]);
        assert.equal(await session(write, "ReadWrite"), true);
        assert.equal(await session(write, "ReadOnly"), true);
        assert.equal(await session(write, "ReadWrite", arn("other--usw2-az1--x-s3")), false, "another directory bucket");
        assert.equal(await session(write, "ReadWrite", arn(BUCKET, "us-west-2", "444455556666")), false, "the same name in another account");
        assert.equal(await identityAllows(write, "s3:GetObject", `arn:aws:s3:::${BUCKET}/x`), false, "no general-purpose access either");
    });

    it("an ARN names the region and account; kind directory is explicit; KMS keys as for general-purpose buckets", async () => {
        const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1111aaaa-2222-bbbb-3333-cccc4444dddd`;
        const other = arn("data--use1-az4--x-s3", "us-east-1");
        const policy = await policyFor([{ bucket: other, kind: "directory", access: "read", kmsKeyArns: [key] }]);
        assert.equal(await session(policy, "ReadOnly", other), true);
        assert.equal(await identityAllows(policy, "kms:Decrypt", key), true);
        assert.equal(await identityAllows(policy, "kms:GenerateDataKey", key), false, "read only decrypts");
    });

    it("refuses what would be silently wrong, before anything is created", () => {
        const refuseBuckets = (buckets: RayS3AccessArgs["buckets"], pattern: RegExp, extra: Partial<RayS3AccessArgs> = {}) =>
            refuse({ buckets, ...extra }, pattern);
        refuseBuckets(
            [{ bucket: BUCKET, prefixes: ["checkpoints/"] }],
            /buckets\[0\].prefixes: "ckpt--usw2-az1--x-s3" is a directory bucket .* an identity policy cannot limit them to prefixes/,
        );
        refuseBuckets(
            [{ bucket: "plain-bucket", kind: "directory" }],
            /buckets\[0\].bucket "plain-bucket" is given kind "directory" but not a directory bucket name: .*BASE--ZONEID--x-s3/,
        );
        refuseBuckets([{ bucket: BUCKET, kind: "generalPurpose" }], /ends with "--x-s3", which S3 reserves for directory buckets/);
        refuseBuckets([{ bucket: "ckpt--usw2--x-s3" }], /"usw2" is not a zone id/);
        refuseBuckets(
            [{ bucket: arn(BUCKET, "us-east-1") }],
            /the directory bucket "ckpt--usw2-az1--x-s3" is in zone usw2-az1, which is not in us-east-1 \(its zones start with "use1"\)/,
        );
        refuseBuckets([{ bucket: BUCKET }], /roleSharing "abac" cannot use directory buckets/, { roleSharing: "abac" });
        refuseBuckets([{ bucket: BUCKET, kind: "express" as any }], /buckets\[0\].kind "express" is not one of "generalPurpose", "directory"/);
        assert.equal(world.resources.length, 0);
    });

    it("a zone outside the provider's region is refused when the region is known (check, offline, with aws:region)", async () => {
        const config = (region: string) => ({
            "aws:region": region,
            "ray-s3-access:identity": "podIdentity",
            "ray-s3-access:clusterName": "ray-prod",
            "ray-s3-access:tenants": JSON.stringify([{ namespace: "ray", buckets: [{ bucket: BUCKET, access: "read" }] }]),
        });
        await assert.rejects(
            evaluateProgram({ project: "ray-s3-access", stack: "dev", config: config("us-east-1"), program: runProgram }),
            /the directory bucket "ckpt--usw2-az1--x-s3" is in zone usw2-az1, but the stack's AWS provider is in us-east-1 \(zones "use1-..."\)/,
        );
        const { resources } = await evaluateProgram({ project: "ray-s3-access", stack: "dev", config: config("us-west-2"), program: runProgram });
        const policy = JSON.parse(resources.find((r) => r.type === "aws:iam/policy:Policy")!.inputs.policy);
        assert.equal(policy.Statement[0].Resource, `arn:aws:s3express:us-west-2:123456789012:bucket/${BUCKET}`);
        assert.deepEqual(policy.Statement[0].Condition, { StringEquals: { "s3express:SessionMode": "ReadOnly" } });
    });

    describe("the policy pack on S3 Express", () => {
        const doc = (...Statement: object[]) => ({ Version: "2012-10-17", Statement });
        const check = (document: object) => run(policies, [iamPolicy(document, "prod")]);

        it("s3express:* (and * on directory buckets) is every S3 Express action, as s3:* is every S3 action", async () => {
            expectViolations(
                await check(doc({ Effect: "Allow", Action: "s3express:*", Resource: "*" })),
                "no-s3-wildcard-in-production",
                1,
                /grants every S3 Express \(directory bucket\) action/,
            );
            expectViolations(
                await check(doc({ Effect: "Allow", Action: "s3express:*", Resource: arn() })),
                "no-s3-wildcard-in-production",
                1,
                /on Resource "arn:aws:s3express/,
            );
        });

        it("a directory bucket's admin actions are findings; CreateSession on one bucket is not", async () => {
            expectViolations(
                await check(doc({ Effect: "Allow", Action: "s3express:PutBucketPolicy", Resource: arn() })),
                "no-bucket-admin-for-workloads",
                1,
                /directory-bucket admin actions \(s3express:putbucketpolicy\)/,
            );
            expectNone(
                await check(
                    doc({
                        Effect: "Allow",
                        Action: "s3express:CreateSession",
                        Resource: arn(),
                        Condition: { StringEquals: { "s3express:SessionMode": "ReadOnly" } },
                    }),
                ),
            );
        });

        it("the component's directory-bucket policy passes the whole pack in production", async () => {
            useStack("prod");
            await policyFor([
                { bucket: BUCKET, access: "read" },
                { bucket: "plain-bucket", prefixes: ["a/"] },
            ]);
            assert.deepEqual(await evaluatePolicies(policies, recordedForPolicies("prod")), []);
            useStack("dev");
        });
    });
});

describe("access points instead of buckets", () => {
    const AP = `arn:aws:s3:us-west-2:${ACCOUNT}:accesspoint/ray-ckpt-ap`;
    beforeEach(() => {
        resetMocks();
        useStack("dev");
    });

    it("grants on the access point's ARN and its objects, not on a bucket; the evaluator decides each request", async () => {
        const policy = await policyFor([{ bucket: AP, prefixes: ["checkpoints/"] }]);
        const statements = JSON.parse(policy).Statement;
        assert.ok(
            statements.every((st: any) => [st.Resource].flat().every((r: string) => r.startsWith(AP))),
            policy,
        );
        const object = (key: string, ap = AP) => `${ap}/object/${key}`;
        assert.equal(await identityAllows(policy, "s3:PutObject", object("checkpoints/step-1")), true);
        assert.equal(await identityAllows(policy, "s3:GetObject", object("other/x")), false, "another prefix");
        assert.equal(
            await identityAllows(policy, "s3:GetObject", object("checkpoints/x", `arn:aws:s3:us-west-2:${ACCOUNT}:accesspoint/other-ap`)),
            false,
            "another access point",
        );
        assert.equal(await identityAllows(policy, "s3:GetObject", "arn:aws:s3:::ray-ckpt/checkpoints/x"), false, "the bucket directly");
        assert.equal(await identityAllows(policy, "s3:ListBucket", AP, { "s3:prefix": "checkpoints/run-1/" }), true);
        assert.equal(await identityAllows(policy, "s3:ListBucket", AP, { "s3:prefix": "other/" }), false);
    });

    it("an alias or a malformed ARN is refused with the ARN to give; the pack judges s3:* on an access point like on a bucket", async () => {
        refuse(
            { buckets: [{ bucket: "ray-ckpt-ap-abcdefghijklmnopqrstuvwxyz1234-s3alias" }] },
            /access point alias, which IAM policies cannot name; give the access point's ARN/,
        );
        refuse(
            { buckets: [{ bucket: `arn:aws:s3:us-west-2:${ACCOUNT}:accesspoint/Bad_Name` }] },
            /is not an access point ARN: expected arn:PARTITION:s3:REGION:ACCOUNT:accesspoint\/NAME/,
        );
        const doc = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: [AP, `${AP}/object/*`] }] };
        expectViolations(
            await run(policies, [iamPolicy(doc, "prod")]),
            "no-s3-wildcard-in-production",
            1,
            /grants every S3 action .* on Resource "arn:aws:s3:us-west-2:111122223333:accesspoint\/ray-ckpt-ap"/,
        );
        useStack("prod");
        await policyFor([{ bucket: AP, prefixes: ["checkpoints/"] }]);
        assert.deepEqual(await evaluatePolicies(policies, recordedForPolicies("prod")), []);
        useStack("dev");
    });
});

describe("Mountpoint for Amazon S3", () => {
    beforeEach(() => {
        resetMocks();
        useStack("dev");
    });

    it("access mountpoint grants exactly what Mountpoint calls, DeleteObject only with allowDelete (the evaluator decides)", async () => {
        const policy = await policyFor([{ bucket: "ray-ckpt", access: "mountpoint", prefixes: ["checkpoints/"] }]);
        const object = "arn:aws:s3:::ray-ckpt/checkpoints/step-1";
        for (const action of ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"])
            assert.equal(await identityAllows(policy, action, object), true, action);
        assert.equal(await identityAllows(policy, "s3:DeleteObject", object), false, "no deletes unless asked");
        assert.equal(await identityAllows(policy, "s3:GetObjectVersion", object), false, "nothing Mountpoint does not call");
        assert.equal(await identityAllows(policy, "s3:ListBucket", "arn:aws:s3:::ray-ckpt", { "s3:prefix": "checkpoints/" }), true);
        assert.equal(await identityAllows(policy, "s3:PutObject", "arn:aws:s3:::ray-ckpt/other/x"), false);
        resetMocks();
        const deleting = await policyFor([{ bucket: "ray-ckpt", access: "mountpoint", allowDelete: true, prefixes: ["checkpoints/"] }]);
        assert.equal(await identityAllows(deleting, "s3:DeleteObject", object), true);
        resetMocks();
        const express = await policyFor([{ bucket: BUCKET, access: "mountpoint" }]);
        assert.equal(await session(express, "ReadWrite"), true, "Mountpoint's directory-bucket sessions write");
    });

    it("mountpointVolumes: a static PV and PVC per bucket and prefix, with the fields of the driver's static-provisioning example", async () => {
        const component = new RayS3Access("ray", {
            namespace: "ray",
            oidcProviderArn: `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC`,
            mountpointVolumes: true,
            buckets: [
                { bucket: "ray-ckpt", access: "mountpoint", allowDelete: true, prefixes: ["checkpoints/"] },
                { bucket: "datasets", access: "read" },
            ],
        });
        await valueOf(component.roleArn);
        await settle();
        const pvs = world.resources.filter((r) => r.type === "kubernetes:core/v1:PersistentVolume");
        const pvcs = world.resources.filter((r) => r.type === "kubernetes:core/v1:PersistentVolumeClaim");
        assert.equal(pvs.length, 2);
        assert.equal(pvcs.length, 2);
        const pv = pvs.find((p) => p.inputs.spec.csi.volumeAttributes.bucketName === "ray-ckpt")!;
        assert.equal(pv.inputs.spec.csi.driver, "s3.csi.aws.com");
        assert.equal(pv.inputs.spec.csi.volumeAttributes.authenticationSource, "pod");
        assert.equal(pv.inputs.spec.csi.volumeAttributes.stsRegion, "us-west-2", "IRSA pods need the STS region");
        assert.equal(pv.inputs.spec.storageClassName, "");
        assert.deepEqual(pv.inputs.spec.mountOptions, ["prefix checkpoints/", "region us-west-2", "allow-delete"]);
        assert.deepEqual(pv.inputs.spec.accessModes, ["ReadWriteMany"]);
        assert.deepEqual(pv.inputs.spec.claimRef, { namespace: "ray", name: "s3-ray-ckpt-checkpoints" });
        assert.equal(pv.inputs.spec.csi.volumeHandle, pv.inputs.metadata.name, "unique per volume");
        const pvc = pvcs.find((c) => c.inputs.metadata.name === "s3-ray-ckpt-checkpoints")!;
        assert.equal(pvc.inputs.metadata.namespace, "ray");
        assert.equal(pvc.inputs.spec.volumeName, pv.inputs.metadata.name);
        assert.equal(pvc.inputs.spec.storageClassName, "");
        const readOnly = pvs.find((p) => p.inputs.spec.csi.volumeAttributes.bucketName === "datasets")!;
        assert.deepEqual(readOnly.inputs.spec.mountOptions, ["region us-west-2", "read-only"]);
        assert.deepEqual(readOnly.inputs.spec.accessModes, ["ReadOnlyMany"]);
    });

    it("refuses allowDelete outside mountpoint access, and volumes for access points", () => {
        const refuse = (args: Partial<RayS3AccessArgs>, pattern: RegExp) =>
            assert.throws(
                () => new RayS3Access("bad", { namespace: "ray", identity: "podIdentity", clusterName: "c", buckets: [], ...args } as RayS3AccessArgs),
                pattern,
            );
        refuse(
            { buckets: [{ bucket: "ray-ckpt", access: "readWrite", allowDelete: true }] },
            /buckets\[0\].allowDelete is only valid with access "mountpoint"/,
        );
        refuse(
            { mountpointVolumes: true, buckets: [{ bucket: `arn:aws:s3:us-west-2:${ACCOUNT}:accesspoint/ray-ap`, access: "mountpoint" }] },
            /mountpointVolumes cannot mount access points/,
        );
    });
});
