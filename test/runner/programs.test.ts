import { strict as assert } from "assert";
import { evaluateProgram, RecordedResource } from "../../automation/mockEngine";
import { evaluatePolicies } from "../../automation/evaluatePolicies";
import { policies } from "../../policies/rules";
import { parseStackConfig, StackConfigError } from "../../programs/config";
import { runProgram } from "../../programs/main";
import { program as eksRayCluster } from "../../examples/eks-ray-cluster/program";
import { program as podIdentityExisting } from "../../examples/pod-identity-existing-cluster/program";
import { program as expressCheckpoints } from "../../examples/express-checkpoints/program";
import { resetMocks } from "../support/mocks";
import { programViolations } from "../policies/harness";

const ofType = (resources: RecordedResource[], type: string) => resources.filter((r) => r.type === type);

function stackConfig(values: Record<string, unknown>): Record<string, string> {
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

describe("programs and examples, evaluated under the mock engine", function () {
    this.timeout(120_000);
    after(() => resetMocks());

    it("example eks-ray-cluster: a new cluster, IRSA for its namespace, and a RayCluster whose pods use the service account", async () => {
        const { resources, outputs } = await evaluateProgram({
            project: "eks-ray-cluster",
            stack: "dev",
            config: { "eks-ray-cluster:checkpointBucket": "team-ckpt" },
            program: eksRayCluster,
        });
        const [cluster] = ofType(resources, "eks:index:Cluster");
        assert.equal(cluster.inputs.createOidcProvider, true);
        const [role] = ofType(resources, "aws:iam/role:Role");
        assert.equal(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Principal.Federated, cluster.outputs.oidcProviderArn);
        const [sa] = ofType(resources, "kubernetes:core/v1:ServiceAccount");
        assert.equal(sa.inputs.metadata.name, "ray-worker");
        const [ray] = ofType(resources, "kubernetes:ray.io/v1:RayCluster");
        assert.equal(ray.inputs.spec.headGroupSpec.template.spec.serviceAccountName, "ray-worker");
        assert.equal(ray.inputs.spec.workerGroupSpecs[0].template.spec.serviceAccountName, "ray-worker");
        assert.ok(ray.dependencies.includes(role.urn), "the RayCluster waits for the role (dependsOn the component covers its children)");
        const policy = JSON.parse(ofType(resources, "aws:iam/policy:Policy")[0].inputs.policy);
        assert.ok(policy.Statement.some((s: any) => [s.Resource].flat().includes("arn:aws:s3:::team-ckpt/checkpoints/*")));
        assert.equal((outputs as any).rayCluster, "ray");
        // The Kubernetes children use the cluster's provider, not the ambient kubeconfig.
        assert.ok(ofType(resources, "pulumi:providers:kubernetes").length === 1);
    });

    it("example pod-identity-existing-cluster: one association per service account, and it passes the whole pack in production", async () => {
        const { resources } = await evaluateProgram({
            project: "pod-identity-existing-cluster",
            stack: "prod",
            config: { "pod-identity-existing-cluster:clusterName": "ray-prod" },
            program: podIdentityExisting,
        });
        const associations = ofType(resources, "aws:eks/podIdentityAssociation:PodIdentityAssociation");
        assert.deepEqual(associations.map((a) => `${a.inputs.namespace}/${a.inputs.serviceAccount}`).sort(), [
            "ray/ray-head",
            "ray/ray-worker",
            "skypilot/skypilot-service-account",
        ]);
        assert.deepEqual(await programViolations(resources), []);
    });

    it("example express-checkpoints: an access point per team in the directory bucket, a Mountpoint volume with a shared cache, and the whole pack passes in production", async () => {
        const { resources } = await evaluateProgram({
            project: "express-checkpoints",
            stack: "prod",
            config: { "aws:region": "us-west-2", "express-checkpoints:clusterName": "ray-prod" },
            program: expressCheckpoints,
        });
        const accessPoints = ofType(resources, "aws:s3/accessPoint:AccessPoint");
        assert.deepEqual(accessPoints.map((a) => a.inputs.name).sort(), ["team-a-ckpt--usw2-az1--xa-s3", "team-b-ckpt--usw2-az1--xa-s3"]);
        const scopes = ofType(resources, "aws:s3control/directoryBucketAccessPointScope:DirectoryBucketAccessPointScope");
        assert.deepEqual(scopes.map((s) => s.inputs.scope.prefixes).sort(), [["team-a/*"], ["team-b/*"]]);
        const [pv] = ofType(resources, "kubernetes:core/v1:PersistentVolume");
        assert.ok(pv.inputs.spec.mountOptions.includes("cache-xz ray-cache--usw2-az1--x-s3"));
        assert.deepEqual(await programViolations(resources), []);
    });

    it("a Kubeflow profile under Pod Identity gets its association and no IRSA plugin", async () => {
        const config = stackConfig({
            "ray-s3-access:identity": "podIdentity",
            "ray-s3-access:clusterName": "kf",
            "ray-s3-access:tenants": [{ kind: "kubeflowProfile", namespace: "kubeflow-bob", owner: "bob@example.com", buckets: [{ bucket: "kf-data" }] }],
        });
        const { resources } = await evaluateProgram({ project: "ray-s3-access", stack: "dev", config, program: runProgram });
        const [profile] = ofType(resources, "kubernetes:kubeflow.org/v1:Profile");
        assert.deepEqual(profile.inputs.spec.plugins, []);
        const [association] = ofType(resources, "aws:eks/podIdentityAssociation:PodIdentityAssociation");
        assert.equal(association.inputs.serviceAccount, "default-editor");
        assert.equal(ofType(resources, "kubernetes:core/v1:ServiceAccount").length, 0, "Kubeflow's controller owns default-editor");
    });

    it("createOidcProvider creates one provider for every tenant", async () => {
        const config = stackConfig({
            "ray-s3-access:createOidcProvider": "true",
            "ray-s3-access:oidcIssuerUrl": "https://oidc.eks.us-west-2.amazonaws.com/id/NEW",
            "ray-s3-access:tenants": [
                { namespace: "a", buckets: [{ bucket: "a-data" }] },
                { namespace: "b", buckets: [{ bucket: "b-data" }] },
            ],
        });
        const { resources } = await evaluateProgram({ project: "ray-s3-access", stack: "dev", config, program: runProgram });
        const providers = ofType(resources, "aws:iam/openIdConnectProvider:OpenIdConnectProvider");
        assert.equal(providers.length, 1);
        for (const role of ofType(resources, "aws:iam/role:Role")) {
            assert.equal(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Principal.Federated, providers[0].outputs.arn);
        }
    });

    it("a tenant whose buckets are in another account gets an assets role deployed there", async () => {
        const config = stackConfig({
            "aws:region": "us-west-2",
            "ray-s3-access:identity": "podIdentity",
            "ray-s3-access:clusterName": "ray-prod",
            "ray-s3-access:tenants": [
                { namespace: "ray", buckets: [{ bucket: "assets-ckpt" }], assetsDeployRoleArn: "arn:aws:iam::444455556666:role/deployer" },
            ],
        });
        const { resources } = await evaluateProgram({ project: "ray-s3-access", stack: "prod", config, program: runProgram });
        const [provider] = ofType(resources, "pulumi:providers:aws");
        assert.equal(provider.name, "ray-assets");
        assert.match(JSON.stringify(provider.inputs.assumeRoles ?? provider.inputs.assumeRole), /arn:aws:iam::444455556666:role\/deployer/);
        const assetsRole = resources.find((r) => r.type === "aws:iam/role:Role" && r.name === "ray-assets-role")!;
        assert.ok(assetsRole.provider?.startsWith(provider.urn), "the assets role is created through the assets account's provider");
        const [association] = ofType(resources, "aws:eks/podIdentityAssociation:PodIdentityAssociation");
        assert.equal(association.inputs.targetRoleArn, assetsRole.outputs.arn);
        assert.throws(
            () => parseStackConfig("prod", { tenants: JSON.stringify([{ namespace: "a", buckets: [{ bucket: "b-1" }], assetsDeployRoleArn: "deployer" }]) }),
            /tenant 0 \("a"\) field assetsDeployRoleArn \("deployer"\): must be an IAM role ARN/,
        );
    });

    it("config errors name the stack, the tenant and the field, and list every problem", () => {
        assert.throws(
            () =>
                parseStackConfig("prod", {
                    identity: "iam",
                    tenants: JSON.stringify([
                        { namespace: "ray", buckets: [{ bucket: "x-data" }], kind: "kubeflowProfile" },
                        { namespace: "ray", buckets: [{ bucket: "y-data" }] },
                    ]),
                }),
            (error: Error) => {
                assert.ok(error instanceof StackConfigError);
                assert.match(error.message, /^stack "prod" has invalid configuration/);
                assert.match(error.message, /ray-s3-access:identity \("iam"\): Invalid option: expected one of "irsa"\|"podIdentity"/);
                assert.match(error.message, /tenant 0 \("ray"\) field owner: a Kubeflow profile needs its owner's user name/);
                assert.match(error.message, /tenant 1 \("ray"\) field namespace: namespace "ray" repeats tenants\[0\]/);
                return true;
            },
        );
        assert.throws(
            () =>
                parseStackConfig("dev", {
                    roleSharing: "abac",
                    clusterName: "c",
                    tenants: JSON.stringify([{ namespace: "a", buckets: [{ bucket: "a-data" }] }]),
                }),
            /tenant 0 \("a"\) field identity: ray-s3-access:roleSharing "abac" needs identity "podIdentity" for every tenant/,
        );
    });

    it("one pass reports the schema's refusals and the component's rules for the tenants the schema took, tenant by tenant", () => {
        assert.throws(
            () =>
                parseStackConfig("dev", {
                    identity: "podIdentity",
                    clusterName: "ray-dev",
                    tenants: JSON.stringify([
                        { namespace: "ray", buckets: [{ bucket: "My_Bucket", access: "write" }] },
                        { namespace: "Bad_NS", maxSessionDuration: 99999999999, buckets: [{ bucket: "b-data" }] },
                        { namespace: "ok", buckets: [{ bucket: "ok-data", prefixes: ["/abs/"] }], extra: 1 },
                        { namespace: "fine", buckets: [{ bucket: "fine-data" }] },
                    ]),
                }),
            (error: Error) => {
                assert.ok(error instanceof StackConfigError);
                assert.deepEqual(
                    error.problems.map((problem) => problem.replace(/:.*/s, "")),
                    ['tenant 0 ("ray") field buckets[0].access ("write")', 'tenant 1 ("Bad_NS")', 'tenant 1 ("Bad_NS")', 'tenant 2 ("ok")'],
                );
                assert.match(error.problems[1], /namespace "Bad_NS" is not a valid Kubernetes namespace name/);
                assert.match(error.problems[2], /maxSessionDuration 99999999999 is outside 3600-43200 seconds/);
                assert.match(error.problems[3], /unknown key "extra"/);
                return true;
            },
        );
        // A wrong cluster-level key: every tenant depends on it, so the component's rules wait for the fix.
        assert.throws(
            () => parseStackConfig("dev", { identity: "iam", tenants: JSON.stringify([{ namespace: "Bad_NS", buckets: [{ bucket: "b-data" }] }]) }),
            (error: Error) => error instanceof StackConfigError && error.problems.length === 1 && /identity \("iam"\)/.test(error.problems[0]),
        );
    });

    it("additionalClusters in stack config: a provider per other region, associations per cluster, the pack clean in production", async () => {
        const config = stackConfig({
            "aws:region": "us-west-2",
            "ray-s3-access:identity": "irsaAndPodIdentity",
            "ray-s3-access:clusterName": "ray-blue",
            "ray-s3-access:oidcProviderArn": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/BLUE",
            "ray-s3-access:additionalClusters": [{ clusterName: "ray-green", region: "us-east-1" }],
            "ray-s3-access:tenants": [
                { namespace: "a", buckets: [{ bucket: "a-data" }] },
                { namespace: "b", buckets: [{ bucket: "b-data" }] },
            ],
        });
        const { resources } = await evaluateProgram({ project: "ray-s3-access", stack: "prod", config, program: runProgram });
        const providers = ofType(resources, "pulumi:providers:aws");
        assert.deepEqual(
            providers.map((p) => [p.name, p.inputs.region]),
            [["cluster-region-us-east-1", "us-east-1"]],
            "one provider for the other region, shared by every tenant",
        );
        const associations = ofType(resources, "aws:eks/podIdentityAssociation:PodIdentityAssociation");
        assert.deepEqual(associations.map((a) => `${a.inputs.clusterName}:${a.inputs.namespace}`).sort(), [
            "ray-blue:a",
            "ray-blue:b",
            "ray-green:a",
            "ray-green:b",
        ]);
        for (const association of associations.filter((a) => a.inputs.clusterName === "ray-green")) {
            assert.ok(association.provider?.startsWith(providers[0].urn), "the other region's associations use its provider");
        }
        // The green cluster's issuer is looked up (same issuer in the mock world, so one statement per distinct provider).
        const trust = JSON.parse(ofType(resources, "aws:iam/role:Role")[0].inputs.assumeRolePolicy);
        assert.ok(trust.Statement.some((s: any) => s.Principal.Service === "pods.eks.amazonaws.com"));
        assert.deepEqual(trust.Statement.find((s: any) => s.Principal.Service).Condition.StringEquals["aws:RequestTag/eks-cluster-name"], [
            "ray-blue",
            "ray-green",
        ]);
        const evaluated = resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: { ...r.inputs, ...r.outputs } }));
        assert.deepEqual(await evaluatePolicies(policies, evaluated), []);
    });

    it("the same cluster name in two regions (disaster recovery) is two clusters: associations in each with its region's provider; the same region twice is refused", async () => {
        const base = {
            "aws:region": "us-west-2",
            "ray-s3-access:identity": "podIdentity",
            "ray-s3-access:clusterName": "ray",
            "ray-s3-access:tenants": [{ namespace: "a", buckets: [{ bucket: "a-data" }] }],
        };
        const config = stackConfig({
            ...base,
            "ray-s3-access:additionalClusters": [
                { clusterName: "ray", region: "us-east-1" },
                { clusterName: "ray", region: "eu-west-1" },
            ],
        });
        const { resources } = await evaluateProgram({ project: "ray-s3-access", stack: "prod", config, program: runProgram });
        const providers = new Map(ofType(resources, "pulumi:providers:aws").map((p) => [p.urn, p.inputs.region]));
        const associations = ofType(resources, "aws:eks/podIdentityAssociation:PodIdentityAssociation");
        assert.deepEqual(
            associations.map((a) => [a.name, a.inputs.clusterName, a.provider ? providers.get(a.provider.split("::").slice(0, -1).join("::")) : "stack"]),
            [
                ["a-association", "ray", "stack"],
                ["a-association-ray", "ray", "us-east-1"],
                ["a-association-ray-2", "ray", "eu-west-1"],
            ],
        );
        assert.deepEqual(await programViolations(resources), []);
        assert.throws(
            () =>
                parseStackConfig("prod", {
                    ...Object.fromEntries(Object.entries(stackConfig(base)).filter(([k]) => k.startsWith("ray-s3-access:"))),
                    "ray-s3-access:additionalClusters": JSON.stringify([
                        { clusterName: "ray", region: "us-east-1" },
                        { clusterName: "ray", region: "us-east-1" },
                    ]),
                }),
            /additionalClusters\[1\]\.clusterName "ray" repeats .* in the same region: list each cluster once/,
        );
    });

    it("migration steps in stack config: annotateServiceAccount false drops the annotations; config errors name the cluster entry", async () => {
        const base = {
            "ray-s3-access:identity": "irsaAndPodIdentity",
            "ray-s3-access:clusterName": "ray-blue",
            "ray-s3-access:oidcProviderArn": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/BLUE",
            "ray-s3-access:tenants": [{ namespace: "a", buckets: [{ bucket: "a-data" }] }],
        };
        const annotated = (await evaluateProgram({ project: "ray-s3-access", stack: "dev", config: stackConfig(base), program: runProgram })).resources;
        assert.ok(ofType(annotated, "kubernetes:core/v1:ServiceAccount")[0].inputs.metadata.annotations?.["eks.amazonaws.com/role-arn"]);
        const step2 = stackConfig({ ...base, "ray-s3-access:annotateServiceAccount": false });
        const dropped = (await evaluateProgram({ project: "ray-s3-access", stack: "dev", config: step2, program: runProgram })).resources;
        assert.equal(ofType(dropped, "kubernetes:core/v1:ServiceAccount")[0].inputs.metadata.annotations?.["eks.amazonaws.com/role-arn"], undefined);
        assert.equal(ofType(dropped, "aws:eks/podIdentityAssociation:PodIdentityAssociation").length, 1);
        assert.throws(
            () =>
                parseStackConfig("dev", {
                    identity: "podIdentity",
                    clusterName: "ray-blue",
                    additionalClusters: JSON.stringify([{ clustername: "ray-green" }, { clusterName: "ray-blue", region: "mars" }]),
                    tenants: JSON.stringify([{ namespace: "a", buckets: [{ bucket: "a-data" }] }]),
                }),
            (error: Error) => {
                assert.match(error.message, /ray-s3-access:additionalClusters\[0\]: unknown key "clustername" \(did you mean clusterName\?\)/);
                assert.match(error.message, /ray-s3-access:additionalClusters\[1\].region \("mars"\): must be an AWS region such as us-east-1/);
                return true;
            },
        );
        assert.throws(
            () =>
                parseStackConfig("dev", {
                    identity: "podIdentity",
                    clusterName: "ray-blue",
                    additionalClusters: JSON.stringify([{ clusterName: "ray-blue" }]),
                    tenants: JSON.stringify([{ namespace: "a", buckets: [{ bucket: "a-data" }] }]),
                }),
            /tenant 0 \("a"\): additionalClusters\[0\].clusterName "ray-blue" repeats clusterName/,
        );
    });
});
