/**
 * Combinations of options: the one place that decides which options work together, for one component and for the
 * tenants that share one role (`roleSharing`). Each option a shared role merges is either part of what groups tenants
 * (`packed`), required to be equal across the tenants of the role (`abac`, `sessionPolicy`: one role serves them
 * all), honoured per tenant, or refused with the reason. The matrix is written out in `SHARING_MATRIX` and in
 * docs/design.md; `sharedRoleProblems` and `roleGroupKey` enforce it.
 */
import { IdentityStrategy } from "../identities";
import { ResolvedBucketAccess } from "../s3Policy";
import { additionalClusterSuffixes, kubernetesName, policyArnSuffix, refSuffix } from "../names";
import { ServiceAccountRef } from "../trustPolicy";
import { AccessLevel, AdditionalCluster, BucketAccess, IdentityType, RayS3AccessArgs, RoleSharing } from "../types";
import type { PlainArgs } from "./deferred";

/** What the component's own arguments decided before their combinations are checked. */
export interface CombinationContext {
    identity: IdentityType;
    strategy: IdentityStrategy;
    roleSharing: RoleSharing;
    buckets: ResolvedBucketAccess[];
}

/**
 * The problems of one component's options taken together, and whether its Pod Identity associations go without
 * session tags (asked, or implied by roleSharing "sessionPolicy").
 */
export function combinationProblems(args: PlainArgs, ctx: CombinationContext): { problems: string[]; disableSessionTags: boolean } {
    const { identity, strategy, roleSharing, buckets } = ctx;
    const problems: string[] = [];
    if (roleSharing === RoleSharing.Abac && identity !== IdentityType.PodIdentity) {
        problems.push(`roleSharing "abac" is only valid when identity is "podIdentity": ABAC isolates namespaces with Pod Identity's session tags`);
    }
    const disableSessionTags = args.disableSessionTags ?? roleSharing === RoleSharing.SessionPolicy;
    if (args.disableSessionTags !== undefined && !strategy.podIdentity) {
        problems.push(
            `disableSessionTags is only valid with Pod Identity (identity "podIdentity" or "irsaAndPodIdentity"): IRSA sessions carry no EKS session tags`,
        );
    }
    if (disableSessionTags && roleSharing === RoleSharing.Abac) {
        problems.push(
            `disableSessionTags cannot be combined with roleSharing "abac": abac isolates namespaces by the session tags; use "sessionPolicy" or "perTenant"`,
        );
    }
    if (roleSharing === RoleSharing.SessionPolicy) {
        if (identity !== IdentityType.PodIdentity) {
            problems.push(
                `roleSharing "sessionPolicy" is only valid when identity is "podIdentity": an IRSA session carries no session policy and would get the whole role`,
            );
        }
        if (args.disableSessionTags === false) {
            problems.push(
                `roleSharing "sessionPolicy" needs session tags off (EKS refuses a session policy with session tags on): drop disableSessionTags: false`,
            );
        }
        if (args.assetsProvider !== undefined) {
            problems.push(
                `assetsProvider cannot be combined with roleSharing "sessionPolicy": the session policy would limit the workload role, not the assets role; use "perTenant"`,
            );
        }
    } else if (args.sessionPolicies !== undefined) {
        problems.push(`sessionPolicies is only valid with roleSharing "sessionPolicy": drop it, or set roleSharing`);
    }

    if (args.assetsExternalId !== undefined && args.assetsProvider === undefined) {
        problems.push(`assetsExternalId is only valid with assetsProvider (buckets in another account): drop it or give the assets account's provider`);
    }
    if (args.assetsExternalId !== undefined && strategy.podIdentity) {
        problems.push(`assetsExternalId is only valid when identity is "irsa": Pod Identity chains to the assets role itself`);
    }
    // Mountpoint's pod-level credentials (mountpoint-s3-csi-driver, pkg/driver/node/credentialprovider/provider_pod.go)
    // take the role from the ServiceAccount's IRSA annotation and pass Mountpoint only AWS_ROLE_ARN and the token: no
    // AWS config profile, so it never chains into the assets role and gets AccessDenied on the assets buckets. With
    // Pod Identity (no annotation) it asks the agent, and EKS returns the association's target role.
    if (args.mountpointVolumes && args.assetsProvider !== undefined && strategy.webIdentity && args.annotateServiceAccount !== false) {
        problems.push(
            `mountpointVolumes cannot be combined with assetsProvider when pods use IRSA: Mountpoint's pod-level credentials use the role of the ServiceAccount's IRSA annotation (the workload role) and ignore the chained AWS profile, so its mounts of the assets account's buckets would be denied; ` +
                `use identity "podIdentity" (EKS chains the association into the assets role for Mountpoint too), or mount the buckets without mountpointVolumes`,
        );
    }
    if (args.mountpointVolumes && buckets.some((b) => b.accessPoint || b.directory?.accessPoint)) {
        problems.push(`mountpointVolumes cannot mount access points: list the bucket itself for the volumes, or drop mountpointVolumes`);
    }
    const created = buckets.filter((b) => b.directory?.accessPoint?.create).map((b) => b.bucket);
    if (created.length > 0 && args.assetsProvider !== undefined) {
        problems.push(
            `buckets: createAccessPoint cannot be combined with assetsProvider: the access point belongs in the buckets' account; create it in that account's stack and list its ARN (arn:PARTITION:s3express:REGION:ACCOUNT:accesspoint/NAME) here`,
        );
    }
    if (created.length > 0 && roleSharing === RoleSharing.SessionPolicy) {
        problems.push(
            `buckets: createAccessPoint cannot be combined with roleSharing "sessionPolicy": a session policy cannot narrow a directory bucket's sessions to one service account's prefixes; use "perTenant"`,
        );
    }
    if (roleSharing === RoleSharing.Abac && buckets.some((b) => b.directory)) {
        problems.push(
            `roleSharing "abac" cannot use directory buckets: it separates namespaces by key prefix, which a directory bucket's sessions cannot be limited to; use "perTenant" or "sessionPolicy"`,
        );
    }
    if (args.assetsProvider !== undefined && roleSharing === RoleSharing.Abac) {
        problems.push(`assetsProvider cannot be combined with roleSharing "abac": the assets role would not see the namespace session tag; use "perTenant"`);
    }
    buckets.forEach((bucket, index) => {
        // Mountpoint's --prefix must end with "/" (it refuses to mount otherwise).
        const unmountable = args.mountpointVolumes ? bucket.prefixes.filter((prefix) => !prefix.endsWith("/")) : [];
        if (unmountable.length > 0) {
            problems.push(
                `buckets[${index}].prefixes "${unmountable[0]}": mountpointVolumes mounts each prefix with Mountpoint's --prefix, which must end with "/": use "${unmountable[0]}/"`,
            );
        }
        // A directory bucket's session allows every object operation of its mode, DeleteObject included; only the
        // scope of an access point the component creates can leave DeleteObject out.
        if (bucket.directory && bucket.access === AccessLevel.Mountpoint && !bucket.allowDelete && !bucket.directory.accessPoint?.create) {
            problems.push(
                `buckets[${index}] "${bucket.bucket}": access "mountpoint" without allowDelete cannot be enforced on a directory bucket: its ReadWrite session deletes too. ` +
                    `Set allowDelete: true to accept deletes, use access "read", or set createAccessPoint: true with prefixes (the access point's scope leaves DeleteObject out)`,
            );
        }
    });
    return { problems, disableSessionTags };
}

/**
 * Children the component names from list entries must not collide once their names are normalised (Pulumi refuses two
 * resources of one name, and Kubernetes has one object per name): the ServiceAccounts and Pod Identity associations
 * (service account x cluster), the Mountpoint volumes (bucket x prefix, as Kubernetes names), the attachments of
 * additional policies. Each collision names both entries.
 */
export function childNameProblems(
    args: PlainArgs,
    ctx: Pick<CombinationContext, "strategy" | "buckets"> & { additionalServiceAccounts: ServiceAccountRef[]; additionalClusters: AdditionalCluster[] },
): string[] {
    const problems: string[] = [];
    const unique = (kind: string, entries: [label: string, name: string][], fix: string) => {
        const seen = new Map<string, string>();
        for (const [label, name] of entries) {
            const other = seen.get(name);
            if (other !== undefined && other !== label) problems.push(`${label} and ${other} both give the ${kind} "${name}": ${fix}`);
            else seen.set(name, label);
        }
    };
    const accounts: [string, string][] = [
        ["the primary service account", ""],
        ...ctx.additionalServiceAccounts.map((ref, i): [string, string] => [
            `additionalServiceAccounts[${i}] "${ref.namespace}:${ref.name}"`,
            `-${refSuffix(ref)}`,
        ]),
    ];
    unique("ServiceAccount child name suffix", accounts, 'the names join namespace and name with "-"; rename one service account');
    if (ctx.strategy.podIdentity) {
        const clusters: [string, string][] = [
            ["clusterName", ""],
            ...additionalClusterSuffixes(ctx.additionalClusters.map((c) => String(c.clusterName))).map((suffix, i): [string, string] => [
                `additionalClusters[${i}] "${String(ctx.additionalClusters[i].clusterName)}"`,
                suffix,
            ]),
        ];
        unique(
            "Pod Identity association child name suffix",
            accounts.flatMap(([account, a]) => clusters.map(([cluster, c]): [string, string] => [`${account} in ${cluster}`, `${a}${c}`])),
            "a service account's name and a cluster's name join with \"-\"; rename the service account or the cluster",
        );
    }
    if (args.mountpointVolumes) {
        unique(
            "Mountpoint volume (PersistentVolumeClaim)",
            ctx.buckets.flatMap((b, i) =>
                (b.prefixes.length > 0 ? b.prefixes : [""]).map((prefix): [string, string] => [
                    `buckets[${i}] "${b.bucket}"${prefix ? ` prefix "${prefix}"` : ""}`,
                    kubernetesName(["s3", b.bucket, prefix]),
                ]),
            ),
            'Kubernetes names keep lower-case letters, digits and "-" only; give the prefixes names that differ there',
        );
    }
    unique(
        "policy attachment child name",
        (args.additionalPolicyArns ?? []).map((arn, i): [string, string] => [`additionalPolicyArns[${i}] "${arn}"`, policyArnSuffix(arn)]),
        'the names keep letters, digits and "-" of the policy\'s path and name; list each policy once',
    );
    return problems;
}

/** How a role-sharing mode treats one option of its tenants. */
export type SharingDecision =
    /** Each tenant keeps its own value (who it is, what its platform needs). */
    | "perTenant"
    /** `packed`: tenants share a role only when their values are equal; the value is part of the group key. */
    | "groups"
    /** One role serves every tenant: every tenant must give the same value as the first, or the stack is refused. */
    | "same"
    /** The mode cannot honour the option per tenant: refused wherever a tenant sets it. */
    | "refused"
    /** The option does not apply to the mode's identity (refused by the identity's own rules). */
    | "notApplicable";

/** The stack's role-sharing modes that share a role (`packed` is the bundled program's; the component has the others). */
export type SharedMode = "packed" | "abac" | "sessionPolicy";

/**
 * The matrix of sharing mode x option, for the options of `RayS3AccessArgs` a tenant of the bundled program sets (with
 * the stack's values filled in). `perTenant` honours every option per tenant and is not listed.
 */
export const SHARING_MATRIX: Record<string, Record<SharedMode, SharingDecision> & { why: string }> = {
    namespace: { packed: "perTenant", abac: "perTenant", sessionPolicy: "perTenant", why: "who the tenant is: a subject of the shared trust" },
    serviceAccountName: { packed: "perTenant", abac: "perTenant", sessionPolicy: "perTenant", why: "who the tenant is" },
    additionalServiceAccounts: { packed: "perTenant", abac: "perTenant", sessionPolicy: "perTenant", why: "who the tenant is" },
    identity: {
        packed: "same",
        abac: "same",
        sessionPolicy: "same",
        why: 'packed needs "irsa" for every tenant, abac and sessionPolicy "podIdentity" (checked with the mode)',
    },
    clusterName: {
        packed: "groups",
        abac: "same",
        sessionPolicy: "same",
        why: "the trust and the associations of one role name one set of clusters: a tenant would be trusted from, or associated in, a cluster it never listed",
    },
    oidcProviderArn: { packed: "groups", abac: "notApplicable", sessionPolicy: "notApplicable", why: "the trust names the cluster's OIDC provider" },
    oidcIssuerUrl: { packed: "groups", abac: "notApplicable", sessionPolicy: "notApplicable", why: "the trust names the cluster's OIDC provider" },
    additionalClusters: {
        packed: "groups",
        abac: "same",
        sessionPolicy: "same",
        why: "the trust and the associations of one role name one set of clusters: a tenant would be trusted from a cluster it never listed, or lose one it did",
    },
    webIdentityToken: {
        packed: "groups",
        abac: "notApplicable",
        sessionPolicy: "notApplicable",
        why: "the trust pins one audience; the ServiceAccounts carry the token options",
    },
    annotateServiceAccount: {
        packed: "groups",
        abac: "notApplicable",
        sessionPolicy: "notApplicable",
        why: "the component annotates every ServiceAccount of the role, or none",
    },
    disableSessionTags: {
        packed: "notApplicable",
        abac: "refused",
        sessionPolicy: "same",
        why: "abac isolates tenants by the session tags; sessionPolicy needs them off for every association",
    },
    manageServiceAccount: {
        packed: "groups",
        abac: "same",
        sessionPolicy: "same",
        why: "the component creates, patches or leaves alone every ServiceAccount of the role alike (the tenant kind's default included)",
    },
    buckets: {
        packed: "groups",
        abac: "same",
        sessionPolicy: "perTenant",
        why: "packed shares a policy between equal entries only (storage kind, access, allowDelete, prefixes, keys, cache, access points); abac has one policy; sessionPolicy narrows the union per tenant",
    },
    mountpointVolumes: {
        packed: "refused",
        abac: "refused",
        sessionPolicy: "refused",
        why: "the volumes are created in the role's first namespace only; the other tenants would get none (or another tenant's buckets)",
    },
    roleName: { packed: "refused", abac: "refused", sessionPolicy: "refused", why: "a tenant's role name would name a role other tenants share" },
    rolePath: { packed: "groups", abac: "same", sessionPolicy: "same", why: "one role has one path" },
    permissionsBoundaryArn: { packed: "groups", abac: "same", sessionPolicy: "same", why: "one role has one boundary" },
    maxSessionDuration: { packed: "groups", abac: "same", sessionPolicy: "same", why: "one role has one session duration" },
    tags: { packed: "groups", abac: "same", sessionPolicy: "same", why: "one role has one set of tags" },
    additionalPolicyArns: {
        packed: "groups",
        abac: "same",
        sessionPolicy: "same",
        why: "a policy attached to a shared role grants every tenant of it what one tenant asked for",
    },
    trustPolicyMaxLength: {
        packed: "refused",
        abac: "refused",
        sessionPolicy: "refused",
        why: "a shared role is measured against the stack's ray-s3-access:trustPolicyMaxLength",
    },
};

/** The options a tenant of a shared role sets, as `tenantArgs` gives them (the stack's values filled in). */
export interface SharingTenant {
    /** How messages name the tenant: `tenant 2 ("team-c")`. */
    label: string;
    /** Its arguments; `additionalClusters` entries may carry the stack config's `region`, which tells clusters apart. */
    args: RayS3AccessArgs;
}

/** Values compared as IAM and EKS would see them: a list of buckets in any order is the same list. */
function canonical(option: string, value: unknown): string {
    if (value === undefined || value === null) return "null";
    if (option === "buckets" && Array.isArray(value)) {
        return JSON.stringify(
            (value as BucketAccess[])
                .map((b) => sortedJson({ ...b, access: b.access ?? "readWrite" }))
                .sort()
                .map((text) => JSON.parse(text)),
        );
    }
    if ((option === "additionalPolicyArns" || option === "additionalClusters") && Array.isArray(value)) {
        return JSON.stringify(value.map((v) => sortedJson(v)).sort());
    }
    return sortedJson(value);
}

/** JSON with object keys sorted and lists of strings sorted where order means nothing (prefixes, keys). */
function sortedJson(value: unknown): string {
    return JSON.stringify(value, (_key, v) => {
        if (v && typeof v === "object" && !Array.isArray(v)) {
            return Object.fromEntries(
                Object.keys(v)
                    .sort()
                    .filter((k) => v[k] !== undefined)
                    .map((k) => [k, v[k]]),
            );
        }
        if (Array.isArray(v) && v.every((e) => typeof e === "string")) return [...v].sort();
        return v;
    });
}

/**
 * What must be equal for tenants to share a packed role: every option the matrix says groups, canonical. Tenants
 * with different keys get different roles.
 */
export function roleGroupKey(args: RayS3AccessArgs): string {
    // Who the tenant is stays out of the key; everything the role is made of goes in.
    const key: Record<string, string> = {};
    for (const [option, row] of Object.entries(SHARING_MATRIX)) {
        if (row.packed === "groups" || row.packed === "same") key[option] = canonical(option, (args as unknown as Record<string, unknown>)[option]);
    }
    return JSON.stringify(key);
}

/**
 * The problems of tenants that share one role under `mode` (abac and sessionPolicy: every tenant; packed: checked per
 * tenant, since the group key keeps different values apart), each naming the tenant, the option and the reason.
 */
export function sharedRoleProblems(mode: SharedMode | "perTenant", tenants: SharingTenant[], modeKey: string): string[] {
    if (mode === "perTenant" || tenants.length === 0) return [];
    const problems: string[] = [];
    const [first] = tenants;
    for (const [option, row] of Object.entries(SHARING_MATRIX)) {
        const decision = row[mode];
        if (decision === "refused") {
            for (const tenant of tenants) {
                const value = (tenant.args as unknown as Record<string, unknown>)[option];
                if (value !== undefined && value !== false) {
                    problems.push(`${tenant.label} field ${option}: ${modeKey} "${mode}" cannot honour it per tenant: ${row.why}; use "perTenant"`);
                }
            }
        } else if (decision === "same" && option !== "identity") {
            // identity is "same" with a value the mode fixes: the caller checks each tenant against that value.
            const reference = canonical(option, (first.args as unknown as Record<string, unknown>)[option]);
            for (const tenant of tenants.slice(1)) {
                const value = canonical(option, (tenant.args as unknown as Record<string, unknown>)[option]);
                if (value !== reference) {
                    problems.push(
                        `${tenant.label} field ${option}: ${modeKey} "${mode}" gives every tenant one role, and ${first.label} has ${reference} where this tenant has ${value}: ${row.why}. ` +
                            `Give every tenant the same ${option}, or use "perTenant"${mode === "abac" ? ` (or "packed" with IRSA, which groups tenants by it)` : ""}`,
                    );
                }
            }
        }
    }
    return problems;
}
