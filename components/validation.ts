/**
 * Input validation for RayS3Access. Runs before the component registers anything, and reports every problem
 * at once, each naming the field, the value, the rule and the fix.
 */
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_SERVICE_ACCOUNT_NAME } from "./constants";
import {
    bucketNameProblem,
    clusterNameProblem,
    describeType,
    externalIdProblem,
    IAM_LIMITS,
    iamPathProblem,
    namespaceProblem,
    nearestName,
    roleNameProblem,
    serviceAccountNameProblem,
    shortHash,
    tagsProblems,
} from "./names";
import { DIRECTORY_BUCKET_NAME, ResolvedBucketAccess, zoneIdPrefix } from "./s3Policy";
import { ServiceAccountRef } from "./trustPolicy";
import { identityStrategy, IdentityStrategy } from "./identities";
import { IRSA_AUDIENCE_ANNOTATION, IRSA_REGIONAL_STS_ANNOTATION, IRSA_TOKEN_EXPIRATION_ANNOTATION, IRSA_TOKEN_EXPIRATION_RANGE } from "./constants";

const STS_AUDIENCE_DEFAULT = "sts.amazonaws.com";
import {
    AccessLevel,
    AdditionalCluster,
    BucketAccess,
    BucketKind,
    IdentityType,
    RayS3AccessArgs,
    RoleSharing,
    ServiceAccountMode,
    WebIdentityToken,
} from "./types";

export { bucketNameProblem, namespaceProblem, serviceAccountNameProblem };

/** Thrown for invalid arguments; `problems` lists each one. */
export class RayS3AccessValidationError extends Error {
    constructor(
        readonly componentName: string,
        readonly problems: string[],
    ) {
        super(
            problems.length === 1
                ? `RayS3Access "${componentName}": ${problems[0]}`
                : `RayS3Access "${componentName}" has ${problems.length} invalid arguments:\n- ${problems.join("\n- ")}`,
        );
        this.name = "RayS3AccessValidationError";
    }
}

const PARTITIONS = "aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc";
const BUCKET_ARN = new RegExp(`^arn:(${PARTITIONS}):s3:::([^/]+)$`);
export const OIDC_PROVIDER_ARN = new RegExp(`^arn:(${PARTITIONS}):iam::\\d{12}:oidc-provider/[^\\s*?]+$`);
export const KMS_KEY_ARN = new RegExp(`^arn:(${PARTITIONS}):kms:[a-z0-9-]+:\\d{12}:key/[A-Za-z0-9-]+$`);
export const MANAGED_POLICY_ARN = new RegExp(`^arn:(${PARTITIONS}):iam::(\\d{12}|aws):policy/[\\w+=,.@/-]+$`);
const ISSUER_URL = /^https:\/\/[^\s/]+(\/[^\s]*)?$/;

/** Every argument RayS3Access takes: a key outside this list is refused, since a typo (`acces`) must not widen access. */
const ARG_KEYS: Record<
    keyof RayS3AccessArgs,
    "string" | "input" | "boolean" | "integer" | "list" | "tags" | "provider" | "enum" | "buckets" | "clusters" | "token" | "sessions"
> = {
    identity: "enum",
    clusterName: "input",
    oidcProviderArn: "input",
    oidcIssuerUrl: "input",
    additionalClusters: "clusters",
    annotateServiceAccount: "boolean",
    webIdentityToken: "token",
    disableSessionTags: "boolean",
    mountpointVolumes: "boolean",
    sessionPolicies: "sessions",
    createOidcProvider: "boolean",
    namespace: "input",
    serviceAccountName: "input",
    manageServiceAccount: "enum",
    buckets: "buckets",
    additionalServiceAccounts: "list",
    roleName: "input",
    rolePath: "input",
    permissionsBoundaryArn: "input",
    maxSessionDuration: "integer",
    tags: "tags",
    additionalPolicyArns: "list",
    roleSharing: "enum",
    assetsProvider: "provider",
    assetsExternalId: "string",
    trustPolicyMaxLength: "integer",
};

/** Every key of an additional cluster. */
const CLUSTER_KEYS: Record<keyof AdditionalCluster, "string" | "input" | "provider"> = {
    clusterName: "string",
    oidcProviderArn: "input",
    oidcIssuerUrl: "input",
    provider: "provider",
};

/** Every key of the web-identity token options. */
const TOKEN_KEYS: Record<keyof WebIdentityToken, "string" | "integer" | "boolean"> = {
    audience: "string",
    expirationSeconds: "integer",
    stsRegionalEndpoints: "boolean",
};

/** Every key of a bucket entry. */
const BUCKET_KEYS: Record<keyof BucketAccess, "string" | "enum" | "list" | "boolean"> = {
    bucket: "string",
    kind: "enum",
    access: "enum",
    allowDelete: "boolean",
    prefixes: "list",
    kmsKeyArns: "list",
    createAccessPoint: "boolean",
    accessPointName: "string",
    expressCache: "string",
};

/** ` (did you mean "X"?)` when one of `known` is a likely typo of `given`. */
function nearest(given: string, known: string[]): string {
    const best = nearestName(given, known);
    return best === undefined ? "" : ` (did you mean "${best}"?)`;
}

/** A value known only at deployment: checked when it resolves (see `resolvedValueProblem`). */
export function isDeferred(value: unknown): boolean {
    return pulumi.Output.isInstance(value) || (typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function");
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A list's problems of shape: not a list, holes, entries that are not strings. */
function stringListProblems(field: string, value: unknown, example: string): string[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) return [`${field} must be a list, e.g. ${example}; it is ${describeType(value)}`];
    const problems: string[] = [];
    for (let i = 0; i < value.length; i++) {
        if (!(i in value)) problems.push(`${field} has a hole at index ${i}: remove the empty slot`);
        else if (typeof value[i] !== "string") problems.push(`${field}[${i}] must be a string, not ${describeType(value[i])}`);
    }
    return problems;
}

/**
 * The shape of the arguments: unknown keys (with the nearest valid one), and each field's type. Checked first,
 * so nothing below ever meets a value of the wrong type.
 */
function shapeProblems(args: Record<string, unknown>): string[] {
    const problems: string[] = [];
    const argKeys = Object.keys(ARG_KEYS);
    for (const key of Object.keys(args)) {
        if (!(key in ARG_KEYS)) {
            problems.push(`unknown argument "${key}"${nearest(key, argKeys)}: RayS3Access takes ${argKeys.join(", ")}`);
        }
    }
    for (const [key, kind] of Object.entries(ARG_KEYS)) {
        const value = args[key];
        if (value === undefined) continue;
        switch (kind) {
            case "input":
            case "string":
            case "enum":
            case "boolean":
            case "integer":
                problems.push(...fieldTypeProblems("", { [key]: value }, { [key]: kind }));
                break;
            case "list":
                problems.push(
                    ...stringListProblems(
                        key,
                        value,
                        key === "additionalServiceAccounts" ? `["kubeflow-alice:default-editor"]` : `["arn:aws:iam::aws:policy/ReadOnlyAccess"]`,
                    ),
                );
                break;
            case "tags":
                if (!isRecord(value)) problems.push(`tags must be a map of tag names to strings, e.g. { team: "ml" }; it is ${describeType(value)}`);
                else problems.push(...tagsProblems("tags", value));
                break;
            case "provider":
                if (!pulumi.ProviderResource.isInstance(value)) {
                    problems.push(`assetsProvider must be an aws.Provider for the buckets' account (new aws.Provider(...)), not ${describeType(value)}`);
                }
                break;
            case "buckets":
                problems.push(...bucketShapeProblems(value));
                break;
            case "clusters":
                problems.push(...clusterShapeProblems(value));
                break;
            case "token":
                problems.push(...tokenShapeProblems(value));
                break;
            case "sessions":
                if (!Array.isArray(value)) {
                    problems.push(`sessionPolicies must be a list of { serviceAccount: "namespace:name", buckets: [...] }, not ${describeType(value)}`);
                    break;
                }
                problems.push(
                    ...entryShapeProblems(
                        "sessionPolicies",
                        value,
                        ["serviceAccount", "buckets"],
                        "a session policy entry",
                        `{ serviceAccount: "team-a:ray-s3-sa", buckets: [...] }`,
                        (field, entry) => [
                            ...(typeof entry.serviceAccount === "string" ? [] : [`${field}.serviceAccount must be a string "namespace:name"`]),
                            ...bucketShapeProblems(entry.buckets, `${field}.buckets`),
                        ],
                    ),
                );
                break;
        }
    }
    return problems;
}

function tokenShapeProblems(token: unknown): string[] {
    if (!isRecord(token)) return [`webIdentityToken must be an object like { audience: "sts.amazonaws.com" }, not ${describeType(token)}`];
    const problems: string[] = [];
    const keys = Object.keys(TOKEN_KEYS);
    for (const key of Object.keys(token)) {
        if (!(key in TOKEN_KEYS)) problems.push(`webIdentityToken has an unknown key "${key}"${nearest(key, keys)}: it takes ${keys.join(", ")}`);
    }
    problems.push(...fieldTypeProblems("webIdentityToken", token, TOKEN_KEYS));
    return problems;
}

/**
 * The fields of an entry (`field` "" for the arguments themselves) whose values are not of their key's scalar kind:
 * a string, an enum's string, true or false, a number, or a string Input. Lists, maps and providers have rules of
 * their own.
 */
function fieldTypeProblems(field: string, entry: Record<string, unknown>, kinds: Record<string, string>): string[] {
    const problems: string[] = [];
    for (const [key, kind] of Object.entries(kinds)) {
        const value = entry[key];
        if (value === undefined) continue;
        const name = field === "" ? key : `${field}.${key}`;
        if ((kind === "string" || kind === "enum") && typeof value !== "string") problems.push(`${name} must be a string, not ${describeType(value)}`);
        if (kind === "integer" && typeof value !== "number") problems.push(`${name} must be a number, not ${describeType(value)}`);
        if (kind === "boolean" && typeof value !== "boolean") problems.push(`${name} must be true or false, not ${describeType(value)}`);
        if (kind === "input" && typeof value !== "string" && !isDeferred(value))
            problems.push(`${name} must be a string (or an Output of one), not ${describeType(value)}`);
    }
    return problems;
}

/**
 * The entries of a list of objects: holes, entries that are not objects, unknown keys (with the nearest known one),
 * then `check` for each entry's own fields. `noun` and `example` name an entry in messages.
 */
function entryShapeProblems(
    label: string,
    list: unknown[],
    keys: string[],
    noun: string,
    example: string,
    check: (field: string, entry: Record<string, unknown>) => string[],
): string[] {
    const problems: string[] = [];
    for (let i = 0; i < list.length; i++) {
        const field = `${label}[${i}]`;
        if (!(i in list)) {
            problems.push(`${label} has a hole at index ${i}: remove the empty slot`);
            continue;
        }
        const entry = list[i];
        if (!isRecord(entry)) {
            problems.push(`${field} must be an object like ${example}, not ${describeType(entry)}`);
            continue;
        }
        for (const key of Object.keys(entry)) {
            if (!keys.includes(key)) problems.push(`${field} has an unknown key "${key}"${nearest(key, keys)}: ${noun} takes ${keys.join(", ")}`);
        }
        problems.push(...check(field, entry));
    }
    return problems;
}

function clusterShapeProblems(clusters: unknown): string[] {
    if (!Array.isArray(clusters))
        return [`additionalClusters must be a list of { clusterName?, oidcProviderArn?, oidcIssuerUrl?, provider? }, not ${describeType(clusters)}`];
    return entryShapeProblems(
        "additionalClusters",
        clusters,
        Object.keys(CLUSTER_KEYS),
        "an additional cluster",
        `{ clusterName: "ray-green" }`,
        (field, entry) => [
            ...fieldTypeProblems(field, entry, CLUSTER_KEYS),
            ...(entry.provider !== undefined && !pulumi.ProviderResource.isInstance(entry.provider)
                ? [`${field}.provider must be an aws.Provider for the cluster's region (new aws.Provider(...)), not ${describeType(entry.provider)}`]
                : []),
        ],
    );
}

function bucketShapeProblems(buckets: unknown, label = "buckets"): string[] {
    if (!Array.isArray(buckets)) return [`${label} must be a list of { bucket, access?, prefixes?, kmsKeyArns? }, not ${describeType(buckets)}`];
    return entryShapeProblems(label, buckets, Object.keys(BUCKET_KEYS), "a bucket entry", `{ bucket: "my-ray-checkpoints" }`, (field, entry) => {
        const problems = fieldTypeProblems(field, entry, BUCKET_KEYS);
        problems.push(...stringListProblems(`${field}.prefixes`, entry.prefixes, `["checkpoints/"]`));
        problems.push(...stringListProblems(`${field}.kmsKeyArns`, entry.kmsKeyArns, `["arn:aws:kms:us-west-2:111122223333:key/ID"]`));
        return problems;
    });
}

/** The rules for each argument that may be an Output, applied to the plain value or to what the Output resolves to. */
const RESOLVED_RULES: Partial<Record<keyof RayS3AccessArgs, (field: string, value: string) => string | undefined>> = {
    namespace: (field, value) =>
        value === "" ? `${field} is empty: give the Kubernetes namespace of the workload's ServiceAccount` : namespaceProblem(field, value),
    serviceAccountName: serviceAccountNameProblem,
    clusterName: clusterNameProblem,
    roleName: roleNameProblem,
    rolePath: iamPathProblem,
    oidcProviderArn: (field, value) =>
        OIDC_PROVIDER_ARN.test(value)
            ? undefined
            : `${field} "${value}" is not an IAM OIDC provider ARN: expected arn:PARTITION:iam::ACCOUNT:oidc-provider/oidc.eks.REGION.amazonaws.com/id/ID`,
    oidcIssuerUrl: (field, value) =>
        ISSUER_URL.test(value)
            ? undefined
            : `${field} "${value}" is not an https URL: use the cluster's issuer, \`aws eks describe-cluster --query cluster.identity.oidc.issuer\``,
    permissionsBoundaryArn: (field, value) =>
        MANAGED_POLICY_ARN.test(value) ? undefined : `${field} "${value}" is not a managed policy ARN: expected arn:PARTITION:iam::ACCOUNT:policy/NAME`,
};

/** The fields whose Output values are checked when they resolve. */
export const DEFERRED_CHECKED_FIELDS = Object.keys(RESOLVED_RULES) as (keyof RayS3AccessArgs)[];

/**
 * The problem with a value an Output resolved to (the same rule and message as for a plain value), or undefined.
 * `label` names the field in the message when it is not the argument itself (`additionalClusters[0].oidcProviderArn`).
 */
export function resolvedValueProblem(field: keyof RayS3AccessArgs, value: unknown, label: string = field): string | undefined {
    if (typeof value !== "string") return `${label} resolved to ${describeType(value)}: it must be a string`;
    return RESOLVED_RULES[field]?.(label, value);
}

function isPlainString(value: unknown): value is string {
    return typeof value === "string";
}

/** The validated, normalised arguments that the builders need synchronously. */
/** A service account's own buckets under roleSharing "sessionPolicy". */
export interface ResolvedSessionPolicy {
    ref: ServiceAccountRef;
    buckets: ResolvedBucketAccess[];
}

export interface ValidatedArgs {
    identity: IdentityType;
    /** Pod Identity associations without session tags (also implied by roleSharing "sessionPolicy"). */
    disableSessionTags: boolean;
    sessionPolicies: ResolvedSessionPolicy[];
    strategy: IdentityStrategy;
    /** The audience the trust pins (sts.amazonaws.com unless webIdentityToken.audience), and the other annotations. */
    webIdentityToken: { audience: string; annotations: { [key: string]: string } };
    additionalClusters: AdditionalCluster[];
    annotateServiceAccount: boolean;
    roleSharing: RoleSharing;
    manageServiceAccount: ServiceAccountMode;
    serviceAccountName: string | undefined;
    namespace: string | undefined;
    additionalServiceAccounts: ServiceAccountRef[];
    buckets: ResolvedBucketAccess[];
    additionalPolicyArns: string[];
    maxSessionDuration: number;
    trustPolicyMaxLength: number;
}

export { DEFAULT_SERVICE_ACCOUNT_NAME };
export const DEFAULT_TRUST_POLICY_MAX_LENGTH = 2048;

function oneOf<T extends string>(field: string, value: unknown, allowed: Record<string, T>, fallback: T, problems: string[]): T {
    if (value === undefined) {
        return fallback;
    }
    const values = Object.values(allowed);
    if (!values.includes(value as T)) {
        problems.push(`${field} "${String(value)}" is not one of ${values.map((v) => `"${v}"`).join(", ")}: use one of them`);
        return fallback;
    }
    return value as T;
}

/** A bucket (or access point) entry's access, prefixes and KMS keys, checked. */
function resolveObjectEntry(
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
            problems.push(`${pfield} is empty: drop it (no prefixes means the whole bucket) or give a key prefix`);
        } else if (/[*?]/.test(prefix)) {
            problems.push(`${pfield} "${prefix}" contains a wildcard ("*" or "?"): give a literal key prefix; the policy adds the "*" itself`);
        } else if (prefix.startsWith("/")) {
            problems.push(`${pfield} "${prefix}" starts with "/": S3 keys have no leading slash, use "${prefix.replace(/^\/+/, "")}"`);
        } else if (prefix.includes("${")) {
            problems.push(`${pfield} "${prefix}" contains a policy variable: give a literal key prefix`);
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

function validateBuckets(buckets: RayS3AccessArgs["buckets"], problems: string[], label = "buckets", componentName = ""): ResolvedBucketAccess[] {
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
function directoryEntryOptionsProblem(field: string, entry: BucketAccess, what: string): string | undefined {
    if (entry.kind !== undefined && entry.kind !== BucketKind.Directory)
        return `${field}.kind "${entry.kind}" does not fit ${what} for a directory bucket: drop kind`;
    const option = (["createAccessPoint", "accessPointName"] as const).find((key) => entry[key] !== undefined);
    if (option)
        return `${field}.${option} does not fit ${what}: it creates an access point for a directory bucket; give the directory bucket's name instead, or drop it`;
    if (entry.expressCache !== undefined) return expressCacheOnDirectoryProblem(field);
    return undefined;
}

function expressCacheOnDirectoryProblem(field: string): string {
    return `${field}.expressCache is Mountpoint's shared cache for a general-purpose bucket; a directory bucket is already S3 Express One Zone: drop it`;
}

/** An existing access point for a directory bucket, by ARN or name (`BASE--ZONEID--xa-s3`), or undefined. */
function directoryAccessPointOf(
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
function createdAccessPoint(
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
function expressCacheOf(field: string, entry: BucketAccess, access: string, problems: string[]): ResolvedBucketAccess["expressCache"] {
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

function parseServiceAccountRefs(values: readonly string[] | undefined, problems: string[]): ServiceAccountRef[] {
    if (values === undefined) {
        return [];
    }
    const refs: ServiceAccountRef[] = [];
    const seen = new Map<string, number>();
    values.forEach((value, index) => {
        const field = `additionalServiceAccounts[${index}]`;
        if (seen.has(value)) {
            problems.push(`${field} "${value}" repeats additionalServiceAccounts[${seen.get(value)}]: list each service account once`);
            return;
        }
        seen.set(value, index);
        const parts = value.split(":");
        if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
            problems.push(`${field} "${value}" is not "namespace:name": write it as e.g. "kubeflow-alice:default-editor"`);
            return;
        }
        const nsProblem = namespaceProblem(`${field} namespace`, parts[0]);
        const saProblem = serviceAccountNameProblem(`${field} name`, parts[1]);
        if (nsProblem || saProblem) {
            problems.push(...[nsProblem, saProblem].filter((p): p is string => p !== undefined));
            return;
        }
        refs.push({ namespace: parts[0], name: parts[1] });
    });
    return refs;
}

/**
 * Validates the arguments. Values given as Outputs are checked where they are known; everything that is a
 * plain value is checked here, before any resource exists.
 */
export function validateArgs(componentName: string, args: RayS3AccessArgs | undefined): ValidatedArgs {
    const problems: string[] = [];
    if (!args) {
        throw new RayS3AccessValidationError(componentName, ["no arguments: give at least namespace and buckets"]);
    }
    if (!isRecord(args)) {
        throw new RayS3AccessValidationError(componentName, [`the arguments must be an object like { namespace, buckets }, not ${describeType(args)}`]);
    }
    const shape = shapeProblems(args as unknown as Record<string, unknown>);
    if (shape.length > 0) {
        // The rest of the checks assume the right types: report the shape first, all of it.
        throw new RayS3AccessValidationError(componentName, shape);
    }
    const identity = oneOf("identity", args.identity, IdentityType, IdentityType.Irsa, problems);
    const strategy = identityStrategy(identity);
    const roleSharing = oneOf("roleSharing", args.roleSharing, RoleSharing, RoleSharing.PerTenant, problems);
    if (roleSharing === RoleSharing.Abac && identity !== IdentityType.PodIdentity) {
        problems.push(`roleSharing "abac" is only valid when identity is "podIdentity": ABAC isolates namespaces with Pod Identity's session tags`);
    }
    const manageServiceAccount = oneOf("manageServiceAccount", args.manageServiceAccount, ServiceAccountMode, ServiceAccountMode.Create, problems);

    let namespace: string | undefined;
    if (args.namespace === undefined || args.namespace === null || args.namespace === "") {
        problems.push(`namespace is required: give the Kubernetes namespace of the workload's ServiceAccount`);
    } else if (isPlainString(args.namespace)) {
        const problem = resolvedValueProblem("namespace", args.namespace);
        if (problem) problems.push(problem);
        namespace = args.namespace;
    }
    let serviceAccountName: string | undefined = DEFAULT_SERVICE_ACCOUNT_NAME;
    if (args.serviceAccountName !== undefined) {
        serviceAccountName = undefined;
        if (isPlainString(args.serviceAccountName)) {
            const problem = serviceAccountNameProblem("serviceAccountName", args.serviceAccountName);
            if (problem) problems.push(problem);
            serviceAccountName = args.serviceAccountName;
        }
    }

    const buckets = validateBuckets(args.buckets, problems, "buckets", componentName);
    const additionalServiceAccounts = parseServiceAccountRefs(args.additionalServiceAccounts, problems);

    if (strategy.webIdentity) {
        const sources = (["oidcProviderArn", "oidcIssuerUrl"] as const).filter((f) => args[f] !== undefined);
        if (sources.length === 2) {
            problems.push(
                `oidcProviderArn and oidcIssuerUrl are both given: give one (the provider's ARN when it exists, the issuer URL with createOidcProvider when it does not)`,
            );
        }
        if (args.createOidcProvider && args.oidcProviderArn !== undefined) {
            problems.push(`createOidcProvider is true but oidcProviderArn names an existing provider: drop one of them`);
        }
        if (sources.length === 0 && args.clusterName === undefined) {
            problems.push(
                `no OIDC provider for IRSA: give oidcProviderArn, oidcIssuerUrl, or clusterName (to look the issuer up), or use identity "podIdentity"`,
            );
        }
        for (const field of ["oidcProviderArn", "oidcIssuerUrl"] as const) {
            const value = args[field];
            const problem = isPlainString(value) ? resolvedValueProblem(field, value) : undefined;
            if (problem) problems.push(problem);
        }
    } else {
        for (const field of ["oidcProviderArn", "oidcIssuerUrl"] as const) {
            if (args[field] !== undefined) {
                problems.push(
                    `${field} is only valid when pods use IRSA (identity "irsa" or "irsaAndPodIdentity"): drop it, Pod Identity needs no OIDC provider`,
                );
            }
        }
        if (args.createOidcProvider) {
            problems.push(
                `createOidcProvider is only valid when pods use IRSA (identity "irsa" or "irsaAndPodIdentity"): drop it, Pod Identity needs no OIDC provider`,
            );
        }
    }
    if (strategy.podIdentity && (args.clusterName === undefined || args.clusterName === "")) {
        problems.push(`clusterName is required when identity is "${identity}": give the EKS cluster's name (Pod Identity associations live in it)`);
    }
    const annotateServiceAccount = args.annotateServiceAccount ?? true;
    if (!annotateServiceAccount && identity !== IdentityType.IrsaAndPodIdentity) {
        problems.push(
            `annotateServiceAccount false is only valid when identity is "irsaAndPodIdentity" (the migration's second step): ` +
                (strategy.webIdentity
                    ? `with identity "irsa" the pods would get no credentials; if another tool annotates the ServiceAccount, use manageServiceAccount "none"`
                    : `Pod Identity writes no annotation; drop it`),
        );
    }
    const additionalClusters = validateAdditionalClusters(args, strategy, problems);
    const webIdentityToken = validateWebIdentityToken(args, strategy, problems);
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
    for (const field of ["permissionsBoundaryArn", "roleName", "rolePath"] as const) {
        const value = args[field];
        const problem = isPlainString(value) ? resolvedValueProblem(field, value) : undefined;
        if (problem) problems.push(problem);
    }
    if (isPlainString(args.clusterName) && args.clusterName !== "") {
        const problem = resolvedValueProblem("clusterName", args.clusterName);
        if (problem) problems.push(problem);
    }
    if (args.assetsExternalId !== undefined) {
        const problem = externalIdProblem("assetsExternalId", args.assetsExternalId);
        if (problem) problems.push(problem);
    }
    const additionalPolicyArns = args.additionalPolicyArns ?? [];
    additionalPolicyArns.forEach((arn, index) => {
        if (!MANAGED_POLICY_ARN.test(arn)) {
            problems.push(`additionalPolicyArns[${index}] "${arn}" is not a managed policy ARN: expected arn:PARTITION:iam::ACCOUNT:policy/NAME`);
        }
    });
    const maxSessionDuration = args.maxSessionDuration ?? 3600;
    if (!Number.isInteger(maxSessionDuration) || maxSessionDuration < 3600 || maxSessionDuration > 43200) {
        problems.push(`maxSessionDuration ${String(args.maxSessionDuration)} is outside 3600-43200 seconds (1 to 12 hours): IAM rejects it`);
    }
    const trustPolicyMaxLength = args.trustPolicyMaxLength ?? DEFAULT_TRUST_POLICY_MAX_LENGTH;
    if (!Number.isInteger(trustPolicyMaxLength) || trustPolicyMaxLength < 1) {
        problems.push(`trustPolicyMaxLength ${String(args.trustPolicyMaxLength)} must be a positive whole number of characters`);
    } else if (trustPolicyMaxLength > IAM_LIMITS.trustPolicyMax) {
        problems.push(
            `trustPolicyMaxLength ${trustPolicyMaxLength} is above ${IAM_LIMITS.trustPolicyMax}, the most IAM allows for a role trust policy even after a quota increase: use ${IAM_LIMITS.trustPolicyMax} or less`,
        );
    }
    if (namespace !== undefined && serviceAccountName !== undefined) {
        const primary = `${namespace}:${serviceAccountName}`;
        if (additionalServiceAccounts.some((sa) => `${sa.namespace}:${sa.name}` === primary)) {
            problems.push(`additionalServiceAccounts repeats the primary service account "${primary}": drop it from the list`);
        }
    }

    problems.push(...partitionProblems(args));

    const sessionPolicies =
        roleSharing === RoleSharing.SessionPolicy
            ? validateSessionPolicies(args, namespace, serviceAccountName, additionalServiceAccounts, buckets, problems)
            : [];
    if (problems.length > 0) {
        throw new RayS3AccessValidationError(componentName, problems);
    }
    return {
        identity,
        disableSessionTags,
        sessionPolicies,
        strategy,
        webIdentityToken,
        additionalClusters,
        annotateServiceAccount,
        roleSharing,
        manageServiceAccount,
        serviceAccountName,
        namespace,
        additionalServiceAccounts,
        buckets,
        additionalPolicyArns,
        maxSessionDuration,
        trustPolicyMaxLength,
    };
}

/**
 * `NAME-RANDOM-s3alias`: an S3 access point's alias (a prefix of its name, S3's random string, `-s3alias`; at most 63
 * characters), which S3 accepts wherever a bucket name goes.
 */
const ACCESS_POINT_ALIAS = /^(?=.{3,63}$)[a-z0-9][a-z0-9-]*-[a-z0-9]{16,}-s3alias$/;

/** `arn:PARTITION:s3:REGION:ACCOUNT:accesspoint/NAME`: an S3 access point's ARN. */
const ACCESS_POINT_ARN = new RegExp(`^arn:(${PARTITIONS}):s3:([a-z0-9-]+):(\\d{12}):accesspoint/([a-z0-9][a-z0-9-]{1,48}[a-z0-9])$`);

/** `arn:PARTITION:s3express:REGION:ACCOUNT:accesspoint/NAME`: an access point for a directory bucket. */
const DIRECTORY_ACCESS_POINT_ARN = new RegExp(`^arn:(${PARTITIONS}):s3express:([a-z0-9-]+):(\\d{12}):accesspoint/([^/]+)$`);
/** `BASE--ZONEID--xa-s3`: an access point for a directory bucket's name. */
const DIRECTORY_ACCESS_POINT_NAME = /^([a-z0-9][a-z0-9-]{1,48}[a-z0-9])--([a-z0-9-]+)--xa-s3$/;

/** `arn:PARTITION:s3express:REGION:ACCOUNT:bucket/NAME`: a directory bucket's ARN. */
const DIRECTORY_BUCKET_ARN = new RegExp(`^arn:(${PARTITIONS}):s3express:([a-z0-9-]+):(\\d{12}):bucket/([^/]+)$`);
/** A directory bucket's zone: an Availability Zone id (`usw2-az1`) or a Local Zone id (`usw2-lax1-az1`). */
const ZONE_ID = /^[a-z]+\d+(-[a-z]+\d+)?-az\d+$/;

/** The problem with a directory bucket's name (and its zone against the ARN's region), or undefined. */
function directoryBucketProblem(field: string, name: string, kind: string, arnRegion: string | undefined): string | undefined {
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

/** Is `inner` (a service account's bucket) within `outer` (the role's entry for the same bucket)? Why not, or undefined. */
function notCovered(inner: ResolvedBucketAccess, outer: ResolvedBucketAccess | undefined): string | undefined {
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
function validateSessionPolicies(
    args: RayS3AccessArgs,
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
            const why = notCovered(
                bucket,
                roleBuckets.find((b) => b.bucket === bucket.bucket),
            );
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

/** The token options: only where pods use web identity, an audience IAM can pin exactly, the webhook's lifetimes. */
function validateWebIdentityToken(args: RayS3AccessArgs, strategy: IdentityStrategy, problems: string[]): ValidatedArgs["webIdentityToken"] {
    const token = args.webIdentityToken ?? {};
    const annotations: { [key: string]: string } = {};
    if (args.webIdentityToken !== undefined && !strategy.webIdentity) {
        problems.push(
            `webIdentityToken is only valid when pods use IRSA (identity "irsa" or "irsaAndPodIdentity"): Pod Identity gives pods no web-identity token; drop it`,
        );
    }
    const audience = token.audience ?? STS_AUDIENCE_DEFAULT;
    if (token.audience !== undefined) {
        if (token.audience === "" || /[*?\s]/.test(token.audience) || token.audience.length > 255) {
            problems.push(
                `webIdentityToken.audience "${token.audience}" must be 1 to 255 characters without wildcards or spaces: the trust pins <issuer>:aud to it exactly`,
            );
        } else if (token.audience !== STS_AUDIENCE_DEFAULT) annotations[IRSA_AUDIENCE_ANNOTATION] = token.audience;
    }
    if (token.expirationSeconds !== undefined) {
        const { min, max } = IRSA_TOKEN_EXPIRATION_RANGE;
        if (!Number.isInteger(token.expirationSeconds) || token.expirationSeconds < min || token.expirationSeconds > max) {
            problems.push(
                `webIdentityToken.expirationSeconds ${token.expirationSeconds} is outside ${min}-${max}: the webhook raises shorter lifetimes to ${min} (kube-apiserver's minimum) and EKS allows at most ${max} (24 hours)`,
            );
        } else annotations[IRSA_TOKEN_EXPIRATION_ANNOTATION] = String(token.expirationSeconds);
    }
    if (token.stsRegionalEndpoints !== undefined) annotations[IRSA_REGIONAL_STS_ANNOTATION] = String(token.stsRegionalEndpoints);
    return { audience, annotations };
}

/**
 * The additional clusters: each one the top-level rules (an OIDC source for IRSA, a name for Pod Identity), no
 * cluster or provider twice, names given as plain values (they name the associations).
 */
function validateAdditionalClusters(args: RayS3AccessArgs, strategy: IdentityStrategy, problems: string[]): AdditionalCluster[] {
    const clusters = args.additionalClusters ?? [];
    const names = new Map<string, string>();
    const providers = new Map<string, string>();
    if (typeof args.clusterName === "string") names.set(args.clusterName, "clusterName");
    if (typeof args.oidcProviderArn === "string") providers.set(args.oidcProviderArn, "oidcProviderArn");
    clusters.forEach((cluster, index) => {
        const field = `additionalClusters[${index}]`;
        const sources = (["oidcProviderArn", "oidcIssuerUrl"] as const).filter((f) => cluster[f] !== undefined);
        if (cluster.clusterName !== undefined) {
            const problem = resolvedValueProblem("clusterName", cluster.clusterName, `${field}.clusterName`);
            if (problem) problems.push(problem);
            else if (names.has(cluster.clusterName)) {
                problems.push(`${field}.clusterName "${cluster.clusterName}" repeats ${names.get(cluster.clusterName)}: list each cluster once`);
            } else names.set(cluster.clusterName, `${field}.clusterName`);
        }
        if (strategy.webIdentity) {
            if (sources.length === 2) problems.push(`${field}: oidcProviderArn and oidcIssuerUrl are both given: give one`);
            if (sources.length === 0 && cluster.clusterName === undefined) {
                problems.push(`${field}: no OIDC provider for IRSA: give oidcProviderArn, oidcIssuerUrl, or clusterName (to look the issuer up)`);
            }
            for (const key of sources) {
                const value = cluster[key];
                const problem = typeof value === "string" ? resolvedValueProblem(key, value, `${field}.${key}`) : undefined;
                if (problem) problems.push(problem);
                else if (key === "oidcProviderArn" && typeof value === "string") {
                    if (providers.has(value)) problems.push(`${field}.oidcProviderArn "${value}" repeats ${providers.get(value)}: list each cluster once`);
                    providers.set(value, `${field}.oidcProviderArn`);
                }
            }
        } else {
            for (const key of sources) {
                problems.push(`${field}.${key} is only valid when pods use IRSA (identity "irsa" or "irsaAndPodIdentity"): drop it`);
            }
        }
        if (strategy.podIdentity && (cluster.clusterName === undefined || cluster.clusterName === "")) {
            problems.push(`${field}.clusterName is required when identity is "${strategy.identity}": the associations are created in the cluster it names`);
        }
    });
    if (args.roleSharing === RoleSharing.Abac && clusters.length > 0 && typeof args.clusterName !== "string") {
        problems.push(`additionalClusters with roleSharing "abac" needs clusterName as a plain string: the permissions policy pins every cluster's name`);
    }
    return clusters;
}

/** Every ARN given as a plain value must be in one partition: a role cannot trust or grant across them. */
function partitionProblems(args: RayS3AccessArgs): string[] {
    const arns: [string, unknown][] = [
        ["oidcProviderArn", args.oidcProviderArn],
        ...(args.additionalClusters ?? []).map((c, i): [string, unknown] => [`additionalClusters[${i}].oidcProviderArn`, c?.oidcProviderArn]),
        ["permissionsBoundaryArn", args.permissionsBoundaryArn],
        ...(args.additionalPolicyArns ?? []).map((arn, i): [string, unknown] => [`additionalPolicyArns[${i}]`, arn]),
        ...(Array.isArray(args.buckets) ? args.buckets : []).flatMap((b, i): [string, unknown][] => [
            [`buckets[${i}].bucket`, b?.bucket],
            ...(b?.kmsKeyArns ?? []).map((k, j): [string, unknown] => [`buckets[${i}].kmsKeyArns[${j}]`, k]),
        ]),
    ];
    let first: [string, string] | undefined;
    const problems: string[] = [];
    for (const [field, value] of arns) {
        if (typeof value !== "string" || !value.startsWith("arn:")) continue;
        const partition = value.split(":")[1];
        if (!first) {
            first = [field, partition];
        } else if (partition !== first[1]) {
            problems.push(
                `${field} "${value}" is in partition "${partition}" but ${first[0]} is in "${first[1]}": every ARN must be in the partition of the stack's AWS provider`,
            );
        }
    }
    return problems;
}

/** The problem with a trust policy that is longer than the quota, or undefined. */
export function trustPolicyLengthProblem(length: number, max: number, identity: IdentityType, subjects: number): string | undefined {
    if (length <= max) {
        return undefined;
    }
    const fix =
        identity !== IdentityType.PodIdentity
            ? `trust fewer service accounts per role (split additionalServiceAccounts across components), switch to identity "podIdentity" (no trust-policy growth per namespace with roleSharing "abac"), or raise trustPolicyMaxLength after a Service Quotas increase (up to 8192)`
            : `associate fewer service accounts per role, or raise trustPolicyMaxLength after a Service Quotas increase (up to 8192)`;
    return `the trust policy would be ${length} characters (without white space) for ${subjects} service account(s), over the IAM quota of ${max}: ${fix}`;
}
