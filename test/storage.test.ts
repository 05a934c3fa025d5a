/**
 * Directory buckets (S3 Express One Zone): the policy a bucket entry gets, decided by the independent evaluator,
 * and the validation that stops a general-purpose policy on a directory bucket (issue: "a silent wrong policy").
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { evaluateProgram } from "../automation/mockEngine";
import { buildAccessPointDelegationStatement, RayS3Access, RayS3AccessArgs } from "../components";
import { runProgram } from "../programs/main";
import { ACCOUNT, identityAllows, resourcePolicyAllows } from "./support/iamOracle";
import { evaluatePolicies } from "../automation/evaluatePolicies";
import { policies } from "../policies/rules";
import { BUCKET_POLICY_TYPE } from "../policies/lib/resources";
import { expectNone, expectViolations, iamPolicy, programViolations, run } from "./policies/harness";
import { recordedForPolicies, resetMocks, resourcesOfType, settle, useStack, valueOf, world } from "./support/mocks";

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

/** The bundled program, offline (as `check` runs it), over these tenants: Pod Identity on cluster ray-prod. */
function renderTenants(tenants: unknown[], stack = "dev", region = "us-west-2") {
    return evaluateProgram({
        project: "ray-s3-access",
        stack,
        config: {
            "aws:region": region,
            "ray-s3-access:identity": "podIdentity",
            "ray-s3-access:clusterName": "ray-prod",
            "ray-s3-access:tenants": JSON.stringify(tenants),
        },
        program: runProgram,
    });
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
            const accessPoint = `arn:aws:s3express:us-west-2:${ACCOUNT}:accesspoint/team-a--usw2-az1--xa-s3`;
            expectViolations(
                await check(doc({ Effect: "Allow", Action: "s3express:*", Resource: accessPoint })),
                "no-s3-wildcard-in-production",
                1,
                /grants every S3 Express \(directory bucket\) action .* on Resource "arn:aws:s3express:us-west-2:111122223333:accesspoint\/team-a--usw2-az1--xa-s3"/,
            );
        });

        it("a directory bucket's admin actions are findings; CreateSession on one bucket is not", async () => {
            expectViolations(
                await check(doc({ Effect: "Allow", Action: "s3express:PutBucketPolicy", Resource: arn() })),
                "no-bucket-admin-for-workloads",
                1,
                /directory-bucket admin actions \(s3express:PutBucketPolicy\)/,
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

        it("directory-bucket-read-sessions: a read-only statement's CreateSession without ReadOnly is reported exactly when the evaluator allows a ReadWrite session", async () => {
            // A statement that reads (general-purpose read actions beside CreateSession), or whose Sid says it reads.
            const reading = (Condition?: object, extra: object = {}) => ({
                Effect: "Allow",
                Action: ["s3:GetObject", "s3:ListBucket", "s3express:CreateSession"],
                Resource: ["arn:aws:s3:::data", "arn:aws:s3:::data/*", arn()],
                ...(Condition ? { Condition } : {}),
                ...extra,
            });
            const denyReadWrite = (Resource: string) => ({
                Effect: "Deny",
                Action: "s3express:CreateSession",
                Resource,
                Condition: { StringEquals: { "s3express:SessionMode": "ReadWrite" } },
            });
            const cases: [string, object[]][] = [
                ["no condition", [reading()]],
                [
                    "a Sid that says it reads, CreateSession alone",
                    [{ Sid: "ReadOnlyCheckpoints", Effect: "Allow", Action: "s3express:CreateSession", Resource: arn() }],
                ],
                ["StringEquals ReadOnly", [reading({ StringEquals: { "s3express:SessionMode": "ReadOnly" } })]],
                ["StringEqualsIfExists ReadOnly", [reading({ StringEqualsIfExists: { "s3express:SessionMode": "ReadOnly" } })]],
                ["StringNotEquals ReadWrite", [reading({ StringNotEquals: { "s3express:SessionMode": "ReadWrite" } })]],
                ["StringLike Read* (matches ReadWrite)", [reading({ StringLike: { "s3express:SessionMode": "Read*" } })]],
                ["both modes listed", [reading({ StringEquals: { "s3express:SessionMode": ["ReadOnly", "ReadWrite"] } })]],
                ["a Deny of ReadWrite sessions", [reading(), denyReadWrite("*")]],
                ["a Deny of ReadWrite sessions on another bucket only", [reading(), denyReadWrite(arn("other--usw2-az1--x-s3"))]],
            ];
            for (const [title, statements] of cases) {
                const document = doc(...statements);
                const writes = await identityAllows(document, "s3express:CreateSession", arn(), { "s3express:SessionMode": "ReadWrite" });
                const prod = await check(document);
                const reported = prod.some((v) => v.policy === "directory-bucket-read-sessions");
                assert.equal(reported, writes, `${title}: reported ${reported}, evaluator allows a ReadWrite session: ${writes}`);
                if (writes) {
                    expectViolations(
                        prod,
                        "directory-bucket-read-sessions",
                        1,
                        /without limiting s3express:SessionMode to ReadOnly, although (its other actions \(s3:GetObject, s3:ListBucket\) only read|its Sid "ReadOnlyCheckpoints" says it reads)/,
                    );
                    expectViolations(await run(policies, [iamPolicy(document, "dev")]), "directory-bucket-read-sessions-advisory", 1);
                }
            }
            // No sign of a read-only intent: a statement that also writes, CreateSession on its own (checkpoints written
            // to a directory bucket beside a dataset read from a general-purpose one), a Sid that says it writes.
            const create = { Effect: "Allow", Action: "s3express:CreateSession", Resource: arn() };
            expectNone(await check(doc({ ...reading(), Action: ["s3:GetObject", "s3:PutObject", "s3express:CreateSession"] })));
            expectNone(
                await check(
                    doc({ Effect: "Allow", Action: ["s3:GetObject", "s3:ListBucket"], Resource: ["arn:aws:s3:::data", "arn:aws:s3:::data/*"] }, create),
                ),
            );
            expectNone(await check(doc({ ...create, Sid: "ReadWriteCheckpoints" })));
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

    it("the bucket owner's delegation to access points admits only requests through an access point of the account, and passes the pack in production", async () => {
        const bucketArn = "arn:aws:s3:::ray-ckpt";
        const delegation = buildAccessPointDelegationStatement(bucketArn, ACCOUNT);
        const bucketPolicy = { Version: "2012-10-17", Statement: [delegation] };
        const principal = `arn:aws:sts::${ACCOUNT}:assumed-role/ray-s3/pod`;
        const object = `${bucketArn}/checkpoints/step-1`;
        // The S3 guide's statement, word for word in substance.
        assert.deepEqual(delegation, {
            Sid: "DelegateToAccessPoints",
            Effect: "Allow",
            Principal: { AWS: "*" },
            Action: "*",
            Resource: [bucketArn, `${bucketArn}/*`],
            Condition: { StringEquals: { "s3:DataAccessPointAccount": ACCOUNT } },
        });
        // What the evaluator can decide: no direct request gets in, from this account or another. (That requests
        // through the account's access points do is not decidable here: the IAM catalog lists s3:DataAccessPointAccount
        // for access point resources only, while S3 evaluates the bucket policy against the bucket's ARN.)
        for (const who of [principal, "arn:aws:sts::444455556666:assumed-role/x/y"]) {
            assert.equal(await resourcePolicyAllows(bucketPolicy, "s3:GetObject", object, {}, who), false, `not directly (${who})`);
            assert.equal(await resourcePolicyAllows(bucketPolicy, "s3:PutBucketPolicy", bucketArn, {}, who), false, `no bucket admin (${who})`);
        }
        // Action "*" for any principal, yet it grants nothing by itself: the access points' policies decide.
        const bucketPolicyResource = (document: object) => ({
            type: BUCKET_POLICY_TYPE,
            name: "ray-ckpt-policy",
            urn: "urn:pulumi:prod::p::aws:s3/bucketPolicy:BucketPolicy::ray-ckpt-policy",
            props: { bucket: "ray-ckpt", policy: JSON.stringify(document) },
        });
        expectNone(await run(policies, [bucketPolicyResource(bucketPolicy)]));
        // A condition that also admits direct requests (IfExists, or negated) is a grant, and judged as one.
        for (const operator of ["StringEqualsIfExists", "StringNotEquals"]) {
            const open = { ...delegation, Condition: { [operator]: { "s3:DataAccessPointAccount": ACCOUNT } } };
            expectViolations(await run(policies, [bucketPolicyResource({ Version: "2012-10-17", Statement: [open] })]), "no-s3-wildcard-in-production", 1);
        }
    });

    it("an alias is looked up among the provider's account's access points and granted by its ARN; an unknown alias is refused when it resolves", async () => {
        const alias = "ray-ckpt-ap-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias";
        world.accessPoints = [
            { alias: "other-ap-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-s3alias", accessPointArn: `arn:aws:s3:us-west-2:${ACCOUNT}:accesspoint/other-ap` },
            { alias, accessPointArn: AP },
        ];
        const policy = await policyFor([{ bucket: alias, prefixes: ["checkpoints/"] }]);
        assert.equal(await identityAllows(policy, "s3:PutObject", `${AP}/object/checkpoints/step-1`), true);
        assert.equal(await identityAllows(policy, "s3:PutObject", `arn:aws:s3:us-west-2:${ACCOUNT}:accesspoint/other-ap/object/checkpoints/x`), false);
        assert.doesNotMatch(policy, /s3alias/, "IAM names access points by ARN only");
        assert.ok(world.calls.some((c) => c.token === "aws:s3control/getAccessPoints:getAccessPoints"));
        // An alias no access point of the account has: refused once the lookup answers, before a policy is written.
        resetMocks();
        world.accessPoints = [];
        const unknown = new RayS3Access("ray", { namespace: "ray", identity: "podIdentity", clusterName: "ray-prod", buckets: [{ bucket: alias }] });
        await assert.rejects(
            (unknown.permissionsPolicy as any).promise(),
            /buckets\[0\].bucket "ray-ckpt-ap-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias": no access point of account 111122223333 in us-west-2 \(the AWS provider's\) has this alias; check the alias, or give the access point's ARN/,
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.ok(
            world.resources.filter((r) => r.type === "aws:iam/policy:Policy").every((r) => !String(r.inputs.policy ?? "").includes("s3alias")),
            "no policy names the alias",
        );
        resetMocks();
    });

    it("offline (no AWS to ask), an alias renders as a stand-in ARN named after it; a session policy must name the ARN", async () => {
        const alias = "ray-ckpt-ap-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias";
        const { resources } = await renderTenants([{ namespace: "ray", buckets: [{ bucket: alias, prefixes: ["checkpoints/"] }] }]);
        const policy = resources.find((r) => r.type === "aws:iam/policy:Policy")!.inputs.policy;
        assert.match(policy, new RegExp(`arn:aws:s3:us-west-2:123456789012:accesspoint/${alias}/object/checkpoints/\\*`));
        refuse(
            {
                roleSharing: "sessionPolicy",
                additionalServiceAccounts: [],
                buckets: [{ bucket: AP }],
                sessionPolicies: [{ serviceAccount: "ray:ray-s3-sa", buckets: [{ bucket: alias }] }],
            },
            /sessionPolicies\[0\].buckets: "ray-ckpt-ap-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias" is an access point alias; a session policy names access points by ARN/,
        );
    });

    it("a malformed ARN is refused with the ARN to give; the pack judges s3:* on an access point like on a bucket", async () => {
        refuse(
            { buckets: [{ bucket: "ray-ckpt-ap-abcdefghijklmnopqrstuvwxyz1234--ol-s3" }] },
            /ends with "--ol-s3": that is an Object Lambda access point's alias, which this package does not grant; give the access point's ARN/,
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

describe("access points for directory buckets (prefixes inside a directory bucket)", () => {
    const apArn = (name: string, account = ACCOUNT) => `arn:aws:s3express:us-west-2:${account}:accesspoint/${name}`;
    const AP_TYPE = "aws:s3/accessPoint:AccessPoint";
    const SCOPE_TYPE = "aws:s3control/directoryBucketAccessPointScope:DirectoryBucketAccessPointScope";
    beforeEach(() => {
        resetMocks();
        useStack("dev");
    });

    async function created(entry: NonNullable<RayS3AccessArgs["buckets"]>[number]) {
        const component = new RayS3Access("ray", { namespace: "ray", identity: "podIdentity", clusterName: "ray-prod", buckets: [entry] });
        const policy = await valueOf(component.permissionsPolicy);
        const roleArn = await valueOf(component.roleArn);
        await settle();
        const [accessPoint] = resourcesOfType(AP_TYPE);
        const [scope] = resourcesOfType(SCOPE_TYPE);
        return { policy, roleArn, accessPoint, scope };
    }

    it("createAccessPoint: the access point's scope holds the prefixes and the access level's operations; the role gets sessions on the access point only", async () => {
        const { policy, roleArn, accessPoint, scope } = await created({
            bucket: BUCKET,
            access: "read",
            prefixes: ["team-a/", "shared/"],
            createAccessPoint: true,
        });
        const name = accessPoint.inputs.name as string;
        assert.match(name, /^ray-[0-9a-f]{8}--usw2-az1--xa-s3$/, "BASE--ZONEID--xa-s3 in the bucket's zone");
        assert.equal(accessPoint.inputs.bucket, BUCKET);
        assert.equal(scope.inputs.name, name);
        assert.equal(scope.inputs.accountId, ACCOUNT);
        assert.deepEqual(scope.inputs.scope, { permissions: ["GetObject", "GetObjectAttributes", "ListBucket"], prefixes: ["shared/*", "team-a/*"] });
        // The role: ReadOnly sessions through this access point; not the bucket itself, not another access point.
        assert.equal(await session(policy, "ReadOnly", apArn(name)), true);
        assert.equal(await session(policy, "ReadWrite", apArn(name)), false, "read is ReadOnly through the access point too");
        assert.equal(await session(policy, "ReadOnly", arn()), false, "the bucket directly would bypass the scope");
        assert.equal(await session(policy, "ReadOnly", apArn("other-ap--usw2-az1--xa-s3")), false, "another access point");
        assert.equal(await session(policy, "ReadOnly", apArn(name, "444455556666")), false, "another account");
        // The access point's own policy admits the role (same mode) and no one else.
        const apPolicy = accessPoint.inputs.policy as string;
        const rolePrincipal = `arn:aws:sts::${ACCOUNT}:assumed-role/${roleArn.split("/").pop()}/pod`;
        assert.equal(
            await resourcePolicyAllows(apPolicy, "s3express:CreateSession", apArn(name), { "s3express:SessionMode": "ReadOnly" }, rolePrincipal),
            true,
        );
        assert.equal(
            await resourcePolicyAllows(apPolicy, "s3express:CreateSession", apArn(name), { "s3express:SessionMode": "ReadWrite" }, rolePrincipal),
            false,
        );
        assert.equal(
            await resourcePolicyAllows(
                apPolicy,
                "s3express:CreateSession",
                apArn(name),
                { "s3express:SessionMode": "ReadOnly" },
                `arn:aws:sts::${ACCOUNT}:assumed-role/other/pod`,
            ),
            false,
            "another role of the account",
        );
    });

    it("readWrite and mountpoint scopes; a chosen name; the same component and bucket always get the same default name", async () => {
        const write = await created({ bucket: BUCKET, prefixes: ["ckpt/"], createAccessPoint: true, accessPointName: "team-a-ckpt--usw2-az1--xa-s3" });
        assert.equal(write.accessPoint.inputs.name, "team-a-ckpt--usw2-az1--xa-s3");
        assert.deepEqual(write.scope.inputs.scope.permissions, [
            "AbortMultipartUpload",
            "DeleteObject",
            "GetObject",
            "GetObjectAttributes",
            "ListBucket",
            "ListBucketMultipartUploads",
            "ListMultipartUploadParts",
            "PutObject",
        ]);
        assert.equal(await session(write.policy, "ReadWrite", apArn("team-a-ckpt--usw2-az1--xa-s3")), true);
        resetMocks();
        const mount = await created({ bucket: BUCKET, access: "mountpoint", prefixes: ["ckpt/"], createAccessPoint: true });
        assert.deepEqual(
            mount.scope.inputs.scope.permissions,
            ["AbortMultipartUpload", "GetObject", "ListBucket", "PutObject"],
            "no DeleteObject unless allowed",
        );
        resetMocks();
        const again = await created({ bucket: BUCKET, access: "mountpoint", prefixes: ["ckpt/"], createAccessPoint: true, allowDelete: true });
        assert.equal(again.accessPoint.inputs.name, mount.accessPoint.inputs.name, "stable across runs");
        assert.ok(again.scope.inputs.scope.permissions.includes("DeleteObject"));
    });

    it("an existing access point for a directory bucket, by ARN or name: CreateSession on it, its scope decides", async () => {
        const name = "team-a--usw2-az1--xa-s3";
        const byArn = await policyFor([{ bucket: apArn(name), access: "read" }]);
        assert.deepEqual(JSON.parse(byArn).Statement, [
            {
                Sid: "DirectoryAccessPointTeamAUsw2Az1XaS3",
                Effect: "Allow",
                Action: "s3express:CreateSession",
                Resource: apArn(name),
                Condition: { StringEquals: { "s3express:SessionMode": "ReadOnly" } },
            },
        ]);
        resetMocks();
        const byName = await policyFor([{ bucket: name }]);
        assert.equal(await session(byName, "ReadWrite", apArn(name)), true, "the provider's region and account");
        assert.equal(await session(byName, "ReadWrite", arn()), false);
        assert.equal(resourcesOfType(AP_TYPE).length, 0, "nothing created for an existing access point");
    });

    it("refuses names, zones, options and combinations S3 or IAM would refuse, before anything is created", () => {
        const refuseBuckets = (buckets: RayS3AccessArgs["buckets"], pattern: RegExp, extra: Partial<RayS3AccessArgs> = {}) =>
            refuse({ buckets, ...extra }, pattern);
        refuseBuckets(
            [{ bucket: BUCKET, createAccessPoint: true }],
            /buckets\[0\].createAccessPoint: the access point would enforce prefixes, and "ckpt--usw2-az1--x-s3" lists none/,
        );
        refuseBuckets(
            [{ bucket: BUCKET, prefixes: ["a/"], createAccessPoint: true, accessPointName: "team--use1-az4--xa-s3" }],
            /accessPointName "team--use1-az4--xa-s3" is not an access point name in the bucket's zone: expected BASE--usw2-az1--xa-s3/,
        );
        refuseBuckets(
            [{ bucket: BUCKET, prefixes: ["a/"], accessPointName: "team--usw2-az1--xa-s3" }],
            /accessPointName is only used with createAccessPoint: true/,
        );
        refuseBuckets([{ bucket: "plain-bucket", prefixes: ["a/"], createAccessPoint: true }], /buckets\[0\].createAccessPoint is only for directory buckets/);
        // At the bound: two prefixes of 127 and 126 characters are 255 bytes with their "*" (accepted), one more is 256.
        refuseBuckets(
            [{ bucket: BUCKET, prefixes: ["a".repeat(127), "b".repeat(127)], createAccessPoint: true }],
            /an access point scope's prefixes must total less than 256 bytes, and .* take 256/,
        );
        refuseBuckets([{ bucket: "ab--usw2-az1--xa-s3" }], /ends with "--xa-s3" but is not an access point name for a directory bucket/);
        refuseBuckets([{ bucket: apArn("team--use1-az4--xa-s3") }], /zone use1-az4 is not in us-west-2/);
        refuseBuckets([{ bucket: "team--usw2-az1--xa-s3", prefixes: ["a/"] }], /whose own scope \(set by its owner\) holds the prefixes it serves/);
        refuseBuckets([{ bucket: "team--usw2-az1--xa-s3", createAccessPoint: true }], /createAccessPoint does not fit an access point/);
        refuseBuckets(
            [{ bucket: BUCKET, prefixes: ["a/"], createAccessPoint: "yes" as any }],
            /buckets\[0\].createAccessPoint must be true or false, not a string/,
        );
        refuseBuckets([{ bucket: BUCKET, prefixes: ["a/"], createAccessPoint: true }], /mountpointVolumes cannot mount access points/, {
            mountpointVolumes: true,
        });
        refuseBuckets(
            [{ bucket: BUCKET, prefixes: ["a/"], createAccessPoint: true, accessPointName: "team--usw2-az1--xa-s3" }, { bucket: "team--usw2-az1--xa-s3" }],
            /buckets: the access point "team--usw2-az1--xa-s3" is named by two entries/,
        );
        assert.equal(world.resources.length, 0);
        assert.doesNotThrow(
            () =>
                new RayS3Access("at-bound", {
                    namespace: "ray",
                    identity: "podIdentity",
                    clusterName: "c",
                    buckets: [{ bucket: BUCKET, prefixes: ["a".repeat(127), "b".repeat(126)], createAccessPoint: true }],
                }),
        );
    });

    it("from stack config (the bundled program, offline): the access point and its scope are rendered, in the provider's account", async () => {
        const { resources } = await renderTenants([
            { namespace: "team-a", buckets: [{ bucket: BUCKET, access: "read", prefixes: ["team-a/"], createAccessPoint: true }] },
        ]);
        const accessPoint = resources.find((r) => r.type === AP_TYPE)!;
        const scope = resources.find((r) => r.type === SCOPE_TYPE)!;
        assert.match(accessPoint.inputs.name, /^team-a-[0-9a-f]{8}--usw2-az1--xa-s3$/, "named after the tenant's component");
        assert.equal(scope.inputs.accountId, "123456789012");
        assert.deepEqual(scope.inputs.scope.prefixes, ["team-a/*"]);
        const policy = JSON.parse(resources.find((r) => r.type === "aws:iam/policy:Policy")!.inputs.policy);
        assert.equal(policy.Statement[0].Resource, `arn:aws:s3express:us-west-2:123456789012:accesspoint/${accessPoint.inputs.name}`);
    });

    it("the bucket owner's delegation admits no direct request, and the pack passes the component in production", async () => {
        // What the evaluator can decide: the delegation statement lets no one create a session on the bucket directly
        // (which would bypass the scope). That it admits requests through the account's access points rests on
        // s3express:DataAccessPointAccount, which the Service Authorization Reference does not list for CreateSession,
        // so no evaluator here can decide it (docs/verification.md).
        const delegation = buildAccessPointDelegationStatement(arn(), ACCOUNT);
        assert.deepEqual(delegation, {
            Sid: "DelegateToAccessPoints",
            Effect: "Allow",
            Principal: { AWS: "*" },
            Action: "s3express:CreateSession",
            Resource: arn(),
            Condition: { StringEquals: { "s3express:DataAccessPointAccount": ACCOUNT } },
        });
        const bucketPolicy = { Version: "2012-10-17", Statement: [delegation] };
        for (const principal of [`arn:aws:sts::${ACCOUNT}:assumed-role/ray-s3/pod`, "arn:aws:sts::444455556666:assumed-role/x/y"]) {
            assert.equal(
                await resourcePolicyAllows(bucketPolicy, "s3express:CreateSession", arn(), { "s3express:SessionMode": "ReadWrite" }, principal),
                false,
                `not directly, without an access point (${principal})`,
            );
        }
        useStack("prod");
        await created({ bucket: BUCKET, prefixes: ["team-a/"], createAccessPoint: true });
        assert.deepEqual(await evaluatePolicies(policies, recordedForPolicies("prod")), []);
        useStack("dev");
    });
});

describe("SageMaker HyperPod managed tiered checkpointing (the recipe in docs/storage.md)", () => {
    it("the recipe's tenant, run through the bundled program, grants read/write on the checkpoint prefix and nothing else; CloudWatch comes from the user's policy", async () => {
        const doc = fs.readFileSync(path.join(__dirname, "..", "docs", "storage.md"), "utf8");
        const section = doc.slice(doc.indexOf("**SageMaker HyperPod managed tiered checkpointing**"));
        const tenants = yaml.load(/```yaml\n([\s\S]*?)```/.exec(section)![1]) as { additionalPolicyArns: string[] }[];
        const { resources } = await renderTenants(tenants, "prod");
        const policy = resources.find((r) => r.type === "aws:iam/policy:Policy")!.inputs.policy;
        const object = (key: string) => `arn:aws:s3:::ray-prod-checkpoints/${key}`;
        for (const action of ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]) {
            assert.equal(await identityAllows(policy, action, object("hyperpod/step-100/shard-0")), true, action);
        }
        assert.equal(await identityAllows(policy, "s3:ListBucket", "arn:aws:s3:::ray-prod-checkpoints", { "s3:prefix": "hyperpod/" }), true);
        assert.equal(await identityAllows(policy, "s3:PutObject", object("other-team/x")), false, "outside the checkpoint prefix");
        assert.equal(await identityAllows(policy, "s3:PutBucketPolicy", "arn:aws:s3:::ray-prod-checkpoints"), false);
        assert.equal(await identityAllows(policy, "cloudwatch:PutMetricData", "*"), false, "S3 only: CloudWatch is the user's own policy");
        const attached = resources.filter((r) => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment").map((r) => r.inputs.policyArn);
        assert.ok(attached.includes(tenants[0].additionalPolicyArns[0]), JSON.stringify(attached));
        assert.deepEqual(await programViolations(resources), []);
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
        const express = await policyFor([{ bucket: BUCKET, access: "mountpoint", allowDelete: true }]);
        assert.equal(await session(express, "ReadWrite"), true, "Mountpoint's directory-bucket sessions write");
    });

    it("a directory bucket with access mountpoint and no allowDelete is refused: its ReadWrite session would delete", async () => {
        resetMocks();
        assert.throws(
            () =>
                new RayS3Access("ray", {
                    identity: "podIdentity",
                    clusterName: "ml",
                    namespace: "ray",
                    buckets: [{ bucket: BUCKET, access: "mountpoint" }],
                }),
            /access "mountpoint" without allowDelete cannot be enforced on a directory bucket: its ReadWrite session deletes too\. Set allowDelete: true/,
        );
        // Through an access point the component creates, the scope leaves DeleteObject out: accepted.
        resetMocks();
        const component = new RayS3Access("ray", {
            identity: "podIdentity",
            clusterName: "ml",
            namespace: "ray",
            buckets: [{ bucket: BUCKET, access: "mountpoint", prefixes: ["ckpt/"], createAccessPoint: true }],
        });
        await valueOf(component.roleArn);
        await settle();
        const scope = resourcesOfType("aws:s3control/directoryBucketAccessPointScope:DirectoryBucketAccessPointScope")[0].inputs.scope;
        assert.ok(!scope.permissions.includes("DeleteObject"), JSON.stringify(scope));
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

    it("expressCache: Mountpoint's shared cache in a directory bucket gets ReadWrite sessions there and the cache-xz mount option", async () => {
        const cache = "mp-cache--usw2-az1--x-s3";
        const component = new RayS3Access("ray", {
            namespace: "ray",
            identity: "podIdentity",
            clusterName: "ray-prod",
            mountpointVolumes: true,
            buckets: [{ bucket: "datasets", access: "mountpoint", prefixes: ["imagenet/"], expressCache: cache }],
        });
        const policy = await valueOf(component.permissionsPolicy);
        await settle();
        assert.equal(await session(policy, "ReadWrite", arn(cache)), true, "Mountpoint writes cache blocks");
        assert.equal(await session(policy, "ReadWrite", arn()), false, "only the cache bucket");
        assert.equal(await identityAllows(policy, "s3:GetObject", "arn:aws:s3:::datasets/imagenet/x"), true);
        const [pv] = resourcesOfType("kubernetes:core/v1:PersistentVolume");
        assert.deepEqual(pv.inputs.spec.mountOptions, ["prefix imagenet/", "region us-west-2", `cache-xz ${cache}`]);
        assert.equal(pv.inputs.spec.csi.volumeAttributes.bucketName, "datasets");
        assert.equal(pv.inputs.spec.nodeAffinity, undefined, "a general-purpose bucket is regional: no zone");
        refuse(
            { buckets: [{ bucket: "datasets", access: "read", expressCache: cache }] },
            /buckets\[0\].expressCache is Mountpoint's shared cache \(cache-xz\), only valid with access "mountpoint"/,
        );
        refuse(
            { buckets: [{ bucket: "datasets", access: "mountpoint", expressCache: "not-a-directory-bucket" }] },
            /buckets\[0\].expressCache "not-a-directory-bucket" is not a directory bucket name: a directory bucket's name is BASE--ZONEID--x-s3/,
        );
        refuse({ buckets: [{ bucket: BUCKET, access: "mountpoint", expressCache: cache }] }, /a directory bucket is already S3 Express One Zone: drop it/);
    });

    it("a directory bucket's volume schedules its pods in the bucket's zone (the zone-id label EKS puts on nodes)", async () => {
        const component = new RayS3Access("ray", {
            namespace: "ray",
            identity: "podIdentity",
            clusterName: "ray-prod",
            mountpointVolumes: true,
            buckets: [{ bucket: BUCKET, access: "mountpoint", allowDelete: true }],
        });
        await valueOf(component.roleArn);
        await settle();
        const [pv] = resourcesOfType("kubernetes:core/v1:PersistentVolume");
        assert.equal(pv.inputs.spec.csi.volumeAttributes.bucketName, BUCKET);
        assert.deepEqual(pv.inputs.spec.nodeAffinity, {
            required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "topology.k8s.aws/zone-id", operator: "In", values: ["usw2-az1"] }] }] },
        });
        assert.deepEqual(pv.inputs.spec.mountOptions, ["region us-west-2", "allow-delete"]);
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
