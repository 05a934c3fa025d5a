/**
 * The shape of RayS3Access arguments: unknown keys (with the nearest valid one) and each field's type, checked first
 * so that no later rule meets a value of the wrong type.
 */
import * as pulumi from "@pulumi/pulumi";
import { describeType, nearestName } from "../names";
import { AdditionalCluster, BucketAccess, RayS3AccessArgs, WebIdentityToken } from "../types";

/** Every argument RayS3Access takes: a key outside this list is refused, since a typo (`acces`) must not widen access. */
export const ARG_KEYS: Record<
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
    podIdentityAgent: "enum",
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
    assetsExternalId: "input",
    trustPolicyMaxLength: "integer",
};

/** Every key of an additional cluster. */
export const CLUSTER_KEYS: Record<keyof AdditionalCluster, "string" | "input" | "provider"> = {
    clusterName: "string",
    oidcProviderArn: "input",
    oidcIssuerUrl: "input",
    provider: "provider",
};

/** Every key of the web-identity token options. */
export const TOKEN_KEYS: Record<keyof WebIdentityToken, "string" | "integer" | "boolean"> = {
    audience: "string",
    expirationSeconds: "integer",
    stsRegionalEndpoints: "boolean",
};

/** Every key of a bucket entry. */
export const BUCKET_KEYS: Record<keyof BucketAccess, "input" | "enum" | "list" | "boolean"> = {
    bucket: "input",
    kind: "enum",
    access: "enum",
    allowDelete: "boolean",
    prefixes: "list",
    kmsKeyArns: "list",
    createAccessPoint: "boolean",
    accessPointName: "input",
    expressCache: "input",
};

/** ` (did you mean "X"?)` when one of `known` is a likely typo of `given`. */
export function nearest(given: string, known: string[]): string {
    const best = nearestName(given, known);
    return best === undefined ? "" : ` (did you mean "${best}"?)`;
}

/** The problem with an Output where only a plain value will do. */
function outputRefused(field: string): string {
    return `${field} is an Output, and it must be a plain value: it decides which resources the component creates and how they are named, which Pulumi must know when the component is constructed; give the value itself`;
}

/** A value known only at deployment: checked when it resolves (see `resolvedValueProblem`). */
export function isDeferred(value: unknown): boolean {
    return pulumi.Output.isInstance(value) || (typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function");
}

export function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A list's problems of shape: not a list, holes, entries that are not strings (nor Outputs, with `inputs`). */
export function stringListProblems(field: string, value: unknown, example: string, inputs = false): string[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) return [`${field} must be a list, e.g. ${example}; it is ${describeType(value)}`];
    const problems: string[] = [];
    for (let i = 0; i < value.length; i++) {
        if (!(i in value)) problems.push(`${field} has a hole at index ${i}: remove the empty slot`);
        else if (isDeferred(value[i]) && !inputs) problems.push(outputRefused(`${field}[${i}]`));
        else if (typeof value[i] !== "string" && !(inputs && isDeferred(value[i])))
            problems.push(`${field}[${i}] must be a string${inputs ? " (or an Output of one)" : ""}, not ${describeType(value[i])}`);
    }
    return problems;
}

/**
 * The shape of the arguments: unknown keys (with the nearest valid one), and each field's type. Checked first,
 * so nothing below ever meets a value of the wrong type.
 */
export function shapeProblems(args: Record<string, unknown>): string[] {
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
                        key === "additionalPolicyArns",
                    ),
                );
                break;
            case "tags":
                if (!isRecord(value)) problems.push(`tags must be a map of tag names to strings, e.g. { team: "ml" }; it is ${describeType(value)}`);
                else {
                    for (const [key, tag] of Object.entries(value)) {
                        if (typeof tag !== "string") problems.push(`tags["${key}"] must be a string, not ${describeType(tag)}`);
                    }
                }
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

export function tokenShapeProblems(token: unknown): string[] {
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
export function fieldTypeProblems(field: string, entry: Record<string, unknown>, kinds: Record<string, string>): string[] {
    const problems: string[] = [];
    for (const [key, kind] of Object.entries(kinds)) {
        const value = entry[key];
        if (value === undefined) continue;
        const name = field === "" ? key : `${field}.${key}`;
        if (kind !== "input" && isDeferred(value)) {
            problems.push(outputRefused(name));
            continue;
        }
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
export function entryShapeProblems(
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

export function clusterShapeProblems(clusters: unknown): string[] {
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

export function bucketShapeProblems(buckets: unknown, label = "buckets"): string[] {
    if (!Array.isArray(buckets)) return [`${label} must be a list of { bucket, access?, prefixes?, kmsKeyArns? }, not ${describeType(buckets)}`];
    return entryShapeProblems(label, buckets, Object.keys(BUCKET_KEYS), "a bucket entry", `{ bucket: "my-ray-checkpoints" }`, (field, entry) => {
        const problems = fieldTypeProblems(field, entry, BUCKET_KEYS);
        problems.push(...stringListProblems(`${field}.prefixes`, entry.prefixes, `["checkpoints/"]`));
        problems.push(...stringListProblems(`${field}.kmsKeyArns`, entry.kmsKeyArns, `["arn:aws:kms:us-west-2:111122223333:key/ID"]`, true));
        return problems;
    });
}
