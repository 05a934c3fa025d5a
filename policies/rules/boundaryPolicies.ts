import type { PolicyResource } from "@pulumi/policy";
import { BOUNDARY_TAG, BOUNDARY_TAG_VALUE, declaredBoundary, POLICY_TYPE, readKnown, ROLE_TYPE } from "../lib/resources";
import { Finding, gradedStackRule } from "../lib/rule";

/** Resources that attach a managed policy (granting it), and the property that names it. */
const ATTACHING: Record<string, string> = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "policyArn",
    "aws:iam/policyAttachment:PolicyAttachment": "policyArn",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "policyArn",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "policyArn",
};
const USER_TYPE = "aws:iam/user:User";

/** Who names a policy in a property: by the policy's URN (a dependency for that property) or by its ARN. */
class References {
    private readonly byUrn = new Map<string, PolicyResource[]>();
    private readonly byArn = new Map<string, PolicyResource[]>();
    add(resource: PolicyResource, property: string): void {
        const push = (map: Map<string, PolicyResource[]>, key: string) => {
            const list = map.get(key) ?? [];
            if (!list.includes(resource)) list.push(resource);
            map.set(key, list);
        };
        for (const dependency of resource.propertyDependencies?.[property] ?? []) push(this.byUrn, dependency.urn);
        const value = readKnown(() => resource.props[property]);
        for (const arn of [value].flat()) if (typeof arn === "string" && arn !== "") push(this.byArn, arn);
    }
    of(policy: PolicyResource): PolicyResource[] {
        const arn = readKnown(() => policy.props.arn);
        return [...new Set([...(this.byUrn.get(policy.urn) ?? []), ...(typeof arn === "string" ? (this.byArn.get(arn) ?? []) : [])])];
    }
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
        // Indexed once: a stack of thousands of tenants has thousands of policies and attachments.
        const attachments = new References();
        const boundaries = new References();
        for (const resource of resources) {
            if (ATTACHING[resource.type] !== undefined) attachments.add(resource, ATTACHING[resource.type]);
            else if (resource.type === ROLE_TYPE) attachments.add(resource, "managedPolicyArns");
            if (resource.type === ROLE_TYPE || resource.type === USER_TYPE) boundaries.add(resource, "permissionsBoundary");
        }
        for (const policy of policies) {
            const attachedBy = attachments.of(policy);
            const boundaryOf = boundaries.of(policy);
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
