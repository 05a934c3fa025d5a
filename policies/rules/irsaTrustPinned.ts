import { isServiceAccountSubject } from "../../components/names";
import { statementAllows } from "../lib/actions";
import { allowStatements, NormalizedStatement, principalValues } from "../lib/documents";
import { oidcIssuer, OUTSIDER_AUDIENCE, OUTSIDER_SUBJECT_EKS, webIdentityAnswers } from "../lib/trust";
import { trustDocument } from "../lib/resources";
import { Finding, gradedResourceRule, Level, productionLevel, RuleContext } from "../lib/rule";

/**
 * What the rule knows of an OIDC provider: who its subjects are, which audience its tokens for AWS carry, and
 * which `:sub` values admit everyone. Providers it does not know still need `:sub` and `:aud` pinned.
 */
interface OidcProfile {
    /** For messages: "EKS", "GitHub Actions", ... */
    label: string;
    matches(issuer: string): boolean;
    /** Who an unpinned `:sub` lets in. */
    everyone: string;
    /** The only `:aud` value its tokens for AWS carry, when there is one. */
    audience?: string;
    /** Shape of an exact subject, with an example for messages; values of another shape match no token. */
    subject?: { valid(value: string): boolean; example: string; level: "mandatory" | "advisory" };
    /**
     * For a `:sub` value with wildcards: whom it admits beyond one repository or service account, and how bad
     * that is (`production`: mandatory in production, advisory elsewhere), or undefined when it stays within one.
     */
    wildcard(value: string): { admits: string; level: "production" | "advisory" } | undefined;
}

const STS_AUDIENCE = "sts.amazonaws.com";

/** `*`, `?` only: admits every subject. */
const onlyWildcards = (value: string) => /^[*?]+$/.test(value);

const EKS: OidcProfile = {
    label: "EKS",
    matches: (issuer) => /^oidc\.eks\.[^/]+\.amazonaws\.com(\.cn)?\/id\/[^/]+$/i.test(issuer),
    everyone: "every service account of the cluster",
    audience: "sts.amazonaws.com",
    subject: { valid: isServiceAccountSubject, example: "system:serviceaccount:NAMESPACE:NAME", level: "mandatory" },
    // Any wildcard admits more than the service accounts meant (a namespace's future ones, or every one).
    wildcard: () => ({ admits: "any matching service account", level: "production" }),
};

/** `repo:OWNER/REPO:...` (GitHub) or `project_path:GROUP/PROJECT:...` (GitLab): who the owner part admits. */
function ownerWildcard(value: string, prefix: string, owners: string, ownerNoun: string): { admits: string; level: "production" | "advisory" } | undefined {
    if (onlyWildcards(value)) return { admits: `every ${ownerNoun} of every ${owners}`, level: "production" };
    const match = new RegExp(`^${prefix}:([^/]*)(?:/([^:]*))?`).exec(value);
    // A wildcard before the prefix ends (`re*`, `*:x`) can stand for the prefix itself.
    if (!match) return /[*?]/.test(value.split(":")[0]) ? { admits: `every ${ownerNoun} of every ${owners}`, level: "production" } : undefined;
    const [, owner, name] = match;
    if (/[*?]/.test(owner)) return { admits: `${ownerNoun}s of any ${owners}`, level: "production" };
    if (name === undefined || /[*?]/.test(name)) return { admits: `every ${ownerNoun} of ${owners} "${owner}"`, level: "advisory" };
    return undefined;
}

const GITHUB: OidcProfile = {
    label: "GitHub Actions",
    matches: (issuer) => /^token\.actions\.githubusercontent\.com(\/[^/]+)?$/i.test(issuer),
    everyone: "every workflow of every repository on GitHub",
    audience: "sts.amazonaws.com",
    subject: { valid: (v) => /^repo:[^/:]+\/[^/:]+:.+$/.test(v) || !v.startsWith("repo:"), example: "repo:OWNER/REPO:ref:refs/heads/main", level: "advisory" },
    wildcard: (value) => ownerWildcard(value, "repo", "owner", "repository"),
};

const GITLAB: OidcProfile = {
    label: "GitLab",
    matches: (issuer) => /^gitlab\.com$/i.test(issuer) || /(^|\.)gitlab\./i.test(issuer),
    everyone: "every pipeline of every project on the GitLab instance",
    subject: {
        valid: (v) => /^project_path:[^:]+\/[^:]+:ref_type:[^:]+:ref:.+$/.test(v) || !v.startsWith("project_path:"),
        example: "project_path:GROUP/PROJECT:ref_type:branch:ref:main",
        level: "advisory",
    },
    wildcard: (value) => ownerWildcard(value, "project_path", "group", "project"),
};

const ANY_PROVIDER: OidcProfile = {
    label: "OIDC",
    matches: () => true,
    everyone: "every identity the provider issues tokens for",
    wildcard: (value) => (onlyWildcards(value) ? { admits: "every identity the provider issues tokens for", level: "production" } : undefined),
};

const PROFILES = [EKS, GITHUB, GITLAB, ANY_PROVIDER];
/** `ISSUER:sub` / `:aud` / `:amr`: condition keys of some OIDC provider (issuers have a dot; `aws:`, `sts:` do not). */
const PROVIDER_KEY = /^([^:]*\.[^:]*):(sub|aud|amr)$/i;

/** The web-identity providers IAM has built in, and the claim that names the application a token is for. */
const BUILT_IN: Record<string, { label: string; subjectKey: string; audienceKey: string; app: string }> = {
    "accounts.google.com": { label: "Google", subjectKey: "accounts.google.com:sub", audienceKey: "accounts.google.com:aud", app: "OAuth client id" },
    "graph.facebook.com": { label: "Facebook", subjectKey: "graph.facebook.com:id", audienceKey: "graph.facebook.com:app_id", app: "app id" },
    "www.amazon.com": { label: "Login with Amazon", subjectKey: "www.amazon.com:user_id", audienceKey: "www.amazon.com:app_id", app: "app id" },
    "cognito-identity.amazonaws.com": {
        label: "Cognito identity pools",
        subjectKey: "cognito-identity.amazonaws.com:sub",
        audienceKey: "cognito-identity.amazonaws.com:aud",
        app: "identity pool id",
    },
};

/** Operators under which a `:sub` value with `*` or `?` admits what the wildcard matches. */
const admitsByPattern = (operator: string) => /^(ForAnyValue:|ForAllValues:)?StringLike(IfExists)?$/i.test(operator);

function labelsOf(statements: NormalizedStatement[]): string {
    return statements.map((s) => s.label).join(", ");
}

/** How the document's conditions on a claim read, for a message: "StringNotEquals [...]" or "no condition on it". */
function howConditioned(statements: NormalizedStatement[], key: string): string {
    const on = statements.flatMap((s) => s.conditions.filter((c) => c.key.toLowerCase() === key.toLowerCase()));
    return on.length === 0 ? "no condition on it" : on.map((c) => `${c.operator} ${JSON.stringify(c.values)}`).join(", ");
}

function judgeOidc(trust: unknown, statements: NormalizedStatement[], provider: string, issuer: string, at: string, context: RuleContext): Finding[] {
    const profile = PROFILES.find((p) => p.matches(issuer))!;
    const findings: Finding[] = [];
    const where = (list: NormalizedStatement[]) => `${at} statement${list.length > 1 ? "s" : ""} ${labelsOf(list)} (trusts ${provider})`;
    const level = (l: "production" | "advisory" | "mandatory"): Level => (l === "production" ? productionLevel(context) : l);
    const subKey = `${issuer}:sub`;
    const audKey = `${issuer}:aud`;
    for (const statement of statements) {
        for (const condition of statement.conditions) {
            const key = PROVIDER_KEY.exec(condition.key);
            if (key && key[1].toLowerCase() !== issuer.toLowerCase() && key[1].toLowerCase() !== "cognito-identity.amazonaws.com") {
                findings.push({
                    level: "mandatory",
                    message: `${where([statement])}: condition key ${condition.key} belongs to another OIDC provider: use ${issuer}:${key[2]}, the keys of the provider in Principal.`,
                });
            }
        }
    }
    const outsider =
        profile === EKS
            ? OUTSIDER_SUBJECT_EKS
            : profile === GITHUB
              ? "repo:outsider-owner/outsider:ref:refs/heads/main"
              : profile === GITLAB
                ? "project_path:outsider-group/outsider:ref_type:branch:ref:main"
                : "outsider-subject";
    const answers = webIdentityAnswers(trust, {
        principal: provider,
        subjectKey: subKey,
        audienceKey: audKey,
        outsiderSubject: outsider,
        knownAudiences: [STS_AUDIENCE, ...(profile.audience ? [profile.audience] : [])],
    });
    if (answers.outsiderSubject.length > 0) {
        const example = profile.subject ? ` = ${profile.subject.example}` : "";
        findings.push({
            level: "mandatory",
            message:
                `${where(answers.outsiderSubject)}: ${subKey} is not pinned, so ${profile.everyone} can assume the role (the trust lets a token about ` +
                `"${outsider}" in: ${howConditioned(statements, subKey)}). Add StringEquals ${subKey}${example}.`,
        });
    } else {
        // The subject is confined; a wildcard under a matching operator may still confine it to more than meant.
        for (const statement of statements) {
            for (const sub of statement.conditions.filter((c) => c.key.toLowerCase() === subKey.toLowerCase())) {
                const wildcards = sub.values.filter((v) => /[*?]/.test(v));
                if (wildcards.length === 0) continue;
                if (!admitsByPattern(sub.operator)) {
                    if (/^(ForAnyValue:|ForAllValues:)?String(Equals|EqualsIgnoreCase)(IfExists)?$/i.test(sub.operator)) {
                        findings.push({
                            level: "advisory",
                            message: `${where([statement])}: ${sub.key} uses ${sub.operator} with ${JSON.stringify(wildcards)}; ${sub.operator} compares * and ? literally, so no token matches them.`,
                        });
                    }
                    continue;
                }
                for (const value of wildcards) {
                    const wide = profile.wildcard(value);
                    if (!wide) continue;
                    findings.push({
                        level: level(wide.level),
                        message:
                            profile === EKS
                                ? `${where([statement])}: ${sub.key} uses ${sub.operator} with ${JSON.stringify(wildcards)}, which admits any matching service account. Pin exact system:serviceaccount:NAMESPACE:NAME values with StringEquals.`
                                : `${where([statement])}: ${sub.key} uses ${sub.operator} with "${value}", which admits ${wide.admits}. Pin the ${profile.label} subject to exact values${profile.subject ? ` (${profile.subject.example})` : ""}.`,
                    });
                    if (profile === EKS) break;
                }
            }
        }
    }
    for (const statement of statements) {
        for (const sub of statement.conditions.filter((c) => c.key.toLowerCase() === subKey.toLowerCase() && !/not/i.test(c.operator))) {
            const malformed = profile.subject ? sub.values.filter((v) => !/[*?]/.test(v) && !profile.subject!.valid(v)) : [];
            if (malformed.length > 0 && !/IgnoreCase/i.test(sub.operator)) {
                findings.push({
                    level: profile.subject!.level,
                    message: `${where([statement])}: ${sub.key} values ${JSON.stringify(malformed)} are not ${profile.subject!.example.replace(/:ref:.*|:ref_type:.*/, ":...")} subjects, so no ${profile === EKS ? "pod" : "token"} can match them.`,
                });
            }
        }
    }
    if (answers.outsiderAudience.length > 0) {
        findings.push({
            level: "mandatory",
            message:
                `${where(answers.outsiderAudience)}: ${audKey} must be pinned to ${profile.audience ?? `the audience your ${profile.label} tokens for AWS carry`}, ` +
                `so tokens minted for other audiences cannot assume the role (a token for "${OUTSIDER_AUDIENCE}" gets in: ${howConditioned(statements, audKey)}).`,
        });
    } else if (profile.audience !== undefined && !answers.admitsAudience(profile.audience)) {
        const own = answers.admittedAudiences().filter((a) => a !== STS_AUDIENCE);
        if (profile === EKS && own.length > 0) {
            // A custom audience (the ServiceAccount's eks.amazonaws.com/audience): fine when pods and provider agree.
            findings.push({
                level: "advisory",
                message: `${where(statements)}: ${audKey} is pinned to ${JSON.stringify(own)}, not sts.amazonaws.com: the ServiceAccounts must carry eks.amazonaws.com/audience with that value and the OIDC provider must list it, or no pod gets in.`,
            });
        } else if (profile !== EKS) {
            findings.push({
                level: "mandatory",
                message: `${where(statements)}: ${audKey} must be pinned to ${profile.audience}, the audience ${profile.label} tokens for AWS carry; pinned to ${JSON.stringify(own)}, no token gets in.`,
            });
        }
    }
    return findings;
}

function judgeBuiltIn(trust: unknown, statements: NormalizedStatement[], provider: string, at: string): Finding[] {
    const spec = BUILT_IN[provider.toLowerCase()];
    const answers = webIdentityAnswers(trust, {
        principal: provider,
        subjectKey: spec.subjectKey,
        audienceKey: spec.audienceKey,
        outsiderSubject: "outsider-user",
        knownAudiences: [],
    });
    if (answers.outsiderAudience.length === 0) return [];
    return [
        {
            level: "mandatory",
            message:
                `${at} statement${answers.outsiderAudience.length > 1 ? "s" : ""} ${labelsOf(answers.outsiderAudience)} (trusts ${provider}): ${spec.audienceKey} is not pinned to your ${spec.app}, ` +
                `so users of every ${spec.label} application can assume the role (${howConditioned(statements, spec.audienceKey)}). Add StringEquals ${spec.audienceKey} = your ${spec.app}.`,
        },
    ];
}

/**
 * Checks that role trust statements for an OIDC provider (EKS IRSA, GitHub Actions, GitLab, any other) pin the
 * provider's `:sub` to exact subjects and `:aud` to its audience, with the condition keys of the provider in
 * Principal, and that trusts of the built-in web-identity providers (Google, Facebook, Login with Amazon, Cognito)
 * pin the application. Pinning is decided by asking the evaluation core whether a token about another subject, or for
 * another audience, gets in through the whole document. A wildcard that admits every service account or every
 * repository is mandatory in production.
 */
export const irsaTrustPinned = gradedResourceRule({
    name: "irsa-trust-pinned",
    description:
        "Checks that web-identity trust policies pin the OIDC provider's :sub to exact subjects (EKS system:serviceaccount:NS:NAME, " +
        "GitHub repo:OWNER/REPO:..., GitLab project_path:GROUP/PROJECT:...) and :aud to the provider's audience, using the condition " +
        "keys of the provider in Principal; trusts of Google, Facebook, Login with Amazon and Cognito identity pools must pin the application.",
    check: (resource, context) => {
        const findings: Finding[] = [];
        const trust = trustDocument(resource);
        const at = `${resource.type} "${resource.name}" assumeRolePolicy`;
        const byProvider = new Map<string, NormalizedStatement[]>();
        for (const statement of allowStatements(trust, "trust")) {
            if (!statementAllows(statement, "sts:AssumeRoleWithWebIdentity")) continue;
            for (const provider of principalValues(statement.principal, "Federated")) {
                byProvider.set(provider, [...(byProvider.get(provider) ?? []), statement]);
            }
        }
        for (const [provider, statements] of byProvider) {
            const issuer = oidcIssuer(provider);
            if (issuer) findings.push(...judgeOidc(trust, statements, provider, issuer, at, context));
            else if (BUILT_IN[provider.toLowerCase()]) findings.push(...judgeBuiltIn(trust, statements, provider, at));
        }
        return findings;
    },
});
