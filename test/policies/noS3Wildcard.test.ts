import { strict as assert } from "assert";
import { noS3WildcardInProduction } from "../../policies/rules";
import { isProductionStack } from "../../policies/lib/stack";
import { doc, expectNone, expectViolations, goodPermissions, iamPolicy, resource, role, run, statement, UNKNOWN } from "./harness";

const NAME = "no-s3-wildcard-in-production";
const check = (resources: any[], options = {}) => run([noS3WildcardInProduction], resources, options);

describe(`policy ${NAME}`, () => {
    it("passes the component's least-privilege policy in production", async () => {
        expectNone(await check([iamPolicy(JSON.stringify(goodPermissions()))]));
    });

    it("flags s3:* and names the statement and the action", async () => {
        const v = await check([iamPolicy(JSON.stringify(doc(statement({ Sid: "Everything", Action: "s3:*" }))))]);
        expectViolations(v, NAME, 1, /statement Everything grants every S3 action through Action \["s3:\*"\]/);
        assert.equal(v[0].enforcementLevel, "mandatory");
    });

    const grantsAll: [string, unknown][] = [
        ["upper case S3:*", "S3:*"],
        ["*", "*"],
        ["s3:?* (covers the catalog)", "s3:?*"],
        ["a list with s3:*", ["s3:GetObject", "s3:*"]],
        ["s3* (no colon wildcard)", "s3*:*"],
    ];
    for (const [label, action] of grantsAll) {
        it(`flags ${label}`, async () => {
            expectViolations(await check([iamPolicy(doc(statement({ Action: action })))]), NAME, 1);
        });
    }

    it("does not flag wildcards that leave part of S3 out", async () => {
        expectNone(await check([iamPolicy(doc(statement({ Action: ["s3:Get*", "s3:Put*", "s3:List*"] })))]));
        expectNone(await check([iamPolicy(doc(statement({ Action: "s3:*Object" })))]));
    });

    it("flags NotAction that leaves S3 in, not NotAction that takes S3 out", async () => {
        expectViolations(
            await check([iamPolicy(doc(statement({ Action: undefined, NotAction: ["iam:*", "organizations:*"] })))]),
            NAME,
            1,
            /NotAction \["iam:\*","organizations:\*"\], which leaves every S3 action in/,
        );
        expectNone(await check([iamPolicy(doc(statement({ Action: undefined, NotAction: "s3:*" })))]));
    });

    it("never counts Deny statements as grants", async () => {
        expectNone(await check([iamPolicy(doc(statement({ Effect: "Deny", Action: "s3:*" })))]));
    });

    it("reads Statement as a single object and documents as objects or JSON strings", async () => {
        const single = { Version: "2012-10-17", Statement: statement({ Action: "s3:*" }) };
        expectViolations(await check([iamPolicy(single)]), NAME, 1);
        expectViolations(await check([iamPolicy(JSON.stringify(single))]), NAME, 1);
    });

    it("checks every carrier: role, user and group policies, inline role policies, bucket policies", async () => {
        const wildcard = JSON.stringify(doc(statement({ Action: "s3:*" })));
        const carriers = [
            resource("aws:iam/rolePolicy:RolePolicy", "rp", { policy: wildcard }),
            resource("aws:iam/userPolicy:UserPolicy", "up", { policy: wildcard }),
            resource("aws:iam/groupPolicy:GroupPolicy", "gp", { policy: wildcard }),
            role({ Version: "2012-10-17", Statement: [] }, { inlinePolicies: [{ name: "inline", policy: wildcard }] }),
            resource("aws:s3/bucketPolicy:BucketPolicy", "bp", {
                bucket: "b",
                policy: doc(statement({ Principal: { AWS: "arn:aws:iam::111122223333:root" }, Action: "s3:*" })),
            }),
        ];
        const v = await check(carriers);
        expectViolations(v, NAME, 5);
        assert.match(v.find((x) => x.urn.endsWith("::r"))!.message, /inlinePolicies\[0\] \("inline"\)/);
    });

    it("flags AWS managed policies that grant every S3 action, in every partition and attachment kind", async () => {
        const attachments = [
            resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a1", { role: "r", policyArn: "arn:aws:iam::aws:policy/AmazonS3FullAccess" }),
            resource("aws:iam/policyAttachment:PolicyAttachment", "a2", { policyArn: "arn:aws-cn:iam::aws:policy/AdministratorAccess" }),
            resource("aws:iam/userPolicyAttachment:UserPolicyAttachment", "a3", { user: "u", policyArn: "arn:aws-us-gov:iam::aws:policy/PowerUserAccess" }),
            resource("aws:iam/groupPolicyAttachment:GroupPolicyAttachment", "a4", { group: "g", policyArn: "arn:aws:iam::aws:policy/AmazonS3FullAccess" }),
            role(
                { Version: "2012-10-17", Statement: [] },
                { managedPolicyArns: ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", "arn:aws:iam::aws:policy/AdministratorAccess"] },
            ),
        ];
        const v = await check(attachments);
        expectViolations(v, NAME, 5, /grants every S3 action/);
        expectNone(
            await check([resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "ok", { policyArn: "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess" })]),
        );
    });

    it("is not applicable outside production", async () => {
        expectNone(await check([iamPolicy(doc(statement({ Action: "s3:*" })), "dev")]));
        expectNone(await check([iamPolicy(doc(statement({ Action: "s3:*" })), "product-x")]));
    });

    it("production: a prod/production token, the environment tag, or a configured pattern", () => {
        for (const stack of ["prod", "ray-prod", "production.us-west-2", "eu_prod", "PROD", "prod.team-a"]) {
            assert.equal(isProductionStack(stack, new Map()), true, stack);
        }
        for (const stack of ["dev", "product-x", "preprod", "prodigy", "staging"]) {
            assert.equal(isProductionStack(stack, new Map()), false, stack);
        }
        assert.equal(isProductionStack("live", new Map([["environment", "Production"]])), true);
        assert.equal(isProductionStack("live-eu", new Map(), ["live-*"]), true);
    });

    it("uses the environment tag and configured patterns when evaluating", async () => {
        const wildcard = doc(statement({ Action: "s3:*" }));
        expectViolations(await check([iamPolicy(wildcard, "blue")], { stackTags: { environment: "prod" } }), NAME, 1);
        expectViolations(await check([iamPolicy(wildcard, "live-eu")], { config: { [NAME]: { productionStacks: ["live-*"] } } }), NAME, 1);
    });

    it("fails closed on a document unknown during preview in production, unless configured", async () => {
        const v = await check([iamPolicy(UNKNOWN)]);
        expectViolations(v, NAME, 1, /can't be known during preview.*fail closed/);
        assert.equal(v[0].enforcementLevel, "mandatory");
        const open = await check([iamPolicy(UNKNOWN)], { config: { [NAME]: { failClosedOnUnknown: false } } });
        expectViolations(open, NAME, 1, /can't run policy/);
        assert.equal(open[0].enforcementLevel, "advisory");
    });

    it("reports a document that is not JSON instead of passing it", async () => {
        expectViolations(await check([iamPolicy('{"Statement": [')]), NAME, 1, /a policy document is not valid JSON .*IAM rejects it/);
    });

    it("honours an exception until it expires", async () => {
        const wildcard = doc(statement({ Action: "s3:*" }));
        const future = { [NAME]: { exceptions: [{ resource: "p", reason: "migration ticket OPS-1", expires: "2999-01-01" }] } };
        expectNone(await check([iamPolicy(wildcard)], { config: future }));
        const past = { [NAME]: { exceptions: [{ resource: "urn:pulumi:prod::*::p", reason: "migration ticket OPS-1", expires: "2020-01-01" }] } };
        expectViolations(await check([iamPolicy(wildcard)], { config: past }), NAME, 1, /exception "migration ticket OPS-1" expired on 2020-01-01/);
    });

    it("can be disabled or downgraded per policy", async () => {
        const wildcard = doc(statement({ Action: "s3:*" }));
        expectNone(await check([iamPolicy(wildcard)], { config: { [NAME]: "disabled" } }));
        const v = await check([iamPolicy(wildcard)], { config: { [NAME]: { enforcementLevel: "advisory" } } });
        assert.equal(v[0].enforcementLevel, "advisory");
    });
});
