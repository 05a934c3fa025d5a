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
 * A stack is production when its name has a `prod` or `production` token (tokens are separated by `-`, `_`
 * and `.`, so `product-x` is not production), its `environment` stack tag is `prod` or `production`, or
 * a configured pattern matches its name.
 */
export function isProductionStack(
    stack: string | undefined,
    stackTags: ReadonlyMap<string, string> | undefined,
    extraPatterns: readonly string[] = [],
): boolean {
    const environment = stackTags?.get("environment")?.trim().toLowerCase();
    if (environment !== undefined && PRODUCTION_TOKENS.has(environment)) {
        return true;
    }
    if (stack === undefined) {
        return false;
    }
    // Per-tenant stacks are named ENV.NAMESPACE: the environment is the part before the first dot, but a
    // token anywhere counts, as the contract says.
    if (
        stack
            .toLowerCase()
            .split(/[-_.]/)
            .some((token) => PRODUCTION_TOKENS.has(token))
    ) {
        return true;
    }
    return extraPatterns.some((pattern) => globMatches(pattern, stack));
}
