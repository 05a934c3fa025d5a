/**
 * The pack's IAM evaluation core: does a document allow one concrete request, the way IAM decides it?
 *
 * Conditions are evaluated by their operator (String*, Numeric*, Date*, Bool, BinaryEquals, IpAddress, Arn*, Null),
 * with `...IfExists`, the negated operators (which hold when the key is absent), the set operators `ForAnyValue:` and
 * `ForAllValues:` (which hold vacuously on an absent key), IAM's case rules (keys and operators without case, values
 * with it except `...IgnoreCase`) and policy variables (`${aws:username}`, `${key, 'default'}`, `${*}`), in documents
 * of Version 2012-10-17. Over a document, an explicit Deny wins, then an Allow, else the request is implicitly denied.
 *
 * Rules ask it concrete questions (would a token of another service account get in? a session of another account?)
 * instead of reading keys and values. It knows nothing of the pack's reporting, so other commands can use it.
 */
import { actionPatternMatches } from "./actions";
import { NormalizedStatement, parseDocument, principalValues, statementsOf, DocumentKind } from "./documents";
import { conditionHolds, likeMatches, lowerKeys, RequestValue, resolve } from "./operators";

export { conditionHolds, parseOperator } from "./operators";
export type { ContextValue } from "./operators";
import type { ContextValue } from "./operators";

/** Who makes a request, for resource and trust policies: `AWS` (an ARN; `account` its account), `Service` or `Federated`. */
export interface RequestPrincipal {
    kind: "AWS" | "Service" | "Federated";
    value: string;
    /** The account of an AWS principal (taken from its ARN when absent). */
    account?: string;
}

export interface EvaluationRequest {
    action: string;
    /** The resource ARN; undefined for a trust policy (its resource is the role itself). */
    resource?: string;
    /** The caller; needed for resource and trust policies, ignored for identity policies. */
    principal?: RequestPrincipal;
    /** Condition keys (any case) and their values; a list for multivalued keys. */
    context: Readonly<Record<string, ContextValue>>;
}

export type Decision = "Allow" | "ExplicitDeny" | "ImplicitDeny";

export interface Evaluation {
    decision: Decision;
    /** The statements that allow the request (whatever the decision). */
    allowedBy: NormalizedStatement[];
    deniedBy: NormalizedStatement[];
}

function actionMatches(statement: NormalizedStatement, action: string): boolean {
    if (statement.actions !== undefined) return statement.actions.some((p) => actionPatternMatches(p, action));
    if (statement.notActions !== undefined) return !statement.notActions.some((p) => actionPatternMatches(p, action));
    return false;
}

function resourceMatches(statement: NormalizedStatement, resource: string | undefined, context: Map<string, RequestValue>, variables: boolean): boolean {
    if (resource === undefined) return true;
    const patterns = statement.resources ?? statement.notResources;
    if (patterns === undefined) return true;
    // A pattern with a variable the request has no value for names nothing in Resource, and keeps a NotResource
    // statement from applying at all (either way the statement grants or denies less, never more).
    const resolved = patterns.map((pattern) => (pattern === "*" ? [{ text: "*", literal: false }] : resolve(pattern, context, variables)));
    if (statement.resources === undefined && resolved.some((r) => r === undefined)) return false;
    const named = resolved.some((segments) => segments !== undefined && likeMatches(segments, resource));
    return statement.resources !== undefined ? named : !named;
}

/** The account of an AWS principal ARN (`arn:aws:iam::ACCOUNT:...`, `arn:aws:sts::ACCOUNT:...`). */
function accountOf(principal: RequestPrincipal): string | undefined {
    return principal.account ?? principal.value.split(":")[4];
}

/** Does one Principal value name the caller? An account (id or root ARN) names every principal of it. */
function principalNames(value: string, principal: RequestPrincipal): boolean {
    if (value === "*") return true;
    if (principal.kind !== "AWS") return principal.kind === "Service" ? value.toLowerCase() === principal.value.toLowerCase() : value === principal.value;
    if (value === principal.value) return true;
    const account = accountOf(principal);
    return account !== undefined && (value === account || new RegExp(`^arn:[^:]+:iam::${account}:root$`).test(value));
}

function principalMatches(statement: NormalizedStatement, principal: RequestPrincipal | undefined): boolean {
    if (!principal) return false;
    const raw = statement.raw;
    const named = (block: unknown) => {
        if (block === "*") return true;
        // `{"AWS": "*"}` is every principal, as `"*"` is.
        if (principalValues(block, "AWS").includes("*")) return true;
        return principalValues(block, principal.kind).some((v) => principalNames(v, principal));
    };
    if (raw.Principal !== undefined) return named(raw.Principal);
    if (raw.NotPrincipal !== undefined) return !named(raw.NotPrincipal);
    return false;
}

/** Does a well-formed statement apply to the request (action, resource, principal where the kind has one, conditions)? */
export function statementApplies(
    statement: NormalizedStatement,
    request: EvaluationRequest,
    kind: DocumentKind,
    context: Map<string, RequestValue> = lowerKeys(request.context),
    variables = true,
): boolean {
    if (statement.problems.length > 0) return false;
    if (!actionMatches(statement, request.action)) return false;
    if (kind !== "trust" && !resourceMatches(statement, request.resource, context, variables)) return false;
    if (kind !== "identity" && !principalMatches(statement, request.principal)) return false;
    return statement.conditions.every((c) => conditionHolds(c, context, variables));
}

/** What a document decides for the request. Statements IAM would refuse never apply. */
export function evaluateDocument(document: unknown, kind: DocumentKind, request: EvaluationRequest): Evaluation {
    const parsed = parseDocument(document);
    // Policy variables exist only in documents of Version 2012-10-17; elsewhere `${...}` is literal text.
    const variables = parsed?.Version === "2012-10-17";
    return evaluateStatements(statementsOf(parsed, kind), kind, request, variables);
}

export function evaluateStatements(statements: NormalizedStatement[], kind: DocumentKind, request: EvaluationRequest, variables = true): Evaluation {
    const context = lowerKeys(request.context);
    const allowedBy: NormalizedStatement[] = [];
    const deniedBy: NormalizedStatement[] = [];
    for (const statement of statements) {
        if (!statementApplies(statement, request, kind, context, variables)) continue;
        if (statement.effect === "Deny") deniedBy.push(statement);
        else if (statement.effect === "Allow") allowedBy.push(statement);
    }
    const decision: Decision = deniedBy.length > 0 ? "ExplicitDeny" : allowedBy.length > 0 ? "Allow" : "ImplicitDeny";
    return { decision, allowedBy, deniedBy };
}
