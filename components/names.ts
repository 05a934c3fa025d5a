/**
 * The naming and quota rules of AWS, EKS and Kubernetes for every name this package creates or references,
 * written once. Each check returns the problem (naming the field, the value, the rule and the fix), or
 * undefined. Used by the component's validation, and through it by the stack config's.
 */

import { createHash } from "crypto";
import { closest, distance } from "fastest-levenshtein";

/** Eight hex digits of the text's SHA-256: a stable suffix that keeps derived names unique and short. */
export function shortHash(text: string): string {
    return createHash("sha256").update(text).digest("hex").slice(0, 8);
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** IAM's quotas that a configuration can run into. */
export const IAM_LIMITS = {
    roleName: 64,
    path: 512,
    tagsPerResource: 50,
    tagKey: 128,
    tagValue: 256,
    /** Role trust policy length, the most Service Quotas grants. */
    trustPolicyMax: 8192,
    externalIdMin: 2,
    externalIdMax: 1224,
} as const;

/** Kubernetes namespace (DNS-1123 label). */
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

/** Kubernetes ServiceAccount name (DNS-1123 subdomain). */
export function serviceAccountNameProblem(field: string, value: string): string | undefined {
    if (value.length > 253 || !DNS1123_SUBDOMAIN.test(value)) {
        return (
            `${field} "${value}" is not a valid Kubernetes ServiceAccount name: it must be a DNS-1123 subdomain ` +
            `(at most 253 lower-case letters, digits, "-" and ".", starting and ending with a letter or digit)`
        );
    }
    return undefined;
}

/** Whether `value` is an IRSA subject a pod can present: `system:serviceaccount:NAMESPACE:NAME`, both valid names. */
export function isServiceAccountSubject(value: string): boolean {
    const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(value);
    return match !== null && namespaceProblem("", match[1]) === undefined && serviceAccountNameProblem("", match[2]) === undefined;
}

/** S3 general-purpose bucket name, with the prefixes and suffixes S3 reserves. */
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
    const reservedPrefix = ["xn--", "sthree-", "amzn-s3-demo-"].find((p) => value.startsWith(p));
    if (reservedPrefix) {
        return `${field} "${value}" starts with "${reservedPrefix}", which S3 reserves: no bucket can have this name; check the bucket's real name`;
    }
    if (value.endsWith("-s3alias")) {
        return `${field} "${value}" ends with "-s3alias" but is not an access point alias (NAME-RANDOM-s3alias: lower-case letters, digits and "-", S3's random string, at most 63 characters): copy the alias S3 shows, or give the access point's ARN`;
    }
    if (value.endsWith("--ol-s3")) {
        return `${field} "${value}" ends with "--ol-s3": that is an Object Lambda access point's alias, which this package does not grant; give the access point's ARN (arn:PARTITION:s3:REGION:ACCOUNT:accesspoint/NAME) or the bucket's name`;
    }
    const reservedSuffix = [".mrap", "--table-s3"].find((s) => value.endsWith(s));
    if (reservedSuffix) {
        return `${field} "${value}" ends with "${reservedSuffix}", which S3 reserves (Multi-Region Access Points, table buckets): give a general-purpose bucket's name`;
    }
    return undefined;
}

/** EKS cluster name. */
export function clusterNameProblem(field: string, value: string): string | undefined {
    if (!/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/.test(value)) {
        return `${field} "${value}" is not a valid EKS cluster name: 1 to 100 letters, digits, "-" and "_", starting with a letter or digit; use the name \`aws eks list-clusters\` shows`;
    }
    return undefined;
}

/** IAM role name. */
export function roleNameProblem(field: string, value: string): string | undefined {
    if (value.length < 1 || value.length > IAM_LIMITS.roleName || !/^[\w+=,.@-]+$/.test(value)) {
        return (
            `${field} "${value}" is not a valid IAM role name: 1 to ${IAM_LIMITS.roleName} letters, digits and "+=,.@_-" ` +
            `(no spaces, no "/": put a path in rolePath)${value.length > IAM_LIMITS.roleName ? `; it is ${value.length} characters` : ""}`
        );
    }
    return undefined;
}

/** IAM path (roles and policies). */
export function iamPathProblem(field: string, value: string): string | undefined {
    if (value.length > IAM_LIMITS.path || !/^\/([\x21-\x7E]*\/)?$/.test(value)) {
        return `${field} "${value}" is not a valid IAM path: "/" or "/a/b/", starting and ending with "/", printable ASCII without spaces, at most ${IAM_LIMITS.path} characters`;
    }
    return undefined;
}

/** `sts:ExternalId` values IAM accepts. */
export function externalIdProblem(field: string, value: string): string | undefined {
    if (value.length < IAM_LIMITS.externalIdMin || value.length > IAM_LIMITS.externalIdMax || !/^[\w+=,.@:/-]+$/.test(value)) {
        return `${field} "${value}" is not a valid external id: ${IAM_LIMITS.externalIdMin} to ${IAM_LIMITS.externalIdMax} letters, digits and "+=,.@:/_-"`;
    }
    return undefined;
}

const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** IAM and EKS tags: at most 50, keys 1-128 characters not starting with "aws:", string values up to 256. */
export function tagsProblems(field: string, tags: Record<string, unknown>): string[] {
    const problems: string[] = [];
    const entries = Object.entries(tags);
    if (entries.length > IAM_LIMITS.tagsPerResource) {
        problems.push(`${field} has ${entries.length} tags: IAM and EKS take at most ${IAM_LIMITS.tagsPerResource} per resource; drop some`);
    }
    for (const [key, value] of entries) {
        if (key.length < 1 || key.length > IAM_LIMITS.tagKey || !TAG_TEXT.test(key)) {
            problems.push(
                `${field} key "${key.slice(0, 140)}" is not a valid tag key: 1 to ${IAM_LIMITS.tagKey} letters, digits, spaces and "_.:/=+-@"${key.length > IAM_LIMITS.tagKey ? ` (it is ${key.length} characters)` : ""}`,
            );
        } else if (key.toLowerCase().startsWith("aws:")) {
            problems.push(`${field} key "${key}" starts with "aws:", which AWS reserves for its own tags: rename it`);
        }
        // A value that is not a string is the shape's problem (checked before any value rule).
        if (typeof value === "string" && (value.length > IAM_LIMITS.tagValue || !TAG_TEXT.test(value))) {
            problems.push(
                `${field}["${key}"] "${value.slice(0, 40)}..." is not a valid tag value: at most ${IAM_LIMITS.tagValue} letters, digits, spaces and "_.:/=+-@"`,
            );
        }
    }
    return problems;
}

const IMAGE_PATH = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const IMAGE_DOMAIN = "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\\d+)?/)?";
/** A container image reference as the distribution spec writes it: [host[:port]/]path[:tag][@sha256:digest]. */
const IMAGE_REFERENCE = new RegExp(`^${IMAGE_DOMAIN}${IMAGE_PATH}(?:/${IMAGE_PATH})*(?::\\w[\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`);

/** A container image reference Kubernetes can pull (`rayproject/ray:2.9.0`, `registry:5000/team/ray@sha256:...`). */
export function imageReferenceProblem(field: string, value: string): string | undefined {
    if (value.length <= 255 && IMAGE_REFERENCE.test(value)) return undefined;
    return `${field} "${value.slice(0, 80)}" is not a container image reference: [HOST[:PORT]/]PATH[:TAG][@sha256:DIGEST], lower-case path, no spaces (e.g. rayproject/ray:2.9.0)`;
}

/** The known name a mistyped `given` most likely meant (edit distance, case ignored), or undefined. */
export function nearestName(given: string, known: readonly string[]): string | undefined {
    const best = closest(given, [...known]);
    return best !== undefined && distance(given.toLowerCase(), best.toLowerCase()) <= Math.max(2, Math.floor(given.length / 3)) ? best : undefined;
}

/** How a value's type reads in a message: `a number (5)`, `an object`, `null`, `a list`. */
export function describeType(value: unknown): string {
    if (value === null) return "null";
    if (Array.isArray(value)) return "a list";
    switch (typeof value) {
        case "number":
        case "bigint":
            return `a number (${String(value)})`;
        case "boolean":
            return `a boolean (${value})`;
        case "string":
            return `a string ("${value.slice(0, 40)}")`;
        case "function":
            return "a function";
        case "undefined":
            return "undefined";
        default:
            return "an object";
    }
}

/** A child-name suffix from a service account, stable across reordering of the list it came from. */
export function refSuffix(ref: { namespace: string; name: string }): string {
    return `${ref.namespace}-${ref.name}`;
}

/** A child-name suffix from a managed policy ARN: its path and name. */
export function policyArnSuffix(arn: string): string {
    return arn.replace(/^arn:[^:]+:iam::[^:]+:policy\//, "").replace(/[^A-Za-z0-9-]+/g, "-");
}

/** A Kubernetes object name from parts: lower-case letters, digits and "-", at most 63, with a hash when cut. */
export function kubernetesName(parts: string[]): string {
    const joined = parts
        .filter((p) => p !== "")
        .join("-")
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .replace(/-+/g, "-")
        .replace(/^-|-$/g, "");
    if (joined.length <= 63) return joined;
    return `${joined.slice(0, 54).replace(/-$/, "")}-${shortHash(joined)}`;
}

/**
 * The child-name suffix of each additional cluster: `-NAME`, and `-NAME-2`, `-NAME-3` for a name that repeats (the
 * same cluster name in another region), so the first cluster of a name keeps the name it always had.
 */
export function additionalClusterSuffixes(names: readonly string[]): string[] {
    const seen = new Map<string, number>();
    return names.map((name) => {
        const count = (seen.get(name) ?? 0) + 1;
        seen.set(name, count);
        return count === 1 ? `-${name}` : `-${name}-${count}`;
    });
}
