/**
 * The rules for single values that reach IAM, EKS or Kubernetes (ARNs, issuer URLs, names, partitions, quotas), the
 * validation error, and the enum check; shared by every other validation module.
 */
import * as pulumi from "@pulumi/pulumi";
import { clusterNameProblem, describeType, externalIdProblem, iamPathProblem, namespaceProblem, roleNameProblem, serviceAccountNameProblem } from "../names";
import { IdentityType, RayS3AccessArgs } from "../types";

/**
 * Thrown for invalid arguments; `problems` lists each one. A `pulumi.RunError`, so the Pulumi CLI prints the message
 * alone, without a Node.js stack trace, also when the refusal is decided while the program runs (a value that resolves).
 */
export class RayS3AccessValidationError extends pulumi.RunError {
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

export const PARTITIONS = "aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc";
/** An AWS region's name (`us-west-2`, `ap-southeast-1`). */
export const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
export const BUCKET_ARN = new RegExp(`^arn:(${PARTITIONS}):s3:::([^/]+)$`);
export const OIDC_PROVIDER_ARN = new RegExp(`^arn:(${PARTITIONS}):iam::\\d{12}:oidc-provider/[^\\s*?]+$`);
export const KMS_KEY_ARN = new RegExp(`^arn:(${PARTITIONS}):kms:[a-z0-9-]+:\\d{12}:key/[A-Za-z0-9-]+$`);
export const MANAGED_POLICY_ARN = new RegExp(`^arn:(${PARTITIONS}):iam::(\\d{12}|aws):policy/[\\w+=,.@/-]+$`);
export const ISSUER_URL = /^https:\/\/[^\s/]+(\/[^\s]*)?$/;

/** The rules for each argument that may be an Output, applied to the plain value or to what the Output resolves to. */
/**
 * The problem with free text that reaches a policy document, or undefined: it must be a literal. IAM reads `${...}`
 * as a policy variable (an audience of `${ISSUER:aud}` would match a token minted for any audience), matches `*` and
 * `?` as wildcards under the *Like operators and in ARNs, and refuses characters outside U+0009, U+000A, U+000D and
 * U+0020-U+00FF. `wildcards` false for fields whose own rule already speaks of them.
 */
export function literalProblem(field: string, value: string, wildcards = true): string | undefined {
    if (value.includes("${")) return `${field} "${value}" contains a policy variable ("\${"): IAM would substitute it; give the literal value`;
    if (wildcards && /[*?]/.test(value)) return `${field} "${value}" contains a wildcard ("*" or "?"): IAM would match it as a pattern; give the literal value`;
    const refused = /[^\u0009\u000A\u000D\u0020-\u00FF]/.exec(value);
    if (refused) {
        const code = refused[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
        return `${field} "${value}" contains U+${code}, which IAM refuses in a policy (it takes U+0009, U+000A, U+000D and U+0020-U+00FF): remove it`;
    }
    return undefined;
}

export const RESOLVED_RULES: Partial<Record<keyof RayS3AccessArgs, (field: string, value: string) => string | undefined>> = {
    namespace: (field, value) =>
        value === "" ? `${field} is empty: give the Kubernetes namespace of the workload's ServiceAccount` : namespaceProblem(field, value),
    serviceAccountName: serviceAccountNameProblem,
    clusterName: clusterNameProblem,
    roleName: roleNameProblem,
    rolePath: iamPathProblem,
    oidcProviderArn: (field, value) =>
        literalProblem(field, value) ??
        (OIDC_PROVIDER_ARN.test(value)
            ? undefined
            : `${field} "${value}" is not an IAM OIDC provider ARN: expected arn:PARTITION:iam::ACCOUNT:oidc-provider/oidc.eks.REGION.amazonaws.com/id/ID`),
    oidcIssuerUrl: (field, value) =>
        literalProblem(field, value, false) ??
        (!ISSUER_URL.test(value)
            ? `${field} "${value}" is not an https URL: use the cluster's issuer, \`aws eks describe-cluster --query cluster.identity.oidc.issuer\``
            : /[?#]/.test(value) || /:\d*\//.test(value.slice("https://".length))
              ? `${field} "${value}": an OIDC issuer URL has no query, fragment or port (IAM refuses them in a provider URL): use the cluster's issuer as EKS gives it`
              : literalProblem(field, value)),
    assetsExternalId: externalIdProblem,
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

export function isPlainString(value: unknown): value is string {
    return typeof value === "string";
}

export function oneOf<T extends string>(field: string, value: unknown, allowed: Record<string, T>, fallback: T, problems: string[]): T {
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

/** Every ARN given as a plain value must be in one partition: a role cannot trust or grant across them. */
export function partitionProblems(args: RayS3AccessArgs): string[] {
    let first: [string, string] | undefined;
    const problems: string[] = [];
    for (const [field, value] of plainArns(args)) {
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

/** Every ARN the arguments give as a plain value, with the field that holds it. */
export function plainArns(args: RayS3AccessArgs): [string, string][] {
    const arns: [string, unknown][] = [
        ["oidcProviderArn", args.oidcProviderArn],
        ...(args.additionalClusters ?? []).map((c, i): [string, unknown] => [`additionalClusters[${i}].oidcProviderArn`, c?.oidcProviderArn]),
        ["permissionsBoundaryArn", args.permissionsBoundaryArn],
        ...(args.additionalPolicyArns ?? []).map((arn, i): [string, unknown] => [`additionalPolicyArns[${i}]`, arn]),
        ...(Array.isArray(args.buckets) ? args.buckets : []).flatMap((b, i): [string, unknown][] => [
            [`buckets[${i}].bucket`, b?.bucket],
            [`buckets[${i}].expressCache`, b?.expressCache],
            ...(b?.kmsKeyArns ?? []).map((k, j): [string, unknown] => [`buckets[${i}].kmsKeyArns[${j}]`, k]),
        ]),
    ];
    return arns.filter((entry): entry is [string, string] => typeof entry[1] === "string" && entry[1].startsWith("arn:"));
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
