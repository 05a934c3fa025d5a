/**
 * Bucket entries and storage kinds: general-purpose buckets, access points, directory buckets (S3 Express One Zone)
 * and their access points, Mountpoint's access level and shared cache.
 */
import { bucketNameProblem, shortHash } from "../names";
import { DIRECTORY_BUCKET_NAME, ResolvedBucketAccess, zoneIdPrefix } from "../s3Policy";
import { AccessLevel, BucketKind } from "../types";
import type { PlainArgs, PlainBucketAccess as BucketAccess } from "./deferred";
import { BUCKET_ARN, KMS_KEY_ARN, literalProblem, oneOf, PARTITIONS } from "./values";

/** A bucket (or access point) entry's access, prefixes and KMS keys, checked. */
export function resolveObjectEntry(
    field: string,
    entry: BucketAccess,
    problems: string[],
): Pick<ResolvedBucketAccess, "access" | "prefixes" | "kmsKeyArns" | "allowDelete"> {
    const access = oneOf(`${field}.access`, entry.access, AccessLevel, AccessLevel.ReadWrite, problems);
    // shapeProblems has checked the types: lists of strings, without holes.
    const prefixes = entry.prefixes ?? [];
    prefixes.forEach((prefix, p) => {
        const pfield = `${field}.prefixes[${p}]`;
        if (prefix.length === 0) {
            problems.push(`${pfield} is empty: give a key prefix, or drop prefixes for the whole bucket`);
        } else if (/[*?]/.test(prefix)) {
            problems.push(`${pfield} "${prefix}" contains a wildcard ("*" or "?"): give a literal key prefix; the policy adds the "*" itself`);
        } else if (prefix.startsWith("/")) {
            problems.push(`${pfield} "${prefix}" starts with "/": S3 keys have no leading slash, use "${prefix.replace(/^\/+/, "")}"`);
        } else if (prefix.includes("${")) {
            problems.push(`${pfield} "${prefix}" contains a policy variable: give a literal key prefix`);
        } else {
            const literal = literalProblem(pfield, prefix, false);
            if (literal) problems.push(literal);
        }
    });
    const kmsKeyArns = entry.kmsKeyArns ?? [];
    kmsKeyArns.forEach((key, k) => {
        if (!KMS_KEY_ARN.test(key)) {
            problems.push(
                `${field}.kmsKeyArns[${k}] "${key}" is not a KMS key ARN (arn:PARTITION:kms:REGION:ACCOUNT:key/ID): use the key's ARN, not an alias or a key id`,
            );
        }
    });
    if (entry.allowDelete !== undefined && access !== AccessLevel.Mountpoint) {
        problems.push(`${field}.allowDelete is only valid with access "mountpoint": readWrite already deletes, read never does`);
    }
    return { access, prefixes, kmsKeyArns, ...(access === AccessLevel.Mountpoint && entry.allowDelete ? { allowDelete: true } : {}) };
}

/**
 * An empty list would grant the whole bucket, as no list does: a template that renders `prefixes: []` must not widen
 * access without saying so. A prefix listed twice is a copy mistake.
 */
function prefixListProblems(field: string, prefixes: readonly string[] | undefined): string[] {
    if (prefixes === undefined) return [];
    if (prefixes.length === 0)
        return [`${field}.prefixes is an empty list, which grants the whole bucket: drop prefixes for the whole bucket, or list the key prefixes`];
    const first = new Map<string, number>();
    const problems: string[] = [];
    prefixes.forEach((prefix, p) => {
        if (first.has(prefix)) problems.push(`${field}.prefixes[${p}] "${prefix}" repeats prefixes[${first.get(prefix)}]: list each prefix once`);
        else first.set(prefix, p);
    });
    return problems;
}

export function validateBuckets(buckets: PlainArgs["buckets"], problems: string[], label = "buckets", componentName = ""): ResolvedBucketAccess[] {
    if (!Array.isArray(buckets) || buckets.length === 0) {
        problems.push(`${label} is empty: give at least one bucket, e.g. [{ bucket: "my-ray-checkpoints" }]`);
        return [];
    }
    const resolved: ResolvedBucketAccess[] = [];
    const seen = new Map<string, number>();
    buckets.forEach((entry, index) => {
        const field = `${label}[${index}]`;
        if (!entry || typeof entry.bucket !== "string" || entry.bucket.length === 0) {
            problems.push(`${field}.bucket is missing: give the bucket's name`);
            return;
        }
        problems.push(...prefixListProblems(field, entry.prefixes));
        let name = entry.bucket;
        let directory: ResolvedBucketAccess["directory"];
        const arn = BUCKET_ARN.exec(entry.bucket);
        const expressArn = DIRECTORY_BUCKET_ARN.exec(entry.bucket);
        const accessPointArn = ACCESS_POINT_ARN.exec(entry.bucket);
        const directoryAccessPoint = directoryAccessPointOf(entry.bucket);
        if (directoryAccessPoint) {
            // An access point for a directory bucket: its scope (set by its owner) decides prefixes and operations.
            if (directoryAccessPoint.problem !== undefined) {
                problems.push(`${field}.${directoryAccessPoint.problem}`);
                return;
            }
            const problem = directoryEntryOptionsProblem(field, entry, "an access point");
            if (problem) {
                problems.push(problem);
                return;
            }
            if ((entry.prefixes ?? []).length > 0) {
                problems.push(
                    `${field}.prefixes: "${directoryAccessPoint.name}" is an access point for a directory bucket, whose own scope (set by its owner) holds the prefixes it serves; an identity policy cannot narrow a session: drop prefixes, or give the directory bucket with prefixes and createAccessPoint: true`,
                );
                return;
            }
            if (seen.has(directoryAccessPoint.name)) {
                problems.push(`${field}.bucket "${entry.bucket}" repeats ${label}[${seen.get(directoryAccessPoint.name)}]: list each access point once`);
                return;
            }
            seen.set(directoryAccessPoint.name, index);
            const { access, kmsKeyArns, allowDelete } = resolveObjectEntry(field, { ...entry, prefixes: [] }, problems);
            resolved.push({
                bucket: directoryAccessPoint.name,
                access,
                prefixes: [],
                kmsKeyArns,
                directory: {
                    zoneId: directoryAccessPoint.zoneId,
                    region: directoryAccessPoint.region,
                    account: directoryAccessPoint.account,
                    accessPoint: { name: directoryAccessPoint.name, create: false },
                },
                ...(allowDelete ? { allowDelete } : {}),
            });
            return;
        }
        const accessPointAlias = ACCESS_POINT_ALIAS.test(entry.bucket);
        if (accessPointArn || accessPointAlias) {
            // An access point instead of a bucket: granted on its ARN and its objects; the bucket policy must delegate.
            // An alias is looked up (among the provider's account's access points) when the policy is built.
            const what = accessPointArn ? "an access point ARN" : "an access point alias";
            if (entry.kind !== undefined && entry.kind !== BucketKind.GeneralPurpose) {
                problems.push(`${field}.kind "${entry.kind}" does not fit ${what}: drop kind`);
                return;
            }
            const option = (["createAccessPoint", "accessPointName", "expressCache"] as const).find((key) => entry[key] !== undefined);
            if (option) {
                problems.push(`${field}.${option} does not fit ${what}: drop it`);
                return;
            }
            name = accessPointArn ? accessPointArn[4] : entry.bucket;
            if (seen.has(entry.bucket)) {
                problems.push(`${field}.bucket "${entry.bucket}" repeats ${label}[${seen.get(entry.bucket)}]: list each access point once`);
                return;
            }
            seen.set(entry.bucket, index);
            const rest = resolveObjectEntry(field, entry, problems);
            resolved.push({ bucket: name, ...rest, accessPoint: accessPointArn ? { arn: entry.bucket } : { alias: entry.bucket } });
            return;
        } else if (entry.bucket.includes(":accesspoint/")) {
            problems.push(
                `${field}.bucket "${entry.bucket}" is not an access point ARN: expected arn:PARTITION:s3:REGION:ACCOUNT:accesspoint/NAME (3 to 50 lower-case letters, digits and "-")`,
            );
            return;
        }
        if (arn) {
            name = arn[2];
        } else if (expressArn) {
            name = expressArn[4];
            directory = { zoneId: "", region: expressArn[2], account: expressArn[3] };
        } else if (entry.bucket.startsWith("arn:")) {
            problems.push(
                `${field}.bucket "${entry.bucket}" is not an S3 bucket ARN: use arn:PARTITION:s3:::NAME, arn:PARTITION:s3express:REGION:ACCOUNT:bucket/NAME (a directory bucket) or the bare name`,
            );
            return;
        }
        const kind = oneOf(
            `${field}.kind`,
            entry.kind,
            BucketKind,
            DIRECTORY_BUCKET_NAME.test(name) ? BucketKind.Directory : BucketKind.GeneralPurpose,
            problems,
        );
        if (kind === BucketKind.Directory || directory) {
            const problem = directoryBucketProblem(field, name, kind, directory?.region);
            if (problem) {
                problems.push(problem);
                return;
            }
            directory = { ...directory, zoneId: DIRECTORY_BUCKET_NAME.exec(name)![2] };
            const accessPoint = createdAccessPoint(field, entry, name, directory.zoneId, componentName, problems);
            if (accessPoint) directory.accessPoint = accessPoint;
            else if ((entry.prefixes ?? []).length > 0) {
                problems.push(
                    `${field}.prefixes: "${name}" is a directory bucket (S3 Express One Zone), reached through s3express:CreateSession, whose sessions cover the whole bucket: an identity policy cannot limit them to prefixes. Add createAccessPoint: true (an access point for directory buckets whose scope holds the prefixes), drop prefixes, or keep prefixed data in a general-purpose bucket`,
                );
            }
        } else if (DIRECTORY_BUCKET_NAME.test(name)) {
            problems.push(
                `${field}.bucket "${name}" ends with "--x-s3", which S3 reserves for directory buckets: drop kind "generalPurpose" or give a general-purpose bucket's name`,
            );
            return;
        }
        if (directory) {
            if (seen.has(name)) problems.push(`${field}.bucket "${name}" repeats ${label}[${seen.get(name)}]: list each bucket once`);
            else seen.set(name, index);
            const { access, prefixes, kmsKeyArns, allowDelete } = resolveObjectEntry(
                field,
                directory.accessPoint ? entry : { ...entry, prefixes: [] },
                problems,
            );
            if (directory.accessPoint) {
                const scope = accessPointScopePrefixes(prefixes);
                if (Buffer.byteLength(scope.join(""), "utf8") >= ACCESS_POINT_SCOPE_PREFIX_BYTES) {
                    problems.push(
                        `${field}.prefixes: an access point scope's prefixes must total less than ${ACCESS_POINT_SCOPE_PREFIX_BYTES} bytes, and ${JSON.stringify(scope)} take ${Buffer.byteLength(scope.join(""), "utf8")}: give fewer or shorter prefixes`,
                    );
                }
            }
            if (entry.expressCache !== undefined) problems.push(expressCacheOnDirectoryProblem(field));
            resolved.push({
                bucket: name,
                access,
                prefixes: directory.accessPoint ? prefixes : [],
                kmsKeyArns,
                directory,
                ...(allowDelete ? { allowDelete } : {}),
            });
            return;
        }
        const generalOption = (["createAccessPoint", "accessPointName"] as const).find((key) => entry[key] !== undefined);
        if (generalOption) {
            problems.push(
                `${field}.${generalOption} is only for directory buckets (access points for directory buckets enforce their prefixes); a general-purpose bucket's prefixes are enforced by the identity policy itself: drop it`,
            );
            return;
        }
        const nameProblem = bucketNameProblem(`${field}.bucket`, name);
        if (nameProblem) {
            problems.push(nameProblem);
            return;
        }
        if (seen.has(name)) {
            problems.push(`${field}.bucket "${name}" repeats ${label}[${seen.get(name)}]: list each bucket once and merge its prefixes and keys`);
            return;
        }
        seen.set(name, index);
        const rest = resolveObjectEntry(field, entry, problems);
        const expressCache = expressCacheOf(field, entry, rest.access, problems);
        resolved.push({ bucket: name, ...rest, ...(expressCache ? { expressCache } : {}) });
    });
    // An access point name is unique in its zone: one the component creates may not repeat another entry's.
    const accessPoints = resolved.map((b) => b.directory?.accessPoint?.name).filter((n): n is string => n !== undefined);
    for (const repeated of new Set(accessPoints.filter((n, i) => accessPoints.indexOf(n) !== i))) {
        problems.push(
            `${label}: the access point "${repeated}" is named by two entries: S3 names access points uniquely in a zone; give each its own accessPointName`,
        );
    }
    return resolved;
}

/** S3's bound on an access point scope's prefixes: their total size must be less than this. */
export const ACCESS_POINT_SCOPE_PREFIX_BYTES = 256;

/** The scope prefixes of an access point for directory buckets: each prefix and everything under it. */
export function accessPointScopePrefixes(prefixes: readonly string[]): string[] {
    return [...new Set(prefixes)].sort().map((prefix) => `${prefix}*`);
}

/** The option that does not fit an entry naming an existing access point, or undefined. */
export function directoryEntryOptionsProblem(field: string, entry: BucketAccess, what: string): string | undefined {
    if (entry.kind !== undefined && entry.kind !== BucketKind.Directory)
        return `${field}.kind "${entry.kind}" does not fit ${what} for a directory bucket: drop kind`;
    const option = (["createAccessPoint", "accessPointName"] as const).find((key) => entry[key] !== undefined);
    if (option)
        return `${field}.${option} does not fit ${what}: it creates an access point for a directory bucket; give the directory bucket's name instead, or drop it`;
    if (entry.expressCache !== undefined) return expressCacheOnDirectoryProblem(field);
    return undefined;
}

export function expressCacheOnDirectoryProblem(field: string): string {
    return `${field}.expressCache is Mountpoint's shared cache for a general-purpose bucket; a directory bucket is already S3 Express One Zone: drop it`;
}

/** An existing access point for a directory bucket, by ARN or name (`BASE--ZONEID--xa-s3`), or undefined. */
export function directoryAccessPointOf(
    value: string,
): { name: string; zoneId: string; region?: string; account?: string; problem?: undefined } | { problem: string; name: string } | undefined {
    const arn = DIRECTORY_ACCESS_POINT_ARN.exec(value);
    const name = arn ? arn[4] : value;
    if (!arn && (value.startsWith("arn:") || !name.endsWith("--xa-s3"))) {
        return value.includes(":accesspoint/") && value.includes(":s3express:")
            ? {
                  name: value,
                  problem: `bucket "${value}" is not an access point ARN for a directory bucket: expected arn:PARTITION:s3express:REGION:ACCOUNT:accesspoint/BASE--ZONEID--xa-s3`,
              }
            : undefined;
    }
    const match = DIRECTORY_ACCESS_POINT_NAME.exec(name);
    const rule = `an access point for a directory bucket is named BASE--ZONEID--xa-s3, BASE 3 to 50 lower-case letters, digits and "-" (not at either end)`;
    if (!match) return { name, problem: `bucket "${value}" ends with "--xa-s3" but is not an access point name for a directory bucket: ${rule}` };
    if (!ZONE_ID.test(match[2])) return { name, problem: `bucket "${value}": "${match[2]}" is not a zone id (like usw2-az1): ${rule}` };
    if (arn && match[2].split("-")[0] !== zoneIdPrefix(arn[2])) {
        return {
            name,
            problem: `bucket "${value}": zone ${match[2]} is not in ${arn[2]} (its zones start with "${zoneIdPrefix(arn[2])}"): fix the ARN's region or the name`,
        };
    }
    return { name, zoneId: match[2], region: arn?.[2], account: arn?.[3] };
}

/**
 * `createAccessPoint`: the access point for directory buckets the component creates for an entry, named by
 * `accessPointName` or `<component>-<8 hex>--ZONEID--xa-s3` (unique per component and bucket), or undefined.
 */
export function createdAccessPoint(
    field: string,
    entry: BucketAccess,
    bucket: string,
    zoneId: string,
    componentName: string,
    problems: string[],
): { name: string; create: true } | undefined {
    if (entry.accessPointName !== undefined && entry.createAccessPoint !== true) {
        problems.push(`${field}.accessPointName is only used with createAccessPoint: true: add it, or drop accessPointName`);
        return undefined;
    }
    if (entry.createAccessPoint !== true) return undefined;
    if ((entry.prefixes ?? []).length === 0) {
        problems.push(
            `${field}.createAccessPoint: the access point would enforce prefixes, and "${bucket}" lists none: give prefixes, or drop createAccessPoint (the role then reaches the whole bucket)`,
        );
        return undefined;
    }
    if (entry.accessPointName !== undefined) {
        const match = DIRECTORY_ACCESS_POINT_NAME.exec(entry.accessPointName);
        if (!match || match[2] !== zoneId) {
            problems.push(
                `${field}.accessPointName "${entry.accessPointName}" is not an access point name in the bucket's zone: expected BASE--${zoneId}--xa-s3, BASE 3 to 50 lower-case letters, digits and "-" (not at either end)`,
            );
            return undefined;
        }
        return { name: entry.accessPointName, create: true };
    }
    const hash = shortHash(`${componentName}\0${bucket}`);
    const base = componentName
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-+|-+$/g, "")
        .slice(0, 41)
        .replace(/-+$/, "");
    return { name: `${base === "" ? "ray" : base}-${hash}--${zoneId}--xa-s3`, create: true };
}

/** `expressCache`: Mountpoint's shared cache, a directory bucket, for a `mountpoint` entry of a general-purpose bucket. */
export function expressCacheOf(field: string, entry: BucketAccess, access: string, problems: string[]): ResolvedBucketAccess["expressCache"] {
    if (entry.expressCache === undefined) return undefined;
    if (access !== AccessLevel.Mountpoint) {
        problems.push(`${field}.expressCache is Mountpoint's shared cache (cache-xz), only valid with access "mountpoint": set access "mountpoint" or drop it`);
        return undefined;
    }
    const arn = DIRECTORY_BUCKET_ARN.exec(entry.expressCache);
    const name = arn ? arn[4] : entry.expressCache;
    const problem = directoryBucketProblem(`${field}.expressCache`, name, "", arn?.[2]);
    if (problem) {
        problems.push(problem.replace(`${field}.expressCache.bucket`, `${field}.expressCache`));
        return undefined;
    }
    return { bucket: name, zoneId: DIRECTORY_BUCKET_NAME.exec(name)![2], region: arn?.[2], account: arn?.[3] };
}

/**
 * `NAME-RANDOM-s3alias`: an S3 access point's alias (a prefix of its name, S3's random string, `-s3alias`; at most 63
 * characters), which S3 accepts wherever a bucket name goes.
 */
export const ACCESS_POINT_ALIAS = /^(?=.{3,63}$)[a-z0-9][a-z0-9-]*-[a-z0-9]{16,}-s3alias$/;

/** `arn:PARTITION:s3:REGION:ACCOUNT:accesspoint/NAME`: an S3 access point's ARN. */
export const ACCESS_POINT_ARN = new RegExp(`^arn:(${PARTITIONS}):s3:([a-z0-9-]+):(\\d{12}):accesspoint/([a-z0-9][a-z0-9-]{1,48}[a-z0-9])$`);

/** `arn:PARTITION:s3express:REGION:ACCOUNT:accesspoint/NAME`: an access point for a directory bucket. */
export const DIRECTORY_ACCESS_POINT_ARN = new RegExp(`^arn:(${PARTITIONS}):s3express:([a-z0-9-]+):(\\d{12}):accesspoint/([^/]+)$`);
/** `BASE--ZONEID--xa-s3`: an access point for a directory bucket's name. */
export const DIRECTORY_ACCESS_POINT_NAME = /^([a-z0-9][a-z0-9-]{1,48}[a-z0-9])--([a-z0-9-]+)--xa-s3$/;

/** `arn:PARTITION:s3express:REGION:ACCOUNT:bucket/NAME`: a directory bucket's ARN. */
export const DIRECTORY_BUCKET_ARN = new RegExp(`^arn:(${PARTITIONS}):s3express:([a-z0-9-]+):(\\d{12}):bucket/([^/]+)$`);
/** A directory bucket's zone: an Availability Zone id (`usw2-az1`) or a Local Zone id (`usw2-lax1-az1`). */
export const ZONE_ID = /^[a-z]+\d+(-[a-z]+\d+)?-az\d+$/;

/** The problem with a directory bucket's name (and its zone against the ARN's region), or undefined. */
export function directoryBucketProblem(field: string, name: string, kind: string, arnRegion: string | undefined): string | undefined {
    const match = DIRECTORY_BUCKET_NAME.exec(name);
    const rule = `a directory bucket's name is BASE--ZONEID--x-s3 (e.g. "ckpt--usw2-az1--x-s3"): lower-case letters, digits and "-", at most 63 characters`;
    if (!match) return `${field}.bucket "${name}" is${kind === BucketKind.Directory ? ' given kind "directory" but' : ""} not a directory bucket name: ${rule}`;
    if (name.length > 63 || name.includes(".")) return `${field}.bucket "${name}": ${rule}`;
    const zone = match[2];
    if (!ZONE_ID.test(zone)) return `${field}.bucket "${name}": "${zone}" is not a zone id (like usw2-az1, or usw2-lax1-az1 for a Local Zone): ${rule}`;
    if (arnRegion !== undefined && zone.split("-")[0] !== zoneIdPrefix(arnRegion)) {
        return `${field}.bucket: the directory bucket "${name}" is in zone ${zone}, which is not in ${arnRegion} (its zones start with "${zoneIdPrefix(arnRegion)}"): fix the ARN's region or the name`;
    }
    return undefined;
}
