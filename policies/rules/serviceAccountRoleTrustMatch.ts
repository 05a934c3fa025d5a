import type { PolicyResource } from "@pulumi/policy";
import { IRSA_AUDIENCE_ANNOTATION, IRSA_ROLE_ANNOTATION, POD_IDENTITY_PRINCIPAL } from "../../components/constants";

const STS_AUDIENCE = "sts.amazonaws.com";
import { statementAllows } from "../lib/actions";
import { namedScenario, podIdentityAdmits, trustAdmitsSubject } from "../lib/trust";
import { allowStatements, asText, DocumentParseError, principalValues } from "../lib/documents";
import { isUnknownValueError, ROLE_TYPE } from "../lib/resources";
import { Finding, stackRule } from "../lib/rule";

const SERVICE_ACCOUNT_TYPES = new Set(["kubernetes:core/v1:ServiceAccount", "kubernetes:core/v1:ServiceAccountPatch"]);
const ASSOCIATION_TYPE = "aws:eks/podIdentityAssociation:PodIdentityAssociation";
const ROLE_ANNOTATION = IRSA_ROLE_ANNOTATION;

/** The stack's roles, found by ARN or by `role/PATH/NAME` without scanning them all for each reference. */
class RoleIndex {
    private readonly byArn = new Map<string, PolicyResource>();
    private readonly byPathAndName = new Map<string, PolicyResource>();

    constructor(roles: PolicyResource[]) {
        for (const role of roles) {
            const arn = safely(() => role.props.arn);
            const name = safely(() => role.props.name);
            const path = safely(() => role.props.path);
            if (typeof arn === "string" && !this.byArn.has(arn)) this.byArn.set(arn, role);
            const key = `${typeof path === "string" ? path : "/"}${name}`;
            if (typeof name === "string" && !this.byPathAndName.has(key)) this.byPathAndName.set(key, role);
        }
    }

    /** The role a reference points at: by dependency first, then by ARN, then by path and name. */
    roleFor(resource: PolicyResource, property: string, arn: unknown): PolicyResource | undefined {
        const viaDependency = new Set(
            [...(resource.propertyDependencies?.[property] ?? []), ...(resource.dependencies ?? [])].filter((r) => r.type === ROLE_TYPE),
        );
        if (viaDependency.size === 1) return [...viaDependency][0];
        if (typeof arn !== "string") return undefined;
        const role = this.byArn.get(arn);
        if (role) return role;
        const pathAndName = /:role(\/.*)$/.exec(arn)?.[1];
        return pathAndName === undefined ? undefined : this.byPathAndName.get(pathAndName);
    }
}

/** Reads a value, or undefined when it is unknown during preview or an unreadable document. */
function safely<T>(read: () => T): T | undefined {
    try {
        return read();
    } catch (error) {
        if (error instanceof DocumentParseError) return undefined;
        if (isUnknownValueError(error)) return undefined;
        throw error;
    }
}

/**
 * Checks that every ServiceAccount annotated with a role of the stack is trusted by that role, and every Pod
 * Identity association points at a role that trusts EKS Pod Identity with sts:TagSession.
 */
export const serviceAccountRoleTrustMatch = stackRule({
    name: "service-account-role-trust-match",
    description:
        "Checks that each ServiceAccount annotated with eks.amazonaws.com/role-arn is admitted by that role's trust (namespace " +
        "and name), and each Pod Identity association's role trusts pods.eks.amazonaws.com with sts:TagSession.",
    check: (resources) => {
        const roles = new RoleIndex(resources.filter((r) => r.type === ROLE_TYPE));
        const findings: (Finding & { resource: PolicyResource })[] = [];
        for (const resource of resources) {
            if (SERVICE_ACCOUNT_TYPES.has(resource.type)) {
                const metadata = safely(() => resource.props.metadata);
                const annotations = safely(() => metadata?.annotations);
                // The annotation may be unknown during preview (a role created in the same update): the
                // dependency still leads to the role.
                if (!annotations || typeof annotations !== "object" || !Object.keys(annotations).includes(ROLE_ANNOTATION)) continue;
                const arn = safely(() => annotations[ROLE_ANNOTATION]);
                const role = roles.roleFor(resource, "metadata", arn);
                const namespace = safely(() => metadata.namespace) ?? "default";
                const name = safely(() => metadata.name);
                const trust = role && safely(() => role.props.assumeRolePolicy);
                if (!role || typeof name !== "string" || typeof namespace !== "string" || trust === undefined) continue;
                const subject = `system:serviceaccount:${namespace}:${name}`;
                const verdict = safely(() => trustAdmitsSubject(trust, subject));
                if (!verdict) continue;
                const { admits, admitted } = verdict;
                const audience = safely(() => annotations[IRSA_AUDIENCE_ANNOTATION]) ?? STS_AUDIENCE;
                const pinnedAudiences = (safely(() => allowStatements(trust)) ?? [])
                    .filter((st) => principalValues(st.principal, "Federated").length > 0)
                    .flatMap((st) => st.conditions.filter((c) => /:aud$/i.test(c.key)).flatMap((c) => c.values));
                if (admits && typeof audience === "string" && pinnedAudiences.length > 0 && !pinnedAudiences.includes(audience)) {
                    findings.push({
                        resource,
                        level: "mandatory",
                        message:
                            `ServiceAccount ${namespace}/${name} ("${resource.name}") gives its pods tokens for audience "${audience}", but role "${role.name}"'s trust ` +
                            `pins :aud to ${JSON.stringify([...new Set(pinnedAudiences)])}: its pods would be refused. Make eks.amazonaws.com/audience and the trust's :aud agree (webIdentityToken.audience).`,
                    });
                }
                if (!admits) {
                    findings.push({
                        resource,
                        level: "mandatory",
                        message:
                            `ServiceAccount ${namespace}/${name} ("${resource.name}") is annotated with role "${role.name}", but the role's trust ` +
                            `does not admit ${subject} (it admits ${JSON.stringify(admitted)}). Its pods would fail with "Not authorized to ` +
                            `perform sts:AssumeRoleWithWebIdentity": fix the annotation, or add the service account to the role's trust.`,
                    });
                }
            } else if (resource.type === ASSOCIATION_TYPE) {
                const arn = safely(() => resource.props.roleArn);
                const role = roles.roleFor(resource, "roleArn", arn);
                const trust = role && safely(() => role.props.assumeRolePolicy);
                if (!role || trust === undefined) continue;
                const namespace = safely(() => resource.props.namespace);
                const serviceAccount = safely(() => resource.props.serviceAccount);
                const statements = (safely(() => allowStatements(trust)) ?? []).filter((s) =>
                    principalValues(s.principal, "Service").some((p) => p.toLowerCase() === POD_IDENTITY_PRINCIPAL),
                );
                const usable = statements.filter((s) => statementAllows(s, "sts:AssumeRole") && statementAllows(s, "sts:TagSession"));
                const where = `Pod Identity association ${asText(namespace)}/${asText(serviceAccount)} ("${resource.name}") uses role "${role.name}"`;
                if (usable.length === 0) {
                    findings.push({
                        resource,
                        level: "mandatory",
                        message: `${where}, whose trust does not allow pods.eks.amazonaws.com to sts:AssumeRole and sts:TagSession: EKS rejects the association. Trust the service principal with both actions.`,
                    });
                    continue;
                }
                // Asked of the whole trust: the association's own namespace, service account and cluster, as EKS tags the session.
                const clusterName = safely(() => resource.props.clusterName);
                const scenario = {
                    ...namedScenario(trust),
                    ...(typeof clusterName === "string" ? { cluster: clusterName } : {}),
                    namespace: asText(namespace),
                    serviceAccount: asText(serviceAccount),
                };
                const matches = (safely(() => podIdentityAdmits(trust, scenario)) ?? []).length > 0;
                if (!matches && typeof namespace === "string" && typeof serviceAccount === "string") {
                    findings.push({
                        resource,
                        level: "mandatory",
                        message:
                            `${where}, whose trust does not admit an association of cluster "${scenario.cluster}" for ${namespace}/${serviceAccount} (it pins other ` +
                            `clusters, namespaces or service accounts): its pods would be denied. Add them to the role's trust or associate a role that trusts them.`,
                    });
                }
            }
        }
        return findings;
    },
});
