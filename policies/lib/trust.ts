/**
 * Questions about trust policies, answered by the evaluation core on concrete requests instead of by reading keys
 * and values: would a token of another subject or audience get in, a session from another account, an association of
 * another cluster? A rule asks the whole document (a Deny elsewhere that refuses every other subject pins the
 * subject), and gets back the Allow statements that let the outsider in, for its messages.
 *
 * The outsider controls every request value that is not the identity under test (its source IP, its own principal
 * tags, its pod names, the audience it asks a token for): for those keys each Allow statement is tried with values
 * that satisfy its own conditions.
 */
import { RecentCache, statementAllows, wildcardMatches } from "./actions";
import { allowStatements, NormalizedStatement, parseDocument, principalValues, statementsOf } from "./documents";
import { ContextValue, evaluateStatements, EvaluationRequest, parseOperator, RequestPrincipal } from "./evaluate";

export const OUTSIDER_ACCOUNT = "999988887777";
export const OUTSIDER_SUBJECT_EKS = "system:serviceaccount:outsider-namespace:outsider";
export const OUTSIDER_AUDIENCE = "outsider-audience";
const STS_AUDIENCE = "sts.amazonaws.com";

type Context = Record<string, ContextValue>;

/** Trusts read recently: several rules ask several questions of each role's trust, one rule over every role at a time offline. */
const READ_TRUSTS_KEPT = 20_000;
const readTrusts = new RecentCache<string, { statements: NormalizedStatement[]; variables: boolean }>(READ_TRUSTS_KEPT / 2);

function keyOf(trust: unknown): string {
    return typeof trust === "string" ? trust : JSON.stringify(trust ?? null);
}

/** Answers given recently, per question and trust: a graded rule's two halves ask the same questions of each role. */
const answered = new RecentCache<string, { value: unknown }>(READ_TRUSTS_KEPT / 2);
function remembered<T>(question: string, trust: unknown, answer: () => T): T {
    const key = `${question}\u0000${keyOf(trust)}`;
    const known = answered.get(key);
    if (known) return known.value as T;
    const value = answer();
    answered.set(key, { value });
    return value;
}

/** The trust's statements (parsed once while its role is being checked). */
function trustStatements(trust: unknown): { statements: NormalizedStatement[]; variables: boolean } {
    const key = keyOf(trust);
    let read = readTrusts.get(key);
    if (!read) {
        const parsed = parseDocument(trust);
        read = { statements: statementsOf(parsed, "trust"), variables: parsed?.Version === "2012-10-17" };
        readTrusts.set(key, read);
    }
    return read;
}

/** A concrete value a pattern admits: wildcards filled, policy variables left as text. */
export function exampleOf(pattern: string): string {
    return pattern.replace(/\$\{[^}]*\}/g, "v").replace(/[*?]/g, "x");
}

function shiftDate(text: string, days: number): string | undefined {
    const time = /^-?\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text);
    return Number.isNaN(time) ? undefined : new Date(time + days * 86_400_000).toISOString();
}

/** A request value that satisfies one condition entry, or undefined when leaving the key out does. */
function satisfying(condition: NormalizedStatement["conditions"][number]): ContextValue | undefined {
    const parsed = parseOperator(condition.operator);
    if (!parsed) return undefined;
    if (parsed.base === "null") return condition.values.some((v) => v.toLowerCase() === "true") ? undefined : "x";
    if (parsed.set === "all") return undefined; // holds vacuously on an absent key
    const first = condition.values[0] ?? "";
    const negated = /not/.test(parsed.base);
    let value: string | undefined;
    if (negated) value = "zz-outsider-value";
    else if (parsed.base.startsWith("numeric")) {
        const n = Number(first);
        value = String(parsed.base.endsWith("lessthan") ? n - 1 : parsed.base.endsWith("greaterthan") ? n + 1 : n);
    } else if (parsed.base.startsWith("date")) {
        value = parsed.base.endsWith("lessthan") ? shiftDate(first, -1) : parsed.base.endsWith("greaterthan") ? shiftDate(first, 1) : first;
    } else if (parsed.base === "ipaddress") value = first.split("/")[0];
    else value = exampleOf(first);
    if (value === undefined) return undefined;
    if (negated && parsed.set !== "any") return undefined; // an absent key satisfies a plain negated operator
    return parsed.set === "any" ? [value] : value;
}

/** Values for the keys an Allow statement conditions on that are not under test, chosen to satisfy it. */
export function favourable(statement: NormalizedStatement, underTest: Set<string>): Context {
    const context: Context = {};
    for (const condition of statement.conditions) {
        const key = condition.key.toLowerCase();
        if (underTest.has(key) || key in context) continue;
        const value = satisfying(condition);
        if (value !== undefined) context[key] = value;
    }
    return context;
}

/** The values a document compares a key with (any operator, any statement). */
function valuesOf(statements: NormalizedStatement[], key: string): string[] {
    const lower = key.toLowerCase();
    return [...new Set(statements.flatMap((s) => s.conditions.filter((c) => c.key.toLowerCase() === lower).flatMap((c) => c.values)))];
}

/**
 * Does the document allow every action for the caller with one of the identity contexts? The non-identity keys are
 * tried per Allow statement, satisfying it. Returns the Allow statements that let the request in (empty: refused).
 */
function admitting(
    statements: NormalizedStatement[],
    variables: boolean,
    principal: RequestPrincipal,
    actions: string[],
    identities: Context[],
): NormalizedStatement[] {
    const underTest = new Set(identities.flatMap((identity) => Object.keys(identity).map((k) => k.toLowerCase())));
    const allows = statements.filter((s) => s.problems.length === 0 && s.effect === "Allow");
    const found = new Set<NormalizedStatement>();
    for (const identity of identities) {
        for (const candidate of [{}, ...allows.map((s) => favourable(s, underTest))]) {
            const context = { ...candidate, ...identity };
            // Keys set to undefined stand for "absent".
            for (const [k, v] of Object.entries(context)) if (v === undefined) delete context[k];
            const evaluations = actions.map((action) =>
                evaluateStatements(statements, "trust", { action, principal, context } as EvaluationRequest, variables),
            );
            if (evaluations.every((e) => e.decision === "Allow")) for (const s of evaluations[0].allowedBy) found.add(s);
        }
    }
    return [...found];
}

/** Every combination of the given candidate values per key (at most `limit`), as contexts. */
function combinations(candidates: Record<string, (ContextValue | undefined)[]>, limit = 256): Context[] {
    let contexts: Record<string, ContextValue | undefined>[] = [{}];
    for (const [key, values] of Object.entries(candidates)) {
        const next: Record<string, ContextValue | undefined>[] = [];
        for (const context of contexts) for (const value of values) if (next.length < limit) next.push({ ...context, [key]: value });
        contexts = next;
    }
    return contexts as Context[];
}

// ---------------------------------------------------------------------------------------------------------------
// Web identity (IRSA, GitHub Actions, GitLab, any OIDC provider; the built-in Google, Facebook, Amazon, Cognito)

/** What a web-identity question needs: the provider as Principal names it, its claim keys, and outsider values. */
export interface WebIdentityProvider {
    /** The Federated principal: an OIDC provider ARN, or a built-in name (`accounts.google.com`). */
    principal: string;
    /** The claim that names who the token is about (`ISSUER:sub`, `graph.facebook.com:id`, ...). */
    subjectKey: string;
    /** The claim that names whom the token is for (`ISSUER:aud`, `graph.facebook.com:app_id`, ...). */
    audienceKey: string;
    outsiderSubject: string;
    /** Audiences a token may carry besides the document's own (`sts.amazonaws.com` for OIDC providers). */
    knownAudiences: string[];
}

export interface WebIdentityAnswers {
    /** Allow statements through which a token about an outsider gets in (empty: the subject is pinned). */
    outsiderSubject: NormalizedStatement[];
    /** Allow statements through which a token minted for another audience gets in (empty: the audience is pinned). */
    outsiderAudience: NormalizedStatement[];
    /** Does some subject the trust names get in with a token for this audience? */
    admitsAudience(audience: string): boolean;
    /** The audiences (of the document's own and the known ones) with which some subject gets in. */
    admittedAudiences(): string[];
}

export function webIdentityAnswers(trust: unknown, provider: WebIdentityProvider): WebIdentityAnswers {
    return remembered(`web\u0000${JSON.stringify(provider)}`, trust, () => askWebIdentity(trust, provider));
}

function askWebIdentity(trust: unknown, provider: WebIdentityProvider): WebIdentityAnswers {
    const { statements, variables } = trustStatements(trust);
    const principal: RequestPrincipal = { kind: "Federated", value: provider.principal };
    const action = ["sts:AssumeRoleWithWebIdentity"];
    const subjects = [provider.outsiderSubject, ...valuesOf(statements, provider.subjectKey).map(exampleOf)];
    const audiences = [...new Set([...provider.knownAudiences, ...valuesOf(statements, provider.audienceKey).map(exampleOf)])];
    const outsiderSubject = admitting(
        statements,
        variables,
        principal,
        action,
        audiences.map((aud) => ({ [provider.subjectKey]: provider.outsiderSubject, [provider.audienceKey]: aud })),
    );
    const outsiderAudience = admitting(
        statements,
        variables,
        principal,
        action,
        subjects.map((sub) => ({ [provider.subjectKey]: sub, [provider.audienceKey]: OUTSIDER_AUDIENCE })),
    );
    const audienceAnswers = new Map<string, boolean>();
    const admitsAudience = (aud: string) => {
        let known = audienceAnswers.get(aud);
        if (known === undefined) {
            known = askAudience(aud);
            audienceAnswers.set(aud, known);
        }
        return known;
    };
    const askAudience = (aud: string) =>
        admitting(
            statements,
            variables,
            principal,
            action,
            subjects.map((sub) => ({ [provider.subjectKey]: sub, [provider.audienceKey]: aud })),
        ).length > 0;
    return { outsiderSubject, outsiderAudience, admitsAudience, admittedAudiences: () => audiences.filter(admitsAudience) };
}

/** The OIDC issuer of a provider ARN (`arn:aws:iam::A:oidc-provider/ISSUER`), or undefined. */
export function oidcIssuer(providerArn: string): string | undefined {
    return /:oidc-provider\/(.+)$/i.exec(providerArn)?.[1];
}

/** Does some web-identity statement of the trust admit the subject (with any audience the trust names, or sts.amazonaws.com)? */
export function trustAdmitsSubject(trust: unknown, subject: string): { admits: boolean; admitted: string[] } {
    const { statements, variables } = trustStatements(trust);
    const allows = allowStatements(trust, "trust").filter((s) => statementAllows(s, "sts:AssumeRoleWithWebIdentity"));
    const admitted = allows.flatMap((s) => s.conditions.filter((c) => /:sub$/i.test(c.key)).flatMap((c) => c.values));
    if (allows.some((s) => principalValues(s.principal, "Federated").length > 0 && !s.conditions.some((c) => /:sub$/i.test(c.key)))) admitted.push("*");
    for (const provider of new Set(allows.flatMap((s) => principalValues(s.principal, "Federated")))) {
        const issuer = oidcIssuer(provider) ?? provider;
        const audiences = [...new Set([STS_AUDIENCE, ...valuesOf(statements, `${issuer}:aud`).map(exampleOf)])];
        const identities = audiences.map((aud) => ({ [`${issuer}:sub`]: subject, [`${issuer}:aud`]: aud }));
        if (admitting(statements, variables, { kind: "Federated", value: provider }, ["sts:AssumeRoleWithWebIdentity"], identities).length > 0) {
            return { admits: true, admitted };
        }
    }
    return { admits: false, admitted };
}

// ---------------------------------------------------------------------------------------------------------------
// Any principal ("*"): a caller of another account

/** Condition keys that say who the caller is, or for whom a service calls; the outsider cannot choose ours. */
const CALLER_KEYS = [
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:userid",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "aws:SourceOwner",
    "aws:PrincipalIsAWSService",
    "aws:PrincipalServiceName",
    "sts:ExternalId",
];

/** An ARN pattern of the document as an outsider's ARN: its account the outsider's where the pattern allows it. */
function outsiderArn(pattern: string): string | undefined {
    const parts = pattern.split(":");
    if (parts.length < 6 || !parts[0].startsWith("arn")) return undefined;
    const account = parts[4];
    if (account === "" || !wildcardMatches(account, OUTSIDER_ACCOUNT, true)) return undefined;
    parts[4] = OUTSIDER_ACCOUNT;
    return exampleOf(parts.join(":"));
}

/** Outsider values for a caller key: defaults, and the document's own patterns wherever they leave room for one. */
function callerCandidates(statements: NormalizedStatement[], key: string, defaults: (ContextValue | undefined)[]): (ContextValue | undefined)[] {
    const own = valuesOf(statements, key);
    const extra: string[] = [];
    for (const value of own) {
        const arn = outsiderArn(value);
        if (arn !== undefined) extra.push(arn);
        else if (/[*?]/.test(value) && !value.startsWith("arn")) {
            // An account or org id pattern that an outsider's fits (`*`, `9999*`, `o-*`), filled with its values.
            const filled = exampleOf(value);
            if (key.toLowerCase() === "aws:principalaccount" || key.toLowerCase() === "aws:sourceaccount") {
                if (wildcardMatches(value, OUTSIDER_ACCOUNT, true)) extra.push(OUTSIDER_ACCOUNT);
            } else extra.push(filled);
        }
    }
    return [...defaults, ...new Set(extra)];
}

/**
 * The statements through which a caller of another account gets in: a role or user there calling directly, or a
 * service calling on its behalf, with every value of its own it can choose.
 */
export function outsiderCallers(trust: unknown, actions: string[]): NormalizedStatement[] {
    return remembered(`callers\u0000${actions.join(",")}`, trust, () => askOutsiderCallers(trust, actions));
}

function askOutsiderCallers(trust: unknown, actions: string[]): NormalizedStatement[] {
    const { statements, variables } = trustStatements(trust);
    const mentioned = new Set(statements.flatMap((s) => s.conditions.map((c) => c.key.toLowerCase())));
    const keep = (candidates: Record<string, (ContextValue | undefined)[]>) =>
        Object.fromEntries(Object.entries(candidates).filter(([k]) => mentioned.has(k.toLowerCase())));
    const arn = `arn:aws:iam::${OUTSIDER_ACCOUNT}:role/outsider`;
    const direct = keep({
        "aws:PrincipalAccount": callerCandidates(statements, "aws:PrincipalAccount", [OUTSIDER_ACCOUNT]),
        "aws:PrincipalArn": callerCandidates(statements, "aws:PrincipalArn", [arn]),
        "aws:PrincipalOrgID": callerCandidates(statements, "aws:PrincipalOrgID", [undefined, "o-outsider"]),
        "aws:PrincipalOrgPaths": callerCandidates(statements, "aws:PrincipalOrgPaths", [undefined, ["o-outsider/r-out1/ou-out1-outsider/"]]),
        "aws:userid": callerCandidates(statements, "aws:userid", ["AROAOUTSIDER:session"]),
        "aws:PrincipalIsAWSService": ["false"],
        "sts:ExternalId": callerCandidates(statements, "sts:ExternalId", [undefined, "outsider-guess"]),
    });
    const viaService = keep({
        "aws:SourceAccount": callerCandidates(statements, "aws:SourceAccount", [OUTSIDER_ACCOUNT]),
        "aws:SourceArn": callerCandidates(statements, "aws:SourceArn", [`arn:aws:sns:us-east-1:${OUTSIDER_ACCOUNT}:outsider`]),
        "aws:SourceOrgID": callerCandidates(statements, "aws:SourceOrgID", [undefined, "o-outsider"]),
        "aws:SourceOrgPaths": callerCandidates(statements, "aws:SourceOrgPaths", [undefined]),
        "aws:SourceOwner": callerCandidates(statements, "aws:SourceOwner", [OUTSIDER_ACCOUNT]),
        "aws:PrincipalIsAWSService": ["true"],
        "aws:PrincipalServiceName": ["sns.amazonaws.com"],
        "sts:ExternalId": callerCandidates(statements, "sts:ExternalId", [undefined, "outsider-guess"]),
    });
    // Keys the document never mentions cannot matter; the caller keys it does are all under test.
    const underTest = CALLER_KEYS.filter((k) => mentioned.has(k.toLowerCase()));
    const found = new Set<NormalizedStatement>();
    const ask = (principal: RequestPrincipal, contexts: Context[]) => {
        const identities = contexts.map((c) => Object.fromEntries(underTest.map((k) => [k, (c as Record<string, ContextValue | undefined>)[k]])) as Context);
        for (const action of actions) for (const s of admitting(statements, variables, principal, [action], identities)) found.add(s);
    };
    ask({ kind: "AWS", value: arn, account: OUTSIDER_ACCOUNT }, combinations(direct));
    ask({ kind: "Service", value: "sns.amazonaws.com" }, combinations(viaService));
    return [...found];
}

// ---------------------------------------------------------------------------------------------------------------
// EKS Pod Identity

/** A Pod Identity request's scenario: the cluster's account, region and name, the pod's namespace and service account. */
export interface PodIdentityScenario {
    account: string;
    region: string;
    cluster: string;
    namespace: string;
    serviceAccount: string;
}

/** The request context EKS Pod Identity presents when it assumes a role for a pod (session tags and source keys). */
export function podIdentityContext(s: PodIdentityScenario, partition = "aws"): Context {
    return {
        "aws:SourceAccount": s.account,
        "aws:SourceArn": `arn:${partition}:eks:${s.region}:${s.account}:podidentityassociation/${s.cluster}/a-outsider0000000000`,
        "aws:RequestTag/eks-cluster-name": s.cluster,
        "aws:RequestTag/eks-cluster-arn": `arn:${partition}:eks:${s.region}:${s.account}:cluster/${s.cluster}`,
        "aws:RequestTag/kubernetes-namespace": s.namespace,
        "aws:RequestTag/kubernetes-service-account": s.serviceAccount,
        "aws:RequestTag/kubernetes-pod-name": "pod-0",
        "aws:RequestTag/kubernetes-pod-uid": "00000000-0000-0000-0000-000000000000",
        "aws:TagKeys": [
            "eks-cluster-arn",
            "eks-cluster-name",
            "kubernetes-namespace",
            "kubernetes-pod-name",
            "kubernetes-pod-uid",
            "kubernetes-service-account",
        ],
    };
}

/** The cluster, account, region, namespace and service account the trust itself names (its first values). */
export function namedScenario(trust: unknown): PodIdentityScenario {
    const { statements } = trustStatements(trust);
    const first = (...keys: string[]) => keys.flatMap((k) => valuesOf(statements, k)).map(exampleOf)[0];
    const arn = first("aws:RequestTag/eks-cluster-arn", "aws:SourceArn");
    const arnParts = arn?.split(":") ?? [];
    const clusterFromArn = /(?:cluster|podidentityassociation)\/([^/]+)/.exec(arn ?? "")?.[1];
    return {
        account: first("aws:SourceAccount") ?? (/^\d{12}$/.test(arnParts[4] ?? "") ? arnParts[4] : "111122223333"),
        region: arnParts[3] && arnParts[3] !== "x" ? arnParts[3] : "us-west-2",
        cluster: first("aws:RequestTag/eks-cluster-name") ?? clusterFromArn ?? "cluster",
        namespace: first("aws:RequestTag/kubernetes-namespace") ?? "default",
        serviceAccount: first("aws:RequestTag/kubernetes-service-account") ?? "default",
    };
}

const POD_IDENTITY_ACTIONS = ["sts:AssumeRole", "sts:TagSession"];

/**
 * Allow statements that let EKS Pod Identity assume the role in this scenario: sts:AssumeRole and (unless
 * `tagSession` is false, for a trust that still lacks it) sts:TagSession.
 */
export function podIdentityAdmits(
    trust: unknown,
    scenario: PodIdentityScenario,
    tagSession = true,
    principal = "pods.eks.amazonaws.com",
): NormalizedStatement[] {
    const { statements, variables } = trustStatements(trust);
    const actions = tagSession ? POD_IDENTITY_ACTIONS : ["sts:AssumeRole"];
    return admitting(statements, variables, { kind: "Service", value: principal }, actions, [podIdentityContext(scenario)]);
}

export interface PodIdentityAnswers {
    /** The scenario the trust names (its own cluster, account, namespace and service account). */
    named: PodIdentityScenario;
    /** Statements that admit an association of another cluster in the same account. */
    otherCluster: NormalizedStatement[];
    /** Statements that admit a cluster of the same name in another account. */
    otherAccount: NormalizedStatement[];
    /** Statements that admit another namespace's service account of the named cluster. */
    otherSubject: NormalizedStatement[];
}

export function podIdentityAnswers(trust: unknown, tagSession = true): PodIdentityAnswers {
    return remembered(`pods\u0000${tagSession}`, trust, () => askPodIdentity(trust, tagSession));
}

function askPodIdentity(trust: unknown, tagSession: boolean): PodIdentityAnswers {
    const named = namedScenario(trust);
    const admits = (scenario: PodIdentityScenario) => podIdentityAdmits(trust, scenario, tagSession);
    const otherSubject = [...admits({ ...named, namespace: "outsider-namespace" }), ...admits({ ...named, serviceAccount: "outsider" })];
    return {
        named,
        otherCluster: admits({ ...named, cluster: "outsider-cluster" }),
        otherAccount: admits({ ...named, account: OUTSIDER_ACCOUNT }),
        otherSubject: [...new Map(otherSubject.map((s) => [s.label, s])).values()],
    };
}

// ---------------------------------------------------------------------------------------------------------------
// Any request (verify, the stack rule)

/** A request to assume a role: who asks, for which actions, with which request context. */
export interface AssumeRequest {
    /** Principal kind (`AWS`, `Service`, `Federated`) and value (a role ARN, `pods.eks.amazonaws.com`, a provider ARN). */
    principal: { kind: string; value: string };
    /** Every action the caller needs (EKS Pod Identity needs both sts:AssumeRole and sts:TagSession). */
    actions: string[];
    /** Condition keys and their values (`aws:SourceAccount`, `aws:RequestTag/kubernetes-namespace`, ...). */
    context: Record<string, string>;
}

/** Would the trust let the request assume the role? Every action must be allowed and none denied, as IAM decides. */
export function trustAdmitsRequest(trust: unknown, request: AssumeRequest): boolean {
    const { statements, variables } = trustStatements(trust);
    const kind = request.principal.kind.toUpperCase() === "AWS" ? "AWS" : request.principal.kind.toLowerCase() === "service" ? "Service" : "Federated";
    const principal: RequestPrincipal = { kind, value: request.principal.value };
    return request.actions.every(
        (action) => evaluateStatements(statements, "trust", { action, principal, context: request.context }, variables).decision === "Allow",
    );
}
