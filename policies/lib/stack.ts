import { wildcardMatches } from "./actions";
/**
 * Which stack a resource belongs to, and whether that stack is production.
 */

/** The stack named in a URN (`urn:pulumi:STACK::PROJECT::TYPE::NAME`), or undefined. */
export function stackFromUrn(urn: string | undefined): string | undefined {
    const match = /^urn:pulumi:([^:]+)::/.exec(urn ?? "");
    return match ? match[1] : undefined;
}

const PRODUCTION_TOKENS = new Set(["prod", "production"]);

/** `*` (any run) and `?` (one character) globs over whole names, case-insensitive. */
export function globMatches(pattern: string, value: string): boolean {
    return wildcardMatches(pattern, value, false);
}

/**
 * Why a stack is production, or undefined when it is not: a `prod` or `production` token in its name (tokens are
 * separated by `-`, `_` and `.`, so `product-x` is not production), its `environment` stack tag being `prod` or
 * `production`, or a configured pattern matching its name.
 */
export function productionReason(
    stack: string | undefined,
    stackTags: ReadonlyMap<string, string> | undefined,
    extraPatterns: readonly string[] = [],
): string | undefined {
    const environment = stackTags?.get("environment")?.trim().toLowerCase();
    if (environment !== undefined && PRODUCTION_TOKENS.has(environment)) {
        return `stack tag environment=${stackTags!.get("environment")}`;
    }
    if (stack === undefined) {
        return undefined;
    }
    // Per-tenant stacks are named ENV.NAMESPACE: the environment is the part before the first dot, but a
    // token anywhere counts, as the contract says.
    const token = stack
        .toLowerCase()
        .split(/[-_.]/)
        .find((t) => PRODUCTION_TOKENS.has(t));
    if (token !== undefined) return `name token "${token}"`;
    const pattern = extraPatterns.find((p) => globMatches(p, stack));
    return pattern === undefined ? undefined : `productionStacks pattern "${pattern}"`;
}

/** Is the stack production (see productionReason)? */
export function isProductionStack(
    stack: string | undefined,
    stackTags: ReadonlyMap<string, string> | undefined,
    extraPatterns: readonly string[] = [],
): boolean {
    return productionReason(stack, stackTags, extraPatterns) !== undefined;
}
