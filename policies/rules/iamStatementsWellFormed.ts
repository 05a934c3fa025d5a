import { DocumentKind, DocumentParseError } from "../lib/documents";
import { analyseDocument } from "../lib/grants";
import { permissionDocuments, trustDocument } from "../lib/resources";
import { Finding, mandatoryResourceRule } from "../lib/rule";

/**
 * Reports statements IAM would refuse (no Effect, both Action and NotAction, no Resource in an identity policy,
 * a Principal in one, a Resource in a trust policy, ...), naming the document and the statement. The other rules
 * never judge such a statement as a grant or a Deny.
 */
export const iamStatementsWellFormed = mandatoryResourceRule({
    name: "iam-statements-well-formed",
    description:
        "Checks that every statement of IAM, bucket and trust policies is one IAM accepts: Effect Allow or Deny, exactly one of " +
        "Action / NotAction, exactly one of Resource / NotResource where the policy kind needs it, a Principal only where it belongs.",
    check: async (resource) => {
        const documents: { where: string; document: unknown; kind: DocumentKind }[] = [...permissionDocuments(resource)];
        const trust = trustDocument(resource);
        if (trust !== undefined) documents.push({ where: "assumeRolePolicy", document: trust, kind: "trust" });
        const findings: Finding[] = [];
        for (const { where, document, kind } of documents) {
            let malformed;
            try {
                malformed = (await analyseDocument(document, kind)).malformed;
            } catch (error) {
                if (error instanceof DocumentParseError) continue; // every rule that reads the document reports it
                throw error;
            }
            for (const statement of malformed) {
                findings.push({
                    level: "mandatory",
                    message:
                        `${resource.type} "${resource.name}" ${where}: statement ${statement.label} ${statement.problems.join(", ")}. ` +
                        `IAM refuses the document (MalformedPolicyDocument), so the deployment would fail; no other rule judges this statement.`,
                });
            }
        }
        return findings;
    },
});
