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
    resources: string[];
    principal: unknown;
    conditions: { operator: string; key: string; values: string[] }[];
    raw: Record<string, unknown>;
}

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

/** The statements of a parsed document, normalised. Non-object statements are skipped. */
export function statementsOf(document: Record<string, unknown> | undefined): NormalizedStatement[] {
    if (!document) return [];
    const raw = document.Statement;
    const list = Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw];
    const statements: NormalizedStatement[] = [];
    list.forEach((entry, index) => {
        if (!entry || typeof entry !== "object" || Array.isArray(entry)) return;
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
            resources: asList(statement.Resource ?? statement.NotResource),
            principal: statement.Principal,
            conditions,
            raw: statement,
        });
    });
    return statements;
}

/** Statements that grant (Effect Allow, any case). Deny statements never count as grants. */
export function allowStatements(document: unknown): NormalizedStatement[] {
    return statementsOf(parseDocument(document)).filter((s) => s.effect.toLowerCase() === "allow");
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
