/**
 * Role sharing across tenants (`ray-s3-access:roleSharing`): which tenants share which role.
 *
 * - `perTenant`: one role per tenant.
 * - `abac` (Pod Identity): one role for every tenant; namespaces are isolated by session tags.
 * - `packed` (IRSA): tenants with identical permissions share roles whose trust lists all their service
 *   accounts, packed first-fit in config order under the trust-policy quota (measured as IAM does), so
 *   appending a tenant never moves an existing one.
 */
import { buildIrsaTrustPolicy, ServiceAccountRef } from "../components/trustPolicy";
import { iamPolicyLength } from "../components/s3Policy";
import { shortHash } from "../components/names";
import { BucketAccess } from "../components/types";
import { roleGroupKey } from "../components/validation/combinations";
import { sharingArgs, StackConfig, TenantConfig, tenantSubjects } from "./config";

/** One role of the stack and the tenants it serves. */
export interface RoleGroup {
    /** The RayS3Access component's name. */
    name: string;
    tenants: TenantConfig[];
}

/**
 * What must be equal for tenants to share a packed role: every option the sharing matrix says groups (clusters, token,
 * storage kinds, access levels, deletes, caches, role settings), everything but who they are.
 */
export function permissionSignature(config: StackConfig, tenant: TenantConfig): string {
    return roleGroupKey(sharingArgs(config, tenant));
}

/** The longest issuer EKS writes, for trusts whose issuer is looked up at deployment. */
const LONGEST_ISSUER = "https://oidc.eks.xx-xxxxxxxxx-1.amazonaws.com/id/XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";

/**
 * The OIDC provider ARNs (or stand-ins of the same length) a tenant's packed trust names, one per cluster: its
 * primary's, then each additional cluster's; a cluster whose issuer is looked up at deployment counts with the longest
 * issuer EKS writes.
 */
export function tenantProviderArns(config: StackConfig, tenant: TenantConfig): string[] {
    const args = sharingArgs(config, tenant);
    const arnOf = (cluster: { oidcProviderArn?: unknown; oidcIssuerUrl?: unknown }) =>
        typeof cluster.oidcProviderArn === "string"
            ? cluster.oidcProviderArn
            : `arn:aws-us-gov:iam::000000000000:oidc-provider/${(typeof cluster.oidcIssuerUrl === "string" ? cluster.oidcIssuerUrl : LONGEST_ISSUER).replace(/^https:\/\//, "").replace(/\/+$/, "")}`;
    return [arnOf(args), ...(args.additionalClusters ?? []).map(arnOf)];
}

/**
 * Packs tenants into IRSA roles. Tenants share a role only when their signatures are equal, so the members of a
 * group have the same clusters: each role's trust is measured with them, against `quota` (the trust-policy limit in
 * characters without white space).
 */
export function packTenants(config: StackConfig, tenants: TenantConfig[], quota: number): RoleGroup[] {
    const bySignature = new Map<string, TenantConfig[]>();
    for (const tenant of tenants) {
        const signature = permissionSignature(config, tenant);
        bySignature.set(signature, [...(bySignature.get(signature) ?? []), tenant]);
    }
    const groups: RoleGroup[] = [];
    for (const [signature, members] of bySignature) {
        const id = shortHash(signature);
        const providerArn = tenantProviderArns(config, members[0]);
        const roles: { tenants: TenantConfig[]; subjects: ServiceAccountRef[] }[] = [];
        for (const tenant of members) {
            const subjects = tenantSubjects(config, tenant);
            const fits = (role: { subjects: ServiceAccountRef[] }) =>
                iamPolicyLength(buildIrsaTrustPolicy(providerArn, [...role.subjects, ...subjects])) <= quota;
            let role = roles.find(fits);
            if (!role) {
                role = { tenants: [], subjects: [] };
                if (!fits(role)) {
                    throw new Error(`tenant "${tenant.namespace}": its service accounts alone exceed the trust-policy quota of ${quota}`);
                }
                roles.push(role);
            }
            role.tenants.push(tenant);
            role.subjects.push(...subjects);
        }
        roles.forEach((role, index) => groups.push({ name: `packed-${id}-${index}`, tenants: role.tenants }));
    }
    return groups;
}

/**
 * The least set of bucket entries that covers every given one: per bucket the widest access, the whole bucket if
 * any entry is, else every prefix, and every KMS key.
 */
export function unionOfBuckets(entries: BucketAccess[]): BucketAccess[] {
    const byBucket = new Map<
        string,
        { access: "read" | "readWrite" | "mountpoint"; allowDelete: boolean; prefixes: Set<string> | undefined; kmsKeyArns: Set<string> }
    >();
    for (const entry of entries) {
        const name = entry.bucket.replace(/^arn:[^:]+:s3:::/, "");
        const known = byBucket.get(name);
        const prefixes = entry.prefixes && entry.prefixes.length > 0 ? new Set(entry.prefixes) : undefined;
        if (!known) {
            byBucket.set(name, {
                access: entry.access ?? "readWrite",
                allowDelete: entry.allowDelete === true,
                prefixes,
                kmsKeyArns: new Set(entry.kmsKeyArns ?? []),
            });
            continue;
        }
        // read and mountpoint each lack something of the other; readWrite holds both.
        const access = entry.access ?? "readWrite";
        if (access !== known.access) known.access = "readWrite";
        known.allowDelete ||= entry.allowDelete === true;
        known.prefixes = known.prefixes && prefixes ? new Set([...known.prefixes, ...prefixes]) : undefined;
        for (const key of entry.kmsKeyArns ?? []) known.kmsKeyArns.add(key);
    }
    return [...byBucket].map(([bucket, e]) => ({
        bucket,
        access: e.access,
        ...(e.access === "mountpoint" && e.allowDelete ? { allowDelete: true } : {}),
        ...(e.prefixes ? { prefixes: [...e.prefixes].sort() } : {}),
        ...(e.kmsKeyArns.size > 0 ? { kmsKeyArns: [...e.kmsKeyArns].sort() } : {}),
    }));
}

/** Which tenants share which role, per `ray-s3-access:roleSharing`; each group's name is its component's. */
export function roleGroups(config: StackConfig): RoleGroup[] {
    switch (config.roleSharing) {
        case "abac":
            return [{ name: "abac-shared", tenants: config.tenants }];
        case "sessionPolicy":
            return [{ name: "session-shared", tenants: config.tenants }];
        case "packed":
            return packTenants(config, config.tenants, config.trustPolicyMaxLength);
        default:
            return config.tenants.map((tenant) => ({ name: tenant.namespace, tenants: [tenant] }));
    }
}
