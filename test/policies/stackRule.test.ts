import { strict as assert } from "assert";
import * as fc from "fast-check";
import { RayS3Access } from "../../components";
import { resourceUrn } from "../../automation/evaluatePolicies";
import { policies, serviceAccountRoleTrustMatch } from "../../policies/rules";
import { resetMocks, settle, useStack, valueOf, world } from "../support/mocks";
import { doc, expectNone, expectViolations, goodIrsaTrust, goodPodIdentityTrust, iamPolicy, resource, role, run, statement } from "./harness";

const NAME = "service-account-role-trust-match";
const ROLE_ARN = "arn:aws:iam::111122223333:role/ray-s3";

function serviceAccount(namespace: string, name: string, roleArn: string, extra = {}) {
    return resource(
        "kubernetes:core/v1:ServiceAccount",
        `${namespace}-${name}`,
        {
            metadata: { name, namespace, annotations: { "eks.amazonaws.com/role-arn": roleArn } },
        },
        "dev",
        extra,
    );
}

describe(`policy ${NAME} (stack)`, () => {
    const trustedRole = { ...role(goodIrsaTrust(["ray", "ray-s3-sa"]), { arn: ROLE_ARN, name: "ray-s3" }, "dev") };

    it("passes a ServiceAccount whose role trusts it", async () => {
        expectNone(await run([serviceAccountRoleTrustMatch], [trustedRole, serviceAccount("ray", "ray-s3-sa", ROLE_ARN)]));
    });

    it("flags a ServiceAccount the role does not trust (the cause of 'Not authorized to perform sts:AssumeRoleWithWebIdentity')", async () => {
        const v = await run([serviceAccountRoleTrustMatch], [trustedRole, serviceAccount("ray", "ray-worker", ROLE_ARN)]);
        const [violation] = expectViolations(
            v,
            NAME,
            1,
            /does not admit system:serviceaccount:ray:ray-worker/,
            /Not authorized to perform sts:AssumeRoleWithWebIdentity/,
        );
        assert.match(violation.urn, /ServiceAccount::ray-ray-worker$/);
        assert.equal(violation.enforcementLevel, "mandatory");
    });

    it("finds the role through dependencies when the ARN is unknown (preview), and by name when no ARN is recorded", async () => {
        const unknownArn = serviceAccount("other", "sa", "04da6b54-80e4-46f7-96ec-b56ff0331ba9", { propertyDependencies: { metadata: [trustedRole.urn] } });
        expectViolations(await run([serviceAccountRoleTrustMatch], [trustedRole, unknownArn]), NAME, 1, /other:sa/);
        const byName = role(goodIrsaTrust(["ray", "ray-s3-sa"]), { name: "named", path: "/ml/" }, "dev");
        expectViolations(await run([serviceAccountRoleTrustMatch], [byName, serviceAccount("ray", "x", "arn:aws:iam::111122223333:role/ml/named")]), NAME, 1);
    });

    it("honours StringLike wildcards the way IAM does (the wildcard itself is the IRSA rule's business)", async () => {
        const like = role(
            doc({
                Effect: "Allow",
                Principal: { Federated: "arn:aws:iam::1:oidc-provider/x" },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: { StringLike: { "x:sub": "system:serviceaccount:ray:*" } },
            }),
            { arn: ROLE_ARN },
            "dev",
        );
        expectNone(await run([serviceAccountRoleTrustMatch], [like, serviceAccount("ray", "anything", ROLE_ARN)]));
    });

    it("ignores roles outside the stack", async () => {
        expectNone(await run([serviceAccountRoleTrustMatch], [serviceAccount("ray", "sa", "arn:aws:iam::111122223333:role/elsewhere")]));
    });

    it("flags a Pod Identity association whose role does not trust EKS Pod Identity with sts:TagSession", async () => {
        const ec2Role = role(doc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }), { arn: ROLE_ARN }, "dev");
        const association = resource(
            "aws:eks/podIdentityAssociation:PodIdentityAssociation",
            "assoc",
            { clusterName: "ray-prod", namespace: "ray", serviceAccount: "ray-s3-sa", roleArn: ROLE_ARN },
            "dev",
        );
        expectViolations(
            await run([serviceAccountRoleTrustMatch], [ec2Role, association]),
            NAME,
            1,
            /does not allow pods.eks.amazonaws.com to sts:AssumeRole and sts:TagSession/,
        );
        const podRole = role(goodPodIdentityTrust(), { arn: ROLE_ARN }, "dev");
        expectNone(await run([serviceAccountRoleTrustMatch], [podRole, association]));
    });

    it("flags a Pod Identity association for a service account the role's trust does not pin", async () => {
        const podRole = role(goodPodIdentityTrust(), { arn: ROLE_ARN }, "dev");
        const association = resource(
            "aws:eks/podIdentityAssociation:PodIdentityAssociation",
            "assoc",
            { clusterName: "ray-prod", namespace: "other", serviceAccount: "ray-s3-sa", roleArn: ROLE_ARN },
            "dev",
        );
        expectViolations(await run([serviceAccountRoleTrustMatch], [podRole, association]), NAME, 1, /pins other clusters, namespaces or service accounts/);
        // An association in another cluster than the one the trust pins is refused by EKS Pod Identity's tags too.
        const elsewhere = resource(
            "aws:eks/podIdentityAssociation:PodIdentityAssociation",
            "assoc",
            { clusterName: "other-cluster", namespace: "ray", serviceAccount: "ray-s3-sa", roleArn: ROLE_ARN },
            "dev",
        );
        expectViolations(await run([serviceAccountRoleTrustMatch], [podRole, elsewhere]), NAME, 1, /does not admit an association of cluster "other-cluster"/);
    });
});

describe("the whole pack on the component's own output, in a production stack", () => {
    async function componentResources(args: any) {
        resetMocks();
        useStack("prod");
        const component = new RayS3Access("ray", args);
        await valueOf(component.trustPolicy);
        await settle();
        const resources = world.resources.map((r) => ({
            type: r.type,
            name: r.name,
            urn: resourceUrn(
                "prod",
                "ray-s3-access",
                r.type === "ray-s3-access:index:RayS3Access" ? r.type : `ray-s3-access:index:RayS3Access$${r.type}`,
                r.name,
            ),
            props: r.state,
        }));
        useStack("dev");
        return resources;
    }

    for (const identity of ["irsa", "podIdentity"]) {
        it(`${identity}: no violation of any rule`, async () => {
            const resources = await componentResources({
                identity,
                clusterName: "ray-prod",
                namespace: "ray",
                ...(identity === "irsa" ? { oidcProviderArn: "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC" } : {}),
                additionalServiceAccounts: ["ray-jobs:submitter"],
                buckets: [
                    {
                        bucket: "ckpt-bucket",
                        prefixes: ["checkpoints/"],
                        kmsKeyArns: ["arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
                    },
                    { bucket: "datasets", access: "read" },
                ],
            });
            assert.ok(resources.length >= 5);
            expectNone(await run(policies, resources));
        });
    }
});

describe("properties of the pack (fast-check)", () => {
    const jsonValue = fc.jsonValue({ maxDepth: 4 });
    const types = [
        "aws:iam/policy:Policy",
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "kubernetes:core/v1:ServiceAccount",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation",
    ];
    const statementLike = fc.record(
        {
            Sid: fc.string(),
            Effect: fc.constantFrom("Allow", "Deny", "allow", 7, null),
            Action: fc.oneof(fc.string(), fc.array(fc.string()), jsonValue),
            NotAction: fc.oneof(fc.string(), fc.array(fc.string())),
            Resource: fc.oneof(fc.string(), fc.array(fc.string())),
            Principal: fc.oneof(fc.constant("*"), fc.dictionary(fc.constantFrom("AWS", "Service", "Federated"), fc.oneof(fc.string(), fc.array(fc.string())))),
            Condition: fc.dictionary(fc.string(), fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.array(fc.string()), jsonValue))),
        },
        { requiredKeys: [] },
    );
    const documentLike = fc.oneof(
        jsonValue,
        fc.record({ Version: fc.constant("2012-10-17"), Statement: fc.oneof(statementLike, fc.array(statementLike, { maxLength: 4 })) }),
    );

    it("no rule throws on arbitrary JSON-like input", async () => {
        await fc.assert(
            fc.asyncProperty(fc.constantFrom(...types), documentLike, jsonValue, fc.constantFrom("prod", "dev"), async (type, document, other, stack) => {
                const props = {
                    policy: fc.sample(fc.boolean(), 1)[0] ? JSON.stringify(document) : document,
                    assumeRolePolicy: JSON.stringify(document),
                    inlinePolicies: [{ name: "x", policy: document }, other],
                    managedPolicyArns: other,
                    policyArn: other,
                    metadata: other,
                    roleArn: other,
                };
                await run(policies, [resource(type, "r", props, stack), role(document, {}, stack)]);
            }),
            { numRuns: 300 },
        );
    });

    it("regression: condition values that are objects with a toString key", async () => {
        const document = { Version: "2012-10-17", Statement: { Condition: { "": { "": { toString: "" } } } } };
        await run(policies, [resource("aws:iam/policy:Policy", "r", { policy: document }), role(document)]);
    });

    const action = fc.constantFrom("s3:GetObject", "s3:PutObject", "kms:Decrypt", "ec2:DescribeInstances", "s3:List*");
    const actions = fc.oneof(action, fc.array(action, { minLength: 1, maxLength: 3 }));
    const wildcard: fc.Arbitrary<any> = fc.record({
        Effect: fc.constant("Allow"),
        Action: fc.constantFrom("s3:*", "S3:*", "*", ["s3:*"], ["s3:GetObject", "s3:*"]),
        Resource: fc.constantFrom("*", "arn:aws:s3:::b/*"),
    });
    // Allow statements of any of these actions, and Deny statements on other buckets' resources: none of them
    // takes anything away from the wildcard's resource.
    const validStatement = fc.oneof(
        fc.record({ Effect: fc.constant("Allow"), Action: actions, Resource: fc.constantFrom("arn:aws:s3:::b/*", "arn:aws:s3:::b", "*") }),
        fc.record({ Effect: fc.constant("Deny"), Action: actions, Resource: fc.constantFrom("arn:aws:s3:::other/*", "arn:aws:s3:::other") }),
    );
    const insert = (statements: any[], extra: any, at: number) => {
        const all = [...statements];
        all.splice(at % (all.length + 1), 0, extra);
        return all;
    };
    const wildcardCaught = async (statements: any[], asString: boolean) => {
        const document = doc(...statements);
        const v = await run(policies, [iamPolicy(asString ? JSON.stringify(document) : document)]);
        return v.some((x) => x.policy === "no-s3-wildcard-in-production" && x.enforcementLevel === "mandatory");
    };

    it("adding an s3:* Allow statement to any valid document is caught in production, whatever else the document allows or denies elsewhere", async () => {
        await fc.assert(
            fc.asyncProperty(fc.array(validStatement, { maxLength: 5 }), wildcard, fc.nat(), fc.boolean(), async (statements, extra, at, asString) =>
                wildcardCaught(insert(statements, extra, at), asString),
            ),
            { numRuns: 200 },
        );
    });

    it("...unless a Deny of every S3 action on the same or a wider resource takes it back", async () => {
        const deny = fc.record({
            Effect: fc.constant("Deny"),
            Action: fc.constantFrom("s3:*", "*", ["s3:*"], "S3:*"),
            Resource: fc.constantFrom("*", "arn:aws:s3:::b/*", "arn:aws:s3:::*"),
        });
        await fc.assert(
            fc.asyncProperty(fc.array(validStatement, { maxLength: 4 }), wildcard, deny, fc.nat(), fc.nat(), async (statements, extra, denial, at, at2) => {
                fc.pre(denial.Resource === "*" || extra.Resource === "arn:aws:s3:::b/*");
                // Action "*" also grants every S3 Express (directory bucket) action, which only a Deny of "*" takes back.
                fc.pre(extra.Action !== "*" || denial.Action === "*");
                return !(await wildcardCaught(insert(insert(statements, extra, at), denial, at2), false));
            }),
            { numRuns: 150 },
        );
    });

    it("the least-privilege statement factory stays clean (so the property above is not vacuous)", async () => {
        expectNone(await run(policies, [iamPolicy(doc(statement({})))]));
    });
});
