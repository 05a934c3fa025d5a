/**
 * roleSharing "sessionPolicy": each service account's own buckets, within the role's.
 */
import { ResolvedBucketAccess } from "../s3Policy";
import { ServiceAccountRef } from "../trustPolicy";
import { AccessLevel } from "../types";
import { isStandIn, type PlainArgs } from "./deferred";
import { validateBuckets } from "./buckets";
import type { ResolvedSessionPolicy } from "./index";

/** Is `inner` (a service account's bucket) within `outer` (the role's entry for the same bucket)? Why not, or undefined. */
export function notCovered(inner: ResolvedBucketAccess, outer: ResolvedBucketAccess | undefined): string | undefined {
    if (!outer) return `bucket "${inner.bucket}" is not in the role's buckets`;
    if (inner.access === AccessLevel.Read && outer.access === AccessLevel.Mountpoint)
        return `it reads object versions of "${inner.bucket}", which a mountpoint role does not grant`;
    if (inner.access === AccessLevel.Mountpoint && outer.access === AccessLevel.Read)
        return `it asks for mountpoint (writes) on "${inner.bucket}", which the role only reads`;
    if (inner.access === AccessLevel.Mountpoint && inner.allowDelete && outer.access === AccessLevel.Mountpoint && !outer.allowDelete)
        return `it asks to delete in "${inner.bucket}", which the role may not`;
    if (inner.access === AccessLevel.ReadWrite && outer.access !== AccessLevel.ReadWrite)
        return `it asks for readWrite on "${inner.bucket}", which the role only reads`;
    if (outer.prefixes.length > 0) {
        const outside = inner.prefixes.length === 0 ? ["(the whole bucket)"] : inner.prefixes.filter((p) => !outer.prefixes.some((o) => p.startsWith(o)));
        if (outside.length > 0) return `prefixes ${JSON.stringify(outside)} of "${inner.bucket}" are outside the role's ${JSON.stringify(outer.prefixes)}`;
    }
    if (inner.expressCache && inner.expressCache.bucket !== outer.expressCache?.bucket)
        return `its shared cache "${inner.expressCache.bucket}" is not the role's for "${inner.bucket}"`;
    const keys = inner.kmsKeyArns.filter((k) => !outer.kmsKeyArns.includes(k));
    if (keys.length > 0) return `KMS keys ${JSON.stringify(keys)} are not among the role's for "${inner.bucket}"`;
    return undefined;
}

/**
 * roleSharing "sessionPolicy": one entry per service account of the component (no more, no fewer), each within the
 * role's buckets, since a session policy can only narrow the role.
 */
export function validateSessionPolicies(
    args: PlainArgs,
    namespace: string | undefined,
    serviceAccountName: string | undefined,
    additional: ServiceAccountRef[],
    roleBuckets: ResolvedBucketAccess[],
    problems: string[],
): ResolvedSessionPolicy[] {
    const entries = args.sessionPolicies ?? [];
    if (namespace === undefined || serviceAccountName === undefined) {
        problems.push(
            `roleSharing "sessionPolicy" needs namespace and serviceAccountName as plain strings: they name the associations' session policies (an Output could leave an association without one)`,
        );
    }
    const accounts = [...(namespace !== undefined && serviceAccountName !== undefined ? [{ namespace, name: serviceAccountName }] : []), ...additional];
    const key = (ref: ServiceAccountRef) => `${ref.namespace}:${ref.name}`;
    const known = new Set(accounts.map(key));
    const seen = new Map<string, number>();
    const resolved: ResolvedSessionPolicy[] = [];
    entries.forEach((entry, index) => {
        const field = `sessionPolicies[${index}]`;
        const [ns, name, ...rest] = entry.serviceAccount.split(":");
        if (!ns || !name || rest.length > 0) {
            problems.push(`${field}.serviceAccount "${entry.serviceAccount}" is not "namespace:name": write it as e.g. "team-a:ray-s3-sa"`);
            return;
        }
        if (seen.has(entry.serviceAccount)) {
            problems.push(
                `${field}.serviceAccount "${entry.serviceAccount}" repeats sessionPolicies[${seen.get(entry.serviceAccount)}]: one entry per service account`,
            );
            return;
        }
        seen.set(entry.serviceAccount, index);
        if (accounts.length > 0 && !known.has(entry.serviceAccount)) {
            problems.push(
                `${field}.serviceAccount "${entry.serviceAccount}" is not a service account of this component (${[...known].join(", ")}): add it to additionalServiceAccounts or drop the entry`,
            );
        }
        const buckets = validateBuckets(entry.buckets, problems, `${field}.buckets`);
        for (const bucket of buckets) {
            if (bucket.directory?.accessPoint?.create) {
                problems.push(`${field}.buckets: createAccessPoint belongs in the role's buckets, not in a session policy: drop it here`);
                continue;
            }
            if (bucket.accessPoint?.alias !== undefined) {
                problems.push(
                    `${field}.buckets: "${bucket.accessPoint.alias}" is an access point alias; a session policy names access points by ARN: give the ARN`,
                );
                continue;
            }
            const outer = roleBuckets.find((b) => b.bucket === bucket.bucket);
            // A name given as an Output (here or in the role's buckets) is matched when it resolves.
            if (!outer && (isStandIn(bucket.bucket) || roleBuckets.some((b) => isStandIn(b.bucket)))) continue;
            const why = notCovered(bucket, outer);
            if (why) problems.push(`${field}.buckets: ${why}: a session policy can only narrow the role, so list it in the role's buckets too`);
        }
        resolved.push({ ref: { namespace: ns, name }, buckets });
    });
    for (const ref of accounts) {
        if (!seen.has(key(ref))) {
            problems.push(
                `sessionPolicies has no entry for "${key(ref)}": every service account of a "sessionPolicy" role needs its own buckets, or its pods would get the whole role`,
            );
        }
    }
    return resolved;
}
