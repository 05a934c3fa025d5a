/**
 * `podIdentityAgent`: without the eks-pod-identity-agent add-on (or EKS Auto Mode) associations do nothing and pods
 * fall back to the node role. The mock engine answers `aws.eks.getCluster` / `aws.eks.getAddon` as EKS would.
 */
import { strict as assert } from "assert";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { RayS3Access, RayS3AccessArgs } from "../components";
import { AGENT_OWNER_TAG } from "../components/podIdentityAgent";
import { shortHash } from "../components/names";
import { evaluateProgram } from "../automation/mockEngine";
import { parseStackConfig, tenantArgs } from "../programs/config";
import { runProgram } from "../programs/main";
import { tenantStackConfig } from "../programs/tenant";
import { resetMocks, settle, useStack, world } from "./support/mocks";

const base: RayS3AccessArgs = { identity: "podIdentity", clusterName: "ray-prod", namespace: "ray", buckets: [{ bucket: "ray-ckpt" }] };

/** Builds the components, waits for the engine, and returns the error the deployment stopped with (if any). */
async function deploy(build: () => RayS3Access[]): Promise<{ error?: string; addons: any[]; associations: any[] }> {
    useStack("dev");
    const components = build();
    const errors = await Promise.all(
        components.map((c) =>
            (c.podIdentityAssociationId as any).promise().then(
                () => undefined,
                (e: Error) => e.message,
            ),
        ),
    );
    if (errors.every((e) => e === undefined)) await settle();
    await new Promise((r) => setTimeout(r, 50));
    return {
        error: errors.find((e) => e !== undefined),
        addons: world.resources.filter((r) => r.type === "aws:eks/addon:Addon"),
        associations: world.resources.filter((r) => r.type === "aws:eks/podIdentityAssociation:PodIdentityAssociation"),
    };
}

const agentCalls = () => world.calls.filter((c) => c.token === "aws:eks/getAddon:getAddon");

describe("podIdentityAgent", () => {
    beforeEach(() => resetMocks());
    after(() => resetMocks());

    it("require (the default): a cluster with the add-on gets its associations, and nothing is added", async () => {
        world.addons = { "ray-prod": {} };
        const result = await deploy(() => [new RayS3Access("ray", base)]);
        assert.equal(result.error, undefined);
        assert.equal(result.associations.length, 1);
        assert.equal(result.addons.length, 0);
        assert.equal(agentCalls().length, 1);
    });

    it("require: a cluster without the add-on fails the deployment before any association, naming the cluster and the fixes", async () => {
        world.addons = {};
        const result = await deploy(() => [new RayS3Access("ray", base)]);
        assert.match(result.error!, /podIdentityAgent "require": cluster "ray-prod" has no eks-pod-identity-agent add-on and is not in EKS Auto Mode/);
        assert.match(result.error!, /podIdentityAgent: "create", or aws eks create-addon --cluster-name ray-prod --addon-name eks-pod-identity-agent/);
        assert.match(result.error!, /podIdentityAgent "ignore" if the agent runs another way/);
        assert.equal(result.associations.length, 0, "no association on a cluster whose pods could not use it");
        assert.equal(result.addons.length, 0);
    });

    it("require and create: EKS Auto Mode runs the agent itself, so nothing is needed or added", async () => {
        world.addons = {};
        world.autoMode = ["ray-prod"];
        for (const mode of ["require", "create"] as const) {
            resetMocks();
            world.addons = {};
            world.autoMode = ["ray-prod"];
            const result = await deploy(() => [new RayS3Access("ray", { ...base, podIdentityAgent: mode })]);
            assert.equal(result.error, undefined, mode);
            assert.equal(result.addons.length, 0, mode);
            assert.equal(result.associations.length, 1, mode);
        }
    });

    it("create: a cluster without the add-on gets one, owned by the component, and the associations wait for it", async () => {
        world.addons = {};
        const result = await deploy(() => [new RayS3Access("ray", { ...base, podIdentityAgent: "create", tags: { team: "ml" } })]);
        assert.equal(result.error, undefined);
        assert.equal(result.addons.length, 1);
        const [addon] = result.addons;
        assert.equal(addon.name, "ray-pod-identity-agent");
        assert.equal(addon.inputs.clusterName, "ray-prod");
        assert.equal(addon.inputs.addonName, "eks-pod-identity-agent");
        assert.equal(addon.inputs.tags.team, "ml");
        assert.match(addon.inputs.tags[AGENT_OWNER_TAG], /^[0-9a-f]{8}$/);
        assert.equal(result.associations.length, 1);
        assert.ok(world.resources.indexOf(addon) < world.resources.indexOf(result.associations[0]), "the add-on is created before the association");
    });

    it("create on a cluster that already runs the add-on: someone else's is left alone, the component's own is kept", async () => {
        world.addons = { "ray-prod": { tags: {} } };
        const theirs = await deploy(() => [new RayS3Access("ray", { ...base, podIdentityAgent: "create" })]);
        assert.equal(theirs.error, undefined);
        assert.equal(theirs.addons.length, 0, "an add-on installed another way is not created again (EKS would refuse) nor adopted");
        assert.equal(theirs.associations.length, 1);

        resetMocks();
        world.addons = { "ray-prod": { tags: { [AGENT_OWNER_TAG]: shortHash("ray-s3-access\0dev\0ray-s3-access:index:RayS3Access::ray") } } };
        const ours = await deploy(() => [new RayS3Access("ray", { ...base, podIdentityAgent: "create" })]);
        assert.equal(ours.error, undefined);
        assert.equal(ours.addons.length, 1, "the add-on this component created stays in its state (not deleted by the next update)");
    });

    it("create in several components on one cluster: one add-on, one question to EKS", async () => {
        world.addons = {};
        const result = await deploy(() =>
            ["a", "b", "c"].map((ns) => new RayS3Access(`ray-${ns}`, { ...base, namespace: `team-${ns}`, podIdentityAgent: "create" })),
        );
        assert.equal(result.error, undefined);
        assert.equal(result.addons.length, 1);
        assert.equal(result.associations.length, 3);
        assert.equal(agentCalls().length, 1);
    });

    it("every cluster of the component is checked: a second cluster without the agent fails, one per cluster is created", async () => {
        world.addons = { "ray-prod": {} };
        const required = await deploy(() => [new RayS3Access("ray", { ...base, additionalClusters: [{ clusterName: "ray-green" }] })]);
        assert.match(required.error!, /cluster "ray-green" has no eks-pod-identity-agent add-on/);

        resetMocks();
        world.addons = {};
        const created = await deploy(() => [
            new RayS3Access("ray", { ...base, podIdentityAgent: "create", additionalClusters: [{ clusterName: "ray-green" }] }),
        ]);
        assert.equal(created.error, undefined);
        assert.deepEqual(created.addons.map((a) => a.inputs.clusterName).sort(), ["ray-green", "ray-prod"]);
        assert.equal(created.associations.length, 2);
    });

    it("a cluster name that arrives as an Output is checked when it resolves", async () => {
        world.addons = {};
        const result = await deploy(() => [new RayS3Access("ray", { ...base, clusterName: pulumi.output("ray-late") })]);
        assert.match(result.error!, /cluster "ray-late" has no eks-pod-identity-agent add-on/);
    });

    it("a deployer that may not ask EKS is told which permissions to add", async () => {
        world.eksError = "AccessDeniedException: User is not authorized to perform: eks:DescribeAddon";
        const result = await deploy(() => [new RayS3Access("ray", base)]);
        assert.match(result.error!, /could not ask EKS whether cluster "ray-prod" runs the eks-pod-identity-agent add-on \(AccessDeniedException/);
        assert.match(result.error!, /allow eks:DescribeCluster and eks:DescribeAddon to the deployer, or set podIdentityAgent "ignore"/);
    });

    it("ignore asks nothing and adds nothing", async () => {
        world.addons = {};
        const result = await deploy(() => [new RayS3Access("ray", { ...base, podIdentityAgent: "ignore" })]);
        assert.equal(result.error, undefined);
        assert.equal(result.addons.length, 0);
        assert.equal(agentCalls().length, 0);
    });

    it("offline (an engine that cannot ask AWS): require passes, create shows the add-on a cluster without one would get", async () => {
        const required = await deploy(() => [new RayS3Access("ray", base)]);
        assert.equal(required.error, undefined);
        resetMocks();
        const created = await deploy(() => [new RayS3Access("ray", { ...base, podIdentityAgent: "create" })]);
        assert.equal(created.addons.length, 1);
    });

    it("is refused with IRSA, and an unknown mode is named with the valid ones", () => {
        assert.throws(
            () => new RayS3Access("irsa", { namespace: "ray", clusterName: "ray-prod", buckets: [{ bucket: "ray-ckpt" }], podIdentityAgent: "create" }),
            /podIdentityAgent is only valid with Pod Identity \(identity "podIdentity" or "irsaAndPodIdentity"\): IRSA needs no agent/,
        );
        assert.throws(
            () => new RayS3Access("typo", { ...base, podIdentityAgent: "install" as "create" }),
            /podIdentityAgent "install" is not one of "require", "create", "ignore"/,
        );
    });

    it("create takes one of EKS's 50 tags for its owner tag: 50 given tags are refused, 49 reach the add-on with it", async () => {
        const tags = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, "v"]));
        assert.throws(
            () => new RayS3Access("fifty", { ...base, podIdentityAgent: "create", tags: tags(50) }),
            /tags has 50 tags, and podIdentityAgent "create" tags the add-on it adds with ray-s3-access\/pod-identity-agent-owner too: .* give at most 49/,
        );
        new RayS3Access("fifty-required", { ...base, tags: tags(50) }); // require adds nothing: 50 are fine
        world.addons = {};
        new RayS3Access("forty-nine", { ...base, namespace: "team-b", podIdentityAgent: "create", tags: tags(49) });
        await settle();
        const addon = world.resources.find((r) => r.type === "aws:eks/addon:Addon")!;
        assert.equal(Object.keys(addon.inputs.tags).length, 50);
    });

    it("irsaAndPodIdentity checks the agent too (its associations need it)", async () => {
        world.addons = {};
        const result = await deploy(() => [
            new RayS3Access("ray", {
                ...base,
                identity: "irsaAndPodIdentity",
                oidcProviderArn: "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC",
            }),
        ]);
        assert.match(result.error!, /has no eks-pod-identity-agent add-on/);
    });

    it("an explicit provider's cluster is asked through that provider", async () => {
        world.addons = { "ray-prod": {}, "ray-east": {} };
        const east = new aws.Provider("east", { region: "us-east-1" });
        const result = await deploy(() => [new RayS3Access("ray", { ...base, additionalClusters: [{ clusterName: "ray-east", provider: east }] })]);
        assert.equal(result.error, undefined);
        const eastCall = agentCalls().find((c) => c.inputs.clusterName === "ray-east");
        assert.match(String(eastCall?.provider), /east/);
    });
});

describe("podIdentityAgent in the bundled program (ray-s3-access:podIdentityAgent)", function () {
    this.timeout(60_000);
    after(() => resetMocks());

    const config = (values: Record<string, unknown>) =>
        Object.fromEntries(Object.entries(values).map(([k, v]) => [`ray-s3-access:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
    const tenants = [
        { namespace: "team-a", buckets: [{ bucket: "a-ckpt" }] },
        { namespace: "team-b", buckets: [{ bucket: "b-ckpt" }] },
        { namespace: "team-c", clusterName: "ray-blue", buckets: [{ bucket: "c-ckpt" }] },
    ];

    it('"create": the environment stack adds the add-on once per cluster its Pod Identity tenants use, and removing a tenant keeps it', async () => {
        const run = (list: typeof tenants) =>
            evaluateProgram({
                project: "ray-s3-access",
                stack: "dev",
                config: {
                    "aws:region": "us-west-2",
                    ...config({ identity: "podIdentity", clusterName: "ray-prod", podIdentityAgent: "create", tenants: list }),
                },
                program: runProgram,
            });
        const all = await run(tenants);
        const addons = all.resources.filter((r) => r.type === "aws:eks/addon:Addon");
        assert.deepEqual(addons.map((a) => `${a.name} ${a.inputs.clusterName}`).sort(), [
            "pod-identity-agent-ray-blue ray-blue",
            "pod-identity-agent-ray-prod ray-prod",
        ]);
        assert.ok(addons.every((a) => a.inputs.addonName === "eks-pod-identity-agent" && a.inputs.tags[AGENT_OWNER_TAG]));
        assert.ok(
            addons.every((a) => !a.urn.includes("RayS3Access")),
            "the stack owns them, not a tenant's component",
        );
        const fewer = await run(tenants.slice(1));
        assert.deepEqual(
            fewer.resources
                .filter((r) => r.type === "aws:eks/addon:Addon")
                .map((a) => a.urn)
                .sort(),
            addons.map((a) => a.urn).sort(),
            "the add-on of team-a's cluster stays when team-a leaves",
        );
    });

    it("the tenants' components leave the agent to the stack under create, require it by default, and tenant stacks require what the environment created", () => {
        const agentOf = (values: Record<string, unknown>) => {
            const parsed = parseStackConfig("dev", { tenants: JSON.stringify(tenants), ...values });
            return tenantArgs(parsed, parsed.tenants[0]).podIdentityAgent;
        };
        const pod = { identity: "podIdentity", clusterName: "ray-prod" };
        assert.equal(agentOf(pod), "require");
        assert.equal(agentOf({ ...pod, podIdentityAgent: "create" }), "ignore");
        assert.equal(agentOf({ ...pod, podIdentityAgent: "ignore" }), "ignore");
        assert.equal(agentOf({ oidcProviderArn: "arn:aws:iam::111122223333:oidc-provider/x" }), undefined, "IRSA: none");
        const created = parseStackConfig("dev", { ...pod, podIdentityAgent: "create", tenants: JSON.stringify(tenants) });
        const inTenantStack = tenantStackConfig(created);
        assert.equal(
            tenantArgs(inTenantStack, inTenantStack.tenants[0]).podIdentityAgent,
            "require",
            "a tenant or shard stack requires the agent its environment stack created",
        );
    });

    it("is refused on a stack whose tenants all use IRSA, and an unknown value is named", () => {
        assert.throws(
            () =>
                parseStackConfig("dev", {
                    podIdentityAgent: "create",
                    oidcProviderArn: "arn:aws:iam::111122223333:oidc-provider/x",
                    tenants: JSON.stringify(tenants.slice(0, 1)),
                }),
            /ray-s3-access:podIdentityAgent is only valid when some tenant uses Pod Identity/,
        );
        assert.throws(
            () => parseStackConfig("dev", { identity: "podIdentity", clusterName: "ray-prod", podIdentityAgent: "yes", tenants: JSON.stringify(tenants) }),
            /podIdentityAgent/,
        );
        // The environment stack's add-on carries the stack's tags and its owner tag.
        const fifty = JSON.stringify(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "v"])));
        assert.throws(
            () =>
                parseStackConfig("dev", {
                    identity: "podIdentity",
                    clusterName: "ray-prod",
                    podIdentityAgent: "create",
                    tags: fifty,
                    tenants: JSON.stringify(tenants),
                }),
            /ray-s3-access:tags has 50 tags, and podIdentityAgent "create" tags the add-on/,
        );
    });
});
