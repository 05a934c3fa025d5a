import { isServiceAccountSubject } from "../../components/names";
import { wildcardMatches } from "../lib/actions";
import { allowStatements, NormalizedStatement, principalValues } from "../lib/documents";
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
const OIDC_PROVIDER = /:oidc-provider\/(.+)$/i;
/** `ISSUER:sub` / `:aud` / `:amr`: condition keys of some OIDC provider (issuers have a dot; `aws:`, `sts:` do not). */
const PROVIDER_KEY = /^([^:]*\.[^:]*):(sub|aud|amr)$/i;

function judgeStatement(statement: NormalizedStatement, provider: string, issuer: string, at: string, context: RuleContext): Finding[] {
    const profile = PROFILES.find((p) => p.matches(issuer))!;
    const findings: Finding[] = [];
    const where = `${at} statement ${statement.label} (trusts ${provider})`;
    const level = (l: "production" | "advisory" | "mandatory"): Level => (l === "production" ? productionLevel(context) : l);
    const own = (c: { key: string }, claim: string) => c.key.toLowerCase() === `${issuer}:${claim}`.toLowerCase();
    for (const condition of statement.conditions) {
        const key = PROVIDER_KEY.exec(condition.key);
        if (key && key[1].toLowerCase() !== issuer.toLowerCase() && key[1].toLowerCase() !== "cognito-identity.amazonaws.com") {
            findings.push({
                level: "mandatory",
                message: `${where}: condition key ${condition.key} belongs to another OIDC provider: use ${issuer}:${key[2]}, the keys of the provider in Principal.`,
            });
        }
    }
    const subs = statement.conditions.filter((c) => own(c, "sub"));
    const auds = statement.conditions.filter((c) => own(c, "aud"));
    if (subs.length === 0) {
        const example = profile.subject ? ` = ${profile.subject.example}` : "";
        findings.push({
            level: "mandatory",
            message: `${where}: ${issuer}:sub is not pinned, so ${profile.everyone} can assume the role. Add StringEquals ${issuer}:sub${example}.`,
        });
    }
    for (const sub of subs) {
        const wildcards = sub.values.filter((v) => /[*?]/.test(v));
        const likeOperator = /StringLike$/i.test(sub.operator);
        if (wildcards.length > 0 && likeOperator) {
            for (const value of wildcards) {
                const wide = profile.wildcard(value);
                if (!wide) continue;
                findings.push({
                    level: level(wide.level),
                    message:
                        profile === EKS
                            ? `${where}: ${sub.key} uses ${sub.operator} with ${JSON.stringify(wildcards)}, which admits any matching service account. Pin exact system:serviceaccount:NAMESPACE:NAME values with StringEquals.`
                            : `${where}: ${sub.key} uses ${sub.operator} with "${value}", which admits ${wide.admits}. Pin the ${profile.label} subject to exact values${profile.subject ? ` (${profile.subject.example})` : ""}.`,
                });
                if (profile === EKS) break;
            }
        } else if (wildcards.length > 0) {
            findings.push({
                level: "advisory",
                message: `${where}: ${sub.key} uses ${sub.operator} with ${JSON.stringify(wildcards)}; ${sub.operator} compares * and ? literally, so no token matches them.`,
            });
        } else if (!/^StringEquals$/i.test(sub.operator)) {
            findings.push({ level: "advisory", message: `${where}: ${sub.key} uses ${sub.operator}; use StringEquals with exact values.` });
        }
        const malformed = profile.subject ? sub.values.filter((v) => !/[*?]/.test(v) && !profile.subject!.valid(v)) : [];
        if (malformed.length > 0) {
            findings.push({
                level: profile.subject!.level,
                message: `${where}: ${sub.key} values ${JSON.stringify(malformed)} are not ${profile.subject!.example.replace(/:ref:.*|:ref_type:.*/, ":...")} subjects, so no ${profile === EKS ? "pod" : "token"} can match them.`,
            });
        }
    }
    const exact = (c: (typeof auds)[number]) => /^StringEquals$/i.test(c.operator) && c.values.length > 0 && c.values.every((v) => v !== "" && !/[*?]/.test(v));
    const pinned = auds.filter(exact);
    const audOk = pinned.length > 0 && (profile.audience === undefined || profile === EKS || pinned.some((c) => c.values.every((v) => v === profile.audience)));
    if (audOk && profile === EKS && !pinned.some((c) => c.values.every((v) => v === EKS.audience))) {
        // A custom audience (the ServiceAccount's eks.amazonaws.com/audience): fine when pods and provider agree.
        findings.push({
            level: "advisory",
            message: `${where}: ${issuer}:aud is pinned to ${JSON.stringify(pinned.flatMap((c) => c.values))}, not sts.amazonaws.com: the ServiceAccounts must carry eks.amazonaws.com/audience with that value and the OIDC provider must list it, or no pod gets in.`,
        });
    }
    if (!audOk) {
        findings.push({
            level: "mandatory",
            message: profile.audience
                ? `${where}: ${issuer}:aud must be pinned with StringEquals to ${profile.audience}, so tokens minted for other audiences cannot assume the role.`
                : `${where}: ${issuer}:aud must be pinned with StringEquals to the audience your ${profile.label} tokens for AWS carry, so tokens minted for other audiences cannot assume the role.`,
        });
    }
    return findings;
}

/**
 * Checks that role trust statements for an OIDC provider (EKS IRSA, GitHub Actions, GitLab, any other) pin the
 * provider's `:sub` to exact subjects and `:aud` to its audience, with the condition keys of the provider in
 * Principal. A wildcard that admits every service account or every repository is mandatory in production.
 */
export const irsaTrustPinned = gradedResourceRule({
    name: "irsa-trust-pinned",
    description:
        "Checks that web-identity trust policies pin the OIDC provider's :sub with StringEquals to exact subjects (EKS " +
        "system:serviceaccount:NS:NAME, GitHub repo:OWNER/REPO:..., GitLab project_path:GROUP/PROJECT:...) and :aud to the " +
        "provider's audience, using the condition keys of the provider in Principal; Cognito identity pools must pin :aud.",
    check: (resource, context) => {
        const findings: Finding[] = [];
        const at = `${resource.type} "${resource.name}" assumeRolePolicy`;
        for (const statement of allowStatements(trustDocument(resource), "trust")) {
            for (const provider of principalValues(statement.principal, "Federated")) {
                const oidc = OIDC_PROVIDER.exec(provider);
                if (oidc) {
                    findings.push(...judgeStatement(statement, provider, oidc[1], at, context));
                } else if (provider.toLowerCase() === "cognito-identity.amazonaws.com") {
                    const aud = statement.conditions.filter((c) => c.key.toLowerCase() === "cognito-identity.amazonaws.com:aud");
                    if (
                        !aud.some(
                            (c) => c.values.length > 0 && c.values.every((v) => !wildcardMatches(v, "us-east-1:00000000-0000-0000-0000-000000000000", true)),
                        )
                    ) {
                        findings.push({
                            level: "mandatory",
                            message: `${at} statement ${statement.label} (trusts ${provider}): cognito-identity.amazonaws.com:aud is not pinned to your identity pool id, so identities of every Cognito identity pool can assume the role.`,
                        });
                    }
                }
            }
        }
        return findings;
    },
});
