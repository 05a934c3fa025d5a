/**
 * Reading trust policies: which web-identity subjects they admit, the way IAM compares `:sub`.
 */
import { statementAllows, wildcardMatches } from "./actions";
import { allowStatements, parseDocument, principalValues, statementsOf } from "./documents";

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

/** A request to assume a role: who asks, for which actions, with which request context. */
export interface AssumeRequest {
    /** Principal kind (`AWS`, `Service`, `Federated`) and value (a role ARN, `pods.eks.amazonaws.com`, a provider ARN). */
    principal: { kind: string; value: string };
    /** Every action the caller needs (EKS Pod Identity needs both sts:AssumeRole and sts:TagSession). */
    actions: string[];
    /** Condition keys and their values (`aws:SourceAccount`, `aws:RequestTag/kubernetes-namespace`, ...). */
    context: Record<string, string>;
}

const CONDITION_OPERATORS: Record<string, (pattern: string, value: string) => boolean> = {
    stringequals: (p, v) => p === v,
    stringequalsignorecase: (p, v) => p.toLowerCase() === v.toLowerCase(),
    stringlike: (p, v) => wildcardMatches(p, v, true),
    arnequals: (p, v) => p === v,
    arnlike: (p, v) => wildcardMatches(p, v, true),
};

/** Does one condition entry hold for the context? Unknown operators never hold (the check stays strict). */
function conditionHolds(condition: { operator: string; key: string; values: string[] }, context: Record<string, string>): boolean {
    const ifExists = /IfExists$/i.test(condition.operator);
    const compare = CONDITION_OPERATORS[condition.operator.replace(/IfExists$/i, "").toLowerCase()];
    if (!compare) return false;
    const key = Object.keys(context).find((k) => k.toLowerCase() === condition.key.toLowerCase());
    if (key === undefined) return ifExists;
    return condition.values.some((pattern) => compare(pattern, context[key]));
}

function principalMatches(statement: { principal: unknown }, principal: AssumeRequest["principal"]): boolean {
    const values = principalValues(statement.principal, principal.kind);
    if (values.includes("*")) return true;
    if (values.includes(principal.value)) return true;
    if (principal.kind.toUpperCase() === "AWS") {
        // An account (its id or its root ARN) as principal admits every role of that account.
        const account = principal.value.split(":")[4];
        return values.some((v) => v === account || new RegExp(`^arn:[^:]+:iam::${account}:root$`).test(v));
    }
    return false;
}

/**
 * Would the trust policy let the request assume the role? Each action must be allowed by a statement whose
 * principal and conditions match, and not denied by one. This covers the condition operators trust policies
 * for EKS use (String*, Arn*, their IfExists forms); any other operator never holds, so a check built on this
 * errs towards "not admitted".
 */
export function trustAdmitsRequest(trust: unknown, request: AssumeRequest): boolean {
    const statements = statementsOf(parseDocument(trust));
    const applies = (s: (typeof statements)[number], action: string) =>
        principalMatches(s, request.principal) && statementAllows(s, action) && s.conditions.every((c) => conditionHolds(c, request.context));
    return request.actions.every(
        (action) =>
            statements.some((s) => s.effect.toLowerCase() === "allow" && applies(s, action)) &&
            !statements.some((s) => s.effect.toLowerCase() === "deny" && applies(s, action)),
    );
}
