/**
 * `verify` against moto for every AWS call moto implements (IAM roles, policies and OIDC providers, EKS
 * clusters, several accounts); Pod Identity associations, which moto lacks, come from recorded API responses.
 */
import { CreateClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import { CreateOpenIDConnectProviderCommand, CreateRoleCommand, DetachRolePolicyCommand, IAMClient, UpdateAssumeRolePolicyCommand } from "@aws-sdk/client-iam";
import { strict as assert } from "assert";
import { STSClient } from "@aws-sdk/client-sts";
import { assetsIamThrough, verifyStack, VerifyClients } from "../../automation/verify";
import { buildAssetsTrustPolicy, buildAssumeAssetsPolicy } from "../../components/crossAccount";
import { buildTrustPolicy } from "../../components/identities";
import { buildIrsaTrustPolicy, buildPodIdentityTrustPolicy, buildSharedPodIdentityTrustPolicy } from "../../components/trustPolicy";
import { GetAccessPointScopeCommand, ListAccessPointsCommand } from "@aws-sdk/client-s3-control";
import { abacScope, buildDirectoryAccessPointPolicy, buildS3PermissionsPolicy, zoneIdPrefix } from "../../components/s3Policy";
import { validateArgs } from "../../components/validation";
import { parseStackConfig } from "../../programs/config";
import { roleGroups } from "../../programs/environment";
import { MotoServer, startMoto, attachNewPolicy } from "../support/moto";
import { withRecordedAssociations } from "../support/recordedEks";

const ACCOUNT = "123456789012";

/** The cluster "ray-prod" and an IAM OIDC provider for its issuer; returns the provider's ARN. */
async function clusterWithProvider(iam: IAMClient, eks: EKSClient): Promise<string> {
    const cluster = await eks.send(
        new CreateClusterCommand({ name: "ray-prod", roleArn: `arn:aws:iam::${ACCOUNT}:role/eks`, resourcesVpcConfig: { subnetIds: [] } }),
    );
    const provider = await iam.send(
        new CreateOpenIDConnectProviderCommand({
            Url: cluster.cluster!.identity!.oidc!.issuer!,
            ClientIDList: ["sts.amazonaws.com"],
            ThumbprintList: ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
        }),
    );
    return provider.OpenIDConnectProviderArn!;
}

/** A role holding one managed policy, as `up` leaves it; returns the role's ARN. */
async function deployRole(client: { send(command: any): Promise<any> }, name: string, trust: object, policy: object): Promise<string> {
    const created = await client.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) }));
    await attachNewPolicy(client, name, `${name}-policy`, policy);
    return created.Role!.Arn!;
}

/** The S3 policy of a tenant with read-write on `ray-ckpt` under the prefixes (default `checkpoints/`). */
const ckptPolicy = (...prefixes: string[]) =>
    buildS3PermissionsPolicy("aws", [{ bucket: "ray-ckpt", access: "readWrite", prefixes: prefixes.length ? prefixes : ["checkpoints/"], kmsKeyArns: [] }]);

describe("verify against moto", function () {
    this.timeout(120_000);
    let moto: MotoServer;
    let iam: IAMClient;
    let eks: EKSClient;

    before(async () => {
        moto = await startMoto();
        const clientConfig = { endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials };
        iam = new IAMClient(clientConfig);
        eks = new EKSClient(clientConfig);
    });
    after(async () => moto?.stop());
    beforeEach(async () => {
        await moto.reset();
        await moto.enforceAuth(false);
    });

    const buckets = [{ bucket: "ray-ckpt", prefixes: ["checkpoints/"] }];

    /** A deployed IRSA tenant, as `up` would have left it. */
    async function deployIrsa() {
        const providerArn = await clusterWithProvider(iam, eks);
        const trust = buildIrsaTrustPolicy(providerArn, [{ namespace: "ray", name: "ray-worker" }]);
        const role = await iam.send(new CreateRoleCommand({ RoleName: "ray-role-0a1b2c3", AssumeRolePolicyDocument: JSON.stringify(trust) }));
        const policy = await attachNewPolicy(
            iam,
            "ray-role-0a1b2c3",
            "ray-policy-0a1b2c3",
            buildS3PermissionsPolicy("aws", [{ bucket: "ray-ckpt", access: "readWrite", prefixes: ["checkpoints/"], kmsKeyArns: [] }]),
        );
        const config = parseStackConfig("prod", {
            oidcProviderArn: providerArn,
            clusterName: "ray-prod",
            tenants: JSON.stringify([{ namespace: "ray", serviceAccountName: "ray-worker", buckets }]),
        });
        return { config, roleArn: role.Role!.Arn!, providerArn, policyArn: policy };
    }

    function clientsWith(annotations: Record<string, string> | undefined): VerifyClients {
        return { iam, eks, readServiceAccount: async () => (annotations === undefined ? undefined : { annotations }) };
    }

    it("a healthy IRSA tenant passes every check", async () => {
        const { config, roleArn } = await deployIrsa();
        const findings = await verifyStack("prod", config, { ray: { roleArn } }, clientsWith({ "eks.amazonaws.com/role-arn": roleArn }));
        assert.deepEqual(
            findings.map((f) => [f.check, f.ok]),
            [
                ["role", true],
                ["trust", true],
                ["oidc-provider", true],
                ["oidc-issuer", true],
                ["service-account", true],
                ["permissions", true],
            ],
        );
    });

    it("reports drift with what is wrong and the fix", async () => {
        const { config, roleArn, providerArn, policyArn } = await deployIrsa();
        await iam.send(
            new UpdateAssumeRolePolicyCommand({
                RoleName: "ray-role-0a1b2c3",
                PolicyDocument: JSON.stringify(buildIrsaTrustPolicy(providerArn, [{ namespace: "ray", name: "default" }])),
            }),
        );
        await iam.send(new DetachRolePolicyCommand({ RoleName: "ray-role-0a1b2c3", PolicyArn: policyArn }));
        const findings = await verifyStack("prod", config, { ray: { roleArn } }, clientsWith({}));
        const failed = Object.fromEntries(findings.filter((f) => !f.ok).map((f) => [f.check, f]));
        assert.match(failed.trust.message, /does not admit system:serviceaccount:ray:ray-worker and also admits system:serviceaccount:ray:default/);
        assert.match(failed.permissions.message, /no attached policy matches the stack's S3 policy/);
        assert.match(failed["service-account"].message, /ServiceAccount ray\/ray-worker is annotated with no role/);
        assert.match(failed["service-account"].fix!, /kubectl annotate sa -n ray ray-worker --overwrite eks.amazonaws.com\/role-arn=/);
        const missing = await verifyStack("prod", config, { ray: { roleArn: `arn:aws:iam::${ACCOUNT}:role/gone` } }, clientsWith({}));
        assert.deepEqual(
            missing.map((f) => [f.check, f.ok]),
            [["role", false]],
        );
        assert.match(missing[0].fix!, /ray-s3-access up --stack prod/);
    });

    it("a trust that names another cluster's provider is caught", async () => {
        const { config, roleArn } = await deployIrsa();
        const other = await iam.send(
            new CreateOpenIDConnectProviderCommand({
                Url: "https://oidc.eks.us-west-2.amazonaws.com/id/OTHERCLUSTER",
                ClientIDList: ["sts.amazonaws.com"],
                ThumbprintList: ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
            }),
        );
        await iam.send(
            new UpdateAssumeRolePolicyCommand({
                RoleName: "ray-role-0a1b2c3",
                PolicyDocument: JSON.stringify(buildIrsaTrustPolicy(other.OpenIDConnectProviderArn!, [{ namespace: "ray", name: "ray-worker" }])),
            }),
        );
        const findings = await verifyStack("prod", config, { ray: { roleArn } }, clientsWith({ "eks.amazonaws.com/role-arn": roleArn }));
        const issuer = findings.find((f) => f.check === "oidc-issuer")!;
        assert.equal(issuer.ok, false);
        assert.match(issuer.message, /the role trusts oidc.eks.us-west-2.amazonaws.com\/id\/OTHERCLUSTER, but cluster ray-prod's issuer is/);
    });

    it("two clusters (IRSA, clusters in two regions): every cluster's provider, issuer and trust statement is checked", async () => {
        const east = new EKSClient({ endpoint: moto.endpoint, region: "us-east-1", credentials: moto.credentials });
        const blue = await clusterWithProvider(iam, eks);
        // The blue cluster (ray-prod) is in moto's default region; the green one in us-east-1, reached by its own client.
        const greenEast = await east.send(
            new CreateClusterCommand({ name: "ray-green", roleArn: `arn:aws:iam::${ACCOUNT}:role/eks`, resourcesVpcConfig: { subnetIds: [] } }),
        );
        const greenProvider = (
            await iam.send(
                new CreateOpenIDConnectProviderCommand({
                    Url: greenEast.cluster!.identity!.oidc!.issuer!,
                    ClientIDList: ["sts.amazonaws.com"],
                    ThumbprintList: ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
                }),
            )
        ).OpenIDConnectProviderArn!;
        assert.notEqual(greenProvider, blue, "two clusters, two issuers");
        const refs = [{ namespace: "ray", name: "ray-worker" }];
        const roleArn = await deployRole(iam, "ray-role-2c", buildIrsaTrustPolicy([blue, greenProvider], refs), ckptPolicy());
        const config = parseStackConfig("prod", {
            oidcProviderArn: blue,
            clusterName: "ray-prod",
            additionalClusters: JSON.stringify([{ clusterName: "ray-green", region: "us-east-1" }]),
            tenants: JSON.stringify([{ namespace: "ray", serviceAccountName: "ray-worker", buckets }]),
        });
        const clients: VerifyClients = {
            ...clientsWith({ "eks.amazonaws.com/role-arn": roleArn }),
            region: moto.region,
            eksFor: (region) => (region === "us-east-1" ? east : eks),
        };
        const healthy = await verifyStack("prod", config, { ray: { roleArn } }, clients);
        assert.deepEqual(
            healthy.map((f) => [f.check, f.ok]),
            [
                ["role", true],
                ["trust", true],
                ["trust-cluster", true],
                ["oidc-provider", true],
                ["oidc-issuer", true],
                ["trust-cluster", true],
                ["oidc-provider", true],
                ["oidc-issuer", true],
                ["service-account", true],
                ["permissions", true],
            ],
        );
        assert.match(healthy[5].message, /through arn:aws:iam::123456789012:oidc-provider\/.* \(cluster ray-green\)/);

        // The green cluster dropped from the trust (its pods would be refused), and a third provider added.
        const third = (
            await iam.send(
                new CreateOpenIDConnectProviderCommand({
                    Url: "https://oidc.eks.eu-west-1.amazonaws.com/id/THIRD",
                    ClientIDList: ["sts.amazonaws.com"],
                    ThumbprintList: ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
                }),
            )
        ).OpenIDConnectProviderArn!;
        await iam.send(
            new UpdateAssumeRolePolicyCommand({ RoleName: "ray-role-2c", PolicyDocument: JSON.stringify(buildIrsaTrustPolicy([blue, third], refs)) }),
        );
        const drifted = (await verifyStack("prod", config, { ray: { roleArn } }, clients)).filter((f) => !f.ok);
        assert.deepEqual(
            drifted.map((f) => f.check),
            ["trust-cluster", "oidc-issuer", "trust-cluster"],
        );
        assert.match(drifted[0].message, /trust does not admit system:serviceaccount:ray:ray-worker through .* \(cluster ray-green\)/);
        assert.match(drifted[1].message, /but cluster ray-green's issuer is/);
        assert.match(drifted[2].message, /trust also admits tokens of .*THIRD, a provider of no listed cluster/);
    });

    it("two clusters (Pod Identity): the trust pin and the associations are checked in each cluster", async () => {
        await eks.send(new CreateClusterCommand({ name: "ray-prod", roleArn: `arn:aws:iam::${ACCOUNT}:role/eks`, resourcesVpcConfig: { subnetIds: [] } }));
        const refs = [{ namespace: "ray", name: "ray-s3-sa" }];
        const trust = buildPodIdentityTrustPolicy({ accountId: ACCOUNT, clusterName: ["ray-prod", "ray-green"], serviceAccounts: refs });
        const roleArn = await deployRole(iam, "ray-role-2pi", trust, ckptPolicy());
        const config = parseStackConfig("prod", {
            identity: "podIdentity",
            clusterName: "ray-prod",
            additionalClusters: JSON.stringify([{ clusterName: "ray-green" }]),
            tenants: JSON.stringify([{ namespace: "ray", buckets }]),
        });
        const clients = { iam, eks: withRecordedAssociations(eks, { "ray/ray-s3-sa": { roleArn } }) };
        const healthy = await verifyStack("prod", config, { ray: { roleArn } }, clients);
        assert.deepEqual(
            healthy.map((f) => [f.check, f.ok]),
            [
                ["role", true],
                ["trust", true],
                ["pod-identity-association", true],
                ["pod-identity-agent", true],
                ["trust", true],
                ["pod-identity-association", true],
                ["pod-identity-agent", true],
                ["permissions", true],
            ],
        );
        // The green cluster dropped from the trust's pin: its pods would be refused.
        const blueOnly = buildPodIdentityTrustPolicy({ accountId: ACCOUNT, clusterName: "ray-prod", serviceAccounts: refs });
        await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: "ray-role-2pi", PolicyDocument: JSON.stringify(blueOnly) }));
        const failed = (await verifyStack("prod", config, { ray: { roleArn } }, clients)).filter((f) => !f.ok);
        assert.equal(failed.length, 1);
        assert.match(failed[0].message, /trust does not admit the Pod Identity agent of cluster ray-green for ray\/ray-s3-sa/);
    });

    it("the Pod Identity agent: missing, degraded, still creating, Auto Mode, unreadable, or ignored; checked once per cluster (add-ons recorded: moto has none)", async () => {
        await eks.send(new CreateClusterCommand({ name: "ray-prod", roleArn: `arn:aws:iam::${ACCOUNT}:role/eks`, resourcesVpcConfig: { subnetIds: [] } }));
        const tenants = ["team-a", "team-b"];
        const outputs: Record<string, { roleArn: string }> = {};
        for (const ns of tenants) {
            const trust = buildPodIdentityTrustPolicy({ accountId: ACCOUNT, clusterName: "ray-prod", serviceAccounts: [{ namespace: ns, name: "ray-s3-sa" }] });
            outputs[ns] = { roleArn: await deployRole(iam, `${ns}-role`, trust, ckptPolicy()) };
        }
        const config = (agent?: string) =>
            parseStackConfig("prod", {
                identity: "podIdentity",
                clusterName: "ray-prod",
                ...(agent ? { podIdentityAgent: agent } : {}),
                tenants: JSON.stringify(tenants.map((namespace) => ({ namespace, buckets }))),
            });
        const associations = Object.fromEntries(tenants.map((ns) => [`${ns}/ray-s3-sa`, { roleArn: outputs[ns].roleArn }]));
        const agentFindings = async (agents: Parameters<typeof withRecordedAssociations>[3], agent?: string) =>
            (await verifyStack("prod", config(agent), outputs, { iam, eks: withRecordedAssociations(eks, associations, ACCOUNT, agents) })).filter(
                (f) => f.check === "pod-identity-agent",
            );

        const healthy = await agentFindings({});
        assert.equal(healthy.length, 1, "one finding for the cluster, not one per role");
        assert.equal(healthy[0].ok, true);
        assert.match(healthy[0].message, /eks-pod-identity-agent v1\.3\.4-eksbuild\.1 is ACTIVE on cluster ray-prod/);

        const [missing] = await agentFindings({ addons: { "ray-prod": "absent" } });
        assert.equal(missing.ok, false);
        assert.match(
            missing.message,
            /cluster ray-prod has no eks-pod-identity-agent add-on and is not in EKS Auto Mode: its Pod Identity associations do nothing/,
        );
        assert.match(missing.fix!, /aws eks create-addon --cluster-name ray-prod --addon-name eks-pod-identity-agent/);

        const [degraded] = await agentFindings({
            addons: {
                "ray-prod": {
                    status: "DEGRADED",
                    health: {
                        issues: [
                            {
                                code: "InsufficientNumberOfReplicas",
                                message: "The add-on is unhealthy because it doesn't have the desired number of replicas.",
                            },
                        ],
                    },
                },
            },
        });
        assert.equal(degraded.ok, false);
        assert.match(degraded.message, /eks-pod-identity-agent on cluster ray-prod is DEGRADED: InsufficientNumberOfReplicas: The add-on is unhealthy/);
        assert.match(degraded.fix!, /aws eks describe-addon --cluster-name ray-prod .* --resolve-conflicts OVERWRITE/);

        const [creating] = await agentFindings({ addons: { "ray-prod": { status: "CREATING" } } });
        assert.equal(creating.ok, false);
        assert.match(creating.fix!, /aws eks wait addon-active --cluster-name ray-prod/);

        const [auto] = await agentFindings({ addons: { "ray-prod": "absent" }, autoMode: ["ray-prod"] });
        assert.equal(auto.ok, true);
        assert.match(auto.message, /cluster ray-prod is in EKS Auto Mode, which runs the Pod Identity agent itself/);

        const [denied] = await agentFindings({ error: { name: "AccessDeniedException", message: "User is not authorized to perform: eks:DescribeAddon" } });
        assert.equal(denied.ok, false);
        assert.match(denied.message, /could not read the eks-pod-identity-agent add-on of cluster ray-prod: User is not authorized/);
        assert.match(denied.fix!, /allow eks:DescribeAddon and eks:DescribeCluster/);

        assert.deepEqual(await agentFindings({ addons: { "ray-prod": "absent" } }, "ignore"), [], 'podIdentityAgent "ignore": the agent runs another way');
    });

    it("a directory bucket tenant: the s3express policy in the stack's region and account is the one verify expects", async () => {
        await eks.send(new CreateClusterCommand({ name: "ray-prod", roleArn: `arn:aws:iam::${ACCOUNT}:role/eks`, resourcesVpcConfig: { subnetIds: [] } }));
        const bucket = `ckpt--${zoneIdPrefix(moto.region)}-az1--x-s3`;
        const express = buildS3PermissionsPolicy(
            "aws",
            [{ bucket, access: "readWrite", prefixes: [], kmsKeyArns: [], directory: { zoneId: `${zoneIdPrefix(moto.region)}-az1` } }],
            {},
            {
                region: moto.region,
                account: ACCOUNT,
            },
        );
        const refs = [{ namespace: "ray", name: "ray-s3-sa" }];
        const roleArn = await deployRole(
            iam,
            "ray-role-x",
            buildPodIdentityTrustPolicy({ accountId: ACCOUNT, clusterName: "ray-prod", serviceAccounts: refs }),
            express,
        );
        const config = parseStackConfig("prod", {
            identity: "podIdentity",
            clusterName: "ray-prod",
            tenants: JSON.stringify([{ namespace: "ray", buckets: [{ bucket }] }]),
        });
        const clients = { iam, eks: withRecordedAssociations(eks, { "ray/ray-s3-sa": { roleArn } }), region: moto.region };
        const findings = await verifyStack("prod", config, { ray: { roleArn } }, clients);
        assert.ok(
            findings.every((f) => f.ok),
            JSON.stringify(findings.filter((f) => !f.ok)),
        );
        assert.match(findings.find((f) => f.check === "permissions")!.message, /the attached S3 policy matches the stack's/);
    });

    it("an access point the component created for a directory bucket: there, its scope no wider than the stack's, its policy admitting the role", async () => {
        await eks.send(new CreateClusterCommand({ name: "ray-prod", roleArn: `arn:aws:iam::${ACCOUNT}:role/eks`, resourcesVpcConfig: { subnetIds: [] } }));
        const zone = `${zoneIdPrefix(moto.region)}-az1`;
        const bucket = `ckpt--${zone}--x-s3`;
        const accessPoint = `team-a--${zone}--xa-s3`;
        const entry = { bucket, access: "read" as const, prefixes: ["team-a/"], createAccessPoint: true, accessPointName: accessPoint };
        const location = { region: moto.region, account: ACCOUNT };
        const [resolved] = validateArgs("ray", { namespace: "ray", identity: "podIdentity", clusterName: "ray-prod", buckets: [entry] }).buckets;
        const refs = [{ namespace: "ray", name: "ray-s3-sa" }];
        const roleArn = await deployRole(
            iam,
            "ray-role-ap",
            buildPodIdentityTrustPolicy({ accountId: ACCOUNT, clusterName: "ray-prod", serviceAccounts: refs }),
            buildS3PermissionsPolicy("aws", [resolved], {}, location),
        );
        const config = parseStackConfig("prod", {
            identity: "podIdentity",
            clusterName: "ray-prod",
            tenants: JSON.stringify([{ namespace: "ray", buckets: [entry] }]),
        });
        // S3 Control as `up` leaves it (moto has no access points for directory buckets): the scope in S3's own order.
        const healthy = {
            scope: { Permissions: ["ListBucket", "GetObjectAttributes", "GetObject"], Prefixes: ["team-a/*"] },
            policy: JSON.stringify(buildDirectoryAccessPointPolicy("aws", resolved, roleArn, location)),
        };
        const calls: string[] = [];
        const s3control = (accessPoints: Record<string, { scope: object; policy?: string }>) => (region: string) => ({
            async send(command: any) {
                calls.push(`${region} ${command.constructor.name} ${command.input.AccountId} ${command.input.Name}`);
                const found = accessPoints[command.input.Name];
                if (!found) throw Object.assign(new Error("The specified accesspoint does not exist"), { name: "NoSuchAccessPoint" });
                if (command instanceof GetAccessPointScopeCommand) return { Scope: found.scope };
                if (!found.policy) throw Object.assign(new Error("The access point policy does not exist"), { name: "NoSuchAccessPointPolicy" });
                return { Policy: found.policy };
            },
        });
        const verify = async (accessPoints: Record<string, { scope: object; policy?: string }>) => {
            const clients = {
                iam,
                eks: withRecordedAssociations(eks, { "ray/ray-s3-sa": { roleArn } }),
                region: moto.region,
                s3controlFor: s3control(accessPoints),
            };
            return (await verifyStack("prod", config, { ray: { roleArn } }, clients)).find((f) => f.check === "access-point")!;
        };
        const ok = await verify({ [accessPoint]: healthy });
        assert.equal(ok.ok, true, ok.message);
        assert.match(
            ok.message,
            /access point team-a--usw2-az1--xa-s3 on ckpt--usw2-az1--x-s3: scope \["team-a\/\*"\] with 3 operations, policy admits the role/,
        );
        assert.deepEqual(calls.slice(0, 2), [
            `${moto.region} GetAccessPointScopeCommand ${ACCOUNT} ${accessPoint}`,
            `${moto.region} GetAccessPointPolicyCommand ${ACCOUNT} ${accessPoint}`,
        ]);
        const widened = await verify({
            [accessPoint]: { ...healthy, scope: { Permissions: [...healthy.scope.Permissions, "PutObject"], Prefixes: ["team-a/*", "team-b/*"] } },
        });
        assert.equal(widened.ok, false);
        assert.match(widened.message, /its scope also lets through prefix team-b\/\*, operation PutObject/);
        assert.match(widened.fix!, /run `ray-s3-access up --stack prod`/);
        const unscoped = await verify({ [accessPoint]: { ...healthy, scope: { Permissions: [], Prefixes: [] } } });
        assert.match(unscoped.message, /every prefix \(no prefixes in its scope\), every operation \(no permissions in its scope\)/);
        const opened = await verify({
            [accessPoint]: { ...healthy, policy: healthy.policy.replace(roleArn, `arn:aws:iam::${ACCOUNT}:root`) },
        });
        assert.match(opened.message, /its policy is not the stack's \(it should admit only the role\)/);
        const gone = await verify({});
        assert.match(gone.message, /access point team-a--usw2-az1--xa-s3 \(directory bucket ckpt--usw2-az1--x-s3\) does not exist/);
    });

    it("an access point named by alias: verify looks its ARN up as the component does (every page of the account's list), and reports an alias no access point has", async () => {
        await eks.send(new CreateClusterCommand({ name: "ray-prod", roleArn: `arn:aws:iam::${ACCOUNT}:role/eks`, resourcesVpcConfig: { subnetIds: [] } }));
        const alias = "ray-ckpt-ap-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias";
        const arn = `arn:aws:s3:${moto.region}:${ACCOUNT}:accesspoint/ray-ckpt-ap`;
        const entry = { bucket: alias, prefixes: ["checkpoints/"] };
        const refs = [{ namespace: "ray", name: "ray-s3-sa" }];
        const [resolved] = validateArgs("ray", { namespace: "ray", identity: "podIdentity", clusterName: "ray-prod", buckets: [entry] }).buckets;
        const roleArn = await deployRole(
            iam,
            "ray-role-alias",
            buildPodIdentityTrustPolicy({ accountId: ACCOUNT, clusterName: "ray-prod", serviceAccounts: refs }),
            buildS3PermissionsPolicy("aws", [{ ...resolved, accessPoint: { arn } }]),
        );
        const config = parseStackConfig("prod", {
            identity: "podIdentity",
            clusterName: "ray-prod",
            tenants: JSON.stringify([{ namespace: "ray", buckets: [entry] }]),
        });
        // S3 Control's ListAccessPoints, in two pages (the alias on the second).
        const pages = (last: { Alias: string; AccessPointArn: string }[]) => (_region: string) => ({
            async send(command: any) {
                assert.ok(command instanceof ListAccessPointsCommand);
                assert.equal(command.input.AccountId, ACCOUNT);
                return command.input.NextToken === "page-2"
                    ? { AccessPointList: last }
                    : { AccessPointList: [{ Alias: "other-ap-aaaaaaaaaaaaaaaaaaaaaaaa-s3alias", AccessPointArn: `${arn}-other` }], NextToken: "page-2" };
            },
        });
        const permissions = async (s3controlFor?: VerifyClients["s3controlFor"]) => {
            const clients = { iam, eks: withRecordedAssociations(eks, { "ray/ray-s3-sa": { roleArn } }), region: moto.region, s3controlFor };
            return (await verifyStack("prod", config, { ray: { roleArn } }, clients)).find((f) => f.check === "permissions")!;
        };
        const found = await permissions(pages([{ Alias: alias, AccessPointArn: arn }]));
        assert.equal(found.ok, true, found.message);
        const missing = await permissions(pages([]));
        assert.equal(missing.ok, false);
        assert.match(missing.message, new RegExp(`no access point of account ${ACCOUNT} in ${moto.region} has the alias "${alias}"`));
        const noClient = await permissions(undefined);
        assert.match(noClient.message, /names access points by alias, and this run cannot look their ARNs up/);
    });

    it("irsaAndPodIdentity: both paths, the annotation per step, and pods that still use IRSA before the last step", async () => {
        const providerArn = await clusterWithProvider(iam, eks);
        const refs = [{ namespace: "ray", name: "ray-s3-sa" }];
        const trust = buildTrustPolicy("irsaAndPodIdentity", {
            providerArns: [providerArn],
            accountId: ACCOUNT,
            clusterNames: ["ray-prod"],
            serviceAccounts: refs,
            roleSharing: "perTenant",
        });
        const roleArn = await deployRole(iam, "ray-role-mig", trust, ckptPolicy());
        const config = (step: 1 | 2) =>
            parseStackConfig("prod", {
                identity: "irsaAndPodIdentity",
                clusterName: "ray-prod",
                oidcProviderArn: providerArn,
                ...(step === 2 ? { annotateServiceAccount: "false" } : {}),
                tenants: JSON.stringify([{ namespace: "ray", buckets }]),
            });
        const clients = (annotated: boolean, pods: { name: string; webIdentity: boolean }[]): VerifyClients => ({
            iam,
            eks: withRecordedAssociations(eks, { "ray/ray-s3-sa": { roleArn } }),
            readServiceAccount: async () => ({ annotations: (annotated ? { "eks.amazonaws.com/role-arn": roleArn } : {}) as Record<string, string> }),
            listPods: async () => pods,
        });
        const step1 = await verifyStack("prod", config(1), { ray: { roleArn } }, clients(true, [{ name: "ray-head-0", webIdentity: true }]));
        assert.deepEqual(
            step1.map((f) => [f.check, f.ok]),
            [
                ["role", true],
                ["trust", true],
                ["oidc-provider", true],
                ["oidc-issuer", true],
                ["service-account", true],
                ["pods", false],
                ["trust", true],
                ["pod-identity-association", true],
                ["pod-identity-agent", true],
                ["permissions", true],
            ],
        );
        const pods = step1.find((f) => f.check === "pods")!;
        assert.match(pods.message, /1 pod\(s\) of ray\/ray-s3-sa still use IRSA \(created before the association\): ray-head-0/);
        assert.match(pods.fix!, /restart them .* before identity "podIdentity" drops IRSA from the trust/);
        // Step 2, pods restarted: the annotation must be gone, and no pod uses IRSA.
        const step2 = await verifyStack("prod", config(2), { ray: { roleArn } }, clients(false, [{ name: "ray-head-1", webIdentity: false }]));
        assert.ok(
            step2.every((f) => f.ok),
            JSON.stringify(step2.filter((f) => !f.ok)),
        );
        const stillAnnotated = await verifyStack("prod", config(2), { ray: { roleArn } }, clients(true, []));
        assert.match(stillAnnotated.find((f) => f.check === "service-account")!.message, /is still annotated with .*: its pods keep using IRSA/);
    });

    it("sessionPolicy: an untagged trust pinned to the account, the union on the role, each association's own session policy", async () => {
        await eks.send(new CreateClusterCommand({ name: "ray-prod", roleArn: `arn:aws:iam::${ACCOUNT}:role/eks`, resourcesVpcConfig: { subnetIds: [] } }));
        const tenantsConfig = [
            { namespace: "team-a", buckets: [{ bucket: "shared-ckpt", prefixes: ["team-a/"] }] },
            { namespace: "team-b", buckets: [{ bucket: "shared-ckpt", prefixes: ["team-b/"] }] },
        ];
        const config = parseStackConfig("prod", {
            identity: "podIdentity",
            clusterName: "ray-prod",
            roleSharing: "sessionPolicy",
            tenants: JSON.stringify(tenantsConfig),
        });
        const trust = buildTrustPolicy("podIdentity", {
            providerArns: [],
            accountId: ACCOUNT,
            clusterNames: ["ray-prod"],
            serviceAccounts: [],
            roleSharing: "sessionPolicy",
            sessionTags: false,
        });
        const role = await iam.send(new CreateRoleCommand({ RoleName: "session-shared-role", AssumeRolePolicyDocument: JSON.stringify(trust) }));
        const union = buildS3PermissionsPolicy("aws", [{ bucket: "shared-ckpt", access: "readWrite", prefixes: ["team-a/", "team-b/"], kmsKeyArns: [] }]);
        await attachNewPolicy(iam, "session-shared-role", "session-shared-policy", union);
        const roleArn = role.Role!.Arn!;
        const own = (prefix: string) =>
            JSON.stringify(buildS3PermissionsPolicy("aws", [{ bucket: "shared-ckpt", access: "readWrite", prefixes: [prefix], kmsKeyArns: [] }]));
        const deployed = { "team-a": { roleArn, role: "session-shared" }, "team-b": { roleArn, role: "session-shared" } };
        const recorded = (b: { disableSessionTags?: boolean; policy?: string }) =>
            withRecordedAssociations(eks, {
                "team-a/ray-s3-sa": { roleArn, disableSessionTags: true, policy: own("team-a/") },
                "team-b/ray-s3-sa": { roleArn, ...b },
            });
        const healthy = await verifyStack("prod", config, deployed, { iam, eks: recorded({ disableSessionTags: true, policy: own("team-b/") }) });
        assert.ok(
            healthy.every((f) => f.ok),
            JSON.stringify(healthy.filter((f) => !f.ok)),
        );
        assert.match(healthy.find((f) => f.check === "trust")!.message, /session tags off: any association of the account/);
        assert.equal(healthy.filter((f) => f.check === "session-policy").length, 2);
        const drifted = await verifyStack("prod", config, deployed, { iam, eks: recorded({ disableSessionTags: true }) });
        assert.match(drifted.find((f) => !f.ok)!.message, /association team-b\/ray-s3-sa carries no session policy, so its pods get the whole shared role/);
        const crossed = await verifyStack("prod", config, deployed, { iam, eks: recorded({ disableSessionTags: true, policy: own("team-a/") }) });
        assert.match(crossed.find((f) => !f.ok)!.message, /association team-b\/ray-s3-sa carries another session policy/);
    });

    it("Pod Identity: associations from recorded EKS responses (moto does not implement them)", async () => {
        await eks.send(new CreateClusterCommand({ name: "ray-prod", roleArn: `arn:aws:iam::${ACCOUNT}:role/eks`, resourcesVpcConfig: { subnetIds: [] } }));
        const trust = buildPodIdentityTrustPolicy({ accountId: ACCOUNT, clusterName: "ray-prod", serviceAccounts: [{ namespace: "ray", name: "ray-s3-sa" }] });
        const role = await iam.send(new CreateRoleCommand({ RoleName: "ray-role-pi", AssumeRolePolicyDocument: JSON.stringify(trust) }));
        await attachNewPolicy(
            iam,
            "ray-role-pi",
            "ray-policy-pi",
            buildS3PermissionsPolicy("aws", [{ bucket: "ray-ckpt", access: "readWrite", prefixes: ["checkpoints/"], kmsKeyArns: [] }]),
        );
        const config = parseStackConfig("prod", { identity: "podIdentity", clusterName: "ray-prod", tenants: JSON.stringify([{ namespace: "ray", buckets }]) });
        const recorded = (roleArn: string) => withRecordedAssociations(eks, { "ray/ray-s3-sa": { roleArn } });
        const healthy = await verifyStack("prod", config, { ray: { roleArn: role.Role!.Arn! } }, { iam, eks: recorded(role.Role!.Arn!) });
        assert.deepEqual(
            healthy.map((f) => [f.check, f.ok]),
            [
                ["role", true],
                ["trust", true],
                ["pod-identity-association", true],
                ["pod-identity-agent", true],
                ["permissions", true],
            ],
        );
        const wrong = await verifyStack("prod", config, { ray: { roleArn: role.Role!.Arn! } }, { iam, eks: recorded(`arn:aws:iam::${ACCOUNT}:role/other`) });
        assert.match(
            wrong.find((f) => f.check === "pod-identity-association")!.message,
            /no Pod Identity association on ray-prod gives ray\/ray-s3-sa this role/,
        );
    });
});

describe("verify against moto: shared and cross-account roles", function () {
    this.timeout(120_000);
    let moto: MotoServer;
    let iam: IAMClient;
    let eks: EKSClient;
    let sts: STSClient;
    const clientConfig = () => ({ endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials });

    before(async () => {
        moto = await startMoto();
        iam = new IAMClient(clientConfig());
        eks = new EKSClient(clientConfig());
        sts = new STSClient(clientConfig());
    });
    after(async () => moto?.stop());
    beforeEach(async () => {
        await moto.reset();
        await moto.enforceAuth(false);
    });

    const buckets = [{ bucket: "ray-ckpt", prefixes: ["checkpoints/"] }];
    const s3 = (scope = {}) =>
        buildS3PermissionsPolicy("aws", [{ bucket: "ray-ckpt", access: "readWrite", prefixes: ["checkpoints/"], kmsKeyArns: [] }], scope);
    const checks = (findings: { check: string; ok: boolean; tenant: string }[]) => findings.map((f) => `${f.tenant} ${f.check} ${f.ok}`);

    const role = (name: string, trust: object, policy: object, client: { send(command: any): Promise<any> } = iam) => deployRole(client, name, trust, policy);

    it("abac: one role for every tenant is checked once; each tenant's association; a trust that lost its cluster pin is caught", async () => {
        const config = parseStackConfig("prod", {
            identity: "podIdentity",
            clusterName: "ray-prod",
            roleSharing: "abac",
            tenants: JSON.stringify(["team-a", "team-b", "team-c"].map((namespace) => ({ namespace, buckets }))),
        });
        const trust = buildSharedPodIdentityTrustPolicy({ accountId: ACCOUNT, clusterName: "ray-prod" });
        const roleArn = await role("abac-shared-role", trust, s3(abacScope("ray-prod")));
        const outputs = Object.fromEntries(["team-a", "team-b", "team-c"].map((ns) => [ns, { roleArn, role: "abac-shared" }]));
        const associations = Object.fromEntries(["team-a", "team-b", "team-c"].map((ns) => [`${ns}/ray-s3-sa`, { roleArn }]));
        const healthy = await verifyStack("prod", config, outputs, { iam, eks: withRecordedAssociations(eks, associations) });
        assert.deepEqual(checks(healthy), [
            "abac-shared (3 tenants) role true",
            "abac-shared (3 tenants) trust true",
            "team-a pod-identity-association true",
            "team-b pod-identity-association true",
            "team-c pod-identity-association true",
            "abac-shared (3 tenants) pod-identity-agent true",
            "abac-shared (3 tenants) permissions true",
        ]);
        assert.match(healthy[1].message, /admits the Pod Identity agent of cluster ray-prod in account 123456789012, and nothing else/);

        // Someone drops the cluster pin and one association.
        const loose = JSON.parse(JSON.stringify(trust));
        delete loose.Statement[0].Condition.StringEquals["aws:RequestTag/eks-cluster-name"];
        await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: "abac-shared-role", PolicyDocument: JSON.stringify(loose) }));
        delete associations["team-b/ray-s3-sa"];
        const drifted = await verifyStack("prod", config, outputs, { iam, eks: withRecordedAssociations(eks, associations) });
        const failed = drifted.filter((f) => !f.ok);
        assert.deepEqual(checks(failed), ["abac-shared (3 tenants) trust false", "team-b pod-identity-association false"]);
        assert.match(failed[0].message, /trust also admits pods of another cluster/);
        assert.match(failed[0].fix!, /aws:RequestTag\/eks-cluster-name/);
        // A policy without the per-tenant prefix variable is not the stack's.
        await iam.send(new DetachRolePolicyCommand({ RoleName: "abac-shared-role", PolicyArn: `arn:aws:iam::${ACCOUNT}:policy/abac-shared-role-policy` }));
        await attachNewPolicy(iam, "abac-shared-role", "flat", s3());
        const unscoped = await verifyStack("prod", config, outputs, { iam, eks: withRecordedAssociations(eks, associations) });
        assert.equal(unscoped.find((f) => f.check === "permissions")!.ok, false);
    });

    it("packed: each shared IRSA role admits exactly its tenants' service accounts, annotations per tenant", async () => {
        const providerArn = await clusterWithProvider(iam, eks);
        const namespaces = ["t1", "t2", "t3", "t4"];
        const config = parseStackConfig("dev", {
            oidcProviderArn: providerArn,
            clusterName: "ray-prod",
            roleSharing: "packed",
            tenants: JSON.stringify(namespaces.map((namespace) => ({ namespace, buckets }))),
        });
        const outputs: Record<string, { roleArn: string; role: string }> = {};
        for (const group of roleGroups(config)) {
            const refs = group.tenants.map((t) => ({ namespace: t.namespace, name: "ray-s3-sa" }));
            const roleArn = await role(`${group.name}-role`, buildIrsaTrustPolicy(providerArn, refs), s3());
            for (const t of group.tenants) outputs[t.namespace] = { roleArn, role: group.name };
        }
        const group = outputs.t1.role;
        const annotations = (ns: string) => ({ "eks.amazonaws.com/role-arn": outputs[ns].roleArn });
        const healthy = await verifyStack("dev", config, outputs, { iam, eks, readServiceAccount: async (ns) => ({ annotations: annotations(ns) }) });
        assert.deepEqual(checks(healthy), [
            `${group} (4 tenants) role true`,
            `${group} (4 tenants) trust true`,
            `${group} (4 tenants) oidc-provider true`,
            `${group} (4 tenants) oidc-issuer true`,
            ...namespaces.map((ns) => `${ns} service-account true`),
            `${group} (4 tenants) permissions true`,
        ]);
        // The trust lost t3 (say, a hand edit) and t4's ServiceAccount points at another role.
        const refs = ["t1", "t2", "t4"].map((namespace) => ({ namespace, name: "ray-s3-sa" }));
        await iam.send(
            new UpdateAssumeRolePolicyCommand({ RoleName: `${group}-role`, PolicyDocument: JSON.stringify(buildIrsaTrustPolicy(providerArn, refs)) }),
        );
        const drifted = await verifyStack("dev", config, outputs, {
            iam,
            eks,
            readServiceAccount: async (ns) => ({
                annotations: ns === "t4" ? { "eks.amazonaws.com/role-arn": `arn:aws:iam::${ACCOUNT}:role/old` } : annotations(ns),
            }),
        });
        const failed = drifted.filter((f) => !f.ok);
        assert.deepEqual(checks(failed), [`${group} (4 tenants) trust false`, "t4 service-account false"]);
        assert.match(failed[0].message, /trust does not admit system:serviceaccount:t3:ray-s3-sa$/);
    });

    it("packed tenants behind an access point the component created: verify derives its default name from the shared role's component, as the program does", async () => {
        const providerArn = await clusterWithProvider(iam, eks);
        const entry = { bucket: `ckpt--${zoneIdPrefix(moto.region)}-az1--x-s3`, prefixes: ["shared/"], createAccessPoint: true };
        const config = parseStackConfig("dev", {
            oidcProviderArn: providerArn,
            clusterName: "ray-prod",
            roleSharing: "packed",
            tenants: JSON.stringify(["t1", "t2"].map((namespace) => ({ namespace, buckets: [entry] }))),
        });
        const [group] = roleGroups(config);
        // What the program attaches: the component is named after the group, and so is its access point.
        const [resolved] = validateArgs(group.name, { namespace: "t1", oidcProviderArn: providerArn, buckets: [entry] }).buckets;
        assert.ok(resolved.directory!.accessPoint!.name.startsWith(`${group.name}-`), resolved.directory!.accessPoint!.name);
        const refs = group.tenants.map((t) => ({ namespace: t.namespace, name: "ray-s3-sa" }));
        const policy = buildS3PermissionsPolicy("aws", [resolved], {}, { region: moto.region, account: ACCOUNT });
        const roleArn = await role(`${group.name}-role`, buildIrsaTrustPolicy(providerArn, refs), policy);
        const outputs = Object.fromEntries(group.tenants.map((t) => [t.namespace, { roleArn, role: group.name }]));
        const annotations = { "eks.amazonaws.com/role-arn": roleArn };
        const findings = await verifyStack("dev", config, outputs, { iam, eks, region: moto.region, readServiceAccount: async () => ({ annotations }) });
        assert.equal(findings.find((f) => f.check === "permissions")!.ok, true, JSON.stringify(findings.filter((f) => !f.ok)));
    });

    it("cross-account: the workload role may only assume the assets role; the assets role (read in its own account) trusts only the workload role", async () => {
        const ASSETS = "222222222222";
        const deployRoleArn = `arn:aws:iam::${ASSETS}:role/ray-s3-access-deployer`;
        const assetsIam = assetsIamThrough(sts, (credentials) => new IAMClient({ endpoint: moto.endpoint, region: moto.region, credentials }));
        const inAssets = await assetsIam(deployRoleArn);
        const providerArn = await clusterWithProvider(iam, eks);
        const chain = { tagSession: false, externalId: "ray-ext-1" };
        const workloadArn = `arn:aws:iam::${ACCOUNT}:role/ray-role`;
        const assetsArn = await role("ray-assets-role", buildAssetsTrustPolicy(workloadArn, chain), s3(), inAssets);
        assert.match(assetsArn, new RegExp(`^arn:aws:iam::${ASSETS}:role/`), "moto keeps the assets role in the assets account");
        await role("ray-role", buildIrsaTrustPolicy(providerArn, [{ namespace: "ray", name: "ray-s3-sa" }]), buildAssumeAssetsPolicy(assetsArn, chain));
        const config = parseStackConfig("prod", {
            oidcProviderArn: providerArn,
            clusterName: "ray-prod",
            tenants: JSON.stringify([{ namespace: "ray", buckets, assetsDeployRoleArn: deployRoleArn, assetsExternalId: "ray-ext-1" }]),
        });
        const outputs = { ray: { roleArn: workloadArn, assetsRoleArn: assetsArn } };
        const healthy = await verifyStack("prod", config, outputs, { iam, eks, assetsIam });
        assert.deepEqual(
            checks(healthy),
            ["trust", "oidc-provider", "oidc-issuer", "permissions", "assets-role", "assets-trust", "assets-permissions"].reduce(
                (all, c) => [...all, `ray ${c} true`],
                ["ray role true"],
            ),
        );
        assert.match(healthy.find((f) => f.check === "assets-trust")!.message, /trusts only the workload role .* \(with the external id\)/);

        // The assets role is opened to the whole compute account, and without the external id.
        await inAssets.send(
            new UpdateAssumeRolePolicyCommand({
                RoleName: "ray-assets-role",
                PolicyDocument: JSON.stringify(buildAssetsTrustPolicy(`arn:aws:iam::${ACCOUNT}:root`, { tagSession: false })),
            }),
        );
        const opened = await verifyStack("prod", config, outputs, { iam, eks, assetsIam });
        const trust = opened.find((f) => f.check === "assets-trust")!;
        assert.equal(trust.ok, false);
        assert.match(trust.message, /also admits another role of the workload's account, the workload role without the external id/);
        // Without a way into the buckets' account, verify says so instead of passing.
        const blind = await verifyStack("prod", config, outputs, { iam, eks });
        assert.match(blind.find((f) => f.check === "assets-role")!.message, /no credentials for the buckets' account/);
    });

    it("cross-account Pod Identity: the assets role must require the association's external id", async () => {
        const ASSETS = "222222222222";
        const deployRoleArn = `arn:aws:iam::${ASSETS}:role/ray-s3-access-deployer`;
        const assetsIam = assetsIamThrough(sts, (credentials) => new IAMClient({ endpoint: moto.endpoint, region: moto.region, credentials }));
        const inAssets = await assetsIam(deployRoleArn);
        await eks.send(new CreateClusterCommand({ name: "ray-prod", roleArn: `arn:aws:iam::${ACCOUNT}:role/eks`, resourcesVpcConfig: { subnetIds: [] } }));
        const workloadArn = `arn:aws:iam::${ACCOUNT}:role/ray-role`;
        const pinned = { tagSession: true, externalId: ["11111111-2222-3333-4444-555555555555"] };
        const assetsArn = await role("ray-assets-pi", buildAssetsTrustPolicy(workloadArn, pinned), s3(), inAssets);
        const podTrust = buildPodIdentityTrustPolicy({
            accountId: ACCOUNT,
            clusterName: "ray-prod",
            serviceAccounts: [{ namespace: "ray", name: "ray-s3-sa" }],
        });
        await role("ray-role", podTrust, buildAssumeAssetsPolicy(assetsArn, pinned));
        const config = parseStackConfig("prod", {
            identity: "podIdentity",
            clusterName: "ray-prod",
            tenants: JSON.stringify([{ namespace: "ray", buckets, assetsDeployRoleArn: deployRoleArn }]),
        });
        const outputs = { ray: { roleArn: workloadArn, assetsRoleArn: assetsArn } };
        const clients = { iam, eks: withRecordedAssociations(eks, { "ray/ray-s3-sa": { roleArn: workloadArn, targetRoleArn: assetsArn } }), assetsIam };
        const healthy = await verifyStack("prod", config, outputs, clients);
        const trust = healthy.find((f) => f.check === "assets-trust")!;
        assert.equal(trust.ok, true, trust.message);
        assert.match(trust.message, /\(with the external id\)/);
        // A trust from before the pin (no external id): any session of the workload role could chain in.
        await inAssets.send(
            new UpdateAssumeRolePolicyCommand({
                RoleName: "ray-assets-pi",
                PolicyDocument: JSON.stringify(buildAssetsTrustPolicy(workloadArn, { tagSession: true })),
            }),
        );
        const unpinned = (await verifyStack("prod", config, outputs, clients)).find((f) => f.check === "assets-trust")!;
        assert.equal(unpinned.ok, false);
        assert.match(unpinned.message, /also admits the workload role without the external id/);
    });
});
