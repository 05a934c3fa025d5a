/**
 * Tenants of one stack whose own grants reach into another tenant's prefix: `users/` for one Kubeflow profile and
 * `users/bob/` for another, or one tenant with a whole bucket where others list prefixes. Each tenant's documents are
 * least privilege for what it listed, so nothing else sees this; the stack is still accepted (a platform tenant that
 * reads every team's data can be meant), and the environment program warns, naming both tenants and the fix.
 * Identical prefixes are sharing on purpose (two teams reading one dataset) and are not reported.
 */
import { DIRECTORY_BUCKET_ARN } from "../components/validation/buckets";
import { BUCKET_ARN } from "../components/validation/values";
import { StackConfig } from "./config";

/** How many exposures are written out; the rest are counted. */
export const LISTED_EXPOSURES = 10;

/** A bucket's prefixes (`""` for the whole bucket), each with the tenants that list it and whether each may write. */
type Claims = Map<string, Map<number, boolean>>;

/**
 * One warning per tenant that reaches another's prefix in a bucket both list (at most LISTED_EXPOSURES, then a
 * count). `abac` gives none: its grants are confined to each tenant's own `NAMESPACE/` under the prefixes.
 */
export function exposureWarnings(config: StackConfig): string[] {
    if (config.roleSharing === "abac") return [];
    const byBucket = new Map<string, Claims>();
    config.tenants.forEach((tenant, index) => {
        for (const entry of tenant.buckets) {
            // A bucket named by its name or its ARN (general purpose or directory) is one bucket.
            const bucket = BUCKET_ARN.exec(entry.bucket)?.[2] ?? DIRECTORY_BUCKET_ARN.exec(entry.bucket)?.[4] ?? entry.bucket;
            const claims: Claims = byBucket.get(bucket) ?? new Map();
            byBucket.set(bucket, claims);
            for (const prefix of entry.prefixes?.length ? entry.prefixes : [""]) {
                const tenants = claims.get(prefix) ?? new Map<number, boolean>();
                claims.set(prefix, tenants);
                tenants.set(index, (tenants.get(index) ?? false) || (entry.access ?? "readWrite") !== "read");
            }
        }
    });
    const warnings: string[] = [];
    let more = 0;
    const label = (index: number) => `tenant ${index} ("${config.tenants[index].namespace}")`;
    for (const bucket of [...byBucket.keys()].sort()) {
        const claims = byBucket.get(bucket)!;
        // In code-unit order, the prefixes that start with one follow it without a gap.
        const prefixes = [...claims.keys()].sort();
        for (let i = 0; i < prefixes.length; i++) {
            const wide = prefixes[i];
            for (let j = i + 1; j < prefixes.length && prefixes[j].startsWith(wide); j++) {
                const narrow = prefixes[j];
                const reachers = claims.get(wide)!;
                const owners = claims.get(narrow)!;
                for (const [reacher, writes] of reachers) {
                    // A tenant that lists the narrow prefix itself reaches only what it asked for.
                    if (owners.has(reacher)) continue;
                    for (const owner of owners.keys()) {
                        // Two tenants that both list the wide prefix share it, and what lies under it, on purpose.
                        if (reachers.has(owner)) continue;
                        if (warnings.length === LISTED_EXPOSURES) {
                            more++;
                            continue;
                        }
                        const reach = wide === "" ? `all of s3://${bucket}` : `s3://${bucket}/${wide}`;
                        warnings.push(
                            `${label(reacher)} can ${writes ? "read and write" : "read"} ${reach}, which holds ${label(owner)}'s prefix "${narrow}": ` +
                                `its pods reach that tenant's data. If that is not meant, give ${label(reacher)} a narrower prefix ` +
                                `(one that is not the start of another tenant's); if it is, nothing needs to change`,
                        );
                    }
                }
            }
        }
    }
    if (more > 0) warnings.push(`and ${more} more case${more === 1 ? "" : "s"} of a tenant reaching into another tenant's prefix`);
    return warnings;
}
