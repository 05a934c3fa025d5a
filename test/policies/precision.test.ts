/**
 * The rules judge what a document really grants (issue: resource- and Deny-aware findings), and the independent
 * evaluator agrees on each case: the S3 actions the analysis says a document grants are exactly those
 * iam-simulate allows on concrete buckets, objects and access points.
 */
import { strict as assert } from "assert";
import { analyseDocument } from "../../policies/lib/grants";
import { BUCKET_ADMIN_MANAGED_POLICIES, S3_FULL_ACCESS_MANAGED_POLICIES } from "../../policies/lib/managedPolicies.generated";
import { policies } from "../../policies/rules";
import { s3ActionsAllowed } from "../support/s3Oracle";
import { doc, expectNone, expectViolations, iamPolicy, resource, role, run } from "./harness";

/** A statement; an undefined Resource is left out (as JSON leaves it out). */
const statementOf = (Effect: string, Action: unknown, Resource: unknown, extra: object) => JSON.parse(JSON.stringify({ Effect, Action, Resource, ...extra }));
const allow = (Action: unknown, Resource: unknown, extra: object = {}) => statementOf("Allow", Action, Resource, extra);
const deny = (Action: unknown, Resource: unknown, extra: object = {}) => statementOf("Deny", Action, Resource, extra);

/** The analysis and the evaluator agree on what the document grants; returns the granted S3 actions. */
async function confirmedGrants(document: object): Promise<Set<string>> {
    const ours = new Set((await analyseDocument(document, "identity")).s3.flatMap((g) => [...g.granted.keys()]));
    const oracle = await s3ActionsAllowed(document);
    assert.deepEqual([...ours].sort(), [...oracle].sort(), "the analysis and iam-simulate disagree on the S3 actions granted");
    return ours;
}

const checkAll = (document: object, stack = "prod") => run(policies, [iamPolicy(document, stack)]);

describe("policy precision: actions without a resource type", () => {
    it("s3:ListAllMyBuckets on * is what IAM requires for it: no finding", async () => {
        const document = doc(allow("s3:ListAllMyBuckets", "*"));
        assert.deepEqual([...(await confirmedGrants(document))], ["s3:listallmybuckets"]);
        expectNone(await checkAll(document));
        expectNone(await checkAll(document, "dev"));
    });

    it("next to a bucket action on *, only the bucket action is reported", async () => {
        const [finding] = expectViolations(
            await checkAll(doc(allow(["s3:ListAllMyBuckets", "s3:GetObject"], "*"))),
            "no-bucket-admin-for-workloads",
            1,
            /s3:GetObject/,
        );
        assert.doesNotMatch(finding.message, /listallmybuckets/);
    });

    it("a wildcard-only action on a bucket ARN grants nothing (IAM only matches it on *)", async () => {
        const document = doc(allow(["s3:ListAllMyBuckets", "s3:PutAccountPublicAccessBlock"], "arn:aws:s3:::b"));
        assert.equal((await confirmedGrants(document)).size, 0);
        expectNone(await checkAll(document));
        // On *, the account-level admin action is granted and reported.
        expectViolations(
            await checkAll(doc(allow("s3:PutAccountPublicAccessBlock", "*"))),
            "no-bucket-admin-for-workloads",
            1,
            /s3:PutAccountPublicAccessBlock/,
        );
    });
});

describe("policy precision: Deny in the same document", () => {
    it("an Allow of s3:* taken back by a Deny of s3:* on the same or wider resources grants nothing and is not reported", async () => {
        for (const [allowed, denied] of [
            ["*", "*"],
            ["arn:aws:s3:::b/*", "*"],
            ["arn:aws:s3:::b/*", "arn:aws:s3:::b/*"],
            ["arn:aws:s3:::b/*", "arn:aws:s3:::*"],
        ]) {
            const document = doc(allow("s3:*", allowed), deny("s3:*", denied));
            assert.equal((await confirmedGrants(document)).size, 0, `${allowed} minus ${denied}`);
            expectNone(await checkAll(document));
        }
    });

    it("s3:PutBucketPolicy denied by a Deny of s3:Put* on * is not reported", async () => {
        const document = doc(allow(["s3:PutBucketPolicy", "s3:ListBucket"], "arn:aws:s3:::b"), deny("s3:Put*", "*"));
        assert.deepEqual([...(await confirmedGrants(document))], ["s3:listbucket"]);
        expectNone(await checkAll(document));
    });

    it("a Deny on narrower resources leaves the rest granted, and the wildcard is still reported", async () => {
        const document = doc(allow("s3:*", "*"), deny("s3:*", "arn:aws:s3:::b/*"));
        assert.equal((await confirmedGrants(document)).size, 180);
        expectViolations(await checkAll(document), "no-s3-wildcard-in-production", 1, /on Resource "\*"/);
    });

    it("a Deny of some actions only makes it not every S3 action, and the admin actions left are still reported", async () => {
        const document = doc(allow("s3:*", "arn:aws:s3:::b"), deny("s3:Delete*", "*"));
        const granted = await confirmedGrants(document);
        assert.ok(!granted.has("s3:deletebucket") && granted.has("s3:putbucketpolicy"));
        const v = await checkAll(document);
        expectViolations(v, "no-s3-wildcard-in-production", 0);
        const [admin] = expectViolations(v, "no-bucket-admin-for-workloads", 1, /s3:PutBucketPolicy/);
        assert.doesNotMatch(admin.message, /s3:DeleteBucket/);
    });

    it("a Deny with NotResource denies what lies outside its exceptions", async () => {
        const document = doc(allow("s3:*", "arn:aws:s3:::b/*"), deny("s3:*", undefined, { NotResource: "arn:aws:s3:::another-bucket/*" }));
        assert.equal((await confirmedGrants(document)).size, 0);
        expectNone(await checkAll(document));
    });

    it("a Deny with a condition may not apply, so the grant is still reported", async () => {
        const document = doc(allow("s3:*", "*"), deny("s3:*", "*", { Condition: { Bool: { "aws:SecureTransport": "false" } } }));
        expectViolations(await checkAll(document), "no-s3-wildcard-in-production", 1);
    });
});

describe("policy precision: Resource", () => {
    it('Action "*" limited to an IAM policy ARN grants no S3 action: neither S3 rule reports it', async () => {
        const document = doc(allow("*", "arn:aws:iam::aws:policy/AdministratorAccess"));
        assert.equal((await confirmedGrants(document)).size, 0);
        expectNone(await checkAll(document));
    });

    it('Action "*" on one bucket\'s objects grants every object action there: reported, naming the resource', async () => {
        const document = doc(allow("*", "arn:aws:s3:::b/*"));
        assert.ok((await confirmedGrants(document)).has("s3:putobjectacl"));
        expectViolations(await checkAll(document), "no-s3-wildcard-in-production", 1, /on Resource "arn:aws:s3:::b\/\*"/);
    });

    it("s3:Put* on objects grants the object actions only, on a bucket the bucket actions only", async () => {
        const objects = await confirmedGrants(doc(allow("s3:Put*", "arn:aws:s3:::b/*")));
        assert.ok(objects.has("s3:putobject") && !objects.has("s3:putbucketpolicy"));
        const bucket = await confirmedGrants(doc(allow("s3:Put*", "arn:aws:s3:::b")));
        assert.ok(bucket.has("s3:putbucketpolicy") && !bucket.has("s3:putobject"));
    });

    it("NotResource grants on everything but its exceptions", async () => {
        const document = doc(allow("s3:GetObject", undefined, { NotResource: "arn:aws:s3:::secret/*" }));
        expectViolations(await checkAll(document), "no-bucket-admin-for-workloads", 1, /on NotResource \["arn:aws:s3:::secret\/\*"\]/);
    });
});

describe("policy precision: malformed statements", () => {
    it("are reported as what they are, naming the document and the statement, and judged by no other rule", async () => {
        const cases: [object, RegExp][] = [
            [{ Sid: "Both", Effect: "Allow", Action: "s3:*", NotAction: "iam:*", Resource: "*" }, /statement Both has both Action and NotAction/],
            [{ Sid: "NoEffect", Action: "s3:*", Resource: "*" }, /statement NoEffect has no Effect/],
            [{ Sid: "Odd", Effect: "Permit", Action: "s3:*", Resource: "*" }, /statement Odd has Effect "Permit", not "Allow" or "Deny"/],
            [{ Sid: "NoResource", Effect: "Allow", Action: "s3:*" }, /statement NoResource has neither Resource nor NotResource/],
            [
                { Sid: "Principal", Effect: "Allow", Principal: "*", Action: "s3:*", Resource: "*" },
                /statement Principal has a Principal, which identity policies may not have/,
            ],
        ];
        for (const [statement, message] of cases) {
            const v = await checkAll(doc(statement), "dev");
            expectViolations(v, "iam-statements-well-formed", 1, /aws:iam\/policy:Policy "p" policy: /, message, /MalformedPolicyDocument/);
            assert.deepEqual(
                v.filter((x) => x.policy !== "iam-statements-well-formed"),
                [],
            );
        }
        expectViolations(
            await checkAll({ Version: "2012-10-17", Statement: ["s3:*"] }),
            "iam-statements-well-formed",
            1,
            /statement #1 is "s3:\*", not an object/,
        );
    });

    it("in trust policies too: a Resource, or no Principal", async () => {
        const trust = {
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole", Resource: "*" }],
        };
        expectViolations(
            await run(policies, [role(trust)]),
            "iam-statements-well-formed",
            1,
            /assumeRolePolicy: statement #1 has a Resource, which trust policies may not have/,
        );
        const noPrincipal = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:AssumeRole" }] };
        expectViolations(await run(policies, [role(noPrincipal)]), "iam-statements-well-formed", 1, /has no Principal/);
    });

    it("Allow and Deny statements IAM accepts are not reported", async () => {
        expectNone(await checkAll(doc(allow("s3:GetObject", "arn:aws:s3:::b/*"), deny("s3:DeleteObject", "*"))));
    });
});

describe("AWS managed policies, from the generated list", () => {
    const attach = (name: string, stack = "prod") =>
        resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", { role: "r", policyArn: `arn:aws:iam::aws:policy/${name}` }, stack);

    it("every policy the issue names as granting every S3 action is reported in production, in any partition", async () => {
        for (const name of [
            "AmazonElasticMapReduceFullAccess",
            "service-role/AmazonElasticMapReduceforEC2Role",
            "SageMakerStudioAdminIAMPermissiveExecutionPolicy",
            "job-function/SystemAdministrator",
            "AIDevOpsAgentActionsPolicy",
            "AmazonS3FullAccess",
            "AdministratorAccess",
            "PowerUserAccess",
        ]) {
            assert.ok(name in S3_FULL_ACCESS_MANAGED_POLICIES, name);
            expectViolations(
                await run(policies, [attach(name)]),
                "no-s3-wildcard-in-production",
                1,
                new RegExp(`attaches arn:aws:iam::aws:policy/${name.replace("/", "\\/")}, which grants every S3 action`),
            );
        }
        const china = resource("aws:iam/role:Role", "r", { assumeRolePolicy: "{}", managedPolicyArns: ["arn:aws-cn:iam::aws:policy/AmazonS3FullAccess"] });
        expectViolations(await run(policies, [china]), "no-s3-wildcard-in-production", 1, /managedPolicyArns\[0\]/);
    });

    it("managed policies that grant bucket-admin actions are findings of no-bucket-admin-for-workloads", async () => {
        assert.ok("AmazonS3FullAccess" in BUCKET_ADMIN_MANAGED_POLICIES);
        expectViolations(await run(policies, [attach("AmazonS3FullAccess", "dev")]), "no-bucket-admin-for-workloads-advisory", 1, /s3:PutBucketPolicy/);
    });

    it("read-only and unrelated managed policies are not reported", async () => {
        for (const name of ["AmazonS3ReadOnlyAccess", "ReadOnlyAccess", "AmazonEKSWorkerNodePolicy", "NoSuchPolicy"]) {
            expectNone(await run(policies, [attach(name)]));
        }
    });
});
