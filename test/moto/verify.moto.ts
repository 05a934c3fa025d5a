/**
 * `verify` against moto for every AWS call moto implements (IAM roles, policies and OIDC providers, EKS
 * clusters); Pod Identity associations, which moto lacks, come from recorded API responses.
 */
import { CreateClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import { AttachRolePolicyCommand, CreateOpenIDConnectProviderCommand, CreatePolicyCommand, CreateRoleCommand, DetachRolePolicyCommand, IAMClient, UpdateAssumeRolePolicyCommand } from "@aws-sdk/client-iam";
import { strict as assert } from "assert";
import { verifyStack, VerifyClients } from "../../automation/verify";
import { buildIrsaTrustPolicy, buildPodIdentityTrustPolicy } from "../../components/trustPolicy";
import { buildS3PermissionsPolicy } from "../../components/s3Policy";
import { parseStackConfig } from "../../programs/config";
import { MotoServer, startMoto } from "../support/moto";

const ACCOUNT = "123456789012";

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
        const cluster = await eks.send(new CreateClusterCommand({ name: "ray-prod", roleArn: `arn:aws:iam::${ACCOUNT}:role/eks`, resourcesVpcConfig: { subnetIds: [] } }));
        const issuer = cluster.cluster!.identity!.oidc!.issuer!;
        const provider = await iam.send(new CreateOpenIDConnectProviderCommand({ Url: issuer, ClientIDList: ["sts.amazonaws.com"], ThumbprintList: ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"] }));
        const providerArn = provider.OpenIDConnectProviderArn!;
        const trust = buildIrsaTrustPolicy(providerArn, [{ namespace: "ray", name: "ray-worker" }]);
        const role = await iam.send(new CreateRoleCommand({ RoleName: "ray-role-0a1b2c3", AssumeRolePolicyDocument: JSON.stringify(trust) }));
        const policy = await iam.send(new CreatePolicyCommand({ PolicyName: "ray-policy-0a1b2c3", PolicyDocument: JSON.stringify(buildS3PermissionsPolicy("aws", [{ bucket: "ray-ckpt", access: "readWrite", prefixes: ["checkpoints/"], kmsKeyArns: [] }])) }));
        await iam.send(new AttachRolePolicyCommand({ RoleName: "ray-role-0a1b2c3", PolicyArn: policy.Policy!.Arn! }));
        const config = parseStackConfig("prod", { oidcProviderArn: providerArn, clusterName: "ray-prod", tenants: JSON.stringify([{ namespace: "ray", serviceAccountName: "ray-worker", buckets }]) });
        return { config, roleArn: role.Role!.Arn!, providerArn, policyArn: policy.Policy!.Arn! };
    }

    function clientsWith(annotations: Record<string, string> | undefined): VerifyClients {
        return { iam, eks, readServiceAccount: async () => (annotations === undefined ? undefined : { annotations }) };
    }

    it("a healthy IRSA tenant passes every check", async () => {
        const { config, roleArn } = await deployIrsa();
        const findings = await verifyStack("prod", config, { ray: { roleArn } }, clientsWith({ "eks.amazonaws.com/role-arn": roleArn }));
        assert.deepEqual(findings.map((f) => [f.check, f.ok]), [["role", true], ["trust", true], ["oidc-provider", true], ["oidc-issuer", true], ["service-account", true], ["permissions", true]]);
    });

    it("reports drift with what is wrong and the fix", async () => {
        const { config, roleArn, providerArn, policyArn } = await deployIrsa();
        await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: "ray-role-0a1b2c3", PolicyDocument: JSON.stringify(buildIrsaTrustPolicy(providerArn, [{ namespace: "ray", name: "default" }])) }));
        await iam.send(new DetachRolePolicyCommand({ RoleName: "ray-role-0a1b2c3", PolicyArn: policyArn }));
        const findings = await verifyStack("prod", config, { ray: { roleArn } }, clientsWith({}));
        const failed = Object.fromEntries(findings.filter((f) => !f.ok).map((f) => [f.check, f]));
        assert.match(failed.trust.message, /does not admit system:serviceaccount:ray:ray-worker and also admits system:serviceaccount:ray:default/);
        assert.match(failed.permissions.message, /no attached policy matches the stack's S3 policy/);
        assert.match(failed["service-account"].message, /ServiceAccount ray\/ray-worker is annotated with no role/);
        assert.match(failed["service-account"].fix!, /kubectl annotate sa -n ray ray-worker --overwrite eks.amazonaws.com\/role-arn=/);
        const missing = await verifyStack("prod", config, { ray: { roleArn: `arn:aws:iam::${ACCOUNT}:role/gone` } }, clientsWith({}));
        assert.deepEqual(missing.map((f) => [f.check, f.ok]), [["role", false]]);
        assert.match(missing[0].fix!, /ray-s3-access up --stack prod/);
    });

    it("a trust that names another cluster's provider is caught", async () => {
        const { config, roleArn } = await deployIrsa();
        const other = await iam.send(new CreateOpenIDConnectProviderCommand({ Url: "https://oidc.eks.us-west-2.amazonaws.com/id/OTHERCLUSTER", ClientIDList: ["sts.amazonaws.com"], ThumbprintList: ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"] }));
        await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: "ray-role-0a1b2c3", PolicyDocument: JSON.stringify(buildIrsaTrustPolicy(other.OpenIDConnectProviderArn!, [{ namespace: "ray", name: "ray-worker" }])) }));
        const findings = await verifyStack("prod", config, { ray: { roleArn } }, clientsWith({ "eks.amazonaws.com/role-arn": roleArn }));
        const issuer = findings.find((f) => f.check === "oidc-issuer")!;
        assert.equal(issuer.ok, false);
        assert.match(issuer.message, /the role trusts oidc.eks.us-west-2.amazonaws.com\/id\/OTHERCLUSTER, but cluster ray-prod's issuer is/);
    });

    it("Pod Identity: associations from recorded EKS responses (moto does not implement them)", async () => {
        await eks.send(new CreateClusterCommand({ name: "ray-prod", roleArn: `arn:aws:iam::${ACCOUNT}:role/eks`, resourcesVpcConfig: { subnetIds: [] } }));
        const trust = buildPodIdentityTrustPolicy({ accountId: ACCOUNT, clusterName: "ray-prod", serviceAccounts: [{ namespace: "ray", name: "ray-s3-sa" }] });
        const role = await iam.send(new CreateRoleCommand({ RoleName: "ray-role-pi", AssumeRolePolicyDocument: JSON.stringify(trust) }));
        const policy = await iam.send(new CreatePolicyCommand({ PolicyName: "ray-policy-pi", PolicyDocument: JSON.stringify(buildS3PermissionsPolicy("aws", [{ bucket: "ray-ckpt", access: "readWrite", prefixes: ["checkpoints/"], kmsKeyArns: [] }])) }));
        await iam.send(new AttachRolePolicyCommand({ RoleName: "ray-role-pi", PolicyArn: policy.Policy!.Arn! }));
        const config = parseStackConfig("prod", { identity: "podIdentity", clusterName: "ray-prod", tenants: JSON.stringify([{ namespace: "ray", buckets }]) });
        // Recorded shapes of ListPodIdentityAssociations / DescribePodIdentityAssociation (EKS API reference).
        const recorded = (roleArn: string) => ({
            send: async (command: any) => {
                const name = command.constructor.name;
                if (name === "ListPodIdentityAssociationsCommand") {
                    return { associations: [{ clusterName: "ray-prod", namespace: "ray", serviceAccount: "ray-s3-sa", associationId: "a-0123456789abcdef0", associationArn: `arn:aws:eks:us-west-2:${ACCOUNT}:podidentityassociation/ray-prod/a-0123456789abcdef0` }] };
                }
                if (name === "DescribePodIdentityAssociationCommand") {
                    return { association: { clusterName: "ray-prod", namespace: "ray", serviceAccount: "ray-s3-sa", roleArn, associationId: "a-0123456789abcdef0" } };
                }
                return eks.send(command);
            },
        });
        const healthy = await verifyStack("prod", config, { ray: { roleArn: role.Role!.Arn! } }, { iam, eks: recorded(role.Role!.Arn!) });
        assert.deepEqual(healthy.map((f) => [f.check, f.ok]), [["role", true], ["trust", true], ["pod-identity-association", true], ["permissions", true]]);
        const wrong = await verifyStack("prod", config, { ray: { roleArn: role.Role!.Arn! } }, { iam, eks: recorded(`arn:aws:iam::${ACCOUNT}:role/other`) });
        assert.match(wrong.find((f) => f.check === "pod-identity-association")!.message, /no Pod Identity association on ray-prod gives ray\/ray-s3-sa this role/);
    });
});
