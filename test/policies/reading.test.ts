/**
 * What IAM refuses or reads literally, and how findings name what the statement says (issue: a gate that cannot be
 * opened by accident): Effect with case, Resource that is neither an ARN nor "*", unknown condition operators, Sids
 * read as words, actions spelled as the IAM catalog spells them, the statement's own resource in the message, and
 * directory buckets in "every bucket".
 */
import { strict as assert } from "assert";
import { policies } from "../../policies/rules";
import { allowsWithBoundary, identityAllows } from "../support/iamOracle";
import { doc, expectNone, expectViolations, goodIrsaTrust, iamPolicy, resource, run } from "./harness";

const DIRECTORY = "arn:aws:s3express:us-west-2:111122223333:bucket/ckpt--usw2-az1--x-s3";
const checkAll = (document: unknown, stack = "prod") => run(policies, [iamPolicy(typeof document === "string" ? document : JSON.stringify(document), stack)]);

describe("statements IAM refuses", () => {
    it('Effect is compared with case: "allow" is refused, and the statement grants nothing to any other rule', async () => {
        const v = await checkAll(doc({ Effect: "allow", Action: "s3:*", Resource: "*" }));
        expectViolations(v, "iam-statements-well-formed", 1, /has Effect "allow", not "Allow" or "Deny" \(IAM compares Effect with case\)/);
        expectViolations(v, "no-s3-wildcard-in-production", 0);
    });

    it('a Resource that is neither an ARN nor "*" is refused (a bucket name where its ARN belongs)', async () => {
        const v = await checkAll(doc({ Effect: "Allow", Action: "s3:GetObject", Resource: ["my-bucket/*", "arn:aws:s3:::my-bucket/*"] }));
        expectViolations(v, "iam-statements-well-formed", 1, /has Resource \["my-bucket\/\*"\], neither an ARN nor "\*"/);
    });

    it("a condition operator IAM does not know is refused", async () => {
        const v = await checkAll(
            doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*", Condition: { StringEqualz: { "aws:PrincipalTag/team": "ml" } } }),
        );
        expectViolations(v, "iam-statements-well-formed", 1, /has condition operator "StringEqualz" that IAM does not know/);
        expectNone(
            await checkAll(
                doc({
                    Effect: "Allow",
                    Action: "s3:GetObject",
                    Resource: "arn:aws:s3:::b/*",
                    Condition: { "ForAnyValue:StringLikeIfExists": { "aws:TagKeys": "t*" } },
                }),
            ),
        );
    });
});

describe("read-only intent from a Sid, as words", () => {
    const sessions = (Sid: string) => doc({ Sid, Effect: "Allow", Action: "s3express:CreateSession", Resource: DIRECTORY });

    it('a Sid whose words say it reads is held to ReadOnly sessions; "MultiThreadedStaging" has no word "read"', async () => {
        for (const sid of ["DatasetReadOnly", "read-dataset", "ReadCheckpoints"]) {
            expectViolations(await checkAll(sessions(sid)), "directory-bucket-read-sessions", 1, new RegExp(`its Sid "${sid}" says it reads`));
        }
        for (const sid of ["MultiThreadedStaging", "SpreadSheets", "ThreadPool", "ReadWriteCheckpoints"]) {
            expectViolations(await checkAll(sessions(sid)), "directory-bucket-read-sessions", 0);
        }
    });

    it("a read-only statement's ReadOnly condition, under any operator that leaves only ReadOnly, is decided as IAM decides it", async () => {
        const withCondition = (Condition: object) =>
            doc({ Sid: "DatasetRead", Effect: "Allow", Action: "s3express:CreateSession", Resource: DIRECTORY, Condition });
        for (const condition of [
            { StringEquals: { "s3express:SessionMode": "ReadOnly" } },
            { StringLike: { "s3express:SessionMode": "ReadOnly" } },
            { StringNotEquals: { "s3express:SessionMode": "ReadWrite" } },
            { StringEqualsIfExists: { "s3express:SessionMode": "ReadOnly" } },
        ]) {
            const document = withCondition(condition);
            assert.equal(
                await identityAllows(document, "s3express:CreateSession", DIRECTORY, { "s3express:SessionMode": "ReadWrite" }),
                false,
                JSON.stringify(condition),
            );
            expectViolations(await checkAll(document), "directory-bucket-read-sessions", 0);
        }
        // StringNotEquals ReadOnly leaves ReadWrite in: the evaluator allows it, the rule reports it.
        const open = withCondition({ StringNotEquals: { "s3express:SessionMode": "ReadOnly" } });
        assert.equal(await identityAllows(open, "s3express:CreateSession", DIRECTORY, { "s3express:SessionMode": "ReadWrite" }), true);
        expectViolations(await checkAll(open), "directory-bucket-read-sessions", 1);
    });
});

describe("messages name what the statement says", () => {
    it("every bucket: the statement's own pattern (arn:aws:s3:::*, a GovCloud ARN), actions as the IAM catalog spells them", async () => {
        for (const resource of ["arn:aws:s3:::*", "arn:aws-us-gov:s3:::*/*"]) {
            const [finding] = expectViolations(
                await checkAll(doc({ Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject"], Resource: resource })),
                "no-bucket-admin-for-workloads",
                1,
                new RegExp(`grants S3 actions \\(s3:GetObject, s3:PutObject\\) on Resource "${resource.replace(/[*]/g, "\\*")}", every bucket`),
            );
            assert.doesNotMatch(finding.message, /s3:getobject/);
        }
    });

    it("directory buckets: a statement on bucket/* of an account names no bucket, and is every directory bucket", async () => {
        const every = "arn:aws:s3express:us-west-2:111122223333:bucket/*";
        expectViolations(
            await checkAll(doc({ Effect: "Allow", Action: "s3express:CreateSession", Resource: every })),
            "no-bucket-admin-for-workloads",
            1,
            /grants S3 Express actions \(s3express:CreateSession\) on Resource "arn:aws:s3express:us-west-2:111122223333:bucket\/\*", every directory bucket/,
        );
        expectViolations(await checkAll(doc({ Effect: "Allow", Action: "s3express:CreateSession", Resource: DIRECTORY })), "no-bucket-admin-for-workloads", 0);
    });

    it("an AWS managed policy for directory buckets is judged from the generated lists (AmazonS3ExpressFullAccess)", async () => {
        const attachment = {
            type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            name: "a",
            urn: "urn:pulumi:prod::p::aws:iam/rolePolicyAttachment:RolePolicyAttachment::a",
            props: { role: "r", policyArn: "arn:aws:iam::aws:policy/AmazonS3ExpressFullAccess" },
        };
        const v = await run(policies, [attachment]);
        expectViolations(v, "no-s3-wildcard-in-production", 1, /grants every S3 Express \(directory bucket\) action on Resource "\*"/);
        expectViolations(v, "no-bucket-admin-for-workloads", 1, /s3express:PutBucketPolicy/);
    });
});

describe("a policy used only as a permissions boundary", () => {
    const BOUNDARY = doc({ Sid: "Ceiling", Effect: "Allow", Action: ["s3:*", "cloudwatch:*"], Resource: "*" });
    const boundaryArn = "arn:aws:iam::111122223333:policy/workload-ceiling";
    const policy = (tags?: Record<string, string>) =>
        resource("aws:iam/policy:Policy", "ceiling", { policy: JSON.stringify(BOUNDARY), arn: boundaryArn, ...(tags ? { tags } : {}) });
    const boundedRole = resource("aws:iam/role:Role", "workload", { assumeRolePolicy: JSON.stringify(goodIrsaTrust()), permissionsBoundary: boundaryArn });
    const attachment = resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "attach-ceiling", { role: "workload", policyArn: boundaryArn });
    const TAG = { "ray-s3-access/use": "permissions-boundary" };

    it("grants nothing by itself (the evaluator), so a policy tagged as a boundary is not judged as a grant", async () => {
        assert.equal(allowsWithBoundary(BOUNDARY, [], "s3:PutBucketPolicy", "arn:aws:s3:::data"), false);
        assert.equal(allowsWithBoundary(BOUNDARY, [BOUNDARY], "s3:PutBucketPolicy", "arn:aws:s3:::data"), true);
        expectNone(await run(policies, [policy(TAG), boundedRole]));
    });

    it("tagged as a boundary but attached in the stack: the tag is false, a mandatory violation", async () => {
        expectViolations(
            await run(policies, [policy(TAG), boundedRole, attachment]),
            "permissions-boundary-policies",
            1,
            /is tagged ray-s3-access\/use: permissions-boundary.*RolePolicyAttachment "attach-ceiling" attaches it/,
        );
    });

    it("used only as a boundary but not tagged: judged as if attached, and the advisory half says how to declare it", async () => {
        const v = await run(policies, [policy(), boundedRole]);
        expectViolations(v, "no-s3-wildcard-in-production", 1);
        expectViolations(
            v,
            "permissions-boundary-policies-advisory",
            1,
            /is only the permissionsBoundary of "workload".*tag it ray-s3-access\/use: permissions-boundary/,
        );
        // Attached too: no suggestion, it does grant.
        expectViolations(await run(policies, [policy(), boundedRole, attachment]), "permissions-boundary-policies-advisory", 0);
    });
});
