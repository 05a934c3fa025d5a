/**
 * One tenant of a stack: its RayS3Access and, by kind, what its platform needs besides (the Kubeflow
 * Profile with the AwsIamForServiceAccount plugin, SkyPilot's remote-identity setting).
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { RayS3Access, RayS3AccessArgs } from "../components";
import { StackConfig, TenantConfig, tenantArgs, tenantSubjects } from "./config";
import { RoleGroup, unionOfBuckets } from "./sharing";

/**
 * The ~/.sky/config.yaml lines a SkyPilot tenant needs: run pods as the tenant's service account, and do not
 * upload local AWS credentials (the pods get theirs from IRSA / Pod Identity).
 */
export function skypilotConfig(serviceAccountName: string): string {
    return `kubernetes:\n  remote_identity: ${serviceAccountName}\naws:\n  remote_identity: NO_UPLOAD\n`;
}

export interface TenantOutputs {
    kind: string;
    /** The role group (component) serving the tenant. */
    role: string;
    roleArn: pulumi.Output<string>;
    policyArn: pulumi.Output<string>;
    /** The role in the buckets' account (tenants with assetsDeployRoleArn). */
    assetsRoleArn?: pulumi.Output<string>;
    namespace: pulumi.Output<string>;
    serviceAccountName: pulumi.Output<string>;
    /** What to set in the tenant's platform, if anything (SkyPilot's ~/.sky/config.yaml). */
    setup?: string;
}

/**
 * The RayS3Access arguments of a role group, without providers: pure, so the program checks every group with the
 * component's own rules (`checkBeforeRegistration`) before it creates anything.
 */
export function roleGroupArgs(
    config: StackConfig,
    group: RoleGroup,
    clusterOidcProviderArn?: pulumi.Input<string>,
): { -readonly [K in keyof RayS3AccessArgs]: RayS3AccessArgs[K] } {
    const [first, ...rest] = group.tenants;
    const firstArgs = tenantArgs(config, first, clusterOidcProviderArn);
    const others = rest.flatMap((tenant) => tenantSubjects(config, tenant)).map((ref) => `${ref.namespace}:${ref.name}`);
    const args: { -readonly [K in keyof RayS3AccessArgs]: RayS3AccessArgs[K] } = {
        ...firstArgs,
        additionalServiceAccounts: [...(firstArgs.additionalServiceAccounts ?? []), ...others],
        roleSharing: config.roleSharing === "abac" || config.roleSharing === "sessionPolicy" ? config.roleSharing : undefined,
        trustPolicyMaxLength: config.roleSharing === "packed" ? config.trustPolicyMaxLength : firstArgs.trustPolicyMaxLength,
    };
    if (config.roleSharing === "sessionPolicy") {
        // One role with every tenant's buckets; each tenant's service accounts get that tenant's own as their session policy.
        args.buckets = unionOfBuckets(group.tenants.flatMap((tenant) => tenant.buckets));
        args.sessionPolicies = group.tenants.flatMap((tenant) =>
            tenantSubjects(config, tenant).map((ref) => ({ serviceAccount: `${ref.namespace}:${ref.name}`, buckets: tenant.buckets })),
        );
    }
    return args;
}

/**
 * Creates one role's RayS3Access for a group of tenants (one tenant unless roles are shared), then what each
 * tenant's platform needs besides. The component is named after the group (the namespace for perTenant).
 */
export function createRoleGroup(
    config: StackConfig,
    group: RoleGroup,
    clusterOidcProviderArn: pulumi.Input<string> | undefined,
    opts: pulumi.ComponentResourceOptions = {},
): Record<string, TenantOutputs> {
    const first = group.tenants[0];
    const args = roleGroupArgs(config, group, clusterOidcProviderArn);
    const clusters = first.additionalClusters ?? config.additionalClusters;
    if (clusters?.some((c) => c.region !== undefined)) {
        // A cluster in another region: its issuer lookup and its associations use a provider for that region.
        args.additionalClusters = clusters.map(({ region, ...cluster }) => ({ ...cluster, provider: region ? regionProvider(config, region) : undefined }));
    }
    if (first.assetsDeployRoleArn) {
        // The buckets' account: the program deploys the assets role there by assuming this role.
        args.assetsProvider = new aws.Provider(
            `${group.name}-assets`,
            { region: new pulumi.Config("aws").get("region"), assumeRoles: [{ roleArn: first.assetsDeployRoleArn }] },
            opts.parent ? { parent: opts.parent } : undefined,
        );
        args.assetsExternalId = first.assetsExternalId;
    }
    const access = new RayS3Access(group.name, args, opts);
    const outputs: Record<string, TenantOutputs> = {};
    for (const tenant of group.tenants) {
        const tenantIdentity = tenant.identity ?? config.identity;
        const serviceAccountName = String(tenantArgs(config, tenant).serviceAccountName);
        if (tenant.kind === "kubeflowProfile") {
            new k8s.apiextensions.CustomResource(
                `${tenant.namespace}-profile`,
                {
                    apiVersion: "kubeflow.org/v1",
                    kind: "Profile",
                    metadata: { name: tenant.namespace },
                    spec: {
                        owner: { kind: "User", name: tenant.owner },
                        // annotateOnly: the plugin annotates default-editor and leaves the role's trust to us.
                        plugins:
                            tenantIdentity !== "podIdentity" && (tenant.annotateServiceAccount ?? config.annotateServiceAccount) !== false
                                ? [{ kind: "AwsIamForServiceAccount", spec: { awsIamRole: access.roleArn, annotateOnly: true } }]
                                : [],
                    },
                },
                { ...opts, dependsOn: [access] },
            );
        }
        outputs[tenant.namespace] = {
            kind: tenant.kind,
            role: group.name,
            roleArn: access.roleArn,
            policyArn: access.policyArn,
            assetsRoleArn: first.assetsDeployRoleArn ? access.assetsRoleArn : undefined,
            namespace: pulumi.output(tenant.namespace),
            serviceAccountName: pulumi.output(serviceAccountName),
            setup: tenant.kind === "skypilot" ? skypilotConfig(serviceAccountName) : undefined,
        };
    }
    return outputs;
}

/** One AWS provider per region per program run (the config object is the run's). */
const regionProviders = new WeakMap<StackConfig, Map<string, aws.Provider>>();

export function regionProvider(config: StackConfig, region: string): aws.Provider {
    let providers = regionProviders.get(config);
    if (!providers) regionProviders.set(config, (providers = new Map()));
    let provider = providers.get(region);
    if (!provider) providers.set(region, (provider = new aws.Provider(`cluster-region-${region}`, { region })));
    return provider;
}

/** Creates a single tenant with a role of its own (the per-tenant program). */
export function createTenant(
    config: StackConfig,
    tenant: TenantConfig,
    clusterOidcProviderArn: pulumi.Input<string> | undefined,
    opts: pulumi.ComponentResourceOptions = {},
): TenantOutputs {
    return createRoleGroup(config, { name: tenant.namespace, tenants: [tenant] }, clusterOidcProviderArn, opts)[tenant.namespace];
}
