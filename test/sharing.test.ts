/**
 * Shared roles: ABAC (one Pod Identity role for many namespaces, isolated by session tags), proven with the
 * independent IAM evaluator.
 */
import { strict as assert } from "assert";
import { RayS3Access } from "../components";
import { ACCOUNT, identityAllows, podIdentityContext, trustAllows } from "./support/iamOracle";
import { resetMocks, resourcesOfType, settle, useStack, valueOf } from "./support/mocks";

async function abacComponent() {
    resetMocks();
    useStack("dev");
    const component = new RayS3Access("shared", {
        identity: "podIdentity",
        roleSharing: "abac",
        clusterName: "ray-prod",
        namespace: "team-a",
        additionalServiceAccounts: ["team-b:ray-s3-sa", "team-c:ray-s3-sa"],
        buckets: [{ bucket: "ray-ckpt", prefixes: ["checkpoints/"] }],
    });
    const [trust, policy] = await valueOf(component.trustPolicy.apply((t) => component.permissionsPolicy.apply((p) => [t, p])));
    await settle();
    return { component, trust, policy };
}

/** The request context of a Pod Identity session: its principal tags, as EKS sets them. */
function session(cluster: string, namespace: string, prefix?: string): Record<string, string> {
    const context: Record<string, string> = {
        "aws:PrincipalTag/eks-cluster-name": cluster,
        "aws:PrincipalTag/kubernetes-namespace": namespace,
        "aws:PrincipalTag/kubernetes-service-account": "ray-s3-sa",
    };
    if (prefix !== undefined) context["s3:prefix"] = prefix;
    return context;
}

describe("roleSharing abac (Pod Identity)", () => {
    it("N tenants = 1 role + 1 policy + N associations; the trust pins the cluster and the account only", async () => {
        const { trust } = await abacComponent();
        assert.equal(resourcesOfType("aws:iam/role:Role").length, 1);
        assert.equal(resourcesOfType("aws:iam/policy:Policy").length, 1);
        assert.deepEqual(
            resourcesOfType("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                .map((a) => a.inputs.namespace)
                .sort(),
            ["team-a", "team-b", "team-c"],
        );
        const document = JSON.parse(trust);
        assert.equal(document.Statement.length, 1);
        assert.deepEqual(document.Statement[0].Condition.StringEquals, { "aws:SourceAccount": ACCOUNT, "aws:RequestTag/eks-cluster-name": "ray-prod" });
    });

    it("the agent can assume the role for any namespace of the cluster, and not from another cluster or account", async () => {
        const { trust } = await abacComponent();
        const agent = "pods.eks.amazonaws.com";
        assert.equal(await trustAllows(trust, "sts:AssumeRole", agent, podIdentityContext("ray-prod", "team-b", "ray-s3-sa")), true);
        assert.equal(await trustAllows(trust, "sts:AssumeRole", agent, podIdentityContext("ray-dev", "team-b", "ray-s3-sa")), false);
        assert.equal(await trustAllows(trust, "sts:AssumeRole", agent, podIdentityContext("ray-prod", "team-b", "ray-s3-sa", "444455556666")), false);
    });

    it("tenant A's session reaches A's prefix and not B's, lists only its own prefix, and nothing from another cluster", async () => {
        const { policy } = await abacComponent();
        const object = (ns: string) => `arn:aws:s3:::ray-ckpt/${ns}/checkpoints/run-1/ckpt.pt`;
        for (const action of ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]) {
            assert.equal(await identityAllows(policy, action, object("team-a"), session("ray-prod", "team-a")), true, `${action} own prefix`);
            assert.equal(await identityAllows(policy, action, object("team-b"), session("ray-prod", "team-a")), false, `${action} other tenant`);
            assert.equal(await identityAllows(policy, action, object("team-a"), session("ray-dev", "team-a")), false, `${action} other cluster`);
        }
        assert.equal(
            await identityAllows(policy, "s3:GetObject", "arn:aws:s3:::ray-ckpt/team-a/other/x", session("ray-prod", "team-a")),
            false,
            "outside the granted prefix",
        );
        assert.equal(await identityAllows(policy, "s3:ListBucket", "arn:aws:s3:::ray-ckpt", session("ray-prod", "team-a", "team-a/checkpoints/")), true);
        assert.equal(await identityAllows(policy, "s3:ListBucket", "arn:aws:s3:::ray-ckpt", session("ray-prod", "team-a", "team-b/checkpoints/")), false);
        assert.equal(await identityAllows(policy, "s3:ListBucket", "arn:aws:s3:::ray-ckpt", session("ray-prod", "team-a", "")), false);
    });

    it("abac is only valid with Pod Identity", () => {
        resetMocks();
        assert.throws(
            () =>
                new RayS3Access("x", {
                    roleSharing: "abac",
                    namespace: "a",
                    oidcProviderArn: "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/A",
                    buckets: [{ bucket: "b-1" }],
                }),
            /roleSharing "abac" is only valid when identity is "podIdentity"/,
        );
    });
});
