/**
 * Comparing IAM resource patterns without enumerating resources: can a statement's `Resource` pattern name a
 * resource of a given type (its ARN format from the IAM catalog), and does one pattern cover another (a Deny's
 * `Resource` over an Allow's)?
 *
 * Patterns are IAM's wildcards (`*` any run, `?` one character), compared case-sensitively as IAM compares
 * ARNs. An ARN format's `${Placeholder}` stands for one or more characters without `/` or `:` (a bucket, an
 * account, a region), except `${ObjectName}`, which may hold anything (object keys have slashes).
 */

/** One position of a pattern: a literal character, exactly one character of a class, or a run of them. */
type Token = { kind: "char"; c: string } | { kind: "one"; cls: CharClass } | { kind: "star"; cls: CharClass };
/** `any`: every character; `name`: every character but `/` and `:`. */
type CharClass = "any" | "name";

function classAccepts(cls: CharClass, c: string): boolean {
    return cls === "any" || (c !== "/" && c !== ":");
}

/** Tokens of a statement's pattern (`*`, `?`). */
export function patternTokens(pattern: string): Token[] {
    return [...pattern].map((c): Token => (c === "*" ? { kind: "star", cls: "any" } : c === "?" ? { kind: "one", cls: "any" } : { kind: "char", c }));
}

/** Tokens of a catalog ARN format (`arn:${Partition}:s3:::${BucketName}/${ObjectName}`). */
export function arnFormatTokens(format: string): Token[] {
    const tokens: Token[] = [];
    for (const part of format.split(/(\$\{[^}]+\})/)) {
        const placeholder = /^\$\{([^}]+)\}$/.exec(part);
        if (placeholder) {
            const cls: CharClass = placeholder[1] === "ObjectName" ? "any" : "name";
            tokens.push({ kind: "one", cls }, { kind: "star", cls });
        } else {
            for (const c of part) tokens.push({ kind: "char", c });
        }
    }
    return tokens;
}

/** Is there a string both token lists match? A breadth-first walk over pairs of positions. */
export function tokensIntersect(a: Token[], b: Token[]): boolean {
    const seen = new Set<number>();
    const width = b.length + 1;
    const stack: [number, number][] = [[0, 0]];
    while (stack.length > 0) {
        const [i, j] = stack.pop()!;
        const key = i * width + j;
        if (seen.has(key)) continue;
        seen.add(key);
        if (i === a.length && j === b.length) return true;
        const x = a[i];
        const y = b[j];
        // A run may match nothing.
        if (x?.kind === "star") stack.push([i + 1, j]);
        if (y?.kind === "star") stack.push([i, j + 1]);
        if (x === undefined || y === undefined) continue;
        // Both consume one character: is there one both accept?
        let shared: boolean;
        if (x.kind === "char" && y.kind === "char") shared = x.c === y.c;
        else if (x.kind === "char") shared = classAccepts((y as { cls: CharClass }).cls, x.c);
        else if (y.kind === "char") shared = classAccepts(x.cls, y.c);
        else shared = true; // every class accepts a letter
        if (shared) stack.push([x.kind === "star" ? i : i + 1, y.kind === "star" ? j : j + 1]);
    }
    return false;
}

/**
 * Does every string `inner` matches also match `outer`? Sound, not complete: `true` is always right, and
 * the patterns IAM documents are written with (literal ARNs, trailing `*`, `?`) are decided exactly.
 */
export function patternCovers(outer: string, inner: string): boolean {
    if (outer === "*" || outer === inner) return true;
    const o = patternTokens(outer);
    const n = patternTokens(inner);
    const memo = new Map<number, boolean>();
    const width = n.length + 1;
    const covers = (i: number, j: number): boolean => {
        const key = i * width + j;
        const known = memo.get(key);
        if (known !== undefined) return known;
        let result: boolean;
        const x = o[i];
        const y = n[j];
        if (x === undefined) result = y === undefined;
        else if (x.kind === "star") result = covers(i + 1, j) || (y !== undefined && covers(i, j + 1));
        else if (y === undefined) result = false;
        else if (x.kind === "one") result = y.kind !== "star" && covers(i + 1, j + 1);
        else result = y.kind === "char" && y.c === x.c && covers(i + 1, j + 1);
        memo.set(key, result);
        return result;
    };
    return covers(0, 0);
}
