/**
 * `verify`: checks each role of a deployed stack, and the tenants it serves, against live AWS (and Kubernetes); each check
 * lives in a file of its own in this folder. See `verifyStack`.
 */
import { buildAssumeAssetsPolicy, chainedEnvironment, ChainOptions } from "../../components/crossAccount";
import { abacScope, BucketLocation, buildS3PermissionsPolicy, PolicyDocument } from "../../components/s3Policy";
import { identityStrategy } from "../../components/identities";
import { validateArgs } from "../../components/validation";
import { StackConfig, TenantConfig, tenantArgs, tenantSubjects } from "../../programs/config";
import { roleGroups, unionOfBuckets } from "../../programs/sharing";
import { CanaryResult, CanaryTarget, runCanary } from "./canary";
import { pooled } from "../pool";
import {
    VerifyClients,
    VerifyFinding,
    DeployedTenant,
    decode,
    arnParts,
    stringOf,
    RoleGroupUnderTest,
    Recorder,
    getRole,
    attachedPolicyMatches,
    listOf,
    ClusterUnderTest,
    eksClient,
} from "./shared";
import { verifyIrsaTrust, verifyPodIdentityTrust } from "./trust";
import { verifyAssociations } from "./associations";
import { verifyPodIdentityAgent } from "./agent";
import { verifyServiceAccounts } from "./serviceAccounts";
import { verifyAssetsRole } from "./assets";
import { withAliasArns, verifyAccessPoints } from "./accessPoints";

/** The session policy a tenant's association carries under roleSharing "sessionPolicy": its own buckets. */
export function sessionPolicyFor(config: StackConfig, tenant: string, partition: string, location: BucketLocation): PolicyDocument {
    const entry = config.tenants.find((t) => t.namespace === tenant)!;
    return buildS3PermissionsPolicy(partition, validateArgs(tenant, tenantArgs(config, entry)).buckets, {}, location);
}

export const componentNames = new WeakMap<StackConfig, Map<string, string>>();

/**
 * The name of the RayS3Access that serves a tenant (the namespace, or its shared role's group): what the component
 * derives names from, such as the default name of an access point it creates.
 */
export function componentNameOf(config: StackConfig, tenant: TenantConfig): string {
    let names = componentNames.get(config);
    if (!names) {
        names = new Map(roleGroups(config).flatMap((group) => group.tenants.map((t) => [t.namespace, group.name] as const)));
        componentNames.set(config, names);
    }
    return names.get(tenant.namespace) ?? tenant.namespace;
}

/**
 * The S3 prefixes a tenant's pod should be able to list, as `bucket/prefix`: what the pod names as the bucket, which
 * is an access point's ARN for a general-purpose access point and an access point's name for a directory bucket's.
 */
export function canaryTargets(config: StackConfig, tenant: TenantConfig): string[] {
    const valid = validateArgs(componentNameOf(config, tenant), tenantArgs(config, tenant)).buckets;
    const base = config.roleSharing === "abac" ? `${tenant.namespace}/` : "";
    return valid.flatMap((bucket) => {
        const named = bucket.accessPoint?.arn ?? bucket.directory?.accessPoint?.name ?? bucket.bucket;
        return (bucket.prefixes.length ? bucket.prefixes : [""]).map((prefix) => `${named}/${base}${prefix}`);
    });
}

export async function verifyGroup(stack: string, config: StackConfig, group: RoleGroupUnderTest, clients: VerifyClients, out: Recorder): Promise<void> {
    const first = group.tenants[0];
    const args = tenantArgs(config, first);
    const identity = args.identity ?? "irsa";
    const cluster = args.clusterName === undefined ? undefined : String(args.clusterName);
    const { partition, name: roleName } = arnParts(group.roleArn);
    const subjects = group.tenants.flatMap((tenant) => tenantSubjects(config, tenant).map((ref) => ({ tenant: tenant.namespace, ref })));
    const refs = subjects.map((s) => s.ref);

    const role = await getRole(clients.iam, roleName);
    const shared = group.tenants.length > 1 ? ` (shared by ${group.tenants.length} tenants)` : "";
    if (
        !out.add(
            group.label,
            "role",
            !!role,
            role ? `role ${group.roleArn} exists${shared}` : `role ${roleName} does not exist`,
            `run \`ray-s3-access up --stack ${stack}\`, or check that the stack's outputs are from this account`,
        )
    )
        return;
    const trust = decode(role.AssumeRolePolicyDocument);

    const strategy = identityStrategy(identity);
    const migrating = identity === "irsaAndPodIdentity";
    const region = clients.region ?? "us-west-2";
    // Directory buckets named without their ARN are in the stack's region and the role's account.
    const location = { region, account: arnParts(group.roleArn).account };
    const clusters: ClusterUnderTest[] = [
        { clusterName: cluster, oidcProviderArn: stringOf(args.oidcProviderArn), oidcIssuerUrl: stringOf(args.oidcIssuerUrl), region, label: "" },
        ...(first.additionalClusters ?? config.additionalClusters ?? []).map((c) => ({
            ...c,
            region: c.region ?? region,
            label: ` (cluster ${c.clusterName ?? c.oidcProviderArn ?? c.oidcIssuerUrl})`,
        })),
    ];
    if (strategy.webIdentity) {
        await verifyIrsaTrust(stack, group, trust, refs, clusters, clients, out);
        await verifyServiceAccounts(group, subjects, clients, out, args.annotateServiceAccount !== false);
    }
    if (migrating && clients.listPods) {
        // Pods created before the association keep IRSA until they restart; Pod Identity alone (the next step)
        // would refuse them at their next credential refresh.
        for (const { tenant, ref } of subjects) {
            const pods = await clients.listPods(ref.namespace, ref.name);
            const stale = pods.filter((p) => p.webIdentity).map((p) => p.name);
            out.add(
                tenant,
                "pods",
                stale.length === 0,
                stale.length === 0
                    ? `no pod of ${ref.namespace}/${ref.name} still uses IRSA (${pods.length} running)`
                    : `${stale.length} pod(s) of ${ref.namespace}/${ref.name} still use IRSA (created before the association): ${listOf(stale.slice(0, 5))}${stale.length > 5 ? ", ..." : ""}`,
                `restart them (kubectl rollout restart, or recreate the RayCluster) so they get Pod Identity, before identity "podIdentity" drops IRSA from the trust`,
            );
        }
    }
    if (strategy.podIdentity) {
        for (const c of clusters) {
            const untagged = config.roleSharing === "sessionPolicy" || args.disableSessionTags === true;
            verifyPodIdentityTrust(stack, group, trust, refs, c.clusterName!, c.region, untagged ? "untagged" : config.roleSharing === "abac", out);
            await verifyAssociations(stack, group, subjects, c.clusterName!, { ...clients, eks: eksClient(clients, c.region) }, out, {
                disableSessionTags: untagged,
                sessionPolicyOf: config.roleSharing === "sessionPolicy" ? (tenant) => sessionPolicyFor(config, tenant, partition, location) : undefined,
            });
            // The agent, once per cluster: associations do nothing without it.
            if (config.podIdentityAgent !== "ignore") await verifyPodIdentityAgent(stack, c.clusterName!, eksClient(clients, c.region), out, group.label);
        }
    }

    // The S3 policy the stack would attach, compared as documents (not strings).
    // A sessionPolicy role holds every tenant's buckets (the union); each association narrows it.
    const named = validateArgs(
        componentNameOf(config, first),
        config.roleSharing === "sessionPolicy" ? { ...args, buckets: unionOfBuckets(group.tenants.flatMap((t) => t.buckets)) } : args,
    ).buckets;
    // Access points named by alias: the ARNs the component looked up, among the account's access points in the region.
    const aliases = await withAliasArns(named, location, clients);
    if (!aliases || aliases.missing.length > 0) {
        out.add(
            group.label,
            "permissions",
            false,
            aliases
                ? `no access point of account ${location.account} in ${location.region} has the alias ${aliases.missing.map((a) => `"${a}"`).join(", ")}`
                : `the stack names access points by alias, and this run cannot look their ARNs up (no S3 Control client)`,
            aliases
                ? `check the alias in the stack (an access point of another account or region cannot be named by alias: give its ARN)`
                : `give the access points' ARNs in the stack`,
        );
        return;
    }
    const buckets = aliases.buckets;
    const s3Policy = buildS3PermissionsPolicy(
        partition,
        buckets,
        config.roleSharing === "abac" ? abacScope(clusters.map((c) => c.clusterName!)) : {},
        location,
    );
    // Pod Identity alone pins each association's external id in the assets role's trust.
    const chain: ChainOptions = { tagSession: strategy.podIdentity, externalId: identity === "podIdentity" ? [] : first.assetsExternalId };
    const expected = first.assetsDeployRoleArn && group.assetsRoleArn ? buildAssumeAssetsPolicy(group.assetsRoleArn, chain) : s3Policy;
    const { matching, attached } = await attachedPolicyMatches(clients.iam, roleName, expected);
    out.add(
        group.label,
        "permissions",
        matching,
        matching
            ? first.assetsDeployRoleArn
                ? "the workload role may only assume the assets role, as the stack says"
                : "the attached S3 policy matches the stack's"
            : `no attached policy matches the stack's ${first.assetsDeployRoleArn ? "assume-the-assets-role" : "S3"} policy (${attached} attached)`,
        `the policy was edited or detached outside the stack: run \`ray-s3-access up --stack ${stack}\``,
    );
    if (first.assetsDeployRoleArn) await verifyAssetsRole(stack, group, first, chain, s3Policy, clients, out);
    await verifyAccessPoints(stack, group, buckets, partition, location, clients, out);
}

/** The canary target of a tenant: its first service account, the role its pod should end up as. */
export function canaryTarget(config: StackConfig, tenant: TenantConfig, deployed: DeployedTenant, region: string | undefined): CanaryTarget {
    const args = tenantArgs(config, tenant);
    // The migration: once the association exists, EKS's webhook gives new pods Pod Identity, not IRSA (an
    // association takes precedence over the annotation), and the canary's pod is new.
    const migrating = args.identity === "irsaAndPodIdentity";
    const identity = args.identity === "irsa" ? "irsa" : "podIdentity";
    const serviceAccountName = String(args.serviceAccountName);
    const crossAccount = !!tenant.assetsDeployRoleArn && !!deployed.assetsRoleArn;
    return {
        namespace: tenant.namespace,
        serviceAccountName,
        identity,
        expectedSource: migrating ? identity : undefined,
        targets: canaryTargets(config, tenant),
        expectedRoleArn: crossAccount ? deployed.assetsRoleArn! : deployed.roleArn,
        // IRSA chains through the component's ConfigMap profile; Pod Identity chains inside EKS.
        env: crossAccount && identity === "irsa" ? chainedEnvironment() : undefined,
        awsConfigMap: crossAccount && identity === "irsa" ? `${serviceAccountName}-aws-config` : undefined,
        region,
    };
}

/** Verifies every role of a stack and the tenants it serves; with `clients.canary`, one canary Job per tenant. */
export async function verifyStack(
    stack: string,
    config: StackConfig,
    tenants: Record<string, DeployedTenant>,
    clients: VerifyClients,
    options: { canaryConcurrency?: number } = {},
): Promise<VerifyFinding[]> {
    const out = new Recorder(stack);
    const groups = new Map<string, RoleGroupUnderTest>();
    for (const tenant of config.tenants) {
        const deployed = tenants[tenant.namespace];
        if (!deployed?.roleArn) {
            out.add(
                tenant.namespace,
                "outputs",
                false,
                `stack ${stack} exports no role for tenant ${tenant.namespace}`,
                `run \`ray-s3-access up --stack ${stack}\``,
            );
            continue;
        }
        const group = groups.get(deployed.roleArn) ?? { label: "", roleArn: deployed.roleArn, tenants: [], assetsRoleArn: deployed.assetsRoleArn };
        group.tenants.push(tenant);
        groups.set(deployed.roleArn, group);
    }
    for (const group of groups.values()) {
        const name = tenants[group.tenants[0].namespace].role ?? arnParts(group.roleArn).name;
        group.label = group.tenants.length === 1 ? group.tenants[0].namespace : `${name} (${group.tenants.length} tenants)`;
        await verifyGroup(stack, config, group, clients, out);
    }
    if (clients.canary) {
        const { kube, options: canaryOptions, signal } = clients.canary;
        const ready = config.tenants.filter((t) => tenants[t.namespace]?.roleArn);
        const results: CanaryResult[] = await pooled(ready, options.canaryConcurrency ?? 4, (tenant) =>
            runCanary(kube, canaryTarget(config, tenant, tenants[tenant.namespace], clients.region), canaryOptions, signal),
        );
        ready.forEach((tenant, i) => out.add(tenant.namespace, "canary", results[i].ok, results[i].message, results[i].fix));
    }
    return out.findings;
}

export type { DeployedTenant, VerifyClients, VerifyFinding } from "./shared";
export { assetsIamThrough } from "./assets";
