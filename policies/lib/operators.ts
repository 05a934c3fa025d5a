/**
 * IAM's condition operators, one request at a time: String*, Numeric*, Date*, Bool, BinaryEquals, IpAddress, Arn* and
 * Null, with `...IfExists`, negation (a negated operator holds when the key is absent), the set operators
 * `ForAnyValue:` and `ForAllValues:` (which hold vacuously on an absent key), IAM's case rules (keys and operators
 * without case, values with it except `...IgnoreCase`) and policy variables (`${aws:username}`, `${key, 'default'}`,
 * `${*}`).
 */
import { BlockList, isIP } from "net";
import { RecentCache } from "./actions";

export type ContextValue = string | readonly string[];

/** A request value: its values, and whether the key is multivalued (a list in the request, even of one). */
export interface RequestValue {
    values: readonly string[];
    multi: boolean;
}

/** A context as a lower-cased key map (IAM compares condition keys without case). */
export function lowerKeys(context: Readonly<Record<string, ContextValue>>): Map<string, RequestValue> {
    const map = new Map<string, RequestValue>();
    for (const [key, value] of Object.entries(context)) {
        map.set(key.toLowerCase(), typeof value === "string" ? { values: [value], multi: false } : { values: value, multi: true });
    }
    return map;
}

const VARIABLE = /\$\{([^}]*)\}/g;

/**
 * A policy value with its variables resolved into text segments: `literal` segments are compared as they are,
 * `pattern` segments keep `*` and `?` as wildcards. Undefined when a variable has no value and no default (IAM
 * then matches nothing with it).
 */
export type Segment = { text: string; literal: boolean };
export function resolve(value: string, context: Map<string, RequestValue>, variables: boolean): Segment[] | undefined {
    if (!variables || !value.includes("${")) return [{ text: value, literal: false }];
    const segments: Segment[] = [];
    let last = 0;
    for (const match of value.matchAll(VARIABLE)) {
        segments.push({ text: value.slice(last, match.index), literal: false });
        last = match.index! + match[0].length;
        const body = match[1].trim();
        if (body === "*" || body === "?" || body === "$") {
            segments.push({ text: body, literal: true });
            continue;
        }
        const withDefault = /^([^,]+),\s*'([^']*)'$/.exec(body);
        const key = (withDefault ? withDefault[1] : body).trim().toLowerCase();
        const found = context.get(key);
        if (found !== undefined && !found.multi) segments.push({ text: found.values[0], literal: true });
        else if (withDefault) segments.push({ text: withDefault[2], literal: true });
        else return undefined;
    }
    segments.push({ text: value.slice(last), literal: false });
    return segments;
}

function plain(segments: Segment[]): string {
    return segments.length === 1 ? segments[0].text : segments.map((s) => s.text).join("");
}

const regexCache = new RecentCache<string, RegExp>(25_000);
/** `*` any run, `?` one character, in the pattern segments; `stopAt` keeps wildcards within an ARN component. */
function likeRegex(segments: Segment[], caseSensitive: boolean): RegExp {
    // A pattern without variables (the common case) is keyed by its text; one with resolved variables by its segments.
    const key =
        segments.length === 1 && !segments[0].literal
            ? `${caseSensitive ? "s" : "i"}p${segments[0].text}`
            : `${caseSensitive ? "s" : "i"}${JSON.stringify(segments)}`;
    let regex = regexCache.get(key);
    if (!regex) {
        const source = segments
            .map((s) =>
                s.literal
                    ? s.text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
                    : s.text
                          .split("")
                          .map((c) => (c === "*" ? "[\\s\\S]*" : c === "?" ? "[\\s\\S]" : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
                          .join(""),
            )
            .join("");
        regex = new RegExp(`^${source}$`, caseSensitive ? "" : "i");
        regexCache.set(key, regex);
    }
    return regex;
}

export function likeMatches(segments: Segment[], value: string, caseSensitive = true): boolean {
    return likeRegex(segments, caseSensitive).test(value);
}

/** ARN matching: the first five components each matched on their own, the rest (the resource) as one. */
function arnMatches(segments: Segment[], value: string): boolean {
    const pattern = plain(segments);
    const parts = (text: string) => {
        const split = text.split(":");
        return split.length < 6 ? undefined : [...split.slice(0, 5), split.slice(5).join(":")];
    };
    const p = parts(pattern);
    const v = parts(value);
    if (!p || !v) return likeMatches(segments, value);
    // Variables resolved into literal text stay literal: match component by component on the resolved text.
    return p.every((component, i) => likeMatches([{ text: component, literal: false }], v[i]));
}

function number(text: string): number | undefined {
    if (!/^\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/.test(text)) return undefined;
    return Number(text);
}

function date(text: string): number | undefined {
    if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text) * 1000; // epoch seconds
    const time = Date.parse(text);
    return Number.isNaN(time) ? undefined : time;
}

function ipMatches(cidr: string, address: string): boolean {
    const [base, bits] = cidr.split("/");
    const family = isIP(base);
    const addressFamily = isIP(address);
    if (family === 0 || addressFamily === 0) return false;
    const list = new BlockList();
    const type = family === 4 ? "ipv4" : "ipv6";
    try {
        if (bits === undefined) list.addAddress(base, type);
        else list.addSubnet(base, Number(bits), type);
        return list.check(address, addressFamily === 4 ? "ipv4" : "ipv6");
    } catch {
        return false;
    }
}

type Compare = (policy: Segment[], value: string) => boolean;
const numeric =
    (test: (a: number, b: number) => boolean): Compare =>
    (p, v) => {
        const a = number(v);
        const b = number(plain(p));
        return a !== undefined && b !== undefined && test(a, b);
    };
const dated =
    (test: (a: number, b: number) => boolean): Compare =>
    (p, v) => {
        const a = date(v);
        const b = date(plain(p));
        return a !== undefined && b !== undefined && test(a, b);
    };

/** Base operators (lower case) -> how one policy value matches one request value, and whether the operator is negated. */
const OPERATORS: Record<string, { compare: Compare; negated: boolean }> = {};
function define(names: [string, string | undefined], compare: Compare): void {
    OPERATORS[names[0]] = { compare, negated: false };
    if (names[1]) OPERATORS[names[1]] = { compare, negated: true };
}
define(["stringequals", "stringnotequals"], (p, v) => plain(p) === v);
define(["stringequalsignorecase", "stringnotequalsignorecase"], (p, v) => plain(p).toLowerCase() === v.toLowerCase());
define(["stringlike", "stringnotlike"], (p, v) => likeMatches(p, v));
define(["numericequals", "numericnotequals"], numeric((a, b) => a === b));
define(["numericlessthan", undefined], numeric((a, b) => a < b));
define(["numericlessthanequals", undefined], numeric((a, b) => a <= b));
define(["numericgreaterthan", undefined], numeric((a, b) => a > b));
define(["numericgreaterthanequals", undefined], numeric((a, b) => a >= b));
define(["dateequals", "datenotequals"], dated((a, b) => a === b));
define(["datelessthan", undefined], dated((a, b) => a < b));
define(["datelessthanequals", undefined], dated((a, b) => a <= b));
define(["dategreaterthan", undefined], dated((a, b) => a > b));
define(["dategreaterthanequals", undefined], dated((a, b) => a >= b));
define(["bool", undefined], (p, v) => plain(p).toLowerCase() === v.toLowerCase());
define(["binaryequals", undefined], (p, v) => plain(p) === v);
define(["ipaddress", "notipaddress"], (p, v) => ipMatches(plain(p), v));
define(["arnequals", "arnnotequals"], arnMatches);
define(["arnlike", "arnnotlike"], arnMatches);

/** An operator split into its set qualifier, base and IfExists; undefined when IAM does not know it. */
export function parseOperator(operator: string): { set?: "any" | "all"; base: string; ifExists: boolean } | undefined {
    const match = /^(ForAnyValue:|ForAllValues:)?(.+?)(IfExists)?$/i.exec(operator);
    if (!match) return undefined;
    const base = match[2].toLowerCase();
    const ifExists = match[3] !== undefined;
    if (base === "null") return ifExists || match[1] ? undefined : { base, ifExists };
    if (!(base in OPERATORS)) {
        // `StringLikeIfExists` split wrongly as base `stringlikeifexists`: the lazy match prefers IfExists, so only an
        // operator IAM does not know ends here.
        return undefined;
    }
    const set = match[1] === undefined ? undefined : match[1].toLowerCase().startsWith("foranyvalue") ? "any" : "all";
    return { set, base, ifExists };
}

/** Does one condition entry (operator, key, values) hold for the request context? */
/** A condition entry read once: its operator, its key in lower case, and its values when they hold no variable. */
interface PreparedCondition {
    parsed: ReturnType<typeof parseOperator>;
    key: string;
    /** The values as segments, or undefined when a value has a variable (resolved per request). */
    fixed?: Segment[][];
}
const prepared = new WeakMap<object, PreparedCondition>();

function prepare(condition: { operator: string; key: string; values: string[] }): PreparedCondition {
    let entry = prepared.get(condition);
    if (!entry) {
        const constant = condition.values.every((v) => !v.includes("${"));
        entry = {
            parsed: parseOperator(condition.operator),
            key: condition.key.toLowerCase(),
            fixed: constant ? condition.values.map((v) => [{ text: v, literal: false }]) : undefined,
        };
        prepared.set(condition, entry);
    }
    return entry;
}

export function conditionHolds(condition: { operator: string; key: string; values: string[] }, context: Map<string, RequestValue>, variables = true): boolean {
    const { parsed, key, fixed } = prepare(condition);
    if (!parsed) return false; // IAM refuses the document; iam-statements-well-formed reports it
    const present = context.get(key);
    const missing = present === undefined || present.values.length === 0;
    if (parsed.base === "null") {
        return condition.values.some((v) => v.toLowerCase() === (missing ? "true" : "false"));
    }
    const { compare, negated } = OPERATORS[parsed.base];
    if (missing) {
        // A set operator decides an absent key by itself (ForAllValues vacuously true, ForAnyValue false), IfExists
        // or not; a plain operator holds on an absent key only with IfExists or when negated.
        if (parsed.set === "all") return true;
        if (parsed.set === "any") return false;
        return parsed.ifExists || negated;
    }
    // Statements are read once per document and asked many questions: values without a variable are prepared once.
    const policyValues = fixed ?? condition.values.map((v) => resolve(v, context, variables));
    // A negated operator holds for a request value that matches none of the policy's values; a policy value whose
    // variable has no value matches nothing, and makes a negated comparison fail (there is nothing to differ from).
    const valueHolds = (value: string) =>
        negated ? policyValues.every((p) => p !== undefined && !compare(p, value)) : policyValues.some((p) => p !== undefined && compare(p, value));
    if (parsed.set === "all") return present.values.every(valueHolds);
    if (parsed.set === "any") return present.values.some(valueHolds);
    // A plain operator on a multivalued key never holds: IAM needs ForAnyValue or ForAllValues for those.
    if (present.multi) return false;
    return valueHolds(present.values[0]);
}
