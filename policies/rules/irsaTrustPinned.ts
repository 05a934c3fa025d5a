import { isServiceAccountSubject } from "../../components/names";
import { allowStatements, principalValues } from "../lib/documents";
import { trustDocument } from "../lib/resources";
import { Finding, gradedResourceRule, productionLevel } from "../lib/rule";

const EKS_OIDC_PROVIDER = /:oidc-provider\/(oidc\.eks\.[^/]+\.amazonaws\.com(?:\.cn)?\/id\/[^/]+)$/i;
const ANY_EKS_ISSUER_KEY = /^(oidc\.eks\.[^/]+\.amazonaws\.com(?:\.cn)?\/id\/[^:]+):(sub|aud|amr)$/i;

/**
 * Checks that role trust statements for an EKS OIDC provider pin `:sub` with StringEquals to exact service
 * accounts and `:aud` to STS, with condition keys of the provider the statement trusts.
 */
export const irsaTrustPinned = gradedResourceRule({
    name: "irsa-trust-pinned",
    description:
        "Checks that IRSA trust policies pin <issuer>:sub with StringEquals to exact system:serviceaccount:NS:NAME values " +
        "and <issuer>:aud to sts.amazonaws.com, using the condition keys of the OIDC provider in Principal.",
    check: (resource, context) => {
        const findings: Finding[] = [];
        const at = `${resource.type} "${resource.name}" assumeRolePolicy`;
        for (const statement of allowStatements(trustDocument(resource), "trust")) {
            for (const provider of principalValues(statement.principal, "Federated")) {
                const match = EKS_OIDC_PROVIDER.exec(provider);
                if (!match) continue;
                const issuer = match[1].toLowerCase();
                const where = `${at} statement ${statement.label} (trusts ${provider})`;
                const keyOf = (c: { key: string }) => ANY_EKS_ISSUER_KEY.exec(c.key);
                for (const condition of statement.conditions) {
                    const key = keyOf(condition);
                    if (key && key[1].toLowerCase() !== issuer) {
                        findings.push({
                            level: "mandatory",
                            message: `${where}: condition key ${condition.key} belongs to another OIDC provider: use ${match[1]}:${key[2]}, the keys of the provider in Principal.`,
                        });
                    }
                }
                const subs = statement.conditions.filter((c) => keyOf(c)?.[1].toLowerCase() === issuer && keyOf(c)?.[2].toLowerCase() === "sub");
                const auds = statement.conditions.filter((c) => keyOf(c)?.[1].toLowerCase() === issuer && keyOf(c)?.[2].toLowerCase() === "aud");
                if (subs.length === 0) {
                    findings.push({
                        level: "mandatory",
                        message: `${where}: ${match[1]}:sub is not pinned, so every service account of the cluster can assume the role. Add StringEquals ${match[1]}:sub = system:serviceaccount:NAMESPACE:NAME.`,
                    });
                }
                for (const sub of subs) {
                    const wildcards = sub.values.filter((v) => /[*?]/.test(v));
                    const likeOperator = /StringLike$/i.test(sub.operator);
                    if (wildcards.length > 0 && likeOperator) {
                        findings.push({
                            level: productionLevel(context),
                            message: `${where}: ${sub.key} uses ${sub.operator} with ${JSON.stringify(wildcards)}, which admits any matching service account. Pin exact system:serviceaccount:NAMESPACE:NAME values with StringEquals.`,
                        });
                    } else if (!/^StringEquals$/i.test(sub.operator)) {
                        findings.push({
                            level: "advisory",
                            message: `${where}: ${sub.key} uses ${sub.operator}; use StringEquals with exact values.`,
                        });
                    }
                    const malformed = sub.values.filter((v) => !/[*?]/.test(v) && !isServiceAccountSubject(v));
                    if (malformed.length > 0) {
                        findings.push({
                            level: "mandatory",
                            message: `${where}: ${sub.key} values ${JSON.stringify(malformed)} are not system:serviceaccount:NAMESPACE:NAME subjects, so no pod can match them.`,
                        });
                    }
                }
                const audOk = auds.some((c) => /^StringEquals$/i.test(c.operator) && c.values.length > 0 && c.values.every((v) => v === "sts.amazonaws.com"));
                if (!audOk) {
                    findings.push({
                        level: "mandatory",
                        message: `${where}: ${match[1]}:aud must be pinned with StringEquals to sts.amazonaws.com, so tokens minted for other audiences cannot assume the role.`,
                    });
                }
            }
        }
        return findings;
    },
});
