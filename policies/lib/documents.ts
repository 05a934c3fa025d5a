/**
 * Reading IAM documents the way IAM does: JSON strings or objects, `Statement` as one object or a list,
 * `Action`, `NotAction`, `Resource` and condition values as one string or a list.
 */

/** A statement with every list-or-string field normalised to a list. */
export interface NormalizedStatement {
    /** `Sid`, or `#N` (1-based) when the statement has none. */
    label: string;
    effect: string;
    actions?: string[];
    notActions?: string[];
    /** `Resource`, or undefined when the statement has none. */
    resources?: string[];
    /** `NotResource`, or undefined when the statement has none. */
    notResources?: string[];
    principal: unknown;
    conditions: { operator: string; key: string; values: string[] }[];
    /** Why IAM would refuse the statement (empty when it is well formed); such a statement is never judged as a grant. */
    problems: string[];
    raw: Record<string, unknown>;
}

import { parseOperator } from "./operators";

/** Where a document is used: identity and resource policies need `Resource`, trust policies have none. */
export type DocumentKind = "identity" | "resource" | "trust";

/** Text of any JSON value; objects render as JSON (String() would throw on `{"toString": ""}`). */
export function asText(value: unknown): string {
    return typeof value === "string" ? value : (JSON.stringify(value) ?? "");
}

function asList(value: unknown): string[] {
    if (value === undefined || value === null) return [];
    return (Array.isArray(value) ? value : [value]).map(asText);
}

/** A policy document that is not JSON: IAM would reject it, and no rule can read it. */
export class DocumentParseError extends Error {
    constructor(readonly detail: string) {
        super(`is not valid JSON (${detail}): IAM rejects it; fix the document`);
        this.name = "DocumentParseError";
    }
}

/**
 * Parses a policy document. Returns undefined for an empty or absent document and throws
 * DocumentParseError for one that is not JSON.
 */
export function parseDocument(document: unknown): Record<string, unknown> | undefined {
    if (document === undefined || document === null || document === "") return undefined;
    if (typeof document === "string") {
        let parsed: unknown;
        try {
            parsed = JSON.parse(document);
        } catch (error) {
            throw new DocumentParseError((error as Error).message);
        }
        return parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : undefined;
    }
    if (typeof document === "object") return document as Record<string, unknown>;
    return undefined;
}

/** What IAM would refuse in a statement: the grammar's one-of pairs and required fields. */
function statementProblems(statement: Record<string, unknown>, kind: DocumentKind | undefined): string[] {
    const problems: string[] = [];
    const effect = statement.Effect;
    if (effect === undefined) problems.push("has no Effect");
    else if (effect !== "Allow" && effect !== "Deny")
        problems.push(
            `has Effect ${JSON.stringify(effect)}, not "Allow" or "Deny"` +
                (typeof effect === "string" && ["allow", "deny"].includes(effect.toLowerCase()) ? " (IAM compares Effect with case)" : ""),
        );
    if (statement.Action !== undefined && statement.NotAction !== undefined) problems.push("has both Action and NotAction");
    if (statement.Action === undefined && statement.NotAction === undefined) problems.push("has neither Action nor NotAction");
    if (statement.Resource !== undefined && statement.NotResource !== undefined) problems.push("has both Resource and NotResource");
    if (kind !== undefined && kind !== "trust" && statement.Resource === undefined && statement.NotResource === undefined) {
        problems.push("has neither Resource nor NotResource");
    }
    const principal = statement.Principal !== undefined || statement.NotPrincipal !== undefined;
    if (statement.Principal !== undefined && statement.NotPrincipal !== undefined) problems.push("has both Principal and NotPrincipal");
    if (kind === "identity" && principal) problems.push("has a Principal, which identity policies may not have (the principal is whoever holds the policy)");
    if ((kind === "resource" || kind === "trust") && !principal) problems.push("has no Principal");
    if (kind === "trust" && (statement.Resource !== undefined || statement.NotResource !== undefined))
        problems.push("has a Resource, which trust policies may not have");
    if (kind !== undefined && kind !== "trust") {
        const notArns = asList(statement.Resource ?? statement.NotResource).filter((r) => r !== "*" && !/^arn:[^:]*:[^:]*:[^:]*:[^:]*:./.test(r));
        if (notArns.length > 0)
            problems.push(`has ${statement.Resource !== undefined ? "Resource" : "NotResource"} ${JSON.stringify(notArns)}, neither an ARN nor "*"`);
    }
    const condition = statement.Condition;
    if (condition !== undefined) {
        if (!condition || typeof condition !== "object" || Array.isArray(condition)) problems.push(`has Condition ${JSON.stringify(condition)}, not an object`);
        else {
            const unknown = Object.keys(condition).filter((operator) => parseOperator(operator) === undefined);
            if (unknown.length > 0)
                problems.push(
                    `has condition operator${unknown.length > 1 ? "s" : ""} ${unknown.map((o) => JSON.stringify(o)).join(", ")} that IAM does not know`,
                );
        }
    }
    return problems;
}

/**
 * The statements of a parsed document, normalised. A statement that is not an object is kept with a problem
 * (it has nothing to judge); `kind` adds the rules that depend on where the document is used.
 */
export function statementsOf(document: Record<string, unknown> | undefined, kind?: DocumentKind): NormalizedStatement[] {
    if (!document) return [];
    const raw = document.Statement;
    const list = Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw];
    const statements: NormalizedStatement[] = [];
    list.forEach((entry, index) => {
        if (!entry || typeof entry !== "object" || Array.isArray(entry)) {
            statements.push({
                label: `#${index + 1}`,
                effect: "",
                resources: [],
                principal: undefined,
                conditions: [],
                problems: [`is ${JSON.stringify(entry)}, not an object`],
                raw: {},
            });
            return;
        }
        const statement = entry as Record<string, unknown>;
        const conditions: NormalizedStatement["conditions"] = [];
        const condition = statement.Condition;
        if (condition && typeof condition === "object" && !Array.isArray(condition)) {
            for (const [operator, block] of Object.entries(condition as Record<string, unknown>)) {
                if (!block || typeof block !== "object" || Array.isArray(block)) continue;
                for (const [key, values] of Object.entries(block as Record<string, unknown>)) {
                    conditions.push({ operator, key, values: asList(values) });
                }
            }
        }
        statements.push({
            label: typeof statement.Sid === "string" && statement.Sid !== "" ? statement.Sid : `#${index + 1}`,
            effect: asText(statement.Effect ?? ""),
            actions: statement.Action === undefined ? undefined : asList(statement.Action),
            notActions: statement.NotAction === undefined ? undefined : asList(statement.NotAction),
            resources: statement.Resource === undefined ? undefined : asList(statement.Resource),
            notResources: statement.NotResource === undefined ? undefined : asList(statement.NotResource),
            principal: statement.Principal,
            conditions,
            problems: statementProblems(statement, kind),
            raw: statement,
        });
    });
    return statements;
}

/** Well-formed statements that grant (Effect Allow, any case). Deny statements never count as grants. */
export function allowStatements(document: unknown, kind?: DocumentKind): NormalizedStatement[] {
    return statementsOf(parseDocument(document), kind).filter((s) => s.problems.length === 0 && s.effect.toLowerCase() === "allow");
}

/** The values a principal block names for a kind (`AWS`, `Federated`, `Service`), or `["*"]` for `"*"`. */
export function principalValues(principal: unknown, kind: string): string[] {
    if (principal === "*") return ["*"];
    if (!principal || typeof principal !== "object") return [];
    for (const [k, v] of Object.entries(principal as Record<string, unknown>)) {
        if (k.toLowerCase() === kind.toLowerCase()) return asList(v);
    }
    return [];
}

/** The condition entries whose key matches (case-insensitive, as IAM compares keys). */
export function conditionsOn(statement: NormalizedStatement, key: string): NormalizedStatement["conditions"] {
    return statement.conditions.filter((c) => c.key.toLowerCase() === key.toLowerCase());
}
