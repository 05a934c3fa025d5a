/**
 * Reading trust policies: which web-identity subjects they admit, the way IAM compares `:sub`.
 */
import { statementAllows, wildcardMatches } from "./actions";
import { allowStatements, principalValues } from "./documents";

/** Does some web-identity statement of the trust admit the subject (as IAM would compare `:sub`)? */
export function trustAdmitsSubject(trust: unknown, subject: string): { admits: boolean; admitted: string[] } {
    const admitted: string[] = [];
    for (const statement of allowStatements(trust)) {
        if (principalValues(statement.principal, "Federated").length === 0 || !statementAllows(statement, "sts:AssumeRoleWithWebIdentity")) continue;
        const subs = statement.conditions.filter((c) => /:sub$/i.test(c.key));
        if (subs.length === 0) return { admits: true, admitted: ["*"] };
        for (const sub of subs) {
            admitted.push(...sub.values);
            const like = /StringLike$/i.test(sub.operator);
            if (sub.values.some((value) => (like ? wildcardMatches(value, subject, true) : value === subject))) {
                return { admits: true, admitted };
            }
        }
    }
    return { admits: false, admitted };
}
