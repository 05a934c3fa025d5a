import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { strict as assert } from "assert";
import { RAY_S3_ACCESS_TYPE, RayS3Access, RayS3AccessArgs } from "../components";
import { resetMocks, resourcesOfType, settle, useStack, valueOf, world } from "./support/mocks";

const PROVIDER_ARN = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC123";

function irsaArgs(overrides: Partial<RayS3AccessArgs> = {}): RayS3AccessArgs {
    return {
        namespace: "ray",
        oidcProviderArn: PROVIDER_ARN,
        buckets: [{ bucket: "ckpt-bucket", prefixes: ["checkpoints/"] }],
        ...overrides,
    };
}

async function outputsOf(component: RayS3Access) {
    const values = await valueOf(
        pulumi.all({
            roleArn: component.roleArn,
            roleName: component.roleName,
            policyArn: component.policyArn,
            namespace: component.namespace,
            serviceAccountName: component.serviceAccountName,
            trustPolicy: component.trustPolicy,
            permissionsPolicy: component.permissionsPolicy,
            oidcProviderArn: component.oidcProviderArn,
            podIdentityAssociationId: component.podIdentityAssociationId,
        }),
    );
    await settle();
    return values;
}

interface Child {
    type: string;
    name: string;
    parent?: pulumi.Resource;
}

/** Builds the component with a transformation that records each child and its parent. */
function build(name: string, args: RayS3AccessArgs, opts: pulumi.ComponentResourceOptions = {}): { component: RayS3Access; children: Child[] } {
    const children: Child[] = [];
    const component = new RayS3Access(name, args, {
        ...opts,
        transformations: [
            (a) => {
                if (a.type === RAY_S3_ACCESS_TYPE) return undefined;
                children.push({ type: a.type, name: a.name, parent: a.opts.parent });
                return undefined;
            },
        ],
    });
    return { component, children };
}

describe("RayS3Access resource graph", () => {
    beforeEach(() => {
        resetMocks();
        useStack("dev");
    });

    it("IRSA with an existing provider: role, policy, attachment and an annotated ServiceAccount, all parented to the component", async () => {
        const { component, children } = build("ray", irsaArgs());
        const out = await outputsOf(component);

        assert.deepEqual(children.map((c) => `${c.type} ${c.name}`).sort(), [
            "aws:iam/policy:Policy ray-policy",
            "aws:iam/role:Role ray-role",
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment ray-policy-attachment",
            "kubernetes:core/v1:ServiceAccount ray-sa",
        ]);
        for (const child of children) {
            assert.equal(child.parent, component, `${child.name} must be parented to the component`);
        }

        const [sa] = resourcesOfType("kubernetes:core/v1:ServiceAccount");
        assert.equal(sa.inputs.metadata.name, "ray-s3-sa");
        assert.equal(sa.inputs.metadata.namespace, "ray");
        assert.equal(sa.inputs.metadata.annotations["eks.amazonaws.com/role-arn"], out.roleArn);

        const [attachment] = resourcesOfType("aws:iam/rolePolicyAttachment:RolePolicyAttachment");
        assert.equal(attachment.inputs.policyArn, out.policyArn);
        assert.equal(attachment.inputs.role, out.roleName);

        const [role] = resourcesOfType("aws:iam/role:Role");
        assert.equal(role.inputs.assumeRolePolicy, out.trustPolicy);
        assert.equal(role.inputs.maxSessionDuration, 3600);
        const [policy] = resourcesOfType("aws:iam/policy:Policy");
        assert.equal(policy.inputs.policy, out.permissionsPolicy);

        assert.equal(out.oidcProviderArn, PROVIDER_ARN);
        assert.equal(out.namespace, "ray");
        assert.equal(out.serviceAccountName, "ray-s3-sa");
        assert.equal(out.podIdentityAssociationId, "");
        const trust = JSON.parse(out.trustPolicy);
        assert.equal(trust.Statement[0].Principal.Federated, PROVIDER_ARN);
        assert.deepEqual(trust.Statement[0].Condition.StringEquals, {
            "oidc.eks.us-west-2.amazonaws.com/id/ABC123:aud": "sts.amazonaws.com",
            "oidc.eks.us-west-2.amazonaws.com/id/ABC123:sub": "system:serviceaccount:ray:ray-s3-sa",
        });
    });

    it("IRSA with createOidcProvider creates the provider for the issuer with the STS client id and trusts it", async () => {
        const { component } = build("ray", {
            namespace: "ray",
            oidcIssuerUrl: "https://oidc.eks.us-west-2.amazonaws.com/id/NEWISSUER",
            createOidcProvider: true,
            buckets: [{ bucket: "data" }],
        });
        const out = await outputsOf(component);
        const [provider] = resourcesOfType("aws:iam/openIdConnectProvider:OpenIdConnectProvider");
        assert.equal(provider.name, "ray-oidc");
        assert.equal(provider.inputs.url, "https://oidc.eks.us-west-2.amazonaws.com/id/NEWISSUER");
        assert.deepEqual(provider.inputs.clientIdLists, ["sts.amazonaws.com"]);
        assert.equal(out.oidcProviderArn, provider.state.arn);
        assert.equal(JSON.parse(out.trustPolicy).Statement[0].Principal.Federated, provider.state.arn);
    });

    it("IRSA with only clusterName looks the issuer up with eks.getCluster and builds the provider ARN in the stack's partition", async () => {
        world.partition = "aws-cn";
        world.clusterIssuer = "https://oidc.eks.cn-north-1.amazonaws.com.cn/id/CNISSUER";
        const { component } = build("ray", { namespace: "ray", clusterName: "ray-cn", buckets: [{ bucket: "data" }] });
        const out = await outputsOf(component);
        assert.ok(world.calls.some((c) => c.token === "aws:eks/getCluster:getCluster" && c.inputs.name === "ray-cn"));
        assert.equal(out.oidcProviderArn, "arn:aws-cn:iam::111122223333:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/CNISSUER");
        assert.equal(resourcesOfType("aws:iam/openIdConnectProvider:OpenIdConnectProvider").length, 0);
        for (const statement of JSON.parse(out.permissionsPolicy).Statement) {
            for (const resource of [statement.Resource].flat()) {
                assert.match(resource, /^arn:aws-cn:/, "every ARN uses the partition from aws.getPartition");
            }
        }
    });

    it("Pod Identity: a plain ServiceAccount and one association per trusted service account, trust pinned to cluster and account", async () => {
        const { component, children } = build("ray", {
            identity: "podIdentity",
            clusterName: "ray-prod",
            namespace: "ray",
            buckets: [{ bucket: "ckpt-bucket", prefixes: ["checkpoints/"] }],
            additionalServiceAccounts: ["ray-jobs:submitter"],
        });
        const out = await outputsOf(component);
        const associations = resourcesOfType("aws:eks/podIdentityAssociation:PodIdentityAssociation").sort((a, b) => a.name.localeCompare(b.name));
        assert.deepEqual(
            associations.map((a) => [a.name, a.inputs.clusterName, a.inputs.namespace, a.inputs.serviceAccount, a.inputs.roleArn]),
            [
                ["ray-association", "ray-prod", "ray", "ray-s3-sa", out.roleArn],
                ["ray-association-ray-jobs-submitter", "ray-prod", "ray-jobs", "submitter", out.roleArn],
            ],
        );
        assert.ok(
            associations.every((a) => a.inputs.disableSessionTags === undefined),
            "session tags stay on",
        );
        assert.equal(out.podIdentityAssociationId, "a-ray-association");
        assert.equal(out.oidcProviderArn, "");
        const sas = resourcesOfType("kubernetes:core/v1:ServiceAccount");
        assert.equal(sas.length, 2);
        assert.ok(
            sas.every((sa) => sa.inputs.metadata.annotations === undefined),
            "Pod Identity needs no role annotation",
        );
        assert.ok(children.every((c) => c.parent === component));
        assert.equal(resourcesOfType("aws:iam/openIdConnectProvider:OpenIdConnectProvider").length, 0);

        const trust = JSON.parse(out.trustPolicy);
        assert.equal(trust.Statement.length, 2);
        assert.deepEqual(trust.Statement[0].Principal, { Service: "pods.eks.amazonaws.com" });
        assert.deepEqual(trust.Statement[0].Action, ["sts:AssumeRole", "sts:TagSession"]);
        const primary = trust.Statement.find((st: any) => st.Condition.StringEquals["aws:RequestTag/kubernetes-namespace"] === "ray");
        assert.deepEqual(primary.Condition.StringEquals, {
            "aws:SourceAccount": "111122223333",
            "aws:RequestTag/eks-cluster-name": "ray-prod",
            "aws:RequestTag/kubernetes-namespace": "ray",
            "aws:RequestTag/kubernetes-service-account": "ray-s3-sa",
        });
    });

    it("manageServiceAccount patch annotates existing ServiceAccounts with ServiceAccountPatch, none leaves Kubernetes alone", async () => {
        const patched = build("kf", irsaArgs({ namespace: "kubeflow-alice", serviceAccountName: "default-editor", manageServiceAccount: "patch" }));
        const out = await outputsOf(patched.component);
        const [patch] = resourcesOfType("kubernetes:core/v1:ServiceAccountPatch");
        assert.equal(patch.name, "kf-sa");
        assert.deepEqual(patch.inputs.metadata, {
            name: "default-editor",
            namespace: "kubeflow-alice",
            annotations: { "eks.amazonaws.com/role-arn": out.roleArn },
        });
        assert.equal(resourcesOfType("kubernetes:core/v1:ServiceAccount").length, 0);

        resetMocks();
        const untouched = build("none", irsaArgs({ manageServiceAccount: "none" }));
        await outputsOf(untouched.component);
        assert.equal(world.resources.filter((r) => r.type.startsWith("kubernetes:")).length, 0);
    });

    it("passes the caller's aws and kubernetes providers to every child", async () => {
        const awsProvider = new aws.Provider("assets", { region: "eu-west-1" });
        const k8sProvider = new k8s.Provider("ray-cluster", { kubeconfig: "{}" });
        const { component } = build("ray", irsaArgs({ oidcProviderArn: undefined, clusterName: "ray-eu" }), {
            providers: { aws: awsProvider, kubernetes: k8sProvider },
        });
        await outputsOf(component);
        const children = world.resources.filter((r) => !r.type.startsWith("pulumi:providers:") && r.type !== "ray-s3-access:index:RayS3Access");
        assert.ok(children.length >= 4);
        for (const child of children) {
            const expected = child.type.startsWith("kubernetes:") ? "ray-cluster" : "assets";
            assert.match(String(child.provider), new RegExp(`::${expected}::`), `${child.type} ${child.name} uses the caller's provider`);
        }
        assert.deepEqual(world.calls.map((c) => c.token).sort(), [
            "aws:eks/getCluster:getCluster",
            "aws:index/getCallerIdentity:getCallerIdentity",
            "aws:index/getPartition:getPartition",
        ]);
        for (const call of world.calls) {
            assert.match(String(call.provider), /::assets::/, `${call.token} goes through the caller's aws provider`);
        }
    });

    it("names children from the component's name, with stable suffixes for list entries", async () => {
        const { component } = build("team-a", {
            identity: "podIdentity",
            clusterName: "c",
            namespace: "team-a",
            buckets: [{ bucket: "data" }],
            additionalServiceAccounts: ["b:y", "a:x"],
            additionalPolicyArns: ["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"],
            manageServiceAccount: "none",
        });
        await outputsOf(component);
        assert.deepEqual(
            resourcesOfType("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                .map((r) => r.name)
                .sort(),
            ["team-a-association", "team-a-association-a-x", "team-a-association-b-y"],
        );
        const extras = resourcesOfType("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "team-a-extra-");
        assert.deepEqual(
            extras.map((r) => [r.name, r.inputs.policyArn]),
            [["team-a-extra-CloudWatchAgentServerPolicy", "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"]],
        );
    });

    it("passes role settings through: name, path, boundary, session duration, tags", async () => {
        const { component } = build(
            "ray",
            irsaArgs({
                roleName: "ray-ckpt",
                rolePath: "/ml/",
                permissionsBoundaryArn: "arn:aws:iam::111122223333:policy/ml-boundary",
                maxSessionDuration: 43200,
                tags: { team: "ml" },
            }),
        );
        const out = await outputsOf(component);
        const [role] = resourcesOfType("aws:iam/role:Role");
        assert.equal(role.inputs.name, "ray-ckpt");
        assert.equal(role.inputs.path, "/ml/");
        assert.equal(role.inputs.permissionsBoundary, "arn:aws:iam::111122223333:policy/ml-boundary");
        assert.equal(role.inputs.maxSessionDuration, 43200);
        assert.deepEqual(role.inputs.tags, { team: "ml" });
        assert.equal(out.roleArn, "arn:aws:iam::111122223333:role/ml/ray-ckpt");
        assert.equal(resourcesOfType("aws:iam/policy:Policy")[0].inputs.path, "/ml/");
    });

    it("accepts namespace and service account name as Outputs", async () => {
        const { component } = build("ray", irsaArgs({ namespace: pulumi.output("ray-late"), serviceAccountName: pulumi.output("head") }));
        const out = await outputsOf(component);
        assert.equal(out.namespace, "ray-late");
        assert.match(out.trustPolicy, /system:serviceaccount:ray-late:head/);
    });
});
