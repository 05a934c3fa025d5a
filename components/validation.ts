/**
 * Input validation for RayS3Access. Runs before the component registers anything, and reports every problem
 * at once, each naming the field, the value, the rule and the fix.
 */
import { ResolvedBucketAccess } from "./s3Policy";
import { ServiceAccountRef } from "./trustPolicy";
import { DEFAULT_SERVICE_ACCOUNT_NAME } from "./constants";
import { AccessLevel, IdentityType, RayS3AccessArgs, RoleSharing, ServiceAccountMode } from "./types";

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
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const BUCKET_ARN = new RegExp(`^arn:(${PARTITIONS}):s3:::([^/]+)$`);
export const OIDC_PROVIDER_ARN = new RegExp(`^arn:(${PARTITIONS}):iam::\\d{12}:oidc-provider/[^\\s*?]+$`);
export const KMS_KEY_ARN = new RegExp(`^arn:(${PARTITIONS}):kms:[a-z0-9-]+:\\d{12}:key/[A-Za-z0-9-]+$`);
export const MANAGED_POLICY_ARN = new RegExp(`^arn:(${PARTITIONS}):iam::(\\d{12}|aws):policy/[\\w+=,.@/-]+$`);
const ISSUER_URL = /^https:\/\/[^\s/]+(\/[^\s]*)?$/;

/** Checks a Kubernetes namespace name (DNS-1123 label); returns the problem, or undefined. */
export function namespaceProblem(field: string, value: string): string | undefined {
    if (value.length > 63 || !DNS1123_LABEL.test(value)) {
        return (
            `${field} "${value}" is not a valid Kubernetes namespace name: it must be a DNS-1123 label ` +
            `(at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit); ` +
            `use the namespace exactly as \`kubectl get namespaces\` shows it`
        );
    }
    return undefined;
}

/** Checks a Kubernetes ServiceAccount name (DNS-1123 subdomain); returns the problem, or undefined. */
export function serviceAccountNameProblem(field: string, value: string): string | undefined {
    if (value.length > 253 || !DNS1123_SUBDOMAIN.test(value)) {
        return (
            `${field} "${value}" is not a valid Kubernetes ServiceAccount name: it must be a DNS-1123 subdomain ` +
            `(at most 253 lower-case letters, digits, "-" and ".", starting and ending with a letter or digit)`
        );
    }
    return undefined;
}

/** Checks an S3 bucket name and returns the problem, or undefined. */
export function bucketNameProblem(field: string, value: string): string | undefined {
    if (value.startsWith("s3://")) {
        return `${field} "${value}" is an S3 URL, not a bucket name: give the bare name ("${value.slice(5).split("/")[0]}") and put any path in \`prefixes\``;
    }
    if (value.includes("/")) {
        return `${field} "${value}" contains "/": give the bare bucket name and put the path in \`prefixes\``;
    }
    if (!BUCKET_NAME.test(value) || value.includes("..") || /^\d+\.\d+\.\d+\.\d+$/.test(value)) {
        return (
            `${field} "${value}" is not a valid S3 bucket name: 3 to 63 lower-case letters, digits, "." and "-", ` +
            `starting and ending with a letter or digit, no "..", not an IP address (no upper case, no "_")`
        );
    }
    return undefined;
}

function isPlainString(value: unknown): value is string {
    return typeof value === "string";
}

/** The validated, normalised arguments that the builders need synchronously. */
export interface ValidatedArgs {
    identity: IdentityType;
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

function validateBuckets(buckets: RayS3AccessArgs["buckets"], problems: string[]): ResolvedBucketAccess[] {
    if (!Array.isArray(buckets) || buckets.length === 0) {
        problems.push(`buckets is empty: give at least one bucket, e.g. [{ bucket: "my-ray-checkpoints" }]`);
        return [];
    }
    const resolved: ResolvedBucketAccess[] = [];
    const seen = new Map<string, number>();
    buckets.forEach((entry, index) => {
        const field = `buckets[${index}]`;
        if (!entry || typeof entry.bucket !== "string" || entry.bucket.length === 0) {
            problems.push(`${field}.bucket is missing: give the bucket's name`);
            return;
        }
        let name = entry.bucket;
        const arn = BUCKET_ARN.exec(entry.bucket);
        if (arn) {
            name = arn[2];
        } else if (entry.bucket.startsWith("arn:")) {
            problems.push(`${field}.bucket "${entry.bucket}" is not an S3 bucket ARN: use arn:PARTITION:s3:::NAME or the bare name`);
            return;
        }
        const nameProblem = bucketNameProblem(`${field}.bucket`, name);
        if (nameProblem) {
            problems.push(nameProblem);
            return;
        }
        if (seen.has(name)) {
            problems.push(`${field}.bucket "${name}" repeats buckets[${seen.get(name)}]: list each bucket once and merge its prefixes and keys`);
            return;
        }
        seen.set(name, index);
        const access = oneOf(`${field}.access`, entry.access, AccessLevel, AccessLevel.ReadWrite, problems);
        const prefixes = entry.prefixes ?? [];
        if (!Array.isArray(prefixes)) {
            problems.push(`${field}.prefixes must be a list of key prefixes, e.g. ["checkpoints/"]`);
        }
        (Array.isArray(prefixes) ? prefixes : []).forEach((prefix, p) => {
            const pfield = `${field}.prefixes[${p}]`;
            if (typeof prefix !== "string" || prefix.length === 0) {
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
        (Array.isArray(kmsKeyArns) ? kmsKeyArns : []).forEach((key, k) => {
            if (typeof key !== "string" || !KMS_KEY_ARN.test(key)) {
                problems.push(
                    `${field}.kmsKeyArns[${k}] "${String(key)}" is not a KMS key ARN (arn:PARTITION:kms:REGION:ACCOUNT:key/ID): ` +
                        `use the key's ARN, not an alias or a key id`,
                );
            }
        });
        resolved.push({
            bucket: name,
            access,
            prefixes: Array.isArray(prefixes) ? prefixes.filter((p) => typeof p === "string") : [],
            kmsKeyArns: Array.isArray(kmsKeyArns) ? kmsKeyArns : [],
        });
    });
    return resolved;
}

function parseServiceAccountRefs(values: unknown, problems: string[]): ServiceAccountRef[] {
    if (values === undefined) {
        return [];
    }
    if (!Array.isArray(values)) {
        problems.push(`additionalServiceAccounts must be a list of "namespace:name" strings`);
        return [];
    }
    const refs: ServiceAccountRef[] = [];
    values.forEach((value, index) => {
        const field = `additionalServiceAccounts[${index}]`;
        const parts = typeof value === "string" ? value.split(":") : [];
        if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
            problems.push(`${field} "${String(value)}" is not "namespace:name": write it as e.g. "kubeflow-alice:default-editor"`);
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
    const identity = oneOf("identity", args.identity, IdentityType, IdentityType.Irsa, problems);
    const roleSharing = oneOf("roleSharing", args.roleSharing, RoleSharing, RoleSharing.PerTenant, problems);
    if (roleSharing === RoleSharing.Abac && identity !== IdentityType.PodIdentity) {
        problems.push(`roleSharing "abac" is only valid when identity is "podIdentity": ABAC isolates namespaces with Pod Identity's session tags`);
    }
    const manageServiceAccount = oneOf("manageServiceAccount", args.manageServiceAccount, ServiceAccountMode, ServiceAccountMode.Create, problems);

    let namespace: string | undefined;
    if (args.namespace === undefined || args.namespace === null || args.namespace === "") {
        problems.push(`namespace is required: give the Kubernetes namespace of the workload's ServiceAccount`);
    } else if (isPlainString(args.namespace)) {
        const problem = namespaceProblem("namespace", args.namespace);
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

    const buckets = validateBuckets(args.buckets, problems);
    const additionalServiceAccounts = parseServiceAccountRefs(args.additionalServiceAccounts, problems);

    if (identity === IdentityType.Irsa) {
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
        if (isPlainString(args.oidcProviderArn) && !OIDC_PROVIDER_ARN.test(args.oidcProviderArn)) {
            problems.push(
                `oidcProviderArn "${args.oidcProviderArn}" is not an IAM OIDC provider ARN: expected arn:PARTITION:iam::ACCOUNT:oidc-provider/oidc.eks.REGION.amazonaws.com/id/ID`,
            );
        }
        if (isPlainString(args.oidcIssuerUrl) && !ISSUER_URL.test(args.oidcIssuerUrl)) {
            problems.push(
                `oidcIssuerUrl "${args.oidcIssuerUrl}" is not an https URL: use the cluster's issuer, \`aws eks describe-cluster --query cluster.identity.oidc.issuer\``,
            );
        }
    } else {
        for (const field of ["oidcProviderArn", "oidcIssuerUrl"] as const) {
            if (args[field] !== undefined) {
                problems.push(`${field} is only valid when identity is "irsa": drop it, Pod Identity needs no OIDC provider`);
            }
        }
        if (args.createOidcProvider) {
            problems.push(`createOidcProvider is only valid when identity is "irsa": drop it, Pod Identity needs no OIDC provider`);
        }
        if (args.clusterName === undefined || args.clusterName === "") {
            problems.push(`clusterName is required when identity is "podIdentity": give the EKS cluster's name`);
        }
    }

    if (args.assetsExternalId !== undefined && args.assetsProvider === undefined) {
        problems.push(`assetsExternalId is only valid with assetsProvider (buckets in another account): drop it or give the assets account's provider`);
    }
    if (args.assetsExternalId !== undefined && identity === IdentityType.PodIdentity) {
        problems.push(`assetsExternalId is only valid when identity is "irsa": Pod Identity chains to the assets role itself`);
    }
    if (args.assetsProvider !== undefined && roleSharing === RoleSharing.Abac) {
        problems.push(`assetsProvider cannot be combined with roleSharing "abac": the assets role would not see the namespace session tag; use "perTenant"`);
    }
    if (isPlainString(args.permissionsBoundaryArn) && !MANAGED_POLICY_ARN.test(args.permissionsBoundaryArn)) {
        problems.push(`permissionsBoundaryArn "${args.permissionsBoundaryArn}" is not a managed policy ARN: expected arn:PARTITION:iam::ACCOUNT:policy/NAME`);
    }
    const additionalPolicyArns = args.additionalPolicyArns ?? [];
    additionalPolicyArns.forEach((arn, index) => {
        if (typeof arn !== "string" || !MANAGED_POLICY_ARN.test(arn)) {
            problems.push(`additionalPolicyArns[${index}] "${String(arn)}" is not a managed policy ARN: expected arn:PARTITION:iam::ACCOUNT:policy/NAME`);
        }
    });
    const maxSessionDuration = args.maxSessionDuration ?? 3600;
    if (!Number.isInteger(maxSessionDuration) || maxSessionDuration < 3600 || maxSessionDuration > 43200) {
        problems.push(`maxSessionDuration ${String(args.maxSessionDuration)} is outside 3600-43200 seconds (1 to 12 hours): IAM rejects it`);
    }
    const trustPolicyMaxLength = args.trustPolicyMaxLength ?? DEFAULT_TRUST_POLICY_MAX_LENGTH;
    if (!Number.isInteger(trustPolicyMaxLength) || trustPolicyMaxLength < 1) {
        problems.push(`trustPolicyMaxLength ${String(args.trustPolicyMaxLength)} must be a positive whole number of characters`);
    }
    if (namespace !== undefined && serviceAccountName !== undefined) {
        const primary = `${namespace}:${serviceAccountName}`;
        if (additionalServiceAccounts.some((sa) => `${sa.namespace}:${sa.name}` === primary)) {
            problems.push(`additionalServiceAccounts repeats the primary service account "${primary}": drop it from the list`);
        }
    }

    problems.push(...partitionProblems(args));

    if (problems.length > 0) {
        throw new RayS3AccessValidationError(componentName, problems);
    }
    return {
        identity,
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

/** Every ARN given as a plain value must be in one partition: a role cannot trust or grant across them. */
function partitionProblems(args: RayS3AccessArgs): string[] {
    const arns: [string, unknown][] = [
        ["oidcProviderArn", args.oidcProviderArn],
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
        identity === IdentityType.Irsa
            ? `trust fewer service accounts per role (split additionalServiceAccounts across components), switch to identity "podIdentity" (no trust-policy growth per namespace with roleSharing "abac"), or raise trustPolicyMaxLength after a Service Quotas increase (up to 8192)`
            : `associate fewer service accounts per role, or raise trustPolicyMaxLength after a Service Quotas increase (up to 8192)`;
    return `the trust policy would be ${length} characters (without white space) for ${subjects} service account(s), over the IAM quota of ${max}: ${fix}`;
}
