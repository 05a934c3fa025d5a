import { POD_IDENTITY_PRINCIPAL } from "../../components/constants";
import { statementAllows } from "../lib/actions";
import { allowStatements, NormalizedStatement, principalValues } from "../lib/documents";
import { trustDocument } from "../lib/resources";
import { Finding, gradedResourceRule, productionLevel } from "../lib/rule";
import { OUTSIDER_ACCOUNT, outsiderCallers, podIdentityAnswers } from "../lib/trust";

/** Condition keys that can limit who a `"*"` principal is (for messages). */
const LIMITING_KEYS = ["aws:PrincipalAccount", "aws:PrincipalOrgID", "aws:PrincipalArn", "aws:SourceAccount", "aws:SourceArn"];

const ASSUME_ACTIONS = ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML"];

function conditionsText(statement: NormalizedStatement): string {
    return statement.conditions.length === 0
        ? "no condition"
        : statement.conditions.map((c) => `${c.operator} ${c.key} ${JSON.stringify(c.values)}`).join(", ");
}

/**
 * Checks that trust policies let no caller of another account in through a `"*"` principal, and that Pod Identity
 * trust allows `sts:TagSession` and admits no association of another cluster or account (and, advisory, of another
 * namespace or service account). Each question is asked of the whole document by the evaluation core, with an
 * outsider that chooses every value it controls.
 */
export const trustPrincipalsPinned = gradedResourceRule({
    name: "trust-principals-pinned",
    description:
        'Checks that role trust policies name no "*" principal that lets a caller of another account in (whatever its conditions say), and that EKS ' +
        "Pod Identity trust allows sts:TagSession and admits no association of another cluster or another account.",
    check: (resource, context) => {
        const findings: Finding[] = [];
        const trust = trustDocument(resource);
        const at = `${resource.type} "${resource.name}" assumeRolePolicy`;
        const allows = allowStatements(trust, "trust");
        const anyone = allows.filter((s) => s.principal === "*" || principalValues(s.principal, "AWS").includes("*"));
        if (anyone.length > 0) {
            const actions = ASSUME_ACTIONS.filter((a) => anyone.some((s) => statementAllows(s, a)));
            // The core reads the document itself: statements are matched by label (Sid or position).
            const letIn = new Set(outsiderCallers(trust, actions).map((s) => s.label));
            for (const statement of anyone.filter((s) => letIn.has(s.label))) {
                findings.push({
                    level: "mandatory",
                    message:
                        `${at} statement ${statement.label}: Principal "*" lets a caller of another account (${OUTSIDER_ACCOUNT}) assume the role ` +
                        `(${statement.conditions.length === 0 ? "it has no condition" : `its conditions ${conditionsText(statement)} let such a caller in`}). Name the principal, or confine it with StringEquals on ` +
                        `${LIMITING_KEYS.join(", ")} or sts:ExternalId, without wildcards that an outsider's values fit.`,
                });
            }
        }
        const pods = allows.filter((s) => principalValues(s.principal, "Service").some((p) => p.toLowerCase() === POD_IDENTITY_PRINCIPAL));
        for (const statement of pods) {
            if (!statementAllows(statement, "sts:TagSession")) {
                findings.push({
                    level: "mandatory",
                    message: `${at} statement ${statement.label}: trusts pods.eks.amazonaws.com without sts:TagSession; EKS Pod Identity passes session tags, so the association cannot use the role. Allow ["sts:AssumeRole", "sts:TagSession"].`,
                });
            }
        }
        if (pods.length === 0) return findings;
        const answers = podIdentityAnswers(
            trust,
            pods.some((s) => statementAllows(s, "sts:TagSession")),
        );
        const { named } = answers;
        const missing: string[] = [];
        const through = new Set<NormalizedStatement>();
        if (answers.otherCluster.length > 0) {
            missing.push(
                `the cluster (an association of another cluster in account ${named.account} gets in; pin aws:RequestTag/eks-cluster-name or eks-cluster-arn)`,
            );
            answers.otherCluster.forEach((s) => through.add(s));
        }
        if (answers.otherAccount.length > 0) {
            missing.push(`the account (a cluster named "${named.cluster}" in account ${OUTSIDER_ACCOUNT} gets in; pin aws:SourceAccount)`);
            answers.otherAccount.forEach((s) => through.add(s));
        }
        if (missing.length > 0) {
            findings.push({
                level: productionLevel(context),
                message:
                    `${at} statement${through.size > 1 ? "s" : ""} ${[...through].map((s) => s.label).join(", ")}: Pod Identity trust does not pin ${missing.join(" or ")}, ` +
                    `so anyone who can create a Pod Identity association there can use the role. Add StringEquals conditions for them, as the EKS user guide shows.`,
            });
        }
        if (answers.otherSubject.length > 0) {
            findings.push({
                level: "advisory",
                message: `${at} statement${answers.otherSubject.length > 1 ? "s" : ""} ${answers.otherSubject.map((s) => s.label).join(", ")}: Pod Identity trust does not pin aws:RequestTag/kubernetes-namespace and aws:RequestTag/kubernetes-service-account; any association in the cluster can use the role (expected only for a shared ABAC role).`,
            });
        }
        return findings;
    },
});
