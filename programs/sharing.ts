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
import { StackConfig, TenantConfig, tenantArgs, tenantSubjects } from "./config";

/** One role of the stack and the tenants it serves. */
export interface RoleGroup {
    /** The RayS3Access component's name. */
    name: string;
    tenants: TenantConfig[];
}

/** What must be equal for tenants to share a role: everything but who they are. */
export function permissionSignature(config: StackConfig, tenant: TenantConfig): string {
    const args = tenantArgs(config, tenant);
    const buckets = [...args.buckets]
        .map((b) => ({
            bucket: b.bucket,
            access: b.access ?? "readWrite",
            prefixes: [...(b.prefixes ?? [])].sort(),
            kmsKeyArns: [...(b.kmsKeyArns ?? [])].sort(),
        }))
        .sort((a, b) => (a.bucket < b.bucket ? -1 : 1));
    return JSON.stringify({
        kind: tenant.kind,
        identity: args.identity,
        manageServiceAccount: args.manageServiceAccount,
        buckets,
        rolePath: args.rolePath ?? null,
        permissionsBoundaryArn: args.permissionsBoundaryArn ?? null,
        maxSessionDuration: args.maxSessionDuration ?? null,
        additionalPolicyArns: [...(args.additionalPolicyArns ?? [])].sort(),
        tags: tenant.tags ?? null,
    });
}

/**
 * Packs tenants into IRSA roles. `providerArn` is the OIDC provider the trust names (or a stand-in of the
 * same length); `quota` the trust-policy limit in characters without white space.
 */
export function packTenants(config: StackConfig, tenants: TenantConfig[], providerArn: string | string[], quota: number): RoleGroup[] {
    const bySignature = new Map<string, TenantConfig[]>();
    for (const tenant of tenants) {
        const signature = permissionSignature(config, tenant);
        bySignature.set(signature, [...(bySignature.get(signature) ?? []), tenant]);
    }
    const groups: RoleGroup[] = [];
    for (const [signature, members] of bySignature) {
        const id = shortHash(signature);
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
 * The OIDC provider ARNs (or stand-ins of the same length) packed trust policies name, one per cluster: the
 * primary's, then each additional cluster's (the longest issuer EKS writes when it is looked up).
 */
export function providerArnForPacking(config: StackConfig): string[] | undefined {
    const standIn = (issuerUrl: string) => `arn:aws-us-gov:iam::000000000000:oidc-provider/${issuerUrl.replace(/^https:\/\//, "").replace(/\/+$/, "")}`;
    const primary = config.oidcProviderArn ?? (config.oidcIssuerUrl ? standIn(config.oidcIssuerUrl) : undefined);
    if (primary === undefined) return undefined;
    const more = (config.additionalClusters ?? []).map(
        (c) => c.oidcProviderArn ?? standIn(c.oidcIssuerUrl ?? "https://oidc.eks.xx-xxxxxxxxx-1.amazonaws.com/id/XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
    );
    return [primary, ...more];
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
            return packTenants(config, config.tenants, providerArnForPacking(config)!, config.trustPolicyMaxLength);
        default:
            return config.tenants.map((tenant) => ({ name: tenant.namespace, tenants: [tenant] }));
    }
}
