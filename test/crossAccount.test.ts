/**
 * Buckets in another account: the assets role, the chain into it (evaluator-proven), and what pods need.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { strict as assert } from "assert";
import { RayS3Access } from "../components";
import { buildAssetsTrustPolicy, buildAssumeAssetsPolicy } from "../components/crossAccount";
import { buildS3PermissionsPolicy } from "../components/s3Policy";
import { evaluatePolicies } from "../automation/evaluatePolicies";
import { policies } from "../policies/rules";
import { identityAllows, trustAllows } from "./support/iamOracle";
import { recordedForPolicies, resetMocks, resourcesOfType, settle, useStack, valueOf, world } from "./support/mocks";

const COMPUTE = "111122223333";
const ASSETS = "444455556666";
const PROVIDER_ARN = `arn:aws:iam::${COMPUTE}:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC123`;

async function crossAccount(identity: "irsa" | "podIdentity", stack = "dev") {
    resetMocks();
    useStack(stack);
    const assets = new aws.Provider("assets", { region: "us-west-2", assumeRoles: [{ roleArn: `arn:aws:iam::${ASSETS}:role/deployer` }] });
    const component = new RayS3Access("ray", {
        identity,
        clusterName: "ray-prod",
        namespace: "ray",
        ...(identity === "irsa" ? { oidcProviderArn: PROVIDER_ARN, assetsExternalId: "ray-prod-ckpt" } : {}),
        buckets: [{ bucket: "assets-ckpt", prefixes: ["checkpoints/"] }],
        assetsProvider: assets,
    });
    const outputs = await valueOf(
        component.assetsRoleArn.apply((assetsRoleArn) =>
            component.permissionsPolicy.apply((policy) => component.podEnvironment.apply((env) => ({ assetsRoleArn, policy, env }))),
        ),
    );
    await settle();
    return outputs;
}

describe("cross-account buckets", () => {
    it("IRSA: an assets role with the S3 policy in the assets account, the workload may only assume it, and a ConfigMap to chain", async () => {
        const { assetsRoleArn, policy, env } = await crossAccount("irsa");
        const assetsChildren = world.resources.filter((r) => /-assets-/.test(r.name));
        assert.deepEqual(assetsChildren.map((r) => r.type).sort(), [
            "aws:iam/policy:Policy",
            "aws:iam/role:Role",
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        ]);
        for (const child of assetsChildren) assert.match(String(child.provider), /::assets::/, `${child.name} is created with the assets account's provider`);
        const workloadChildren = world.resources.filter((r) => r.type.startsWith("aws:iam/") && !/-assets-/.test(r.name));
        for (const child of workloadChildren) assert.doesNotMatch(String(child.provider), /::assets::/);

        assert.deepEqual(JSON.parse(policy), buildAssumeAssetsPolicy(assetsRoleArn, { tagSession: false, externalId: "ray-prod-ckpt" }));
        const assetsRole = resourcesOfType("aws:iam/role:Role", "ray-assets-role")[0];
        const workloadRole = resourcesOfType("aws:iam/role:Role", "ray-role")[0];
        assert.deepEqual(JSON.parse(assetsRole.inputs.assumeRolePolicy).Statement[0].Principal, { AWS: workloadRole.state.arn });
        assert.match(resourcesOfType("aws:iam/policy:Policy", "ray-assets-policy")[0].inputs.policy, /arn:aws:s3:::assets-ckpt\/checkpoints\/\*/);

        const [configMap] = resourcesOfType("kubernetes:core/v1:ConfigMap");
        assert.equal(configMap.inputs.metadata.name, "ray-s3-sa-aws-config");
        assert.equal(configMap.inputs.metadata.namespace, "ray");
        assert.equal(
            configMap.inputs.data.config,
            `[profile workload]\nrole_arn = ${workloadRole.state.arn}\nweb_identity_token_file = /var/run/secrets/eks.amazonaws.com/serviceaccount/token\n\n[profile assets]\nrole_arn = ${assetsRoleArn}\nsource_profile = workload\nexternal_id = ray-prod-ckpt\n`,
        );
        assert.deepEqual(env, { AWS_CONFIG_FILE: "/etc/ray-s3-access/config", AWS_PROFILE: "assets", AWS_SDK_LOAD_CONFIG: "1" });
    });

    it("Pod Identity: the association targets the assets role (EKS chains), with sts:TagSession on both sides", async () => {
        const { assetsRoleArn, policy, env } = await crossAccount("podIdentity");
        const [association] = resourcesOfType("aws:eks/podIdentityAssociation:PodIdentityAssociation");
        assert.equal(association.inputs.targetRoleArn, assetsRoleArn);
        assert.deepEqual(JSON.parse(policy).Statement[0].Action, ["sts:AssumeRole", "sts:TagSession"]);
        assert.deepEqual(JSON.parse(resourcesOfType("aws:iam/role:Role", "ray-assets-role")[0].inputs.assumeRolePolicy).Statement[0].Action, [
            "sts:AssumeRole",
            "sts:TagSession",
        ]);
        assert.equal(resourcesOfType("kubernetes:core/v1:ConfigMap").length, 0);
        assert.deepEqual(env, {});
    });

    it("the chain end to end, across accounts: the workload session reaches the bucket only through the assets role, and nothing else can assume it", async () => {
        const workloadRole = `arn:aws:iam::${COMPUTE}:role/ray-role`;
        const workloadSession = `arn:aws:sts::${COMPUTE}:assumed-role/ray-role/ray-head`;
        const assetsRole = `arn:aws:iam::${ASSETS}:role/ray-assets-role`;
        const chain = { tagSession: true };
        const trust = buildAssetsTrustPolicy(workloadRole, chain);
        const assume = buildAssumeAssetsPolicy(assetsRole, chain);
        const s3 = buildS3PermissionsPolicy("aws", [{ bucket: "assets-ckpt", access: "readWrite", prefixes: ["checkpoints/"], kmsKeyArns: [] }]);
        const anyAssume = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["sts:AssumeRole", "sts:TagSession"], Resource: "*" }] };

        // Step 1: the workload role may assume no other role, even one that trusts its whole account, and has
        // no S3 access of its own.
        const trustsComputeAccount = {
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${COMPUTE}:root` }, Action: "sts:AssumeRole" }],
        };
        assert.equal(await trustAllows(trustsComputeAccount, "sts:AssumeRole", workloadSession, {}, `arn:aws:iam::${ASSETS}:role/admin`, assume), false);
        assert.equal(
            await trustAllows(trustsComputeAccount, "sts:AssumeRole", workloadSession, {}, `arn:aws:iam::${ASSETS}:role/admin`, anyAssume),
            true,
            "(the evaluator admits it when the identity policy would)",
        );
        assert.equal(await identityAllows(assume, "s3:GetObject", "arn:aws:s3:::assets-ckpt/checkpoints/x", {}, workloadSession), false);
        // Step 2: the assets role trusts the workload role (cross-account: both sides must allow).
        const assumeFrom = (principal: string, identity: object) => trustAllows(trust, "sts:AssumeRole", principal, {}, assetsRole, identity);
        assert.equal(await assumeFrom(workloadSession, assume), true);
        assert.equal(await assumeFrom(`arn:aws:sts::${COMPUTE}:assumed-role/other-role/s`, anyAssume), false);
        assert.equal(await assumeFrom(`arn:aws:iam::${COMPUTE}:root`, anyAssume), false);
        assert.equal(await assumeFrom(`arn:aws:sts::999988887777:assumed-role/ray-role/s`, anyAssume), false);
        // Step 3: the assets session reaches the granted prefix only.
        const assetsSession = `arn:aws:sts::${ASSETS}:assumed-role/ray-assets-role/ray-head`;
        assert.equal(await identityAllows(s3, "s3:PutObject", "arn:aws:s3:::assets-ckpt/checkpoints/run-1", {}, assetsSession), true);
        assert.equal(await identityAllows(s3, "s3:PutObject", "arn:aws:s3:::assets-ckpt/other/x", {}, assetsSession), false);
    });

    it("Pod Identity: the assets role's trust pins each association's external id (the confused-deputy guard EKS documents)", async () => {
        resetMocks();
        const assets = new aws.Provider("assets-x", { region: "us-west-2", assumeRoles: [{ roleArn: `arn:aws:iam::${ASSETS}:role/deployer` }] });
        const component = new RayS3Access("ray", {
            identity: "podIdentity",
            clusterName: "ray-prod",
            namespace: "ray",
            additionalServiceAccounts: ["ray-jobs:submitter"],
            buckets: [{ bucket: "assets-ckpt", prefixes: ["checkpoints/"] }],
            assetsProvider: assets,
        });
        const assetsRoleArn = await valueOf(component.assetsRoleArn);
        await settle();
        const associations = resourcesOfType("aws:eks/podIdentityAssociation:PodIdentityAssociation");
        assert.equal(associations.length, 2);
        // The associations name the assets role by its computed ARN, before the role exists.
        for (const association of associations) assert.equal(association.inputs.targetRoleArn, assetsRoleArn);
        const [assetsRole] = resourcesOfType("aws:iam/role:Role", "ray-assets-role");
        assert.match(assetsRoleArn, new RegExp(`:role/${assetsRole.inputs.name}$`));
        assert.match(assetsRole.inputs.name, /^ray-assets-[0-9a-f]{8}$/);
        const trust = JSON.parse(assetsRole.inputs.assumeRolePolicy);
        const ids = associations.map((a) => a.state.externalId).sort();
        assert.deepEqual(trust.Statement[0].Condition.StringEquals["sts:ExternalId"], ids);
        // The evaluator: the workload session gets in only with an association's external id.
        const workloadRoleArn: string = resourcesOfType("aws:iam/role:Role", "ray-role")[0].state.arn;
        assert.deepEqual(trust.Statement[0].Principal, { AWS: workloadRoleArn });
        const session = `arn:aws:sts::${COMPUTE}:assumed-role/${workloadRoleArn.split("/").pop()}/eks-ray-prod-pod`;
        const assume = buildAssumeAssetsPolicy(assetsRoleArn, { tagSession: true });
        const withId = (id?: string) => trustAllows(trust, "sts:AssumeRole", session, id ? { "sts:ExternalId": id } : {}, assetsRoleArn, assume);
        assert.equal(await withId(ids[0]), true);
        assert.equal(await withId(ids[1]), true);
        assert.equal(await withId(), false, "without the external id");
        assert.equal(await withId("another-association"), false);
    });

    it("an external id is required when configured", async () => {
        const trust = buildAssetsTrustPolicy(`arn:aws:iam::${COMPUTE}:role/ray-role`, { tagSession: false, externalId: "ray-prod-ckpt" });
        const assume = buildAssumeAssetsPolicy(`arn:aws:iam::${ASSETS}:role/a`, { tagSession: false });
        const session = `arn:aws:sts::${COMPUTE}:assumed-role/ray-role/s`;
        assert.equal(await trustAllows(trust, "sts:AssumeRole", session, { "sts:ExternalId": "ray-prod-ckpt" }, `arn:aws:iam::${ASSETS}:role/a`, assume), true);
        assert.equal(await trustAllows(trust, "sts:AssumeRole", session, { "sts:ExternalId": "guess" }, `arn:aws:iam::${ASSETS}:role/a`, assume), false);
    });

    it("passes the whole policy pack in a production stack", async () => {
        for (const identity of ["irsa", "podIdentity"] as const) {
            await crossAccount(identity, "prod");
            assert.deepEqual(await evaluatePolicies(policies, recordedForPolicies("prod")), [], identity);
        }
        useStack("dev");
    });

    it("validation: external id only for IRSA cross-account, not with abac", () => {
        resetMocks();
        assert.throws(
            () => new RayS3Access("x", { namespace: "a", oidcProviderArn: PROVIDER_ARN, assetsExternalId: "e", buckets: [{ bucket: "b-1" }] }),
            /assetsExternalId is only valid with assetsProvider/,
        );
        const assets = new aws.Provider("assets2", {});
        assert.throws(
            () =>
                new RayS3Access("y", {
                    identity: "podIdentity",
                    clusterName: "c",
                    namespace: "a",
                    assetsProvider: assets,
                    assetsExternalId: "e",
                    buckets: [{ bucket: "b-1" }],
                }),
            /assetsExternalId is only valid when identity is "irsa"/,
        );
        assert.throws(
            () =>
                new RayS3Access("z", {
                    identity: "podIdentity",
                    roleSharing: "abac",
                    clusterName: "c",
                    namespace: "a",
                    assetsProvider: assets,
                    buckets: [{ bucket: "b-1" }],
                }),
            /assetsProvider cannot be combined with roleSharing "abac"/,
        );
    });

    it("IRSA with buckets in another account warns that pyarrow (the AWS SDK for C++) will not follow the profile chain; Pod Identity does not warn", () => {
        const warnings: string[] = [];
        const saved = pulumi.log.warn;
        (pulumi.log as any).warn = (message: string) => {
            warnings.push(message);
            return Promise.resolve();
        };
        try {
            resetMocks();
            const assets = new aws.Provider("assets5", {});
            new RayS3Access("w-irsa", { namespace: "ray", oidcProviderArn: PROVIDER_ARN, assetsProvider: assets, buckets: [{ bucket: "assets-ckpt" }] });
            assert.equal(warnings.length, 1);
            assert.match(
                warnings[0],
                /the AWS SDK for C\+\+ does not .* pyarrow .* gets the workload role and AccessDenied .* with identity "podIdentity" EKS chains into the assets role/,
            );
            new RayS3Access("w-pod", {
                namespace: "ray",
                identity: "podIdentity",
                clusterName: "c",
                assetsProvider: assets,
                buckets: [{ bucket: "assets-ckpt" }],
            });
            new RayS3Access("w-same", { namespace: "ray", oidcProviderArn: PROVIDER_ARN, buckets: [{ bucket: "own-ckpt" }] });
            assert.equal(warnings.length, 1, "no warning where every SDK gets the right role");
        } finally {
            (pulumi.log as any).warn = saved;
            resetMocks();
        }
    });

    it("Mountpoint volumes of another account's buckets: refused under IRSA (Mountpoint takes the annotated workload role, no profile), created under Pod Identity (EKS chains the association)", async () => {
        resetMocks();
        const assets = new aws.Provider("assets3", {});
        const mounted = {
            namespace: "ray",
            clusterName: "ray-prod",
            assetsProvider: assets,
            mountpointVolumes: true,
            buckets: [{ bucket: "assets-ckpt", access: "mountpoint" as const, prefixes: ["ckpt/"] }],
        };
        for (const irsa of [
            { identity: "irsa" as const, oidcProviderArn: PROVIDER_ARN },
            { identity: "irsaAndPodIdentity" as const, oidcProviderArn: PROVIDER_ARN },
        ]) {
            assert.throws(
                () => new RayS3Access(`m-${irsa.identity}`, { ...mounted, ...irsa }),
                /mountpointVolumes cannot be combined with assetsProvider when pods use IRSA: Mountpoint's pod-level credentials use the role of the ServiceAccount's IRSA annotation .* use identity "podIdentity"/,
            );
        }
        // The migration's second step (no annotation): Mountpoint's pods go through the Pod Identity agent.
        assert.doesNotThrow(
            () => new RayS3Access("m-step2", { ...mounted, identity: "irsaAndPodIdentity", oidcProviderArn: PROVIDER_ARN, annotateServiceAccount: false }),
        );
        resetMocks();
        useStack("dev");
        new RayS3Access("m-pod", { ...mounted, assetsProvider: new aws.Provider("assets4", {}), identity: "podIdentity" });
        await settle();
        const volumes = resourcesOfType("kubernetes:core/v1:PersistentVolume", "m-pod");
        assert.equal(volumes.length, 1);
        assert.equal(volumes[0].inputs.spec.csi.volumeAttributes.bucketName, "assets-ckpt");
        const [association] = resourcesOfType("aws:eks/podIdentityAssociation:PodIdentityAssociation", "m-pod");
        assert.match(association.inputs.targetRoleArn, /assets-role|m-pod-assets/, "the association chains into the assets role");
        resetMocks();
    });
});
