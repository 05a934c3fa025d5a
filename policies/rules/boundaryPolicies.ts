import type { PolicyResource } from "@pulumi/policy";
import { BOUNDARY_TAG, BOUNDARY_TAG_VALUE, declaredBoundary, POLICY_TYPE, ROLE_TYPE } from "../lib/resources";
import { Finding, gradedStackRule } from "../lib/rule";

/** Resources that attach a managed policy (granting it), and the property that names it. */
const ATTACHING: Record<string, string> = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "policyArn",
    "aws:iam/policyAttachment:PolicyAttachment": "policyArn",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "policyArn",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "policyArn",
};
const USER_TYPE = "aws:iam/user:User";

function read<T>(get: () => T): T | undefined {
    try {
        return get();
    } catch (error) {
        if (error instanceof Error && error.constructor.name === "UnknownValueError") return undefined;
        throw error;
    }
}

/** Does `resource` name `policy` in `property` (by its ARN, or by depending on it for that property)? */
function names(resource: PolicyResource, property: string, policy: PolicyResource): boolean {
    if ((resource.propertyDependencies?.[property] ?? []).some((r) => r.urn === policy.urn)) return true;
    const arn = read(() => policy.props.arn);
    if (typeof arn !== "string" || arn === "") return false;
    const value = read(() => resource.props[property]);
    return value === arn || (Array.isArray(value) && value.includes(arn));
}

/**
 * Checks the stack's standalone policies used as permissions boundaries. A policy tagged
 * `ray-s3-access/use: permissions-boundary` is judged by the grant rules as a boundary (it grants nothing by itself),
 * so the tag must be true: such a policy attached anywhere in the stack is a mandatory violation. A policy used only as
 * a role's or user's `permissionsBoundary` and not tagged gets an advisory finding that says how to declare it.
 */
export const permissionsBoundaryPolicies = gradedStackRule({
    name: "permissions-boundary-policies",
    description:
        `Checks that a policy tagged ${BOUNDARY_TAG}: ${BOUNDARY_TAG_VALUE} (which the grant rules judge as a boundary, granting nothing by ` +
        "itself) is attached nowhere in the stack, and suggests the tag for a policy used only as a permissions boundary.",
    check: (resources) => {
        const findings: (Finding & { resource: PolicyResource })[] = [];
        const policies = resources.filter((r) => r.type === POLICY_TYPE);
        if (policies.length === 0) return findings;
        const attachers = resources.filter((r) => ATTACHING[r.type] !== undefined || r.type === ROLE_TYPE);
        const bounded = resources.filter((r) => r.type === ROLE_TYPE || r.type === USER_TYPE);
        for (const policy of policies) {
            const attachedBy = attachers.filter((r) => (r.type === ROLE_TYPE ? names(r, "managedPolicyArns", policy) : names(r, ATTACHING[r.type], policy)));
            const boundaryOf = bounded.filter((r) => names(r, "permissionsBoundary", policy));
            if (declaredBoundary(policy)) {
                if (attachedBy.length > 0) {
                    findings.push({
                        resource: policy,
                        level: "mandatory",
                        message:
                            `aws:iam/policy:Policy "${policy.name}" is tagged ${BOUNDARY_TAG}: ${BOUNDARY_TAG_VALUE}, so the rules judged it as granting nothing, ` +
                            `but ${attachedBy.map((r) => `${r.type.split(":").pop()} "${r.name}"`).join(", ")} attach${attachedBy.length === 1 ? "es" : ""} it: ` +
                            `there it grants what it says. Remove the tag (the grant rules then judge it), or the attachment.`,
                    });
                }
            } else if (boundaryOf.length > 0 && attachedBy.length === 0) {
                findings.push({
                    resource: policy,
                    level: "advisory",
                    message:
                        `aws:iam/policy:Policy "${policy.name}" is only the permissionsBoundary of ${boundaryOf.map((r) => `"${r.name}"`).join(", ")}, so it grants ` +
                        `nothing by itself, but the grant rules judge it as if attached: tag it ${BOUNDARY_TAG}: ${BOUNDARY_TAG_VALUE} (this rule then checks it stays unattached).`,
                });
            }
        }
        return findings;
    },
});
