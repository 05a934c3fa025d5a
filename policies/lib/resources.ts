/**
 * Where IAM documents and managed-policy attachments live in the AWS provider's resources.
 */
import { CheckedResource } from "./rule";

/** A document a resource carries, and where (for messages). */
export interface CarriedDocument {
    where: string;
    document: unknown;
    kind: "identity" | "resource";
    /** A policy declared as a permissions boundary: it limits roles, and grants nothing by itself. */
    boundary?: boolean;
}

/** The tag that declares a standalone policy a permissions boundary, and its value. */
export const BOUNDARY_TAG = "ray-s3-access/use";
export const BOUNDARY_TAG_VALUE = "permissions-boundary";
export const POLICY_TYPE = "aws:iam/policy:Policy";

/** The policy engine's marker for a value that is unknown during preview. */
export function isUnknownValueError(error: unknown): error is Error {
    return error instanceof Error && error.constructor.name === "UnknownValueError";
}

/** Reads a resource's prop, or undefined when the value is unknown during preview. */
export function readKnown<T>(get: () => T): T | undefined {
    try {
        return get();
    } catch (error) {
        if (isUnknownValueError(error)) return undefined;
        throw error;
    }
}

/** Is this a standalone policy tagged as a permissions boundary? (A tag unknown during preview is not a declaration.) */
export function declaredBoundary(resource: { type: string; props: Record<string, any> }): boolean {
    if (resource.type !== POLICY_TYPE) return false;
    const tags = readKnown(() => resource.props.tags);
    return !!tags && typeof tags === "object" && tags[BOUNDARY_TAG] === BOUNDARY_TAG_VALUE;
}

/** The documents of a resource that grant permissions (a declared boundary's does not). */
export function grantingDocuments(resource: CheckedResource): CarriedDocument[] {
    return permissionDocuments(resource).filter((d) => !d.boundary);
}

const IDENTITY_POLICY_TYPES = new Set([
    "aws:iam/policy:Policy",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
]);

export const ROLE_TYPE = "aws:iam/role:Role";
export const BUCKET_POLICY_TYPE = "aws:s3/bucketPolicy:BucketPolicy";

/** The identity (and bucket) policy documents of a resource. Reading a prop may throw UnknownValueError. */
export function permissionDocuments(resource: CheckedResource): CarriedDocument[] {
    if (IDENTITY_POLICY_TYPES.has(resource.type)) {
        return [{ where: "policy", document: resource.props.policy, kind: "identity", boundary: declaredBoundary(resource) }];
    }
    if (resource.type === BUCKET_POLICY_TYPE) {
        return [{ where: "bucket policy", document: resource.props.policy, kind: "resource" }];
    }
    if (resource.type === ROLE_TYPE) {
        const inline = resource.props.inlinePolicies;
        if (!Array.isArray(inline)) return [];
        return inline.map((entry: any, index: number) => ({
            where: `inlinePolicies[${index}]${entry?.name ? ` ("${entry.name}")` : ""}`,
            document: entry?.policy,
            kind: "identity" as const,
        }));
    }
    return [];
}

const ATTACHMENT_TYPES = new Set([
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
]);

/** Managed policy ARNs a resource attaches, with where. */
export function attachedPolicyArns(resource: CheckedResource): { where: string; arn: string }[] {
    if (ATTACHMENT_TYPES.has(resource.type)) {
        const arn = resource.props.policyArn;
        return typeof arn === "string" ? [{ where: "policyArn", arn }] : [];
    }
    if (resource.type === ROLE_TYPE) {
        const arns = resource.props.managedPolicyArns;
        return Array.isArray(arns)
            ? arns.filter((a: unknown): a is string => typeof a === "string").map((arn, i) => ({ where: `managedPolicyArns[${i}]`, arn }))
            : [];
    }
    return [];
}

/** The role's trust policy, or undefined for anything that is not a role. */
export function trustDocument(resource: CheckedResource): unknown {
    return resource.type === ROLE_TYPE ? resource.props.assumeRolePolicy : undefined;
}

/** An AWS managed policy's path and name after `policy/` (`service-role/AmazonElasticMapReduceforEC2Role`), in any partition. */
export function managedPolicyName(arn: string): string | undefined {
    return /^arn:[a-z-]+:iam::aws:policy\/(.+)$/.exec(arn)?.[1];
}
