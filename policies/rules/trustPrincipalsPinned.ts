import { POD_IDENTITY_PRINCIPAL } from "../../components/constants";
import { statementAllows } from "../lib/actions";
import { allowStatements, conditionsOn, NormalizedStatement, principalValues } from "../lib/documents";
import { trustDocument } from "../lib/resources";
import { Finding, gradedResourceRule, productionLevel } from "../lib/rule";

/** Condition keys that limit who a `"*"` principal can be. */
const LIMITING_KEYS = [
    "aws:PrincipalAccount",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalArn",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOrgID",
    "aws:userid",
    "sts:ExternalId",
];

/** Is the key conditioned to something other than `*`? */
function pinned(statement: NormalizedStatement, ...keys: string[]): boolean {
    return keys.some((key) => conditionsOn(statement, key).some((c) => c.values.length > 0 && c.values.every((v) => v !== "*" && v !== "")));
}

/**
 * Checks that trust policies have no unconditioned `"*"` principal, and that Pod Identity trust allows
 * `sts:TagSession` and pins the cluster and the account (and, advisory, the namespace and service account).
 */
export const trustPrincipalsPinned = gradedResourceRule({
    name: "trust-principals-pinned",
    description:
        'Checks that role trust policies name no "*" principal without a limiting condition, and that EKS Pod Identity trust ' +
        "allows sts:TagSession and pins the cluster (eks-cluster-name or eks-cluster-arn) and aws:SourceAccount.",
    check: (resource, context) => {
        const findings: Finding[] = [];
        const at = `${resource.type} "${resource.name}" assumeRolePolicy`;
        for (const statement of allowStatements(trustDocument(resource), "trust")) {
            const where = `${at} statement ${statement.label}`;
            const wildcard = statement.principal === "*" || principalValues(statement.principal, "AWS").includes("*");
            if (wildcard && !pinned(statement, ...LIMITING_KEYS)) {
                findings.push({
                    level: "mandatory",
                    message: `${where}: Principal "*" with no limiting condition lets any AWS account assume the role. Name the principal, or add a condition on ${LIMITING_KEYS.slice(0, 5).join(", ")} or sts:ExternalId.`,
                });
            }
            if (!principalValues(statement.principal, "Service").some((s) => s.toLowerCase() === POD_IDENTITY_PRINCIPAL)) continue;
            if (!statementAllows(statement, "sts:TagSession")) {
                findings.push({
                    level: "mandatory",
                    message: `${where}: trusts pods.eks.amazonaws.com without sts:TagSession; EKS Pod Identity passes session tags, so the association cannot use the role. Allow ["sts:AssumeRole", "sts:TagSession"].`,
                });
            }
            const missing: string[] = [];
            if (
                !pinned(
                    statement,
                    "aws:RequestTag/eks-cluster-name",
                    "aws:RequestTag/eks-cluster-arn",
                    "aws:PrincipalTag/eks-cluster-name",
                    "aws:PrincipalTag/eks-cluster-arn",
                )
            ) {
                missing.push("the cluster (aws:RequestTag/eks-cluster-name or aws:RequestTag/eks-cluster-arn)");
            }
            if (!pinned(statement, "aws:SourceAccount", "aws:SourceArn")) {
                missing.push("the account (aws:SourceAccount)");
            }
            if (missing.length > 0) {
                findings.push({
                    level: productionLevel(context),
                    message: `${where}: Pod Identity trust does not pin ${missing.join(" or ")}, so anyone who can create a Pod Identity association in the account can use the role. Add StringEquals conditions for them, as the EKS user guide shows.`,
                });
            }
            if (!pinned(statement, "aws:RequestTag/kubernetes-namespace") || !pinned(statement, "aws:RequestTag/kubernetes-service-account")) {
                findings.push({
                    level: "advisory",
                    message: `${where}: Pod Identity trust does not pin aws:RequestTag/kubernetes-namespace and aws:RequestTag/kubernetes-service-account; any association in the cluster can use the role (expected only for a shared ABAC role).`,
                });
            }
        }
        return findings;
    },
});
